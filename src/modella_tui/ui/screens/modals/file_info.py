"""A local file in full: where it is, where it came from, what it is (Hub and unknown files)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from modella_tui.core.i18n import t


class FileInfoScreen(ModalScreen[None]):
    """The info lines in a box; `escape` or `enter` closes it."""

    DEFAULT_CSS = """
    FileInfoScreen { align: center middle; }
    FileInfoScreen > VerticalScroll {
        width: 90%; max-width: 110; height: auto; max-height: 90%; padding: 1 2;
        border: thick $primary; background: $surface;
    }
    FileInfoScreen #file-info-hint { color: $text-muted; margin-top: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,enter", "close", show=False)]

    def __init__(self, body: Text) -> None:
        super().__init__()
        self.body = body

    def compose(self) -> ComposeResult:
        """The lines, then how to close."""
        with VerticalScroll():
            yield Static(self.body, id="file-info-body")
            yield Label(t("ui.library.info.close"), id="file-info-hint", markup=False)

    def action_close(self) -> None:
        """Back to the tree."""
        self.dismiss(None)
