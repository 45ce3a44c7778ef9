"""Commands of the Civitai browser."""

from __future__ import annotations

from modella_tui.ui.commands.base import Command
from modella_tui.ui.commands.lists_commands import AddToList


class FocusSearch(Command):
    """Put the cursor in the search box."""

    KEY = "slash"
    KEY_DISPLAY = "/"
    ACTION = "focus_search"
    LABEL = "ui.cmd.search"
    HELP = "ui.cmd.search.help"


class OpenDetail(Command):
    """Open the card under the cursor."""

    KEY = "enter"
    ACTION = "open_detail"
    LABEL = "ui.cmd.open"
    HELP = "ui.cmd.open.help"
    SHOW = False


class DownloadLatest(Command):
    """Queue the primary file of the latest version."""

    KEY = "d"
    ACTION = "download"
    LABEL = "ui.cmd.download"
    HELP = "ui.cmd.download.help"


class EditFilters(Command):
    """Sort, period, types, base models, NSFW."""

    KEY = "f"
    ACTION = "filters"
    LABEL = "ui.cmd.filters"
    HELP = "ui.cmd.filters.help"


class Top(Command):
    """Back to the first card."""

    KEY = "home,g"
    KEY_DISPLAY = "home, g"
    ACTION = "top"
    LABEL = "ui.cmd.top"
    HELP = "ui.cmd.top.help"
    SHOW = False


class Reload(Command):
    """Run the search again (after an error)."""

    KEY = "ctrl+r"
    ACTION = "reload"
    LABEL = "ui.cmd.reload"
    HELP = "ui.cmd.reload.help"
    SHOW = False


class MoveCards(Command):
    """The arrow keys move between cards (the grid handles them)."""

    KEY = "up,down,left,right"
    KEY_DISPLAY = "↑ ↓ ← →"
    ACTION = ""
    LABEL = "ui.cmd.move_cards"
    HELP = "ui.cmd.move_cards.help"
    HELP_ONLY = True


class PageCards(Command):
    """A screen of cards up or down."""

    KEY = "pageup,pagedown"
    KEY_DISPLAY = "PgUp, PgDn"
    ACTION = ""
    LABEL = "ui.cmd.page_cards"
    HELP = "ui.cmd.page_cards.help"
    HELP_ONLY = True


class LastCard(Command):
    """The last loaded card."""

    KEY = "end,G"
    KEY_DISPLAY = "end, G"
    ACTION = ""
    LABEL = "ui.cmd.last_card"
    HELP = "ui.cmd.last_card.help"
    HELP_ONLY = True


class NextField(Command):
    """Tab moves between the search box and the cards."""

    KEY = "tab,shift+tab"
    KEY_DISPLAY = "tab, shift+tab"
    ACTION = ""
    LABEL = "ui.cmd.next_field"
    HELP = "ui.cmd.next_field.help"
    HELP_ONLY = True


BROWSER: tuple[type[Command], ...] = (
    FocusSearch, OpenDetail, DownloadLatest, AddToList, EditFilters, Top, Reload,
    MoveCards, PageCards, LastCard, NextField,
)  # fmt: skip
