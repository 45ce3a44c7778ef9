"""The Library screen over the real index, database and Civitai client against the fake hub, with a
temporary models folder: identification, the newer version offered, duplicates, rename and delete
from the keyboard with sidecars, and refusals for hostile names, busy files and links out."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from modella_tui.core.civitai.client import CivitaiClient
from modella_tui.core.config import Settings
from modella_tui.core.errors import NetworkError
from modella_tui.core.library import LibraryIndex
from modella_tui.core.library_files import LibrarySnapshot, LocalFile
from modella_tui.core.models import CivitaiModel
from modella_tui.core.store.db import Database
from modella_tui.core.store.queue import Landed, QueueStore
from modella_tui.core.units import human_size
from modella_tui.ui.app import ModellaApp, make_app
from modella_tui.ui.library_text import PAGE
from modella_tui.ui.screens.library import LibraryDetailScreen, LibraryScreen
from modella_tui.ui.screens.modals.confirm import ConfirmScreen
from modella_tui.ui.screens.modals.file_info import FileInfoScreen
from modella_tui.ui.screens.modals.rename import RenameScreen
from modella_tui.ui.services import Services
from modella_tui.ui.widgets.library_tree import Entry
from tests.core.test_safetensors import safetensors
from tests.fakes.fakehub import FakeHub
from tests.ui.conftest import SIZE
from tests.ui.fakes import FakeCivitai, FakeEngine, FakeItem, FakeLibrary

SDXL = {"__metadata__": {"ss_base_model_version": "sdxl_base_v1-0"}, "lora_unet_a": {}}


async def no_sleep(_seconds: float) -> None:
    return None


def put(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture
def models(settings: Settings) -> Path:
    """The models folder the settings name (a temporary one per test)."""
    root = Path(settings.models_dir)
    root.mkdir(parents=True, exist_ok=True)
    return root


@pytest.fixture
def real_app(settings: Settings, hub: FakeHub, tmp_path: Path, engine: FakeEngine) -> ModellaApp:
    """The app with the real library index and Civitai client (the engine is a fake)."""
    db = Database(tmp_path / "state" / "modella.db")
    civitai = CivitaiClient(hub.civitai_url, None, None, sleep=no_sleep)
    library = LibraryIndex(db, lambda: settings.models_dir, civitai=civitai)
    services = Services(settings=settings, db=db, civitai=civitai, engine=engine, library=library)
    return make_app(settings, services)


async def until(pilot: Pilot[Any], done: Callable[[], bool], seconds: float = 30) -> None:
    """Let the app work (its scan runs in a thread) until `done()`."""
    async with asyncio.timeout(seconds):
        while not done():
            await pilot.pause(0.02)


async def open_library(pilot: Pilot[Any]) -> LibraryScreen:
    """Press 5 and wait for the first scan to finish."""
    await pilot.press("5")
    screen = pilot.app.screen
    assert isinstance(screen, LibraryScreen)
    await until(pilot, lambda: screen.last_report is not None and not screen.scanning)
    await screen.workers.wait_for_complete()
    await pilot.pause()
    return screen


async def walk_to(
    pilot: Pilot[Any], screen: LibraryScreen, want: Callable[[Entry], bool], key: str = "down"
) -> Entry:
    """Move (opening groups on the way) until the line under the cursor is the one wanted."""
    for _ in range(200):
        entry = screen.current
        if entry is not None and want(entry):
            return entry
        if entry is not None and entry.group is not None and not _is_open(screen, entry):
            await pilot.press("right")
        else:
            await pilot.press(key)
    raise AssertionError("never reached the line")


def _is_open(screen: LibraryScreen, entry: Entry) -> bool:
    node = screen.files_tree.by_key.get(entry.key)
    return node is not None and node.is_expanded


def is_file(name: str) -> Callable[[Entry], bool]:
    return lambda e: e.file is not None and e.file.file_name == name and "/file:" in e.key


async def test_a_copied_file_is_identified_and_offers_its_newer_version(
    real_app: ModellaApp, models: Path, hub: FakeHub
) -> None:
    put(models / "Lora" / "copy.safetensors", hub.version(1011).files[0].blob.data())
    put(models / "Lora" / "mine.safetensors", safetensors(SDXL))
    put(models / "Lora" / "half.safetensors.part", b"p" * 10)
    async with real_app.run_test(size=SIZE) as pilot:
        screen = await open_library(pilot)
        entry = await walk_to(pilot, screen, is_file("copy.safetensors"))
        assert entry.key.startswith("civitai/LORA/")  # under its model, not "Unknown"
        assert "newer: v2.0" in entry.badges.plain
        model = screen.files_tree.by_key[entry.key].parent
        assert model is not None and model.data is not None and model.data.name == "Ink Wash LoRA"
        assert "Ink Wash LoRA" in str(screen.query_one("#library-info").render())
        mine = await walk_to(pilot, screen, is_file("mine.safetensors"))
        assert mine.key.startswith("unknown/LORA/SDXL 1.0/")  # type and base from its header
        part = await walk_to(pilot, screen, is_file("half.safetensors.part"))
        assert "leftover" in part.badges.plain
        await walk_to(pilot, screen, is_file("copy.safetensors"), key="up")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(real_app.screen, LibraryDetailScreen))
        detail = real_app.screen
        assert isinstance(detail, LibraryDetailScreen)
        assert detail.version is not None and detail.version.name == "v2.0"
        assert any("newer version" in n.message for n in real_app._notifications)
        await pilot.press("escape")
        assert real_app.screen is screen


async def test_rename_and_delete_from_the_keyboard_keep_sidecars_together(
    real_app: ModellaApp, models: Path
) -> None:
    lora = models / "Lora"
    put(lora / "ink.safetensors", safetensors(SDXL, b"i" * 500))
    for end in (".civitai.info", ".preview.png", ".json"):
        put(lora / f"ink{end}", b"s" * 10)
    sibling = put(lora / "ink_v2.safetensors", safetensors(SDXL, b"j" * 100))
    async with real_app.run_test(size=SIZE) as pilot:
        screen = await open_library(pilot)
        await walk_to(pilot, screen, is_file("ink.safetensors"))
        await pilot.press("n")
        assert isinstance(real_app.screen, RenameScreen)
        await pilot.press("ctrl+u", *"../../escape", "enter")  # digits and q type into the field
        await until(pilot, lambda: "cannot be a file name" in _error(real_app))
        assert (lora / "ink.safetensors").exists()
        await pilot.press("ctrl+u", *"ink 5q", "enter")
        await until(pilot, lambda: isinstance(real_app.screen, LibraryScreen))
        await screen.workers.wait_for_complete()
        assert sorted(p.name for p in lora.iterdir()) == [
            "ink 5q.civitai.info", "ink 5q.json", "ink 5q.preview.png", "ink 5q.safetensors",
            "ink_v2.safetensors",
        ]  # fmt: skip
        await until(pilot, lambda: screen.current is not None and is_file("ink 5q.safetensors")(
            screen.current
        ))  # fmt: skip
        await pilot.press("delete")
        await until(pilot, lambda: isinstance(real_app.screen, ConfirmScreen))
        confirm = real_app.screen
        assert isinstance(confirm, ConfirmScreen)
        size = (lora / "ink 5q.safetensors").stat().st_size + 30
        assert f"3 sidecar file(s)? This frees {size} B" in confirm.question
        await pilot.press("y")
        await until(pilot, lambda: not (lora / "ink 5q.safetensors").exists())
        await screen.workers.wait_for_complete()
        assert [p.name for p in lora.iterdir()] == ["ink_v2.safetensors"]
        assert sibling.exists()
        library = real_app.services.library
        assert library is not None
        paths = [os.path.basename(f.path) for f in (await library.snapshot()).files]
        assert paths == ["ink_v2.safetensors"]


def _error(app: ModellaApp) -> str:
    screen = app.screen
    return (
        str(screen.query_one("#rename-error").render()) if isinstance(screen, RenameScreen) else ""
    )


async def test_busy_files_and_links_out_are_refused(
    real_app: ModellaApp, models: Path, engine: FakeEngine, tmp_path: Path
) -> None:
    busy = put(models / "Lora" / "busy.safetensors", safetensors(SDXL))
    engine.put(FakeItem(1, "Busy", "busy.safetensors", "paused", target_dir=str(busy.parent)))
    outside = put(tmp_path / "elsewhere" / "secret.safetensors", safetensors(SDXL, b"x" * 9))
    os.symlink(outside, models / "Lora" / "link.safetensors")
    async with real_app.run_test(size=SIZE) as pilot:
        screen = await open_library(pilot)
        for name, words in (("busy.safetensors", "being downloaded"), ("link.safetensors", "link")):
            await walk_to(pilot, screen, is_file(name))
            real_app.clear_notifications()
            await pilot.press("delete")
            await screen.workers.wait_for_complete()
            await until(pilot, lambda: bool(real_app._notifications))
            assert words in next(iter(real_app._notifications)).message
            assert not isinstance(real_app.screen, ConfirmScreen)
            await pilot.press("up")
    assert (
        busy.exists() and outside.exists() and (models / "Lora" / "link.safetensors").is_symlink()
    )


async def test_duplicates_and_a_hub_file_and_markup_names(
    real_app: ModellaApp, models: Path, tmp_path: Path
) -> None:
    data = safetensors(SDXL, b"d" * 1000)
    put(models / "Lora" / "[@click=app.quit]a[bold].safetensors", data)
    put(models / "Lora" / "b.safetensors", data)
    t5 = put(models / "text_encoder" / "t5.safetensors", b"t" * 64)
    async with real_app.run_test(size=SIZE) as pilot:
        db = real_app.services.db
        assert db is not None
        await QueueStore(db).record_landed(
            Landed("huggingface", "org/t5-repo", "main", "split/t5.safetensors", "org/t5-repo",
                   "TextEncoder", "", str(t5), 64, None, False)
        )  # fmt: skip
        screen = await open_library(pilot)
        dupes = screen.files_tree.by_key["dupes"].data
        assert dupes is not None and f"{human_size(len(data))} to reclaim" in dupes.badges.plain
        entry = await walk_to(pilot, screen, is_file("[@click=app.quit]a[bold].safetensors"))
        assert entry.name == "[@click=app.quit]a[bold].safetensors"  # literal, never markup
        assert "2 copies" in entry.badges.plain
        await walk_to(
            pilot, screen, lambda e: e.file is not None and e.file.source == "huggingface"
        )
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(real_app.screen, FileInfoScreen))
        box = real_app.screen
        assert isinstance(box, FileInfoScreen)
        text = box.body.plain
        assert "org/t5-repo · split/t5.safetensors @ main" in text
        assert "Folder: text_encoder" in text


async def test_a_hard_link_is_one_file_and_deleting_it_says_it_frees_nothing(
    real_app: ModellaApp, models: Path
) -> None:
    data = safetensors(SDXL, b"h" * 1000)
    original = put(models / "Lora" / "a.safetensors", data)
    (models / "misc").mkdir()
    os.link(original, models / "misc" / "hard.safetensors")
    async with real_app.run_test(size=SIZE) as pilot:
        screen = await open_library(pilot)
        assert screen.last_report is not None and screen.last_report.hashed == 2
        assert "dupes" not in screen.files_tree.by_key  # nothing to reclaim
        summary = str(screen.query_one("#library-summary").render())
        assert f"2 files · {human_size(len(data))}" in summary and "reclaim" not in summary
        entry = await walk_to(pilot, screen, is_file("hard.safetensors"))
        assert "copies" not in entry.badges.plain and "hard link" in entry.badges.plain
        info = str(screen.query_one("#library-info").render())
        assert "Lora/a.safetensors" in info and "frees nothing" in info
        assert "Same bytes" not in info
        await pilot.press("delete")
        await until(pilot, lambda: isinstance(real_app.screen, ConfirmScreen))
        confirm = real_app.screen
        assert isinstance(confirm, ConfirmScreen)
        assert "This frees 0 B: hard.safetensors itself frees nothing" in confirm.question
        assert "another name (a hard link) still holds its bytes" in confirm.question
        await pilot.press("n")
        await until(pilot, lambda: real_app.screen is screen)
    assert (models / "misc" / "hard.safetensors").exists()


async def test_without_a_library_the_screen_says_so(app: ModellaApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("5")
        screen = app.screen
        assert isinstance(screen, LibraryScreen)
        await screen.workers.wait_for_complete()
        await pilot.pause()
        assert "modella scan" in str(screen.query_one("#library-summary").render())


async def test_a_huge_group_opens_a_page_at_a_time(settings: Settings) -> None:
    root = Path("/m")
    files = [
        LocalFile(str(root / "Lora" / f"x{n:04d}.safetensors"), 10_000 - n, 0.0, "model",
                  type="LORA", base_model="SDXL 1.0")
        for n in range(PAGE + 200)
    ]  # fmt: skip
    library = FakeLibrary(LibrarySnapshot(root, files))
    app = make_app(settings, Services(settings=settings, library=library))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_library(pilot)
        group = "unknown/LORA/SDXL 1.0"
        await walk_to(pilot, screen, lambda e: e.key == group)
        await pilot.press("right")
        node = screen.files_tree.by_key[group]
        assert len(node.children) == PAGE + 1  # a page of files, then the "more" line
        more = node.children[-1].data
        assert more is not None and more.rest is not None and "200 more" in more.name
        screen.files_tree.focus_key(more.key)
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert len(node.children) == PAGE + 200
        current = screen.current
        assert current is not None and current.file is not None
        assert current.file.file_name == f"x{PAGE:04d}.safetensors"  # the cursor stays in place


async def test_a_new_language_and_a_new_models_folder_apply_at_once(tmp_path: Path) -> None:
    root = tmp_path / "models"
    # No environment: the folder set in Settings is the one in force.
    settings = Settings(path=tmp_path / "config.toml", env={}, file_data={"models_dir": str(root)})
    files = [LocalFile(str(root / "Lora" / "x.safetensors"), 10, 0.0, "model", type="LORA")]
    library = FakeLibrary(LibrarySnapshot(root, files))
    app = make_app(settings, Services(settings=settings, library=library))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_library(pilot)
        assert screen.files_tree.by_key["unknown"].data is not None
        app.action_set_language("fr")
        await pilot.pause()
        top = screen.files_tree.by_key["unknown"].data
        assert top is not None and top.name == "Inconnu"
        assert "Analyse terminée" in str(screen.query_one("#library-status").render())
        await pilot.press("2")
        settings.set("models_dir", str(tmp_path / "elsewhere"))
        await pilot.press("5")
        await screen.workers.wait_for_complete()
        assert [c for c, _ in library.calls].count("scan") == 2


async def test_offline_a_civitai_file_shows_what_is_known_and_why(
    settings: Settings, fake_civitai: FakeCivitai
) -> None:
    root = Path(settings.models_dir)
    f = LocalFile(str(root / "Lora" / "ink.safetensors"), 10, 0.0, "model", source="civitai",
                  type="LORA", name="Ink", model_id="7", version_id="70", sha256="ab" * 32)  # fmt: skip

    async def unreachable(model_id: int) -> CivitaiModel:
        raise NetworkError("error.unreachable")

    fake_civitai.model = unreachable  # type: ignore[method-assign]
    library = FakeLibrary(LibrarySnapshot(root, [f]))
    app = make_app(settings, Services(settings=settings, civitai=fake_civitai, library=library))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_library(pilot)
        await walk_to(pilot, screen, is_file("ink.safetensors"))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, FileInfoScreen))
        box = app.screen
        assert isinstance(box, FileInfoScreen)
        assert "civitai:7@70" in box.body.plain
        assert any(n.severity == "error" for n in app._notifications)
