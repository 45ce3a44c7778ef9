"""The help: every key of the screen it was opened from, read from the command classes.

Keys the screen binds, keys its widgets handle themselves (documented by help-only commands), the
app's keys, and the commands that only the palette reaches (`ctrl+p`). The last column wraps, so a
long explanation is never cut.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label

from modella_tui.core.i18n import t
from modella_tui.ui.commands.base import Command

PALETTE_KEY = "ctrl+p"
BOX_CHROME = 6
"""Cells the box takes around the table (border and padding) plus the table's own spacing."""


def key_label(cmd: type[Command]) -> str:
    """How a command's key reads to a person; palette-only commands read `ctrl+p`."""
    return cmd.key_label() or PALETTE_KEY


def help_rows(
    screen_commands: Iterable[type[Command]], global_commands: Iterable[type[Command]]
) -> list[type[Command]]:
    """The commands help lists, the screen's first; palette-only ones after those with a key."""
    screen_cmds = list(screen_commands)
    global_cmds = list(global_commands)
    keyed = [c for c in global_cmds if c.KEY]
    palette_only = [c for c in [*screen_cmds, *global_cmds] if not c.KEY and c.IN_PALETTE]
    return [*(c for c in screen_cmds if c.KEY), *keyed, *palette_only]


class HelpScreen(ModalScreen[None]):
    """Lists every command of the current screen, then the global ones."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical {
        width: 96%; max-width: 110; height: 90%;
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
        self.commands = help_rows(screen_commands, global_commands)

    def compose(self) -> ComposeResult:
        """A title and a table of keys."""
        with Vertical():
            yield Label(t("ui.help.title", screen=self.title_text), markup=False)
            yield DataTable(id="help-keys", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        """Fill the table; the explanation column takes the width left and wraps."""
        table = self.query_one(DataTable)
        keys = [key_label(c) for c in self.commands]
        labels = [c.label() for c in self.commands]
        key_w = max([cell_len(t("ui.help.key")), *map(cell_len, keys)])
        label_w = min(28, max([cell_len(t("ui.help.action")), *map(cell_len, labels)]))
        box = min(110, self.app.size.width * 96 // 100)
        what_w = max(20, box - BOX_CHROME - key_w - label_w - 6)
        table.add_column(t("ui.help.key"), width=key_w)
        table.add_column(t("ui.help.action"), width=label_w)
        table.add_column(t("ui.help.what"), width=what_w)
        for cmd, key, label in zip(self.commands, keys, labels, strict=True):
            table.add_row(Text(key), Text(label), Text(cmd.help()), height=None)
        table.focus()

    def action_dismiss_help(self) -> None:
        """Close the help."""
        self.dismiss(None)
