"""Commands of the Hugging Face screen."""

from __future__ import annotations

from modella_tui.ui.commands.base import Command
from modella_tui.ui.commands.lists_commands import AddToList


class SearchHub(Command):
    """Put the cursor in the Hub search box."""

    KEY = "slash"
    KEY_DISPLAY = "/"
    ACTION = "focus_search"
    LABEL = "ui.cmd.search"
    HELP = "ui.cmd.hub_search.help"


class MarkHub(Command):
    """Mark or unmark the file, package, pack or repo under the cursor."""

    KEY = "space"
    ACTION = "mark"
    LABEL = "ui.cmd.mark"
    HELP = "ui.cmd.hub_mark.help"


class QueueHub(Command):
    """Queue the marked files, or what is under the cursor when nothing is marked."""

    KEY = "d"
    ACTION = "queue_marked"
    LABEL = "ui.cmd.download"
    HELP = "ui.cmd.hub_queue.help"


class ReloadSizes(Command):
    """Ask the Hub for sizes and access again (after an error or a new token)."""

    KEY = "ctrl+r"
    ACTION = "reload"
    LABEL = "ui.cmd.reload"
    HELP = "ui.cmd.hub_reload.help"
    SHOW = False


class OpenNode(Command):
    """Enter opens or closes a branch (a repo found by search lists its files)."""

    KEY = "enter"
    ACTION = ""
    LABEL = "ui.cmd.open"
    HELP = "ui.cmd.hub_open.help"
    HELP_ONLY = True


class FoldNode(Command):
    """Left closes a branch or goes to its parent; right opens it."""

    KEY = "left,right"
    KEY_DISPLAY = "← →"
    ACTION = ""
    LABEL = "ui.cmd.fold"
    HELP = "ui.cmd.hub_fold.help"
    HELP_ONLY = True


class MoveLines(Command):
    """Up and down move in the tree."""

    KEY = "up,down"
    KEY_DISPLAY = "↑ ↓"
    ACTION = ""
    LABEL = "ui.cmd.move_rows"
    HELP = "ui.cmd.hub_move.help"
    HELP_ONLY = True


HUB: tuple[type[Command], ...] = (
    SearchHub, MarkHub, QueueHub, AddToList, ReloadSizes, OpenNode, FoldNode, MoveLines,
)  # fmt: skip
