"""Language switch at once, the key "test" actions, combined auth headers, no ctrl+w in inputs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from aiohttp import web
from textual.widgets import Button, Label, Select

from modella_tui.core import config, i18n
from modella_tui.core.civitai.client import CivitaiClient
from modella_tui.core.config import Secret, Settings
from modella_tui.core.downloads.auth import download_auth
from modella_tui.core.hub.client import HubClient
from modella_tui.ui.app import ModellaApp, make_app
from modella_tui.ui.screens.browser import BrowserScreen
from modella_tui.ui.screens.queue import QueueScreen
from modella_tui.ui.screens.settings import SettingsScreen
from modella_tui.ui.services import Services
from modella_tui.ui.widgets.text_input import TextInput
from modella_tui.ui.wiring import key_checker
from tests.fakes.fakehub import FakeHub
from tests.ui.conftest import SIZE
from tests.ui.fakes import FakeCivitai, FakeEngine, FakeItem

FRENCH = {
    "ui.cmd.quit": "Quitter",
    "ui.settings.language": "Langue",
    "ui.queue.col.state": "État",
    "ui.browser.search_placeholder": "Chercher des modèles",
    "ui.screen.settings": "Réglages",
}


@pytest.fixture
def french(monkeypatch: pytest.MonkeyPatch) -> None:
    """A tiny French catalogue over whatever English the UI tests use."""
    english: Callable[[str], dict[str, str]] = i18n.catalog

    def catalog(lang: str) -> dict[str, str]:
        return {**english("en"), **FRENCH} if lang == "fr" else english(lang)

    monkeypatch.setattr(i18n, "catalog", catalog)


def footer_labels(app: ModellaApp) -> set[str]:
    """Descriptions of our own command bindings (Textual's ctrl+q is also "Quit")."""
    return {b.binding.description for b in app.screen.active_bindings.values() if b.binding.id}


@pytest.mark.usefixtures("french")
async def test_language_applies_at_once(app: ModellaApp, engine: FakeEngine) -> None:
    engine.put(FakeItem(1, "Model", "m.safetensors", state="running"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")  # the queue exists before the switch and must follow it
        await pilot.press("8", "escape")  # out of the first field: the screen keys show
        screen = app.screen
        assert isinstance(screen, SettingsScreen)
        assert "Quit" in footer_labels(app)
        screen.query_one("#set-language", Select).value = "fr"
        await pilot.pause()
        await pilot.pause()
        assert i18n.current_language() == "fr"
        assert "Quitter" in footer_labels(app) and "Quit" not in footer_labels(app)
        labels = [str(w.render()) for w in app.screen.query(".setting-label").results(Label)]
        assert "Langue" in labels
        assert app.sub_title == "Réglages"
        await pilot.press("4")
        queue = app.screen
        assert isinstance(queue, QueueScreen)
        await queue.workers.wait_for_complete()
        table = queue.table
        headers = {key.value: str(column.label) for key, column in table.columns.items()}
        assert headers["state"] == "État"
        assert table.row_count == 1
        await pilot.press("2")
        assert isinstance(app.screen, BrowserScreen)
        assert app.screen.search_box.placeholder == "Chercher des modèles"
    assert config.load().get("language") == "fr"


async def test_forced_language_says_why_it_stays(
    app: ModellaApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELLA_LANG", "en")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("8")
        app.screen.query_one("#set-language", Select).value = "de"
        await pilot.pause()
        await pilot.pause()
        assert i18n.current_language() == "en"
        assert any("MODELLA_LANG" in n.message for n in app._notifications)


async def test_civitai_key_test_reports_accept_and_refusal(
    settings: Settings, hub: FakeHub
) -> None:
    hub.civitai_key = "good-key-0123"
    try:
        for key, expected in (("good-key-0123", "accepted"), ("bad-key-4567", "refused")):
            civitai = CivitaiClient(hub.civitai_url, Secret(key), None)
            services = Services(
                settings=settings,
                civitai=FakeCivitai(),
                check_key=key_checker(civitai, HubClient(settings)),
            )
            app = make_app(settings, services)
            async with app.run_test(size=SIZE) as pilot:
                await pilot.press("8")
                await pilot.click("#test-civitai")
                await app.screen.workers.wait_for_complete()
                await pilot.pause()
                messages = [n.message for n in app._notifications]
                if expected == "accepted":
                    assert any("accepted" in m for m in messages), messages
                else:
                    errors = [n for n in app._notifications if n.severity == "error"]
                    assert errors and all(key not in n.message for n in errors)
            await civitai.close()
    finally:
        hub.civitai_key = None


@pytest.fixture
async def whoami_server() -> AsyncIterator[str]:
    """A Hub stand-in that knows one token (the fake hub has no whoami)."""

    async def whoami(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") == "Bearer hf_goodtoken":
            return web.json_response({"name": "me", "type": "user"})
        return web.json_response(
            {"error": "Invalid credentials in Authorization header"}, status=401
        )

    server = web.Application()
    server.router.add_get("/api/whoami-v2", whoami)
    runner = web.AppRunner(server)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@pytest.mark.parametrize(
    ("token", "expect"),
    [("hf_goodtoken", "accepted"), ("hf_badtoken", "refused"), (None, "No Hugging Face token")],
)
async def test_hf_token_test(
    settings: Settings,
    whoami_server: str,
    monkeypatch: pytest.MonkeyPatch,
    token: str | None,
    expect: str,
) -> None:
    monkeypatch.setenv("HF_ENDPOINT", whoami_server)
    if token:
        monkeypatch.setenv("HF_TOKEN", token)
    civitai = CivitaiClient("http://127.0.0.1:9", None, None)
    services = Services(
        settings=settings,
        civitai=FakeCivitai(),
        check_key=key_checker(civitai, HubClient(settings)),
    )
    app = make_app(settings, services)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("8")
        app.screen.query_one("#test-hf", Button).press()
        await pilot.pause()
        await app.screen.workers.wait_for_complete()
        await pilot.pause()
        messages = [n.message for n in app._notifications]
        assert any(expect in m for m in messages), messages
        assert not any(token and token in m for m in messages)
    await civitai.close()


def test_auth_headers_go_to_their_own_origin_only(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9876")
    monkeypatch.setenv("HF_TOKEN", "hf_secret_token")
    civitai = CivitaiClient("http://127.0.0.1:9875", Secret("civ-secret"), None)
    headers = download_auth(civitai, HubClient(settings))
    assert headers("http://127.0.0.1:9875/api/download/models/1")["Authorization"] == (
        "Bearer civ-secret"
    )
    hub = headers("http://127.0.0.1:9876/org/repo/resolve/main/a.safetensors")
    assert hub == {"Authorization": "Bearer hf_secret_token"}
    assert "Authorization" not in headers("http://127.0.0.1:9877/blob/abc")


def test_text_input_drops_ctrl_w() -> None:
    box = TextInput()
    keys = {key for key, _ in box._bindings}
    assert "ctrl+w" not in keys
    actions = {b.action for key, b in box._bindings if key == "alt+backspace"}
    assert actions == {"delete_left_word"}
