"""Remote text made safe to show: no markup, no control characters, sizes people can read."""

from __future__ import annotations

from rich.cells import cell_len, set_cell_size
from rich.text import Text

from modella_tui.core import textsafe
from modella_tui.core.units import human_count as compact
from modella_tui.core.units import human_size

__all__ = ["clean", "compact", "fit", "human_size", "plain"]


def clean(value: object) -> str:
    """One line of printable text: control and bidi characters become spaces."""
    return textsafe.clean(value, replacement=" ")


def plain(value: object, style: str = "") -> Text:
    """A `Text` that is never parsed as markup."""
    return Text(clean(value), style=style, no_wrap=True, overflow="ellipsis")


def fit(text: str, width: int) -> str:
    """Pad or cut to exactly `width` cells (CJK-safe), ending in `…` when cut."""
    if width <= 0:
        return ""
    if cell_len(text) <= width:
        return set_cell_size(text, width)
    return set_cell_size(text, width - 1) + "…"


def duration(seconds: float | None) -> str:
    """ETA as `1:02:03` or `4:05`; None → empty."""
    if seconds is None or seconds < 0:
        return ""
    s = int(seconds)
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02}:{sec:02}" if h else f"{m}:{sec:02}"
