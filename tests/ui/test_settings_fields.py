"""Settings fields: enter saves, leaving a field puts the saved value back, an empty key field
removes the stored key (after asking), and refused values are said once, by their label."""

from __future__ import annotations

import stat
import tomllib
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from modella_tui.core import config
from modella_tui.core.config import Settings
from modella_tui.ui.app import ModellaApp, make_app
from modella_tui.ui.screens.modals.confirm import ConfirmScreen
from modella_tui.ui.screens.settings import SettingsScreen
from modella_tui.ui.services import Services
from tests.ui.conftest import SIZE
from tests.ui.fakes import FakeCivitai, FakeEngine
from tests.ui.notifications import notes, record_notifications

SECRET = "SENTINELKEY0123456789abcdef"


def make(monkeypatch: pytest.MonkeyPatch, settings: Settings | None = None) -> ModellaApp:
    """The app over fakes, every notification kept (toasts expire on a slow machine)."""
    settings = settings or config.load()
    app = make_app(
        settings, Services(settings=settings, civitai=FakeCivitai(), engine=FakeEngine())
    )
    record_notifications(app, monkeypatch)
    return app


def stored() -> dict[str, Any]:
    """The settings file as written."""
    path = config.load().path
    return tomllib.loads(path.read_text()) if path.exists() else {}


def field(app: ModellaApp, field_id: str) -> Input:
    return app.screen.query_one(f"#{field_id}", Input)


async def settings_screen(pilot: Pilot[Any]) -> SettingsScreen:
    await pilot.press("8")
    screen = pilot.app.screen
    assert isinstance(screen, SettingsScreen)
    return screen


@pytest.fixture
def own_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Settings:
    """Settings with the models folder in the file (an environment value would lock its field)."""
    monkeypatch.delenv("MODELLA_MODELS_DIR")
    settings = config.load()
    settings.set("models_dir", str(tmp_path / "mine"))
    return settings


