"""What a new user meets first: one toast per action, `o` says what it did, empty lists say so,
a hash opens its own version, honest card stats, filters and choices remembered, complete help."""

from __future__ import annotations

from dataclasses import replace

import pytest

from modella_tui.core import config
from modella_tui.core.config import Settings
from modella_tui.core.downloads.events import ItemAdded, StateChanged
from modella_tui.core.models import CivitaiFile, CivitaiImage, CivitaiStats, CivitaiVersion
from modella_tui.ui.app import ModellaApp, make_app
from modella_tui.ui.filters import FilterState
from modella_tui.ui.screens import detail as detail_module
from modella_tui.ui.screens.browser import BrowserScreen
from modella_tui.ui.screens.detail import DetailScreen
from modella_tui.ui.screens.modals.help import HelpScreen
from modella_tui.ui.screens.queue import QueueScreen
from modella_tui.ui.services import Services
from modella_tui.ui.widgets.card_grid import CardGrid
from tests.ui.conftest import SIZE
from tests.ui.fakes import Enqueued, FakeCivitai, FakeEngine, FakeItem, make_model

SHA = "ab" * 32


def three_versions() -> FakeCivitai:
    civitai = FakeCivitai(total=1)
    versions = tuple(
        CivitaiVersion(
            id=700 + n,
            name=f"v{n}.0",
            files=(
                CivitaiFile(
                    id=800 + n,
                    name=f"zephyr_v{n}.safetensors",
                    primary=True,
                    sha256=SHA if n == 2 else f"{n:064x}",
                ),
                CivitaiFile(id=850 + n, name=f"zephyr_v{n}_fp16.safetensors", sha256=f"{n:063x}f"),
            ),
            images=(CivitaiImage(url="https://img.example/a.png", nsfw_level=1),),
        )
        for n in (3, 2, 1)
    )
    civitai.models[1] = replace(make_model(1, "Zephyr Ink Style"), versions=versions)
    return civitai


def notes(app: ModellaApp) -> list[str]:
    return [n.message for n in app._notifications]


async def open_detail(app: ModellaApp, pilot: object) -> DetailScreen:
    await app.workers.wait_for_complete()
    await pilot.press("enter")  # type: ignore[attr-defined]
    await pilot.pause()  # type: ignore[attr-defined]
    screen = app.screen
    assert isinstance(screen, DetailScreen)
    await screen.workers.wait_for_complete()
    await pilot.pause()  # type: ignore[attr-defined]
    return screen


async def test_four_marked_files_of_two_versions_make_one_toast(
    settings: Settings, enqueued: Enqueued
) -> None:
    app = make_app(
        settings,
        Services(settings=settings, civitai=three_versions(), enqueue_civitai=enqueued),
    )
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(app, pilot)
        await pilot.press("space", "space")  # both files of v3
        await pilot.press("shift+tab", "down", "tab")  # v2 in the versions list
        assert screen.version is not None and screen.version.name == "v2.0"
        await pilot.press("space", "space")
        app.clear_notifications()
        await pilot.press("d")
        await app.workers.wait_for_complete()
        await pilot.pause()
    queued = [n for n in notes(app) if "Queued" in n]
    assert queued == ["Queued 4 file(s) of Zephyr Ink Style."]
    assert sum(len(files) for _, _, files in enqueued.calls) == 4


async def test_a_finished_download_is_announced_once(app: ModellaApp, engine: FakeEngine) -> None:
    engine.put(FakeItem(1, "Model", "m.safetensors", state="running"))
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        engine.emit(ItemAdded(1, "Model", "m.safetensors"))
        engine.emit(StateChanged(1, "done"))
        engine.emit(StateChanged(1, "done"))  # the engine's poll of the row says it again
        await pilot.pause()
        await pilot.pause()
    assert [n for n in notes(app) if n.startswith("Downloaded")] == [
        "Downloaded Model · m.safetensors."
    ]


@pytest.mark.parametrize("ssh", [False, True])
async def test_o_always_says_what_it_did(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, ssh: bool
) -> None:
    monkeypatch.setattr(detail_module, "over_ssh", lambda env=None: ssh)
    opened: list[str] = []
    app = make_app(settings, Services(settings=settings, civitai=three_versions()))
    monkeypatch.setattr(app, "open_url", lambda url, **kw: opened.append(url))
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(app, pilot)
        app.clear_notifications()
        await pilot.press("o")
        await pilot.pause()
    said = notes(app)
    assert len(said) == 1 and "https://img.example/a.png" in said[0]
    assert opened == ([] if ssh else ["https://img.example/a.png"])


