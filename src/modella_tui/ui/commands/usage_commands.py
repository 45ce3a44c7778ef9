"""Commands of the dashboard and the disk usage screen."""

from __future__ import annotations

from modella_tui.ui.commands.base import Command


class Rescan(Command):
    """Walk the models folder again (sizes only) and redraw."""

    KEY = "ctrl+r"
    ACTION = "rescan"
    LABEL = "ui.cmd.rescan"
    HELP = "ui.cmd.rescan.help"


class Scroll(Command):
    """Up, down and the page keys scroll the screen."""

    KEY = "up,down,pageup,pagedown"
    KEY_DISPLAY = "↑ ↓ PgUp PgDn"
    ACTION = ""
    LABEL = "ui.cmd.scroll"
    HELP = "ui.cmd.scroll.help"
    HELP_ONLY = True


DASHBOARD: tuple[type[Command], ...] = (Rescan, Scroll)
USAGE: tuple[type[Command], ...] = (Rescan, Scroll)
