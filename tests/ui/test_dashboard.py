"""The dashboard: the start screen once the index knows model files; running downloads with
progress, what landed, what failed and the keys that fix it, the disk, counts, keys to screens."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from modella_tui.core.config import Settings
from modella_tui.core.downloads.events import StateChanged
from modella_tui.core.library import LibraryIndex
from modella_tui.core.library_files import LocalFile
from modella_tui.core.store.db import Database
from modella_tui.ui.app import ModellaApp, make_app
from modella_tui.ui.messages import ProgressInfo, QueueProgress
from modella_tui.ui.screens.browser import BrowserScreen
from modella_tui.ui.screens.dashboard import DashboardScreen
from modella_tui.ui.screens.queue import QueueScreen
from modella_tui.ui.services import Services
from tests.ui.fakes import FakeCivitai, FakeEngine, FakeItem, FakeLibrary
from tests.ui.hub_support import settle, until

GIB = 1024**3


@pytest.fixture(autouse=True)
def fixed_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 2 TB volume with 500 GB free, whatever machine runs the tests."""
    usage = shutil._ntuple_diskusage(2048 * GIB, 1548 * GIB, 500 * GIB)
    monkeypatch.setattr("modella_tui.core.usage.shutil.disk_usage", lambda _path: usage)


def library(root: Path) -> FakeLibrary:
    return FakeLibrary(
        root,
        [
            LocalFile(f"{root}/Lora/a.safetensors", 200_000_000, 0.0, "model", "civitai", "LORA"),
            LocalFile(f"{root}/Lora/b.safetensors", 100_000_000, 0.0, "model", "civitai", "LORA"),
            LocalFile(
                f"{root}/VAE/ae.safetensors", 300_000_000, 0.0, "model", "huggingface", "VAE"
            ),
            LocalFile(f"{root}/Lora/a.civitai.info", 5_000, 0.0, "sidecar"),
        ],
    )


def app_with(settings: Settings, engine: FakeEngine, lib: FakeLibrary | None) -> ModellaApp:
    services = Services(settings=settings, civitai=FakeCivitai(), engine=engine, library=lib)
    return make_app(settings, services)


def text(app: ModellaApp, section: str) -> str:
    return str(app.screen.query_one(f"#dash-{section}").render())


async def test_the_dashboard_is_the_start_screen_once_the_folder_has_models(
    settings: Settings, engine: FakeEngine
) -> None:
    app = app_with(settings, engine, library(settings.models_dir))
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, app.ready.is_set)
        assert isinstance(app.screen, DashboardScreen)
        await pilot.press("2")
        assert isinstance(app.screen, BrowserScreen)
    empty = app_with(settings, FakeEngine(), FakeLibrary(settings.models_dir))
    async with empty.run_test(size=(80, 24)) as pilot:
        await until(pilot, empty.ready.is_set)
        assert isinstance(empty.screen, BrowserScreen)


async def test_the_start_screen_follows_the_real_index(settings: Settings, tmp_path: Path) -> None:
    model = settings.models_dir / "Lora" / "x.safetensors"
    model.parent.mkdir(parents=True)
    model.write_bytes(b"x" * 10)

    def build() -> ModellaApp:
        db = Database(tmp_path / "state.db")
        lib = LibraryIndex(db, lambda: settings.models_dir)
        services = Services(settings=settings, db=db, civitai=FakeCivitai(), library=lib)
        return make_app(settings, services)

    first = build()
    async with first.run_test(size=(80, 24)) as pilot:
        await until(pilot, first.ready.is_set)
        assert isinstance(first.screen, BrowserScreen)  # the index has never seen the folder
        await pilot.press("1")
        await settle(pilot)  # the dashboard walks the folder once
        assert "Models: 10 B in 1 model files" in text(first, "disk")
    second = build()
    async with second.run_test(size=(80, 24)) as pilot:
        await until(pilot, second.ready.is_set)
        assert isinstance(second.screen, DashboardScreen)


async def test_downloads_landings_failures_disk_and_counts(
    settings: Settings, engine: FakeEngine
) -> None:
    root = settings.models_dir
    engine.put(FakeItem(1, "Ink Wash", "ink.safetensors", "running", 0, 1000))
    engine.put(FakeItem(2, "Waiting", "w.safetensors", "pending"))
    engine.put(FakeItem(3, "Older", "old.safetensors", "done", 10, 10, finished_at=100.0))
    engine.put(FakeItem(4, "Newer", "new.safetensors", "done", 20, 20, finished_at=200.0))
    engine.put(FakeItem(5, "[b]Broken[/b]", "x.safetensors", "failed", error="error.disk_space"))
    app = app_with(settings, engine, library(root))
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, app.ready.is_set)
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        app.screen.post_message(QueueProgress({1: ProgressInfo(420, 1000, 2_000_000.0, 5.0)}))
        await pilot.pause()
        downloads = text(app, "downloads")
        assert "Ink Wash · ink.safetensors" in downloads and "42%" in downloads
        assert "MB/s" in downloads and "1 waiting or paused" in downloads
        recent = text(app, "recent")
        assert recent.index("Newer") < recent.index("Older")
        attention = text(app, "attention")
        assert "[b]Broken[/b]" in attention and "disk" in attention.lower()
        assert "Press 4, then r" in attention
        disk = text(app, "disk")
        assert "Models: 572.2 MB in 3 model files" in disk
        assert "2.0 TB, 500.0 GB free (76% used)" in disk
        counts = text(app, "library")
        assert "Civitai 2 · Hugging Face 1" in counts and "LORA 2 · VAE 1" in counts
        keys = text(app, "keys")
        for key in ("1", "2", "3", "4", "7", "8"):
            assert key in keys
        await pilot.press("4")
        assert isinstance(app.screen, QueueScreen)


async def test_a_landing_shows_at_once_without_walking_the_folder(
    settings: Settings, engine: FakeEngine
) -> None:
    lib = library(settings.models_dir)
    app = app_with(settings, engine, lib)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, app.ready.is_set)
        await settle(pilot)
        walks = lib.refreshes
        path = f"{settings.models_dir}/Lora/new.safetensors"
        lib.landing[path] = LocalFile(path, 1_000_000_000, 0.0, "model", "civitai", "LORA")
        engine.put(FakeItem(9, "Fresh", "new.safetensors", "done", 1, 1, final_path=path))
        engine.emit(StateChanged(9, "done"))
        await settle(pilot)
        assert "Fresh · new.safetensors" in text(app, "recent")
        assert "Models: 1.5 GB in 4 model files" in text(app, "disk")
        assert lib.refreshes == walks == 1