async def test_o_refuses_a_link_that_is_not_http(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    civitai = three_versions()
    model = civitai.models[1]
    bad = replace(model.versions[0], images=(CivitaiImage(url="javascript:alert(1)"),))
    civitai.models[1] = replace(model, versions=(bad, *model.versions[1:]))
    opened: list[str] = []
    app = make_app(settings, Services(settings=settings, civitai=civitai))
    monkeypatch.setattr(app, "open_url", lambda url, **kw: opened.append(url))
    monkeypatch.setattr(detail_module, "over_ssh", lambda env=None: False)
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(app, pilot)
        await pilot.press("o")
        await pilot.pause()
    assert opened == [] and any("Not opened" in n for n in notes(app))


async def test_an_emptied_queue_says_it_is_empty(app: ModellaApp, engine: FakeEngine) -> None:
    engine.put(FakeItem(1, "Model", "m.safetensors", state="done"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        screen = app.screen
        assert isinstance(screen, QueueScreen)
        await screen.workers.wait_for_complete()
        assert screen.table.display and screen.table.row_count == 1
        await pilot.press("x")
        await screen.workers.wait_for_complete()
        await pilot.pause()
        empty = screen.query_one("#queue-empty")
        assert not screen.table.display and empty.display
        assert "Nothing in the queue" in str(empty.render())


async def test_a_hash_opens_its_version_selected(settings: Settings) -> None:
    app = make_app(settings, Services(settings=settings, civitai=three_versions()))
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.press("slash", *SHA, "enter")
        for _ in range(50):
            await app.workers.wait_for_complete()
            await pilot.pause()
            if isinstance(app.screen, DetailScreen) and not app.screen.workers:
                break
        screen = app.screen
        assert isinstance(screen, DetailScreen)
        assert screen.version is not None and screen.version.name == "v2.0"
        assert screen.files_table.current_key == "802"
        assert screen.versions_table.current_key == "702"


async def test_cards_hide_missing_ratings_and_mark_nsfw(settings: Settings) -> None:
    civitai = FakeCivitai(total=2)
    civitai.models[1] = make_model(1, stats=CivitaiStats(likes=5, rating=0.0, rating_count=0))
    civitai.models[2] = make_model(2, nsfw=True)
    settings.set("nsfw", True)
    app = make_app(settings, Services(settings=settings, civitai=civitai))
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        grid = app.screen.query_one(CardGrid)
        stats = grid.render_line(4).text  # the stats line of the first row of cards
        card = grid.scrollable_content_region.width // grid.columns
    first, second = stats[:card], stats[card : 2 * card]
    assert "♥5" in first and "★" not in first and "NSFW" not in first
    assert "★4.5" in second and "NSFW" in second


async def test_filters_are_remembered_across_starts(settings: Settings) -> None:
    chosen = FilterState(
        sort="Newest", period="Month", types=("LORA", "DoRA"), base_models=("Pony",), nsfw=False
    )
    chosen.save(settings)
    again = config.load()
    assert FilterState.from_settings(again) == chosen
    civitai = FakeCivitai()
    app = make_app(again, Services(settings=again, civitai=civitai))
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, BrowserScreen)
        assert app.screen.filters == chosen
    first = civitai.searches[0]
    assert (first.sort, first.period, first.types) == ("Newest", "Month", ["LORA", "DoRA"])


async def test_the_palette_shows_keys_and_reaches_language_and_theme(app: ModellaApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Download  (d)" in titles
        assert "Theme: light" in titles and "Language: Français" in titles
        await app.run_action("set_language('fr')")
        await pilot.pause()
    assert config.load().get("language") == "fr"


async def test_help_lists_every_key_of_the_browser(app: ModellaApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("question_mark")
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        keys = {c.key_label() or "ctrl+p" for c in help_screen.commands}
    assert {"end, G", "tab, shift+tab", "home, g", "ctrl+p", "/", "d", "f", "?", "q"} <= keys
    labels = {c.label() for c in help_screen.commands}
    assert {"Theme: light", "Theme: high contrast", "Language: English"} <= labels
