"""Commands of the queue screen."""

from __future__ import annotations

from modella_tui.ui.commands.base import Command


class CancelItem(Command):
    """Cancel the selected download (its partial file is removed)."""

    KEY = "c"
    ACTION = "cancel_item"
    LABEL = "ui.cmd.cancel"
    HELP = "ui.cmd.cancel.help"


class PauseResume(Command):
    """Pause the selected download, or resume it."""

    KEY = "p"
    ACTION = "pause_resume"
    LABEL = "ui.cmd.pause"
    HELP = "ui.cmd.pause.help"


class RetryItem(Command):
    """Try a failed or cancelled download again."""

    KEY = "r"
    ACTION = "retry_item"
    LABEL = "ui.cmd.retry"
    HELP = "ui.cmd.retry.help"


class ClearFinished(Command):
    """Remove finished rows from the list."""

    KEY = "x"
    ACTION = "clear_finished"
    LABEL = "ui.cmd.clear"
    HELP = "ui.cmd.clear.help"


class MoveRows(Command):
    """Up and down select a download."""

    KEY = "up,down"
    KEY_DISPLAY = "↑ ↓"
    ACTION = ""
    LABEL = "ui.cmd.move_rows"
    HELP = "ui.cmd.select_download.help"
    HELP_ONLY = True


QUEUE: tuple[type[Command], ...] = (
    CancelItem,
    PauseResume,
    RetryItem,
    ClearFinished,
    MoveRows,
)
