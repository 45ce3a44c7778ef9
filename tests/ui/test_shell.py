"""The shell: number keys, escape, help, palette, themes, quit."""

from __future__ import annotations

from modella_tui.core import config
from modella_tui.ui.app import ModellaApp
from modella_tui.ui.commands.base import FORBIDDEN_KEYS
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
from tests.ui.conftest import SIZE
from tests.ui.fakes import FakeEngine, FakeItem


async def test_number_keys_switch_screens_and_escape_goes_back(app: ModellaApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, BrowserScreen)
        await pilot.press("4")
        assert isinstance(app.screen, QueueScreen)
        await pilot.press("8")
        assert isinstance(app.screen, SettingsScreen)
        # The first escape leaves the settings field that has the keyboard, the second goes back.
        await pilot.press("escape", "escape")
        assert isinstance(app.screen, QueueScreen)
        await pilot.press("2")
        assert isinstance(app.screen, BrowserScreen)
        await pilot.press("1")
        assert isinstance(app.screen, DashboardScreen)
        await pilot.press("3")
        assert isinstance(app.screen, HubScreen)
        await pilot.press("7")
        assert isinstance(app.screen, UsageScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, HubScreen)
        await pilot.press("5")
        assert isinstance(app.screen, LibraryScreen)
        await pilot.press("6")
        assert isinstance(app.screen, ListsScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, LibraryScreen)


async def test_help_lists_the_keys_of_the_current_screen(app: ModellaApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        labels = [c.KEY for c in app.screen.commands]
        assert {"c", "p", "r", "x"} <= set(labels)
        await pilot.press("escape")
        assert isinstance(app.screen, QueueScreen)


async def test_palette_offers_screen_and_global_commands(app: ModellaApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        names = [c.title for c in app.get_system_commands(app.screen)]
        assert "ui.cmd.download" in names or any("ownload" in n for n in names)
        assert len(names) >= 8
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert app.screen.__class__.__name__ == "CommandPalette"


async def test_theme_switch_persists(app: ModellaApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.theme == "modella-dark"
        await app.run_action("set_theme('high-contrast')")
        await pilot.pause()
        assert app.theme == "modella-high-contrast"
    assert config.load().get("theme") == "high-contrast"


async def test_quit_asks_while_downloads_run(app: ModellaApp, engine: FakeEngine) -> None:
    engine.put(FakeItem(1, "Model", "m.safetensors", state="running"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert not isinstance(app.screen, ConfirmScreen)
        assert app.is_running


async def test_no_forbidden_keys_bound(app: ModellaApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        for key in ("2", "4", "8"):
            await pilot.press(key)
            if key == "2":
                await pilot.press("slash")  # the search box is focused: its bindings count too
            bound = {b.binding.key for b in app.screen.active_bindings.values()}
            assert not (bound & FORBIDDEN_KEYS), bound
