"""The Textual app: wiring only — screens, commands, themes, the engine bridge, one error funnel."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

from textual.app import App, SystemCommand
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from modella_tui.core import i18n, paths
from modella_tui.core.config import Settings
from modella_tui.core.errors import ModellaError
from modella_tui.core.i18n import t
from modella_tui.core.textsafe import redact
from modella_tui.ui.commands.app_commands import GLOBAL
from modella_tui.ui.commands.base import Command
from modella_tui.ui.engine_bridge import EngineBridge
from modella_tui.ui.messages import (
    DownloadFinished,
    LibraryChanged,
    QueueChanged,
    QueueProgress,
    SettingChanged,
)
from modella_tui.ui.screens.base import BaseScreen, install_bindings
from modella_tui.ui.screens.browser import BrowserScreen
from modella_tui.ui.screens.dashboard import DashboardScreen
from modella_tui.ui.screens.hub import HubScreen
from modella_tui.ui.screens.library import LibraryScreen
from modella_tui.ui.screens.lists import ListsScreen
from modella_tui.ui.screens.modals.confirm import ConfirmScreen
from modella_tui.ui.screens.modals.help import HelpScreen
from modella_tui.ui.screens.queue import QueueScreen
from modella_tui.ui.screens.settings import SettingsScreen
from modella_tui.ui.screens.usage import UsageScreen
from modella_tui.ui.services import Services
from modella_tui.ui.textutil import clean
from modella_tui.ui.themes import THEMES, setting_name, textual_name

log = logging.getLogger("modella.ui")

# Only screens that exist are reachable (no empty placeholders); number = the screen's key.
SCREENS: dict[str, Callable[[], Screen[Any]]] = {
    "dashboard": DashboardScreen,
    "browser": BrowserScreen,
    "hub": HubScreen,
    "queue": QueueScreen,
    "library": LibraryScreen,
    "lists": ListsScreen,
    "usage": UsageScreen,
    "settings": SettingsScreen,
}
ACTIVE_STATES = frozenset({"running", "verifying"})


class ModellaApp(App[None]):
    """Modella's terminal app; build it with `make_app`."""

    CSS_PATH = Path(__file__).with_name("app.tcss")
    TITLE = "Modella"
    MODES: ClassVar[dict[str, str | Callable[[], Screen[Any]]]] = dict(SCREENS)
    DEFAULT_MODE: ClassVar[str] = "browser"

    def __init__(self, settings: Settings, services: Services) -> None:
        i18n.set_language(i18n.resolve_language(str(settings.get("language"))))
        # Set before Textual's init: the theme watcher saves into the settings.
        self.settings = settings
        self.services = services
        super().__init__()
        self.bridge = EngineBridge(self)
        self._mode_history: list[str] = []
        self.ready = asyncio.Event()
        """Set once the services are open: screens wait on it before their first request."""
        install_bindings(self, GLOBAL)
        for theme in THEMES.values():
            self.register_theme(theme)
        self.theme = textual_name(str(settings.get("theme")))

    async def on_mount(self) -> None:
        """Open services and start the engine; the dashboard is the start screen once the
        models folder has model files (else the browser, the default mode)."""
        for warning in self.settings.warnings:
            self.notify(warning, severity="warning", markup=False)
        try:
            await self.services.start()
            if await self._has_models():
                await self.switch_mode("dashboard")
        except ModellaError as exc:
            self.report_error(exc)
        finally:
            self.ready.set()
        if self.services.engine is not None:
            self.bridge.attach(self.services.engine)
        self.post_message(QueueChanged())

    async def _has_models(self) -> bool:
        """Whether the library index (as the last walk left it) holds a model file."""
        library = self.services.library
        if library is None:
            return False
        try:
            snapshot = await library.snapshot()
        except Exception:  # choosing the first screen must never stop the app from starting
            log.exception("reading the library index failed")
            return False
        return any(f.kind == "model" for f in snapshot.files)

    async def on_unmount(self) -> None:
        """Stop the engine and close the database before the loop ends."""
        self.bridge.detach()
        await self.services.aclose()

    # ----- navigation ---------------------------------------------------------------------
    async def action_goto(self, mode: str) -> None:
        """Switch to a top-level screen by its mode name."""
        if mode not in SCREENS or mode == self.current_mode:
            return
        self._mode_history.append(self.current_mode)
        await self.switch_mode(mode)

    async def action_back(self) -> None:
        """Close a pushed screen, else return to the previous top-level screen."""
        if len(self.screen_stack) > 1:
            self.pop_screen()
        elif self._mode_history:
            await self.switch_mode(self._mode_history.pop())

    def action_help(self) -> None:
        """Show the keys of the current screen."""
        screen = self.screen
        if not isinstance(screen, BaseScreen):
            return
        self.push_screen(HelpScreen(t(screen.TITLE_KEY), screen.COMMANDS_LIST, GLOBAL))

    async def action_request_quit(self) -> None:
        """Quit, asking first while downloads run."""
        running = await self.active_downloads()
        if not running:
            self.exit()
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.exit()

        self.push_screen(ConfirmScreen(t("ui.quit.confirm", count=running)), answered)

    async def active_downloads(self) -> int:
        """How many downloads are running or verifying now."""
        engine = self.services.engine
        if engine is None:
            return 0
        return sum(1 for item in await engine.items() if item.state in ACTIVE_STATES)

    def apply_language(self) -> str:
        """Switch `t()` to the language setting now and re-translate every screen; returns it."""
        lang = i18n.resolve_language(str(self.settings.get("language")))
        i18n.set_language(lang)
        install_bindings(self, GLOBAL)
        with self.batch_update():
            for screen in self.all_screens():
                if isinstance(screen, BaseScreen):
                    screen.relabel()
        if isinstance(self.screen, BaseScreen):
            self.sub_title = t(self.screen.TITLE_KEY)
        return lang

    def apply_setting(self, key: str) -> None:
        """A setting was saved (or removed): the running services pick it up now, without a
        restart, then every screen hears of it (`SettingChanged`)."""

        async def apply() -> None:
            running = await self.active_downloads() if key == "models_dir" else 0
            await self.services.setting_changed(key)
            for screen in self.all_screens():
                screen.post_message(SettingChanged(key))
            if key == "models_dir":
                folder = clean(str(self.settings.models_dir))
                notice = (
                    t("ui.settings.models_dir_moved_running", folder=folder, count=running)
                    if running
                    else t("ui.settings.models_dir_moved", folder=folder)
                )
                self.notify(notice, markup=False, timeout=8)

        self.run_worker(apply(), group=f"setting-{key}", exit_on_error=False)

    def action_set_language(self, code: str) -> None:
        """Switch the interface language now and save the choice (the palette's language entries)."""
        try:
            self.settings.set("language", code)
        except (ModellaError, OSError) as exc:
            self.report_error(exc)
            return
        lang = self.apply_language()
        self.notify(
            t("ui.settings.language_now", lang=t(f"ui.settings.language.{lang}")), markup=False
        )

    def action_set_theme(self, name: str) -> None:
        """Switch theme and save the choice."""
        if name not in THEMES:
            return
        self.theme = textual_name(name)

    def watch_theme(self, theme: str) -> None:
        """Persist a theme change however it was made (palette, settings, command)."""
        name = setting_name(theme)
        if name is None or self.settings.get("theme") == name:
            return
        try:
            self.settings.set("theme", name)
        except (ModellaError, OSError) as exc:
            self.report_error(exc)

    # ----- command palette ----------------------------------------------------------------
    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Every command of the current screen and every global one, translated."""
        local = screen.COMMANDS_LIST if isinstance(screen, BaseScreen) else ()
        for cmd, target in [*((c, screen) for c in local), *((c, self) for c in GLOBAL)]:
            if not cmd.IN_PALETTE or cmd.HELP_ONLY:
                continue
            if target.check_action(cmd.action_name(), ()) is False:
                continue
            key = cmd.key_label()
            title = f"{cmd.label()}  ({key})" if key else cmd.label()
            yield SystemCommand(title, cmd.help(), partial(self._run, cmd, screen))

    async def _run(self, cmd: type[Command], screen: Screen[Any]) -> None:
        await self.run_action(cmd.ACTION, default_namespace=screen)

    # ----- errors and engine events ---------------------------------------------------------
    def report_error(self, exc: BaseException) -> None:
        """The one error funnel: user text for ModellaError, a log entry for anything else."""
        if isinstance(exc, ModellaError):
            # Our messages never carry a secret; masking them anyway costs nothing.
            text = redact(exc.message, self.settings.secret_values())
            self.notify(clean(text), severity="error", markup=False, timeout=8)
            return
        log.error("unexpected error", exc_info=exc)
        self.notify(
            t("ui.error.unexpected", kind=type(exc).__name__, log=str(paths.log_path())),
            severity="error",
            markup=False,
            timeout=8,
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Workers run with exit_on_error=False; their errors arrive here."""
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self.report_error(event.worker.error)

    def all_screens(self) -> list[Screen[Any]]:
        """Every screen of every mode's stack (modes not visited yet have none)."""
        screens: list[Screen[Any]] = []
        for mode in self.MODES:
            try:
                screens.extend(self.get_screen_stack(mode))
            except KeyError:
                continue
        return screens

    def on_queue_progress(self, message: QueueProgress) -> None:
        """Relay the newest progress snapshot to every screen (those showing downloads handle it)."""
        for screen in self.all_screens():
            screen.post_message(QueueProgress(message.snapshot))

    def on_queue_changed(self, message: QueueChanged) -> None:
        """Relay a queue change to every screen (those showing downloads reload)."""
        for screen in self.all_screens():
            screen.post_message(QueueChanged(message.item_id))

    def on_library_changed(self, message: LibraryChanged) -> None:
        """Relay a change of the models folder's index to every screen."""
        for screen in self.all_screens():
            screen.post_message(LibraryChanged())

    def on_download_finished(self, message: DownloadFinished) -> None:
        """A notification on each completion and failure, wherever the user is."""
        title = clean(message.title)
        if message.state == "done":
            self.notify(t("ui.queue.done_notice", title=title), markup=False)
        else:
            self.notify(
                t("ui.queue.failed_notice", title=title, reason=clean(message.reason or "")),
                severity="error",
                markup=False,
                timeout=10,
            )


def make_app(settings: Settings, services: Services) -> ModellaApp:
    """The factory tests and the CLI share."""
    return ModellaApp(settings, services)


def run_app(settings: Settings) -> None:
    """Build the real services and run the app (`modella`)."""
    from modella_tui.ui.wiring import build_services

    make_app(settings, build_services(settings)).run()
