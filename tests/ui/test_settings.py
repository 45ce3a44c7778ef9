"""The settings screen saves at once and never shows a secret."""

from __future__ import annotations

from textual.widgets import Input, Select

from modella_tui.core import config
from modella_tui.ui.app import ModellaApp
from modella_tui.ui.screens.settings import SettingsScreen
from tests.ui.conftest import SIZE

SECRET = "SENTINELKEY0123456789abcdef"


async def test_theme_and_key_are_saved_and_masked(app: ModellaApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("8")
        screen = app.screen
        assert isinstance(screen, SettingsScreen)
        screen.query_one("#set-theme", Select).value = "light"
        await pilot.pause()
        assert app.theme == "modella-light"
        key_box = screen.query_one("#set-civitai-api-key", Input)
        key_box.focus()
        key_box.value = SECRET
        await pilot.press("enter")
        await pilot.pause()
        assert key_box.value == ""
        assert SECRET not in key_box.placeholder and key_box.placeholder.endswith("cdef")
        box = screen.query_one("#set-max-parallel", Input)
        box.value = "5"
        box.focus()
        await pilot.press("enter")
    saved = config.load()
    assert saved.get("theme") == "light"
    assert saved.civitai_key.reveal() == SECRET
    assert saved.get("max_parallel") == 5
