"""Horizontal bar charts as text: a label, a bar filled in eighths, the size and the share.

The bar is characters, never colour alone, so the chart reads the same in every theme, in a
screen reader and in a snapshot. The widget draws again at each width it is given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.widgets import Static

from modella_tui.core.units import human_size
from modella_tui.core.usage import text_bar
from modella_tui.ui.textutil import fit

LABEL_MAX = 22
BAR_MIN = 8
TAIL = 9 + 1 + 6  # size, space, share


@dataclass(frozen=True)
class Bar:
    """One bar: what it counts, how many bytes, and its part of the whole."""

    label: str
    value: int
    share: float


def chart_lines(title: str, bars: Sequence[Bar], width: int, empty: str = "") -> Text:
    """The chart as lines of text `width` cells wide (at least a little bar each)."""
    out = Text(no_wrap=True, overflow="crop")
    out.append(title, style="bold")
    if not bars:
        out.append("\n  " + empty, style="italic")
        return out
    label_width = min(LABEL_MAX, max(cell_len(b.label) for b in bars))
    label_width = max(4, min(label_width, width - TAIL - BAR_MIN - 4))
    bar_width = max(BAR_MIN, width - label_width - TAIL - 4)
    for b in bars:
        out.append("\n  ")
        out.append(fit(b.label, label_width))
        out.append(" ")
        out.append(text_bar(b.share, bar_width))
        out.append(f" {human_size(b.value):>9} {b.share * 100:5.1f}%")
    return out


class BarChart(Static):
    """A titled bar chart; `show()` gives it new bars."""

    DEFAULT_CSS = "BarChart { height: auto; width: 1fr; padding: 0 1; margin-bottom: 1; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self.title = ""
        self.bars: tuple[Bar, ...] = ()
        self.empty = ""

    def show(self, title: str, bars: Sequence[Bar], empty: str = "") -> None:
        """New title and bars, drawn at the current width."""
        self.title, self.bars, self.empty = title, tuple(bars), empty
        self._draw()

    def on_resize(self, event: events.Resize) -> None:
        """Another width: the bars stretch or shrink."""
        self._draw()

    def _draw(self) -> None:
        width = self.content_region.width or self.app.size.width - 4
        self.update(chart_lines(self.title, self.bars, width, self.empty))
