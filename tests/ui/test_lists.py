"""The Lists screen (key 6) and `a` in the Civitai browser and detail pane, keyboard only."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from modella_tui.core.config import Settings
from modella_tui.core.listfile import ListEntry, read_list_file
from modella_tui.core.lists import ListStore
from modella_tui.core.store.db import Database
from modella_tui.ui.add_to_list import add_to_list
from modella_tui.ui.app import ModellaApp, make_app
from modella_tui.ui.screens.detail import DetailScreen
from modella_tui.ui.screens.lists import ListsScreen
from modella_tui.ui.screens.modals.add_to_list import AddToListScreen
from modella_tui.ui.screens.modals.choice import ChoiceScreen
from modella_tui.ui.screens.modals.confirm import ConfirmScreen
from modella_tui.ui.screens.modals.prompt import PromptScreen
from modella_tui.ui.services import Services
from modella_tui.ui.textutil import human_size
from modella_tui.ui.widgets.text_input import TextInput
from tests.ui.conftest import SIZE
from tests.ui.fakes import Enqueued, FakeCivitai, FakeEngine, FixedPlanner, planned_file
from tests.ui.snapdata import (
    AE,
    CLIP,
    INK,
    PIXEL,
    RETIRED,
    fill_lists,
    list_planner,
    list_queue,
)

Made = tuple[ModellaApp, ListStore, FakeEngine]


def make(settings: Settings, tmp_path: Path, planner: FixedPlanner | None = None) -> Made:
    """The app over a real list store (SQLite in the test's folder) and fakes for the rest."""
    db = Database(tmp_path / "state.db")
    store = ListStore(db)
    engine = FakeEngine()
    for item in list_queue():
        engine.put(item)
    services = Services(
        settings=settings,
        db=db,
        civitai=FakeCivitai(),
        engine=engine,
        enqueue_civitai=Enqueued(),
        lists=store,
        plan_ref=planner or list_planner(),
    )
    return make_app(settings, services), store, engine


async def settle(pilot: Pilot[Any]) -> None:
    """Every worker done and every message handled."""
    for _ in range(4):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


async def until(pilot: Pilot[Any], done: Callable[[], bool]) -> None:
    """Let the app work until `done()` (a worker waiting on a question never completes)."""
    async with asyncio.timeout(30):
        while not done():
            await pilot.pause(0.02)


def messages(app: ModellaApp) -> list[str]:
    return [n.message for n in app._notifications]


async def open_lists(pilot: Pilot[Any]) -> ListsScreen:
    await settle(pilot)
    await pilot.press("6")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, ListsScreen)
    return screen


def cell(screen: ListsScreen, item_id: int, column: str) -> str:
    return str(screen.items_table.get_cell(str(item_id), column).plain)


