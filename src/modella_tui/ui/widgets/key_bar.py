"""The footer: the keys of this screen that fit the width, then `?` (help lists every key).

Textual's Footer cuts its last entry mid-word at 80 columns; this bar drops whole entries instead,
least important last in the screen's own order, and always keeps `?` and `q`.
"""

from __future__ import annotations

from typing import ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.screen import Screen
from textual.widget import Widget

ALWAYS = ("app.help", "app.request_quit")
"""Actions kept whatever the width (their bindings' actions)."""
GAP = 2


class KeyBar(Widget):
    """One line of `key label` entries read from the screen's active bindings."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"key-bar--key", "key-bar--label", "key-bar--dim"}
    DEFAULT_CSS = """
    KeyBar { dock: bottom; height: 1; background: $footer-background; }
    KeyBar > .key-bar--key { color: $footer-key-foreground; text-style: bold; }
    KeyBar > .key-bar--label { color: $footer-description-foreground; }
    KeyBar > .key-bar--dim { color: $text-disabled; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.spans: list[tuple[int, int, str]] = []  # (start, end, key) for clicks

    def on_mount(self) -> None:
        """Follow the screen's bindings (focus changes, actions enabled or not)."""
        self.screen.bindings_updated_signal.subscribe(self, self._changed)

    def on_unmount(self) -> None:
        """Stop following."""
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _changed(self, _screen: Screen[object]) -> None:
        self.refresh()

    def on_resize(self, event: events.Resize) -> None:
        """Another width fits other entries."""
        self.refresh()

    def entries(self) -> list[tuple[Binding, bool]]:
        """(binding, enabled) of every shown binding, one per action, in the screen's order."""
        seen: set[str] = set()
        out: list[tuple[Binding, bool]] = []
        for active in self.screen.active_bindings.values():
            binding = active.binding
            if not binding.show or not binding.description or binding.action in seen:
                continue
            seen.add(binding.action)
            out.append((binding, active.enabled))
        return out

    def _entry(self, binding: Binding, enabled: bool) -> Text:
        key = binding.key_display or self.app.get_key_display(binding)
        key_style = self.get_component_rich_style("key-bar--key" if enabled else "key-bar--dim")
        label_style = self.get_component_rich_style("key-bar--label" if enabled else "key-bar--dim")
        return Text.assemble((key, key_style), " ", (binding.description, label_style))

    def render(self) -> Text:
        """The entries that fit, the always-kept ones last."""
        entries = self.entries()
        tail = [e for e in entries if e[0].action in ALWAYS]
        head = [e for e in entries if e[0].action not in ALWAYS]
        width = self.size.width - 1
        used = sum(self._entry(*e).cell_len + GAP for e in tail)
        chosen: list[tuple[Binding, bool]] = []
        for entry in head:
            size = self._entry(*entry).cell_len + GAP
            if used + size > width:
                continue  # a shorter entry further on may still fit
            chosen.append(entry)
            used += size
        line = Text(" ", no_wrap=True, overflow="crop")
        self.spans = []
        for binding, enabled in [*chosen, *tail]:
            start = cell_len(line.plain)
            line.append_text(self._entry(binding, enabled))
            self.spans.append((start, cell_len(line.plain), binding.key))
            line.append(" " * GAP)
        return line

    async def on_click(self, event: events.Click) -> None:
        """A click on an entry presses its key."""
        for start, end, key in self.spans:
            if start <= event.x < end:
                self.app.simulate_key(key)
                return
