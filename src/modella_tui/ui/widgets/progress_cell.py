"""A text progress bar for a DataTable cell (a widget per row would not scale)."""

from __future__ import annotations

from rich.text import Text

BAR_WIDTH = 16


def progress_bar(done: int, total: int | None, width: int = BAR_WIDTH) -> Text:
    """`█████░░░░` for a known total, a dotted bar when unknown."""
    if not total or total <= 0:
        return Text("·" * width, style="dim")
    frac = max(0.0, min(1.0, done / total))
    full = int(frac * width)
    return Text("█" * full + "░" * (width - full))


def percent(done: int, total: int | None) -> str:
    """`42%`, or empty when the size is unknown."""
    if not total or total <= 0:
        return ""
    return f"{min(100, int(done * 100 / total))}%"
