"""Commands of the Library screen."""

from __future__ import annotations

from modella_tui.ui.commands.base import Command


class OpenEntry(Command):
    """Open a file's details (Civitai, Hub or what is known), or open/close a group."""

    KEY = "enter"
    ACTION = ""
    LABEL = "ui.cmd.library_open"
    HELP = "ui.cmd.library_open.help"
    HELP_ONLY = True


class RenameFile(Command):
    """Rename the file under the cursor with its sidecars."""

    KEY = "n"
    ACTION = "rename_file"
    LABEL = "ui.cmd.rename"
    HELP = "ui.cmd.rename.help"


class DeleteFile(Command):
    """Delete the file under the cursor with its sidecars (asks first)."""

    KEY = "delete"
    KEY_DISPLAY = "del"
    ACTION = "delete_file"
    LABEL = "ui.cmd.delete"
    HELP = "ui.cmd.delete.help"


class ScanLibrary(Command):
    """Scan the models folder: sizes, hashes, identities, newer versions."""

    KEY = "s"
    ACTION = "scan_library"
    LABEL = "ui.cmd.scan"
    HELP = "ui.cmd.scan.help"


class StopScan(Command):
    """Stop the scan that is running (what it learned is kept)."""

    KEY = "x"
    ACTION = "stop_scan"
    LABEL = "ui.cmd.stop_scan"
    HELP = "ui.cmd.stop_scan.help"


class FoldGroups(Command):
    """Right opens a group, left closes it or goes up, space toggles."""

    KEY = "right,left,space"
    KEY_DISPLAY = "→ ← space"
    ACTION = ""
    LABEL = "ui.cmd.fold"
    HELP = "ui.cmd.fold.help"
    HELP_ONLY = True


class MoveLines(Command):
    """Up and down move through the tree."""

    KEY = "up,down"
    KEY_DISPLAY = "↑ ↓"
    ACTION = ""
    LABEL = "ui.cmd.move_rows"
    HELP = "ui.cmd.library_move.help"
    HELP_ONLY = True


LIBRARY: tuple[type[Command], ...] = (
    OpenEntry,
    RenameFile,
    DeleteFile,
    ScanLibrary,
    StopScan,
    FoldGroups,
    MoveLines,
)
