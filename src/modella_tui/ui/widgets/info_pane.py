"""A block of text that changes with the cursor without a layout pass.

`Static.update` asks for a new layout each time (its size may change), which repaints the whole
screen; this pane has a size set by CSS and only repaints itself, so moving the cursor stays cheap.
Text past its height is cut: it is a summary, and the full text is one key away.
"""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget


class InfoPane(Widget):
    """Shows one `Text` (never markup), wrapped to its width."""

    DEFAULT_CSS = """
    InfoPane { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.text = Text()

    def show(self, text: Text) -> None:
        """Show `text` (repaints only when it changed)."""
        if text.plain == self.text.plain and text.spans == self.text.spans:
            return
        self.text = text
        self.refresh()

    def render(self) -> Text:
        """The text as it is now."""
        return self.text
