"""The base screen: bindings built from command classes and translated when the screen is made."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widgets import Footer
from textual.worker import Worker, WorkerState

from modella_tui.core.i18n import t
from modella_tui.ui.bindings import replace_bindings
from modella_tui.ui.commands.base import Command

if TYPE_CHECKING:
    from modella_tui.ui.app import ModellaApp


def command_bindings(commands: Iterable[type[Command]]) -> list[Binding]:
    """Bindings for the commands that have a key."""
    return [cmd.binding() for cmd in commands if cmd.KEY]


def install_bindings(node: DOMNode, commands: Iterable[type[Command]]) -> None:
    """Add translated command bindings to a node, replacing older ones (a new language)."""
    commands = tuple(commands)
    ids = {cmd.command_id() for cmd in commands}
    replace_bindings(node, command_bindings(commands), lambda _key, b: b.id in ids)


NARROW = 120
"""Below this width the footer drops its spacing (the screen keys must still fit at 80 columns)."""


class BaseScreen(Screen[None]):
    """A top-level or pushed screen with a footer; `COMMANDS_LIST` names its commands."""

    COMMANDS_LIST: ClassVar[tuple[type[Command], ...]] = ()
    TITLE_KEY: ClassVar[str] = "ui.app.title"

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

    def compose_footer(self) -> ComposeResult:
        """The footer every screen ends with."""
        width = self.app.size.width
        yield Footer(compact=width < NARROW, show_command_palette=width >= NARROW)

    def on_resize(self, event: events.Resize) -> None:
        """A compact footer when narrow, so the screen keys and `q`/`?` stay visible."""
        narrow = event.size.width < NARROW
        for footer in self.query(Footer):
            if footer.compact != narrow:
                footer.compact = narrow
                footer.show_command_palette = not narrow
                footer.refresh(recompose=True)

    def on_screen_resume(self) -> None:
        """Show this screen's name in the terminal title."""
        self.app.sub_title = t(self.TITLE_KEY)

    def relabel(self) -> None:
        """The language changed: translate the footer again; subclasses redo their own texts."""
        install_bindings(self, self.COMMANDS_LIST)
        if self.is_mounted:
            self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hook for subclasses: return False to hide, None to dim a command."""
        return True

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A screen's workers report here (their state messages do not bubble to the app)."""
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self.modella.report_error(event.worker.error)
