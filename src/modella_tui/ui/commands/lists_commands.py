"""Commands of the Lists screen, and the `a` key of the Civitai browser and detail pane."""

from __future__ import annotations

from modella_tui.ui.commands.base import Command


class AddToList(Command):
    """Add the model, version or marked files under the cursor to a list."""

    KEY = "a"
    ACTION = "add_to_list"
    LABEL = "ui.cmd.add_to_list"
    HELP = "ui.cmd.add_to_list.help"


class NewList(Command):
    """Create an empty list."""

    KEY = "c"
    ACTION = "new_list"
    LABEL = "ui.cmd.new_list"
    HELP = "ui.cmd.new_list.help"


class RenameList(Command):
    """Give the highlighted list another name."""

    KEY = "n"
    ACTION = "rename_list"
    LABEL = "ui.cmd.rename_list"
    HELP = "ui.cmd.rename_list.help"


class QueueMissing(Command):
    """Queue every item of the list that is not here yet."""

    KEY = "d"
    ACTION = "queue_missing"
    LABEL = "ui.cmd.queue_missing"
    HELP = "ui.cmd.queue_missing.help"


class RemoveEntry(Command):
    """Remove the highlighted item from its list, or delete the highlighted list."""

    KEY = "x,delete"
    KEY_DISPLAY = "x, del"
    ACTION = "remove"
    LABEL = "ui.cmd.remove_entry"
    HELP = "ui.cmd.remove_entry.help"


class RemoveFiles(Command):
    """Delete the list's files from the models folder (asks first, naming the bytes freed)."""

    KEY = "X"
    ACTION = "remove_files"
    LABEL = "ui.cmd.remove_files"
    HELP = "ui.cmd.remove_files.help"


class ExportList(Command):
    """Write the list to a TOML file."""

    KEY = "e"
    ACTION = "export_list"
    LABEL = "ui.cmd.export_list"
    HELP = "ui.cmd.export_list.help"
    SHOW = False


class ImportList(Command):
    """Read a list from a TOML file."""

    KEY = "i"
    ACTION = "import_list"
    LABEL = "ui.cmd.import_list"
    HELP = "ui.cmd.import_list.help"
    SHOW = False


class CheckAgain(Command):
    """Ask Civitai and the Hub again where each item stands."""

    KEY = "ctrl+r"
    ACTION = "check_again"
    LABEL = "ui.cmd.check_again"
    HELP = "ui.cmd.check_again.help"
    SHOW = False


class SwitchPane(Command):
    """Tab goes from the lists to the items and back; enter opens the highlighted list."""

    KEY = "tab,shift+tab"
    KEY_DISPLAY = "tab, enter"
    ACTION = ""
    LABEL = "ui.cmd.switch_pane"
    HELP = "ui.cmd.switch_pane.help"
    HELP_ONLY = True


class MoveRows(Command):
    """Up and down move in the lists or the items."""

    KEY = "up,down"
    KEY_DISPLAY = "↑ ↓"
    ACTION = ""
    LABEL = "ui.cmd.move_rows"
    HELP = "ui.cmd.move_rows_lists.help"
    HELP_ONLY = True


LISTS: tuple[type[Command], ...] = (
    QueueMissing, NewList, RenameList, RemoveEntry, RemoveFiles, ExportList, ImportList,
    CheckAgain, SwitchPane, MoveRows,
)  # fmt: skip
