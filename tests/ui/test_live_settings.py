"""Settings apply at once in the running app, and forms own the keyboard while a field has focus."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from modella_tui.core import config
from modella_tui.core.civitai.client import CivitaiClient
from modella_tui.core.downloads.engine import DownloadEngine
from modella_tui.core.hub.client import HubClient
from modella_tui.ui.app import ModellaApp, make_app
from modella_tui.ui.screens.browser import BrowserScreen
from modella_tui.ui.screens.queue import QueueScreen
from modella_tui.ui.screens.settings import SettingsScreen
from modella_tui.ui.wiring import build_services
from tests.fakes.fakehub import FakeHub
from tests.ui.notifications import notes, record_notifications

KEY = "good-key-0123456789abcdef"


async def until(pilot: Pilot[Any], done: Callable[[], bool], seconds: float = 60) -> None:
    """Let the app (and the engine's threads) work until `done()`."""
    async with asyncio.timeout(seconds):
        while not done():
            await pilot.pause(0.05)


@pytest.fixture
def real_app(fakehub: FakeHub, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> ModellaApp:
    """The app over its real services, pointed at the fake hub; every setting in the file."""
    monkeypatch.setenv("MODELLA_CIVITAI_URL", fakehub.civitai_url)
    monkeypatch.setenv("HF_ENDPOINT", fakehub.hub_url)
    monkeypatch.delenv("MODELLA_MODELS_DIR")  # an environment value would lock the field
    settings = config.load()
    settings.set("models_dir", str(tmp_path / "models"))
    app = make_app(settings, build_services(settings))
    record_notifications(app, monkeypatch)
    return app


async def save_field(pilot: Pilot[Any], field_id: str, value: str) -> None:
    """Put `value` in a settings field and press enter, as a user pastes and confirms."""
    field = pilot.app.screen.query_one(f"#{field_id}", Input)
    field.focus()
    field.value = value
    await pilot.press("enter")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def test_settings_focus_the_first_field_and_keep_q_and_digits(real_app: ModellaApp) -> None:
    async with real_app.run_test(size=(120, 40)) as pilot:
        await until(pilot, real_app.ready.is_set)
        await pilot.press("8")
        screen = real_app.screen
        assert isinstance(screen, SettingsScreen)
        first = screen.query_one("#set-civitai-api-key", Input)
        assert first.has_focus
        await pilot.press(*"q123")
        assert first.value == "q123"
        assert real_app.screen is screen and real_app.is_running
        await pilot.press("escape")  # out of the field: screen keys work again
        assert not first.has_focus
        await pilot.press("4")
        assert isinstance(real_app.screen, QueueScreen)


async def test_a_pasted_key_works_without_a_restart(real_app: ModellaApp, fakehub: FakeHub) -> None:
    fakehub.civitai_key = KEY
    async with real_app.run_test(size=(120, 40)) as pilot:
        await until(pilot, real_app.ready.is_set)
        await pilot.press("8", "tab", "enter")  # the key's field has the keyboard; Test is next
        await until(pilot, lambda: any("API key" in m for m in notes(real_app)))
        real_app.said.clear()  # type: ignore[attr-defined]
        await save_field(pilot, "set-civitai-api-key", KEY)
        await pilot.press("tab", "enter")  # from the key's field to its Test button
        await until(pilot, lambda: any("accepted" in m for m in notes(real_app)))
    assert all(KEY not in m for m in notes(real_app))


async def test_a_removed_key_is_no_longer_sent(real_app: ModellaApp, fakehub: FakeHub) -> None:
    fakehub.civitai_key = KEY
    civitai = real_app.services.civitai
    assert isinstance(civitai, CivitaiClient)
    async with real_app.run_test(size=(120, 40)) as pilot:
        await until(pilot, real_app.ready.is_set)
        await pilot.press("8")
        await save_field(pilot, "set-civitai-api-key", KEY)
        assert civitai.has_key
        await save_field(pilot, "set-civitai-api-key", "")  # an empty field: remove it?
        await pilot.press("y")
        await until(pilot, lambda: not civitai.has_key)
        assert any("Removed" in m for m in notes(real_app))
        await pilot.press("tab", "enter")  # from the key's field to its Test button
        await until(pilot, lambda: any("needs an API key" in m for m in notes(real_app)))
    assert not config.load().civitai_key


async def test_a_new_models_folder_takes_the_next_download(
    real_app: ModellaApp, tmp_path: Path
) -> None:
    new_folder = tmp_path / "elsewhere" / "models"
    async with real_app.run_test(size=(120, 40)) as pilot:
        await until(pilot, real_app.ready.is_set)
        await pilot.press("8")
        await save_field(pilot, "set-models-dir", str(new_folder))
        await until(pilot, lambda: any(str(new_folder) in m for m in notes(real_app)))
        await pilot.press("escape", "2")
        browser = real_app.screen
        assert isinstance(browser, BrowserScreen)
        await pilot.press("slash", *"Ink Wash LoRA", "enter")
        await until(pilot, lambda: any(m.name == "Ink Wash LoRA" for m in browser.grid.cards))
        while browser.grid.current is None or browser.grid.current.name != "Ink Wash LoRA":
            await pilot.press("right")
        await pilot.press("d", "4")
        queue = real_app.screen
        assert isinstance(queue, QueueScreen)
        await until(pilot, lambda: [i.state for i in queue.items.values()] == ["done"])
    assert (new_folder / "Lora" / "inkWashLora_v20.safetensors").is_file()


async def test_parallelism_reaches_the_running_engine(real_app: ModellaApp) -> None:
    engine = real_app.services.engine
    assert isinstance(engine, DownloadEngine)
    async with real_app.run_test(size=(120, 40)) as pilot:
        await until(pilot, real_app.ready.is_set)
        await pilot.press("8")
        await save_field(pilot, "set-max-parallel", "5")
        await save_field(pilot, "set-connections-per-file", "2")
        await until(pilot, lambda: engine.max_parallel == 5 and engine.connections_per_file == 2)


async def test_a_saved_hub_token_is_used_by_the_next_hub_request(real_app: ModellaApp) -> None:
    hub = real_app.services.hub
    assert isinstance(hub, HubClient)
    assert hub.token() is None
    async with real_app.run_test(size=(120, 40)) as pilot:
        await until(pilot, real_app.ready.is_set)
        await pilot.press("8")
        await save_field(pilot, "set-hf-token", "hf_livetoken0123456789")
    token = hub.token()
    assert token is not None and token.reveal() == "hf_livetoken0123456789"
