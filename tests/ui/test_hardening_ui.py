"""Hostile or failing inputs in the app: stale results take no keys, every screen worker's failure
is shown, the clipboard and toasts get cleaned text, unchecked scans are warned about."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from modella_tui.core import config, paths
from modella_tui.core.civitai.client import CivitaiClient
from modella_tui.core.config import Settings
from modella_tui.core.downloads.events import ItemAdded, StateChanged
from modella_tui.core.models import CivitaiFile, CivitaiModel, CivitaiVersion, SearchPage
from modella_tui.ui.app import ModellaApp, make_app
from modella_tui.ui.screens.browser import BrowserScreen
from modella_tui.ui.screens.detail import DetailScreen
from modella_tui.ui.services import Services
from tests.fakes.catalog import INK_WASH, OSC52
from tests.fakes.fakehub import FakeHub
from tests.ui.conftest import SIZE
from tests.ui.fakes import Enqueued, FakeCivitai, FakeEngine, FakeItem, make_model


def notes(app: ModellaApp) -> list[str]:
    return [n.message for n in app._notifications]


@dataclass
class SlowSearch(FakeCivitai):
    """Words take as long as the test says: the listing before them is stale meanwhile."""

    gate: asyncio.Event = field(default_factory=asyncio.Event)

    async def search(self, params: Any) -> SearchPage:
        if params.query:
            await self.gate.wait()
            return SearchPage(tuple(make_model(1000 + i, f"New {i}") for i in range(1, 6)))
        return await super().search(params)


async def test_enter_enter_during_a_slow_search_never_opens_an_old_card(settings: Settings) -> None:
    civitai = SlowSearch()
    app = make_app(settings, Services(settings=settings, civitai=civitai))
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        browser = app.screen
        assert isinstance(browser, BrowserScreen) and browser.grid.cards
        grid = browser.grid
        await pilot.press("slash", *"ink", "enter", "enter", "d")
        await pilot.pause()
        assert app.screen is browser, "a card of the previous listing was opened"
        assert grid.stale and grid.current is None
        civitai.gate.set()
        for _ in range(20):
            await pilot.pause()
            if not grid.stale:
                break
        assert [m.name for m in grid.cards][:1] == ["New 1"]
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen) and app.screen.model.id == 1001


async def test_a_failing_detail_load_is_shown_not_swallowed(
    fakehub: FakeHub, settings: Settings
) -> None:
    civitai = CivitaiClient(fakehub.civitai_url, None, None)
    fakehub.fail_next(
        "civitai", f"/api/v1/models/{INK_WASH}", 200, body=b"<html>login</html>",
        content_type="text/html", times=5,
    )  # fmt: skip
    full = await FakeCivitai().model(1)
    ink = replace(full, id=INK_WASH, name="Ink Wash LoRA")
    app = make_app(settings, Services(settings=settings, civitai=civitai))
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        browser = app.screen
        assert isinstance(browser, BrowserScreen)
        browser.open_model(ink)
        await pilot.pause()
        detail = app.screen
        assert isinstance(detail, DetailScreen)
        await detail.workers.wait_for_complete()
        await pilot.pause()
        errors = [n for n in app._notifications if n.severity == "error"]
    await civitai.close()
    assert errors and "web page" in errors[0].message
    assert app.is_running is False  # the app ran on; it ended only with the test


async def test_an_unexpected_worker_error_names_the_log(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    civitai = FakeCivitai()

    async def broken(model_id: int) -> CivitaiModel:
        raise RuntimeError("parser bug")

    monkeypatch.setattr(civitai, "model", broken)
    app = make_app(settings, Services(settings=settings, civitai=civitai))
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen)
        await app.screen.workers.wait_for_complete()
        await pilot.pause()
        said = notes(app)
    assert any("RuntimeError" in n and str(paths.log_path()) in n for n in said), said


async def test_copied_words_and_toasts_carry_no_escape(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    civitai = FakeCivitai(total=1)
    model = make_model(1, f"Red{OSC52} Alert")
    version = replace(model.versions[0], trained_words=(f"red{OSC52}alert", "\x1b[2Jsiren"))
    civitai.models[1] = replace(model, versions=(version,))
    engine = FakeEngine()
    engine.put(FakeItem(1, "x", "x.safetensors", state="running"))
    copied: list[str] = []
    app = make_app(settings, Services(settings=settings, civitai=civitai, engine=engine))
    monkeypatch.setattr(app, "copy_to_clipboard", copied.append)
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen)
        await app.screen.workers.wait_for_complete()
        await pilot.press("y")
        engine.emit(ItemAdded(1, f"Red{OSC52} Alert", "a\x1b[2J.safetensors"))
        engine.emit(StateChanged(1, "failed", "engine.io_error", {"reason": f"bad{OSC52}"}))
        await pilot.pause()
        await pilot.pause()
        said = notes(app)
    assert copied and all("\x1b" not in c and "\x07" not in c for c in copied)
    assert copied[0].startswith("red") and "alert" in copied[0] and "siren" in copied[0]
    assert said and all("\x1b" not in n and "\x07" not in n for n in said)


async def test_an_unchecked_scan_is_queued_with_a_warning(
    settings: Settings, enqueued: Enqueued
) -> None:
    civitai = FakeCivitai(total=1)
    version = CivitaiVersion(
        id=5, name="v1", files=(CivitaiFile(id=6, name="m.safetensors", primary=True,
                                            pickle_scan="Pending"),)
    )  # fmt: skip
    civitai.models[1] = replace(make_model(1), versions=(version,))
    app = make_app(settings, Services(settings=settings, civitai=civitai, enqueue_civitai=enqueued))
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen)
        await app.screen.workers.wait_for_complete()
        app.clear_notifications()
        await pilot.press("d")
        await app.workers.wait_for_complete()
        await pilot.pause()
        toasts = list(app._notifications)
    assert len(toasts) == 1 and toasts[0].severity == "warning"
    assert "m.safetensors" in toasts[0].message and "pending" in toasts[0].message
    assert config.load() is not None