# ----- 1. a secret is saved only on enter ----------------------------------------------------
async def test_a_stray_key_typed_into_the_key_field_is_not_saved(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = make(monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        await settings_screen(pilot)
        await pilot.press("1", "escape")  # meant to go to the Dashboard
        await pilot.pause()
        assert field(app, "set-civitai-api-key").value == ""
        assert not any(m.startswith("Saved") for m in notes(app))
        assert any("Civitai API key" in m and "not saved" in m for m in notes(app))
    assert not config.load().civitai_key
    assert "civitai" not in stored()


async def test_a_token_left_is_not_saved_and_enter_or_its_test_button_saves_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = make(monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        await settings_screen(pilot)
        token = field(app, "set-hf-token")
        token.focus()
        await pilot.press(*"hf_half", "shift+tab")  # away, not to its Test button
        await pilot.pause()
        assert token.value == ""
        assert any("Hugging Face token" in m and "not saved" in m for m in notes(app))
        assert not config.load().hf_token
        token.focus()
        await pilot.press(*"hf_whole0123456789", "enter")
        await pilot.pause()
        assert token.value == "" and token.placeholder.endswith("6789")
        assert config.load().hf_token.reveal() == "hf_whole0123456789"
        # Pasted, then tab to Test and enter: pressing Test confirms the key, as enter does.
        await pilot.press(*"hf_pasted9876543210", "tab")
        await pilot.pause()
        assert app.screen.focused is not None and app.screen.focused.id == "test-hf"
        assert token.value == "hf_pasted9876543210"  # kept on its way to Test
        await pilot.press("enter")
        await pilot.pause()
        assert token.value == "" and token.placeholder.endswith("3210")
    assert config.load().hf_token.reveal() == "hf_pasted9876543210"


async def test_a_typed_key_is_kept_while_the_terminal_is_away(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Switching windows to copy something is not leaving the field."""
    app = make(monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        await settings_screen(pilot)
        box = field(app, "set-civitai-api-key")
        await pilot.press(*"half")
        app.app_focus = False
        await pilot.pause()
        app.app_focus = True
        await pilot.pause()
        assert box.has_focus and box.value == "half"
        assert not any("not saved" in m for m in notes(app))
        await pilot.press(*"-of-the-key-0123", "enter")
        await pilot.pause()
    assert config.load().civitai_key.reveal() == "half-of-the-key-0123"


async def test_other_fields_save_on_enter_and_go_back_when_left(
    monkeypatch: pytest.MonkeyPatch, own_folder: Settings, tmp_path: Path
) -> None:
    app = make(monkeypatch, own_folder)
    before = str(tmp_path / "mine")
    async with app.run_test(size=SIZE) as pilot:
        await settings_screen(pilot)
        folder = field(app, "set-models-dir")
        folder.focus()
        await pilot.press("end", "1", "escape")
        await pilot.pause()
        assert folder.value == before
        assert any("Models folder" in m and "not saved" in m for m in notes(app))
        parallel = field(app, "set-max-parallel")
        parallel.focus()
        parallel.value = "5"
        await pilot.press("tab")
        await pilot.pause()
        assert parallel.value == "3"
        parallel.focus()
        parallel.value = "5"
        await pilot.press("enter")
        await pilot.pause()
        assert parallel.value == "5"
    assert config.load().get("models_dir") == before
    assert config.load().get("max_parallel") == 5


# ----- 2. removing a stored secret ---------------------------------------------------------------
async def test_an_empty_key_field_and_enter_removes_the_stored_key_after_asking(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = config.load()
    settings.set("civitai.api_key", SECRET)
    settings.set("layout", "comfyui")
    app = make(monkeypatch, settings)
    async with app.run_test(size=SIZE) as pilot:
        await settings_screen(pilot)
        await pilot.press("enter")
        await pilot.pause()
        modal = app.screen
        assert isinstance(modal, ConfirmScreen)
        assert modal.question == "Remove the stored Civitai API key?"
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, SettingsScreen)
        assert config.load().civitai_key.reveal() == SECRET
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, SettingsScreen)
        assert field(app, "set-civitai-api-key").placeholder.startswith("not set")
        assert any(m == "Removed the Civitai API key." for m in notes(app))
        assert not app.settings.civitai_key
    assert not config.load().civitai_key
    assert stored().get("civitai", {}).get("api_key") is None
    assert stored()["layout"] == "comfyui"
    assert stat.S_IMODE(config.load().path.stat().st_mode) == 0o600


async def test_an_empty_key_field_with_nothing_stored_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = make(monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        await settings_screen(pilot)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, SettingsScreen)
        assert any("No Civitai API key is saved" in m for m in notes(app))


async def test_a_key_from_the_environment_says_where_to_remove_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CIVITAI_TOKEN", SECRET)
    app = make(monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        await settings_screen(pilot)
        box = field(app, "set-civitai-api-key")
        assert box.disabled
        assert "CIVITAI_TOKEN" in box.placeholder and "remove" in box.placeholder
        assert SECRET not in box.placeholder
        assert field(app, "set-hf-token").has_focus  # the first field that can be edited


# ----- 3. a refused number ------------------------------------------------------------------------
async def test_a_refused_number_is_said_once_by_its_label_and_the_field_goes_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = make(monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        await settings_screen(pilot)
        box = field(app, "set-max-parallel")
        box.focus()
        box.value = ""
        await pilot.press("0", "enter")
        await pilot.pause()
        errors = [m for m in notes(app) if "between" in m]
        assert errors == ["Setting “Parallel downloads” must be between 1 and 16."]
        assert box.value == "0"  # still there to correct
        await pilot.press("escape")
        await pilot.pause()
        assert box.value == "3"
        assert [m for m in notes(app) if "between" in m or "not saved" in m] == errors
    assert config.load().get("max_parallel") == 3


# ----- 4. a models folder that cannot be made -----------------------------------------------------
async def test_a_models_folder_under_a_file_is_refused(
    monkeypatch: pytest.MonkeyPatch, own_folder: Settings, tmp_path: Path
) -> None:
    blocker = tmp_path / "x" / "afile"
    blocker.parent.mkdir()
    blocker.write_text("not a folder")
    app = make(monkeypatch, own_folder)
    before = str(tmp_path / "mine")
    async with app.run_test(size=SIZE) as pilot:
        await settings_screen(pilot)
        folder = field(app, "set-models-dir")
        folder.focus()
        folder.value = str(blocker / "models")
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        refused = [m for m in notes(app) if str(blocker) in m]
        assert len(refused) == 1 and "Models folder" in refused[0] and "not a folder" in refused[0]
        assert not any("New downloads go to" in m for m in notes(app))
        await pilot.press("escape")
        await pilot.pause()
        assert folder.value == before
    assert config.load().get("models_dir") == before
