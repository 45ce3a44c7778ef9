"""The base screen: bindings built from command classes and translated when the screen is made."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.dom import DOMNode
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from modella_tui.core.i18n import t
from modella_tui.ui.bindings import replace_bindings
from modella_tui.ui.commands.app_commands import NAVIGATION
from modella_tui.ui.commands.base import Command
from modella_tui.ui.widgets.key_bar import KeyBar
from modella_tui.ui.widgets.tab_bar import Tab, TabBar
from modella_tui.ui.widgets.text_input import TextInput

if TYPE_CHECKING:
    from modella_tui.ui.app import ModellaApp


def command_bindings(commands: Iterable[type[Command]]) -> list[Binding]:
    """Bindings for the commands that have a key."""
    return [cmd.binding() for cmd in commands if cmd.KEY and not cmd.HELP_ONLY]


def install_bindings(node: DOMNode, commands: Iterable[type[Command]]) -> None:
    """Add translated command bindings to a node, replacing older ones (a new language)."""
    commands = tuple(commands)
    ids = {cmd.command_id() for cmd in commands}
    replace_bindings(node, command_bindings(commands), lambda _key, b: b.id in ids)


NARROW = 120
"""Below this width a screen may lay out for a narrow terminal."""


def tabs() -> list[Tab]:
    """The screens bar's tabs, translated now."""
    return [Tab(cmd.KEY, cmd.MODE, cmd.label()) for cmd in NAVIGATION]


class BaseScreen(Screen[None]):
    """A top-level or pushed screen with a footer; `COMMANDS_LIST` names its commands."""

    COMMANDS_LIST: ClassVar[tuple[type[Command], ...]] = ()
    TITLE_KEY: ClassVar[str] = "ui.app.title"
    MODE: ClassVar[str] = ""
    """The top-level screen this one belongs to (marked in the screens bar)."""

    def __init__(self) -> None:
        super().__init__()
        install_bindings(self, self.COMMANDS_LIST)

    @property
    def modella(self) -> ModellaApp:
        """The app, typed."""
        from modella_tui.ui.app import ModellaApp

        app = self.app
        assert isinstance(app, ModellaApp)
        return app

    def compose_header(self) -> ComposeResult:
        """The screens bar every screen starts with."""
        yield TabBar(tabs(), self.MODE, id="tab-bar")

    def compose_footer(self) -> ComposeResult:
        """The footer every screen ends with: the keys that fit, and `?` for the rest."""
        yield KeyBar(id="key-bar")

    def on_screen_resume(self) -> None:
        """Show this screen's name in the terminal title."""
        self.app.sub_title = t(self.TITLE_KEY)

    def relabel(self) -> None:
        """The language changed: translate the footer again; subclasses redo their own texts."""
        install_bindings(self, self.COMMANDS_LIST)
        if self.is_mounted:
            self.refresh_bindings()
            for bar in self.query(TabBar):
                bar.set_tabs(tabs())
            for field in self.query(TextInput):
                field.relabel()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hook for subclasses: return False to hide, None to dim a command."""
        return True

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A screen's workers report here (their state messages do not bubble to the app)."""
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self.modella.report_error(event.worker.error)
