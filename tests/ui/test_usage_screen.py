"""Disk usage: bars by source, base model and type that agree with `modella du --json` and the
bytes on disk; updated when a download lands or a file is deleted, without walking again."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from modella_tui.core import paths
from modella_tui.core.config import Settings
from modella_tui.core.downloads.events import StateChanged
from modella_tui.core.library import LibraryIndex
from modella_tui.core.library_files import LocalFile
from modella_tui.core.store.db import Database
from modella_tui.core.store.queue import Landed, QueueStore
from modella_tui.ui.app import ModellaApp, make_app
from modella_tui.ui.messages import LibraryChanged
from modella_tui.ui.screens.usage import UsageScreen
from modella_tui.ui.services import Services
from modella_tui.ui.widgets.bar_chart import BarChart
from tests.conftest import RunCli
from tests.ui.fakes import FakeCivitai, FakeEngine, FakeItem, FakeLibrary
from tests.ui.hub_support import settle, until

SHA = "c" * 64


def chart(app: ModellaApp, grouping: str) -> BarChart:
    return app.screen.query_one(f"#usage-{grouping}", BarChart)


def text(app: ModellaApp, part: str) -> str:
    return str(app.screen.query_one(f"#usage-{part}").render())


async def open_usage(app: ModellaApp, pilot: Pilot[Any]) -> UsageScreen:
    await until(pilot, app.ready.is_set)
    await pilot.press("7")
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, UsageScreen)
    return screen


def stats(root: Path) -> list[os.stat_result]:
    return [p.stat() for p in root.rglob("*") if p.is_file()]


def put(root: Path, rel: str, size: int) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\0" * size)
    return path


async def test_the_screen_and_modella_du_agree_with_the_disk(
    settings: Settings, run_cli: RunCli
) -> None:
    root = settings.models_dir
    put(root, "Lora/a.safetensors", 30_000)
    put(root, "Lora/a.civitai.info", 700)
    put(root, "Stable-diffusion/b.safetensors", 90_000)
    put(root, "VAE/left.safetensors.part", 4_000)
    put(root, "Stable-diffusion/b.json", 300)  # Forge's card: a sidecar, as in the Library
    (root / "misc").mkdir()
    os.link(root / "Stable-diffusion/b.safetensors", root / "misc/b-hard.safetensors")
    db_path = paths.db_path()
    async with Database(db_path) as db:
        await QueueStore(db).record_landed(
            Landed("civitai", "1", "2", "3", "A", "LORA", "Pony",
                   str(root / "Lora/a.safetensors"), 30_000, SHA, True)
        )  # fmt: skip
    db = Database(db_path)
    lib = LibraryIndex(db, lambda: settings.models_dir)
    services = Services(settings=settings, db=db, civitai=FakeCivitai(), library=lib)
    app = make_app(settings, services)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_usage(app, pilot)
        assert screen.usage is not None
        shown = screen.usage.to_json()
        labels = [b.label for b in chart(app, "source").bars]
        assert labels[0] == "Unknown source" and "Civitai" in labels
        assert [b.label for b in chart(app, "base").bars][:2] == ["Unknown", "Pony"]
        assert "Checkpoint" in [b.label for b in chart(app, "type").bars]
        assert "3.9 KB" in text(app, "reclaim") and "left.safetensors.part" in text(app, "reclaim")
    # As `du -sb` counts: the hard-linked file once.
    on_disk = sum({(st.st_dev, st.st_ino): st.st_size for st in stats(root)}.values())
    doc = json.loads(run_cli("du", "--json").stdout)
    assert shown["total_bytes"] == doc["total_bytes"] == on_disk == 30_000 + 700 + 90_000 + 4_300
    sidecars = next(g for g in shown["by"]["type"] if g["key"] == "sidecar")
    assert sidecars["bytes"] == 1_000
    assert shown["by"] == doc["by"]
    assert shown["reclaimable"] == doc["reclaimable"]


@pytest.fixture
def lib(settings: Settings) -> FakeLibrary:
    root = settings.models_dir
    return FakeLibrary(
        root,
        [
            LocalFile(f"{root}/Lora/a.safetensors", 100, 0.0, "model", "civitai", "LORA",
                      "SDXL 1.0", sha256=SHA),
            LocalFile(f"{root}/Lora/copy.safetensors", 100, 0.0, "model", "civitai", "LORA",
                      "SDXL 1.0", sha256=SHA),
            LocalFile(f"{root}/VAE/ae.safetensors", 300, 0.0, "model", "huggingface", "VAE"),
        ],
    )  # fmt: skip


async def test_landings_and_deletions_update_the_bars_without_walking(
    settings: Settings, lib: FakeLibrary, monkeypatch: pytest.MonkeyPatch
) -> None:
    usage = shutil._ntuple_diskusage(1000 * 1024**3, 400 * 1024**3, 600 * 1024**3)
    monkeypatch.setattr("modella_tui.core.usage.shutil.disk_usage", lambda _path: usage)
    engine = FakeEngine()
    services = Services(settings=settings, civitai=FakeCivitai(), engine=engine, library=lib)
    app = make_app(settings, services)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_usage(app, pilot)
        assert lib.refreshes == 1  # this run's one walk
        assert "500 B in 3 files" in text(app, "summary")
        assert "1000.0 GB, 600.0 GB free (40% used)" in text(app, "summary")
        assert "extra copies: 1 in 1 group(s) (100 B)" in text(app, "summary")
        # A download lands: the index takes it in by its path, the bars follow.
        reads = lib.snapshots
        path = f"{settings.models_dir}/Stable-diffusion/big.safetensors"
        lib.landing[path] = LocalFile(path, 1500, 0.0, "model", "huggingface", "Checkpoint")
        engine.put(FakeItem(1, "Big", "big.safetensors", "done", 1500, 1500, final_path=path))
        engine.emit(StateChanged(1, "done"))
        await settle(pilot)
        assert "2.0 KB in 4 files" in text(app, "summary")
        assert lib.snapshots == reads  # folded in by its path: the index is not read again
        assert chart(app, "type").bars[0].label == "Checkpoint"
        source = {b.label: b.value for b in chart(app, "source").bars}
        assert source == {"Hugging Face": 1800, "Civitai": 200}
        # A file deleted elsewhere in the app: the index forgets it, the screen is told.
        await lib.forget(Path(f"{settings.models_dir}/Lora/copy.safetensors"))
        app.post_message(LibraryChanged())
        await settle(pilot)
        assert "1.9 KB in 3 files" in text(app, "summary")
        assert "Nothing to reclaim" in text(app, "summary")
        assert lib.refreshes == 1
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert lib.refreshes == 2
        assert screen.usage is not None and screen.usage.files == 3


async def test_a_download_in_progress_keeps_its_part_file(
    settings: Settings, lib: FakeLibrary
) -> None:
    root = settings.models_dir
    part = f"{root}/Lora/busy.safetensors.part"
    lib.files[part] = LocalFile(part, 50, 0.0, "partial")
    engine = FakeEngine()
    engine.put(FakeItem(1, "Busy", "busy.safetensors", "running", target_dir=f"{root}/Lora"))
    services = Services(settings=settings, civitai=FakeCivitai(), engine=engine, library=lib)
    app = make_app(settings, services)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_usage(app, pilot)
        assert screen.usage is not None and screen.usage.leftover_parts == ()
        assert "busy.safetensors.part" not in text(app, "reclaim")


async def test_a_new_language_redraws_every_word(settings: Settings, lib: FakeLibrary) -> None:
    services = Services(settings=settings, civitai=FakeCivitai(), engine=FakeEngine(), library=lib)
    app = make_app(settings, services)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_usage(app, pilot)
        app.action_set_language("ja")
        await settle(pilot)
        assert "入手元別" in str(chart(app, "source").render())
        assert "ファイル" in text(app, "summary")
        await pilot.press("1")
        await settle(pilot)
        assert "ダウンロード" in str(app.screen.query_one("#dash-downloads").render())