async def test_each_item_says_local_queued_missing_or_gone(
    settings: Settings, tmp_path: Path
) -> None:
    await fill_lists(tmp_path / "state.db", settings.models_dir)
    app, _, _ = make(settings, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_lists(pilot)
        assert screen.current is not None and screen.current.name == "Flux pod kit"
        states = {i.ref: screen.statuses[i.id] for i in screen.items}
        assert {ref: s.state for ref, s in states.items()} == {
            INK: "local", CLIP: "queued", AE: "local", PIXEL: "missing", RETIRED: "gone",
        }  # fmt: skip
        assert states[INK].verified and not states[AE].verified
        by_ref = {i.ref: i.id for i in screen.items}
        assert cell(screen, by_ref[INK], "status") == "local ✓"
        assert cell(screen, by_ref[AE], "status") == "local"
        assert cell(screen, by_ref[RETIRED], "title") == "[bold]Retired[/bold] LoRA"
        summary = str(screen.query_one("#lists-summary").render())
        assert summary == "Flux pod kit: 2 local, 1 queued, 1 missing, 1 gone"
        # Down the items: the line under them says why the gone one is gone.
        await pilot.press("tab", *["down"] * 4)
        assert "archived" in str(screen.query_one("#lists-current").render())


async def test_make_rename_and_delete_lists_from_the_keyboard(
    settings: Settings, tmp_path: Path
) -> None:
    app, store, _ = make(settings, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_lists(pilot)
        assert "No lists yet" in str(screen.query_one("#lists-none").render())
        await pilot.press("c")
        assert isinstance(app.screen, PromptScreen)
        assert isinstance(app.focused, TextInput)
        await pilot.press(*"Kit 6q", "enter")  # digits and q type into the field
        await settle(pilot)
        assert screen.current is not None and screen.current.name == "Kit 6q"
        await pilot.press("c", *"KIT 6Q", "enter")
        prompt = app.screen
        assert isinstance(prompt, PromptScreen)  # the name is taken: the question stays
        assert "exists already" in str(prompt.query_one("#prompt-error").render())
        await pilot.press("escape")
        assert not isinstance(app.screen, PromptScreen)
        await pilot.press("n", *"Pod kit", "enter")  # the old name is selected: typing replaces it
        await settle(pilot)
        assert [i.name for i in await store.lists()] == ["Pod kit"]
        await pilot.press("x")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot)
        assert await store.lists() == []
        assert any("Deleted the list" in m for m in messages(app))


async def test_queue_missing_queues_only_what_is_not_here_with_one_toast(
    settings: Settings, tmp_path: Path
) -> None:
    await fill_lists(tmp_path / "state.db", settings.models_dir)
    app, _, engine = make(settings, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_lists(pilot)
        app.clear_notifications()
        await pilot.press("d")
        await settle(pilot)
        added = [r.dedupe_key for name, reqs in engine.calls if name == "add" for r in reqs]
        assert added == ["civitai:file:5000"]
        assert len(messages(app)) == 1
        (toast,) = messages(app)
        assert "Queued 1 file(s) for 1 item(s)" in toast and "1 not queued" in toast


async def test_pickle_files_are_queued_only_after_a_yes(settings: Settings, tmp_path: Path) -> None:
    planner = FixedPlanner(
        files={"civitai:5@500": [planned_file("civitai:5@500", "old.ckpt", is_pickle=True)]}
    )
    app, store, engine = make(settings, tmp_path, planner)
    async with app.run_test(size=SIZE) as pilot:
        await store.add_items("Old", [ListEntry("civitai:5@500")], create=True)
        await open_lists(pilot)
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await settle(pilot)
        (reqs,) = [args for name, args in engine.calls if name == "add"]
        assert [r.allow_pickle for r in reqs] == [True]


async def test_removing_a_lists_files_keeps_what_other_lists_hold_unless_told(
    settings: Settings, tmp_path: Path
) -> None:
    models = settings.models_dir
    await fill_lists(tmp_path / "state.db", models)
    ink = models / "Lora" / "Ink_Wash_v1.safetensors"
    ae = models / "VAE" / "ae.safetensors"
    (models / "Lora" / "Ink_Wash_v1.civitai.info").write_text("{}")
    app, store, _ = make(settings, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_lists(pilot)
        await pilot.press("X")
        await until(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        choice = app.screen
        assert isinstance(choice, ChoiceScreen)
        assert "Wishlist" in choice.question  # the list that also holds the LoRA
        assert human_size(335_000_000) in choice.choices[0].label
        await pilot.press("y")
        await settle(pilot)
        assert not ae.exists() and ink.exists()
        assert [Path(f.path).name for f in await store.landed()] == [ink.name]
        assert any(f"{human_size(335_000_000)} freed" in m for m in messages(app))
        await pilot.press("X")
        await until(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        choice = app.screen
        assert isinstance(choice, ChoiceScreen)
        assert [c.value for c in choice.choices] == ["all"]
        await pilot.press("a")
        await settle(pilot)
        assert not ink.exists() and not (models / "Lora" / "Ink_Wash_v1.civitai.info").exists()
        assert await store.landed() == []


async def test_x_in_the_items_takes_one_item_off(settings: Settings, tmp_path: Path) -> None:
    await fill_lists(tmp_path / "state.db", settings.models_dir)
    app, store, _ = make(settings, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_lists(pilot)
        await pilot.press("tab", "down", "x")
        await settle(pilot)
        assert [i.ref for i in await store.items("Flux pod kit")] == [INK, AE, PIXEL, RETIRED]
        assert screen.current is not None and screen.current.count == 4


async def test_a_in_the_browser_adds_the_latest_version_and_remembers_the_list(
    settings: Settings, tmp_path: Path
) -> None:
    app, store, _ = make(settings, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, AddToListScreen)
        assert app.focused is modal.query_one("#add-new")  # no list yet: the field
        await pilot.press("escape")
        await store.create("Other")
        await pilot.press("a")
        await settle(pilot)
        await pilot.press("tab", *"Wish 2", "enter")  # tab: from the lists to a new name
        await settle(pilot)
        await pilot.press("right", "a")
        await settle(pilot)
        assert isinstance(app.screen, AddToListScreen)
        await pilot.press("enter")  # the list used last is highlighted
        await settle(pilot)
        await pilot.press("a", "enter")
        await settle(pilot)
        items = await store.items("Wish 2")
        assert [(i.ref, i.title) for i in items] == [
            ("civitai:1@10001", "Model 1 · v1"),
            ("civitai:2@10002", "Model 2 · v1"),
        ]
        assert "already" in messages(app)[-1]


async def test_a_in_the_detail_adds_the_marked_files_by_name(
    settings: Settings, tmp_path: Path
) -> None:
    app, store, _ = make(settings, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await store.create("Kit")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, DetailScreen)
        await pilot.press("a", "enter")  # nothing marked: the version shown
        await settle(pilot)
        await pilot.press("space", "a", "enter")
        await settle(pilot)
        items = await store.items("Kit")
        assert [(i.ref, i.file) for i in items] == [
            ("civitai:1@10001", None),
            ("civitai:1@10001", "model1.safetensors"),
        ]


async def test_any_screen_can_add_hub_refs_and_bad_refs_are_refused(
    settings: Settings, tmp_path: Path
) -> None:
    app, store, _ = make(settings, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        add_to_list(app, [("hf:org/repo", "*.safetensors"), (CLIP, None)], "Flux text encoders")
        await settle(pilot)
        await pilot.press(*"Hub", "enter")
        await settle(pilot)
        items = await store.items("Hub")
        assert [(i.ref, i.file, i.title) for i in items] == [
            ("hf:org/repo", "*.safetensors", "Flux text encoders"),
            (CLIP, None, "Flux text encoders"),
        ]
        add_to_list(app, [("hf:../etc", None)], "bad")
        await settle(pilot)
        assert not isinstance(app.screen, AddToListScreen)
        assert len(await store.items("Hub")) == 2


async def test_export_and_import_from_the_screen(settings: Settings, tmp_path: Path) -> None:
    await fill_lists(tmp_path / "state.db", settings.models_dir)
    app, store, _ = make(settings, tmp_path)
    out = tmp_path / "exported.toml"
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "Bad"\n[[items]]\nref = "civitai:x"\n', encoding="utf-8")
    async with app.run_test(size=SIZE) as pilot:
        await open_lists(pilot)
        await pilot.press("e")
        prompt = app.screen
        assert isinstance(prompt, PromptScreen)
        assert prompt.value.endswith(f"{os.sep}flux-pod-kit.toml")
        field = prompt.query_one(TextInput)
        field.value = str(out)
        await pilot.press("enter")
        await settle(pilot)
        exported = read_list_file(out)
        assert exported.name == "Flux pod kit" and len(exported.items) == 5
        await pilot.press("i")
        app.screen.query_one(TextInput).value = str(bad)
        await pilot.press("enter")
        await settle(pilot)
        assert any(f"{bad}:3:" in m for m in messages(app))
        assert await store.find("Bad") is None
        out.write_text(out.read_text().replace("Flux pod kit", "Copy"), encoding="utf-8")
        await pilot.press("i")
        app.screen.query_one(TextInput).value = str(out)
        await pilot.press("enter")
        await settle(pilot)
        assert len(await store.items("Copy")) == 5


async def test_export_asks_before_replacing_a_file_and_says_why_it_cannot_write(
    settings: Settings, tmp_path: Path
) -> None:
    await fill_lists(tmp_path / "state.db", settings.models_dir)
    app, _, _ = make(settings, tmp_path)
    out = tmp_path / "kit.toml"
    out.write_text("# the user's own file\n", encoding="utf-8")

    async def export_to(path: Path) -> None:
        await pilot.press("e")
        app.screen.query_one(TextInput).value = str(path)
        await pilot.press("enter")

    async with app.run_test(size=SIZE) as pilot:
        await open_lists(pilot)
        await export_to(out)
        await until(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        assert isinstance(app.screen, ChoiceScreen)
        assert str(out) in app.screen.question
        await pilot.press("n")
        await settle(pilot)
        assert out.read_text(encoding="utf-8") == "# the user's own file\n"
        await export_to(out)
        await until(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        await pilot.press("y")
        await settle(pilot)
        assert read_list_file(out).name == "Flux pod kit"
        await export_to(tmp_path)  # a folder
        await settle(pilot)
        assert not isinstance(app.screen, ChoiceScreen)
        assert any(str(tmp_path) in m for m in messages(app))


async def test_a_language_switch_relabels_the_screen(settings: Settings, tmp_path: Path) -> None:
    await fill_lists(tmp_path / "state.db", settings.models_dir)
    app, _, _ = make(settings, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_lists(pilot)
        app.action_set_language("de")
        await settle(pilot)
        assert screen.items_table.labels["status"] == "Stand"
        summary = str(screen.query_one("#lists-summary").render())
        assert summary.startswith("Flux pod kit: 2 lokal")
        assert str(screen.items_table.get_cell(str(screen.items[0].id), "status").plain) == (
            "lokal ✓"
        )
