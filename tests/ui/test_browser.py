"""The Civitai browser: grid fills, debounced search, grammar, filters, markup safety."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot

from modella_tui.core import config
from modella_tui.core.civitai.client import CivitaiClient
from modella_tui.core.errors import AuthError, RateLimitedError
from modella_tui.ui.app import ModellaApp, make_app
from modella_tui.ui.screens.browser import BrowserScreen
from modella_tui.ui.screens.detail import DetailScreen
from modella_tui.ui.services import Services
from modella_tui.ui.widgets.card_grid import CardGrid, columns_for
from tests.fakes.fakehub import FakeHub
from tests.ui.conftest import SIZE
from tests.ui.fakes import Enqueued, FakeCivitai, make_model


async def settle(app: ModellaApp) -> None:
    """Wait for the services, then every worker (debounce included) and the messages they posted."""
    async with asyncio.timeout(60):
        await app.ready.wait()
    await app.workers.wait_for_complete()
    await app.screen.workers.wait_for_complete() if app.screen.is_mounted else None
    for _ in range(3):
        await app.workers.wait_for_complete()


async def until(pilot: Pilot[Any], done: Callable[[], bool], rounds: int = 200) -> None:
    """Let the app work (workers, then queued messages) until `done()`; fail after `rounds` turns."""
    for _ in range(rounds):
        if done():
            return
        await settle(pilot.app)  # type: ignore[arg-type]
        await pilot.pause()
    assert done(), "the app never reached the expected state"


def browser(app: ModellaApp) -> BrowserScreen:
    screen = app.screen
    assert isinstance(screen, BrowserScreen)
    return screen


async def test_grid_fills_and_reflows(app: ModellaApp, fake_civitai: FakeCivitai) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: len(app.screen.query(CardGrid)) == 1)
        grid = app.screen.query_one(CardGrid)
        await until(pilot, lambda: len(grid.cards) >= 20 and grid.size.width > 0)
        assert len(grid.cards) >= 20
        assert grid.columns == columns_for(grid.scrollable_content_region.width) == 3
        # The screen is filled: loaded rows cover the visible height.
        assert grid.rows * 6 >= grid.size.height
        await pilot.resize_terminal(200, 40)
        await pilot.pause()
        assert grid.columns == 5


async def test_arrow_keys_move_and_infinite_scroll(
    app: ModellaApp, fake_civitai: FakeCivitai
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        grid = app.screen.query_one(CardGrid)
        await pilot.press("right", "down")
        assert grid.cursor == 1 + grid.columns
        before = len(grid.cards)
        await pilot.press("end")
        await settle(app)
        await pilot.pause()
        assert len(grid.cards) > before
        await pilot.press("g")
        assert grid.cursor == 0


async def test_empty_pages_do_not_end_scrolling(
    settings: config.Settings, enqueued: Enqueued
) -> None:
    civitai = FakeCivitai(empty_pages=2)
    app = make_app(settings, Services(settings=settings, civitai=civitai, enqueue_civitai=enqueued))
    async with app.run_test(size=SIZE) as pilot:
        # Startup waits for the services, then pages arrive one worker at a time: wait on the state.
        await until(pilot, lambda: len(app.screen.query(CardGrid)) == 1)
        grid = app.screen.query_one(CardGrid)
        await until(pilot, lambda: len(grid.cards) >= 20)
        assert len(grid.cards) >= 20
        assert len(civitai.searches) >= 3


async def test_slash_and_typing_makes_one_request(
    app: ModellaApp, fake_civitai: FakeCivitai
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        first = len(fake_civitai.searches)
        await pilot.press("slash")
        assert browser(app).search_box.has_focus
        await pilot.press(*"ink")
        await settle(app)
        assert browser(app).search_box.has_focus  # results arriving must not steal the focus
        queries = [p.query for p in fake_civitai.searches[first:] if p.cursor is None]
        assert queries == ["ink"]
        # enter with the same words asks nothing more and moves focus to the cards.
        await pilot.press("enter")
        await settle(app)
        assert [p.query for p in fake_civitai.searches[first:] if p.cursor is None] == ["ink"]
        assert app.screen.query_one(CardGrid).has_focus


async def test_grammar_tag_and_user(app: ModellaApp, fake_civitai: FakeCivitai) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        await pilot.press("slash", *"#anime @bob cat", "enter")
        await settle(app)
        last = fake_civitai.searches[-1] if fake_civitai.searches[-1].cursor is None else None
        params = last or next(p for p in reversed(fake_civitai.searches) if p.cursor is None)
        assert (params.tag, params.username, params.query) == ("anime", "bob", "cat")
        await pilot.press("slash", "escape")
        assert app.screen.query_one(CardGrid).has_focus


async def test_inline_errors_say_what_to_do(app: ModellaApp, fake_civitai: FakeCivitai) -> None:
    fake_civitai.error = RateLimitedError()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        screen = browser(app)
        assert (screen.error is not None and "ui.browser.hint_rate" in screen.error) or screen.error
        fake_civitai.error = AuthError()
        await pilot.press("ctrl+r")
        await settle(app)
        assert screen.error is not None
        assert screen.query_one("#browser-status").has_class("error")


async def test_d_queues_primary_file_of_latest_version(app: ModellaApp, enqueued: Enqueued) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        await pilot.press("d")
        await settle(app)
        assert len(enqueued.calls) == 1
        model, version, files = enqueued.calls[0]
        assert model.id == 1 and version.id == 10_001 and [f.id for f in files] == [20_001]


async def test_mature_models_are_filtered_on_our_side(
    settings: config.Settings, enqueued: Enqueued
) -> None:
    civitai = FakeCivitai(total=10)
    civitai.models[2] = make_model(2, nsfw=True)
    civitai.models[3] = make_model(3, nsfw_level=8)
    app = make_app(settings, Services(settings=settings, civitai=civitai))
    async with app.run_test(size=SIZE):
        await settle(app)
        ids = [m.id for m in app.screen.query_one(CardGrid).cards]
        assert 2 not in ids and 3 not in ids and 1 in ids


async def test_markup_named_model_shows_literally(settings: config.Settings) -> None:
    civitai = FakeCivitai(total=3)
    civitai.models[1] = make_model(1, name="[@click=app.quit]Hi[/]")
    app = make_app(settings, Services(settings=settings, civitai=civitai))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        await pilot.pause()
        grid = app.screen.query_one(CardGrid)
        text = "\n".join(grid.render_line(y).text for y in range(6))
        assert "[@click=app.quit]Hi[/]" in text
        # Clicking another card selects it; clicking the cursor card opens it; no action runs.
        await pilot.click(CardGrid, offset=(45, 2))
        assert grid.cursor == 1
        await pilot.press("left")
        await pilot.click(CardGrid, offset=(5, 2))
        await settle(app)
        await pilot.pause()
        assert app.is_running
        assert isinstance(app.screen, DetailScreen)
        header = str(app.screen.query_one("#detail-name").render())
        assert "[@click=app.quit]Hi[/]" in header
        await pilot.click("#detail-name")
        assert app.is_running


async def test_against_fake_hub_search_and_detail(settings: config.Settings, hub: FakeHub) -> None:
    client = CivitaiClient(hub.civitai_url, None, None)
    app = make_app(settings, Services(settings=settings, civitai=client))
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(app)
            grid = app.screen.query_one(CardGrid)
            assert grid.cards
            names = [m.name for m in grid.cards]
            assert all("Dark Ink" not in n for n in names)  # mature, filtered
            await pilot.press("slash", *"Ink Wash", "enter")
            await settle(app)
            assert grid.cards and grid.cards[0].name == "Ink Wash LoRA"
            await pilot.press("enter")
            await settle(app)
            await pilot.pause()
            assert isinstance(app.screen, DetailScreen)
            await app.screen.workers.wait_for_complete()
            await pilot.pause()
            words = str(app.screen.query_one("#detail-words").render())
            assert "inkwash style" in words
            await pilot.press("escape")
            assert isinstance(app.screen, BrowserScreen)
    finally:
        await client.close()
