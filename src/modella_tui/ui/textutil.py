"""Remote text made safe to show: no markup, no control characters, sizes people can read."""

from __future__ import annotations

import unicodedata

from rich.cells import cell_len, set_cell_size
from rich.text import Text

# Bidi overrides can make a file name read backwards (T-30); they go with the control characters.
_BIDI = {"\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"}


def clean(value: object) -> str:
    """One line of printable text: control and bidi characters become spaces."""
    text = "" if value is None else str(value)
    out = []
    for ch in text:
        if ch in _BIDI or unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


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


def human_size(num: float | None) -> str:
    """1536 → `1.5 KB`; None → `?`."""
    if num is None:
        return "?"
    size = float(num)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(size) < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"


def compact(num: float | None) -> str:
    """12345 → `12.3k`; None → `–` (a new model has no counters yet)."""
    if num is None:
        return "–"
    n = float(num)
    for unit, div in (("M", 1e6), ("k", 1e3)):
        if abs(n) >= div:
            return f"{n / div:.1f}{unit}"
    return f"{n:.0f}"


def duration(seconds: float | None) -> str:
    """ETA as `1:02:03` or `4:05`; None → empty."""
    if seconds is None or seconds < 0:
        return ""
    s = int(seconds)
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02}:{sec:02}" if h else f"{m}:{sec:02}"
