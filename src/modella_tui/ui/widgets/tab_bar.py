"""The screens bar: every top-level screen with its number key, the current one marked.

Marked by reverse video and bold (never colour alone). Labels shrink to fit: full names, then
short names for the other screens, then only their numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.widget import Widget

from modella_tui.ui.textutil import fit

SHORT = 5
"""Cells of a shortened label."""


@dataclass(frozen=True)
class Tab:
    """One screen: its key, its mode and its (translated) label."""

    key: str
    mode: str
    label: str


class TabBar(Widget):
    """One line of `1 Dashboard  2 Civitai …`; a click switches screen."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"tab-bar--tab", "tab-bar--current"}
    DEFAULT_CSS = """
    TabBar { dock: top; height: 1; background: $panel; }
    TabBar > .tab-bar--tab { color: $text-muted; }
    TabBar > .tab-bar--current { color: $text; background: $primary 40%; text-style: bold reverse; }
    """

    def __init__(self, tabs: Sequence[Tab], current: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.tabs = tuple(tabs)
        self.current = current
        self.spans: list[tuple[int, int, str]] = []

    def set_tabs(self, tabs: Sequence[Tab]) -> None:
        """New labels (another language)."""
        self.tabs = tuple(tabs)
        self.refresh()

    def on_resize(self, event: events.Resize) -> None:
        """Another width, maybe other label lengths."""
        self.refresh()

    def _label(self, tab: Tab, level: int) -> str:
        if tab.mode == self.current:
            return f" {tab.key} {tab.label} "
        return self._other(tab, level)

    @staticmethod
    def _other(tab: Tab, level: int) -> str:
        """A tab that is not the current one, at a level of detail."""
        if level == 0:
            return f" {tab.key} {tab.label} "
        if level == 1:
            return f" {tab.key} {fit(tab.label, SHORT).rstrip()} "
        return f" {tab.key} "

    def render(self) -> Text:
        """The tabs at the first level of detail that fits."""
        width = self.size.width
        # The level is the first that fits whichever screen is current, so every screen shows the
        # bar alike and it keeps its shape from one screen to the next.
        full = [cell_len(f" {tab.key} {tab.label} ") for tab in self.tabs]
        for level in (0, 1, 2):
            short = [cell_len(self._other(tab, level)) for tab in self.tabs]
            worst = max((sum(short) - s + f for s, f in zip(short, full, strict=True)), default=0)
            if worst <= width or level == 2:
                break
        labels = [self._label(tab, level) for tab in self.tabs]
        line = Text(no_wrap=True, overflow="crop")
        self.spans = []
        for tab, label in zip(self.tabs, labels, strict=True):
            style = "tab-bar--current" if tab.mode == self.current else "tab-bar--tab"
            start = cell_len(line.plain)
            line.append(label, self.get_component_rich_style(style))
            self.spans.append((start, cell_len(line.plain), tab.mode))
        return line

    async def on_click(self, event: events.Click) -> None:
        """A click on a tab goes to its screen."""
        for start, end, mode in self.spans:
            if start <= event.x < end:
                await self.app.run_action(f"goto('{mode}')")
                return
