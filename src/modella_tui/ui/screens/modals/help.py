"""The help: the keys of the screen it was opened from, read from the command classes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label

from modella_tui.core.i18n import t
from modella_tui.ui.commands.base import Command


def key_label(cmd: type[Command]) -> str:
    """How a command's key reads to a person (`?`, `ctrl+p`, `enter`)."""
    if cmd.KEY_DISPLAY:
        return cmd.KEY_DISPLAY
    return ", ".join(k.strip() for k in cmd.KEY.split(","))


class HelpScreen(ModalScreen[None]):
    """Lists every command of the current screen, then the global ones."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical {
        width: 90%; max-width: 100; height: 80%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    HelpScreen DataTable { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "dismiss_help", show=False)
    ]

    def __init__(
        self,
        title: str,
        screen_commands: Iterable[type[Command]],
        global_commands: Iterable[type[Command]],
    ) -> None:
        super().__init__()
        self.title_text = title
        self.screen_commands = [c for c in screen_commands if c.KEY]
        self.global_commands = [c for c in global_commands if c.KEY]

    def compose(self) -> ComposeResult:
        """A title and a table of keys."""
        with Vertical():
            yield Label(t("ui.help.title", screen=self.title_text), markup=False)
            yield DataTable(id="help-keys", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        """Fill the table."""
        table = self.query_one(DataTable)
        table.add_columns(t("ui.help.key"), t("ui.help.action"), t("ui.help.what"))
        for cmd in [*self.screen_commands, *self.global_commands]:
            table.add_row(Text(key_label(cmd)), Text(cmd.label()), Text(cmd.help()))
        table.focus()

    def action_dismiss_help(self) -> None:
        """Close the help."""
        self.dismiss(None)
