"""Many small files at the cost of one: admission in one transaction, slots handed on at landing,
no thread started per file, previews fetched beside the transfer, pages sent to the disk early."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from modella_tui.core.downloads import checkpoints, verify, workers
from modella_tui.core.downloads.engine import DownloadEngine
from modella_tui.core.downloads.events import StateChanged
from modella_tui.core.store.db import Database
from modella_tui.core.store.queue import QueueItem, QueueStore
from tests.core.engine_support import civitai_request, make_engine, simple_model
from tests.fakes.catalog import KIB, MIB
from tests.fakes.fakehub import FakeHub


async def test_a_list_is_admitted_with_one_read_and_one_insert(
    hub: FakeHub, db: Database, models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = models / "Lora"
    ms = [simple_model(hub, f"Batch {n}", 64 * KIB) for n in range(3)]
    twin = simple_model(hub, "Batch twin", 64 * KIB, file_name=ms[0].versions[0].files[0].name)
    inserts: list[int] = []
    insert_many = QueueStore.insert_many

    async def counted(self: QueueStore, rows: list[dict[str, Any]]) -> list[int]:
        inserts.append(len(rows))
        return await insert_many(self, rows)

    monkeypatch.setattr(QueueStore, "insert_many", counted)
    engine = make_engine(db, models)
    reqs = [civitai_request(hub, m, folder) for m in ms]
    results = await engine.add([*reqs, reqs[1], civitai_request(hub, twin, folder)])
    assert inserts == [4]  # three files and the twin, in one transaction
    assert [r.status for r in results] == ["queued"] * 3 + ["already_queued", "queued"]
    assert results[3].item_id == results[1].item_id  # asked twice in one list: one item
    # Same name, another file, same folder: it gets the next free name, never the same `.part`.
    assert Path(results[4].path or "").name.endswith(" (2).safetensors")
    await engine.start()
    try:
        summary = await asyncio.wait_for(engine.run_until_idle(), 30)
    finally:
        await engine.stop()
    assert [i.state for i in summary.items] == ["done"] * 4


async def test_a_landing_file_hands_its_slot_on_never_above_max_parallel(
    hub: FakeHub, db: Database, models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ms = [simple_model(hub, f"Slot {n}", 128 * KIB) for n in range(7)]
    handed: list[int] = []
    start_item = DownloadEngine._start_item

    def spy(self: DownloadEngine, item: QueueItem, segments: Any, *, checked: bool) -> None:
        if not checked:  # claimed in a landing item's final transaction, not by the scheduler
            handed.append(item.id)
        start_item(self, item, segments, checked=checked)

    monkeypatch.setattr(DownloadEngine, "_start_item", spy)
    engine = make_engine(db, models, max_parallel=2)
    running: set[int] = set()
    most = [0]

    def track(event: object) -> None:
        if isinstance(event, StateChanged):
            if event.state == "running":
                running.add(event.item_id)
            else:
                running.discard(event.item_id)
            most[0] = max(most[0], len(running))

    engine.add_listener(track)
    await engine.add([civitai_request(hub, m, models / "Lora") for m in ms])
    await engine.start()
    try:
        summary = await asyncio.wait_for(engine.run_until_idle(), 30)
    finally:
        await engine.stop()
    assert [i.state for i in summary.items] == ["done"] * 7
    assert most[0] <= 2
    assert len(handed) == 5  # every file after the first two took a landing file's slot


@pytest.mark.parametrize("size_known", [True, False])  # Civitai's sizes are only a hint
async def test_small_files_start_no_thread_of_their_own(
    hub: FakeHub, db: Database, models: Path, monkeypatch: pytest.MonkeyPatch, size_known: bool
) -> None:
    ms = [simple_model(hub, f"Threads {n}", 256 * KIB) for n in range(6)]
    writebacks: list[int] = []
    hashers: list[int] = []
    monkeypatch.setattr(checkpoints.Writeback, "_run", lambda self: writebacks.append(1))
    original = verify.OrderedHasher.__init__

    def counted(self: verify.OrderedHasher, *args: Any, **kwargs: Any) -> None:
        hashers.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(verify.OrderedHasher, "__init__", counted)
    started = workers.RECEIVERS.started
    engine = make_engine(db, models, max_parallel=1)
    sizes: dict[str, Any] = {} if size_known else {"expected_size": None}
    await engine.add([civitai_request(hub, m, models / "Lora", **sizes) for m in ms])
    await engine.start()
    try:
        summary = await asyncio.wait_for(engine.run_until_idle(), 30)
    finally:
        await engine.stop()
    assert all(i.state == "done" and i.verified for i in summary.items)
    assert writebacks == []  # no writeback thread for a small file
    assert hashers == []  # hashed by the receiving thread as the bytes arrive
    assert workers.RECEIVERS.started - started <= 1  # one receive thread, reused


async def test_the_preview_comes_in_while_the_file_downloads(
    hub: FakeHub, db: Database, models: Path
) -> None:
    m = simple_model(hub, "Preview early", 2 * MIB)
    hub.rate_per_connection = 4 * MIB  # about half a second of transfer
    engine = make_engine(db, models)
    seen_at_landing: list[int] = []

    def on_event(event: object) -> None:
        if isinstance(event, StateChanged) and event.state == "verifying":
            seen_at_landing.append(len(hub.requests("cdn", "/images")))

    engine.add_listener(on_event)
    await engine.add([civitai_request(hub, m, models / "Lora")])
    await engine.start()
    try:
        summary = await asyncio.wait_for(engine.run_until_idle(), 30)
    finally:
        await engine.stop()
    assert summary.items[0].state == "done"
    assert seen_at_landing == [1]  # asked for before the file's bytes were all in
    stem = m.versions[0].files[0].name.rsplit(".", 1)[0]
    assert (models / "Lora" / f"{stem}.preview.png").read_bytes().startswith(b"\x89PNG")


async def test_a_failed_file_drops_its_preview(hub: FakeHub, db: Database, models: Path) -> None:
    m = simple_model(hub, "Preview dropped", 256 * KIB)
    req = civitai_request(hub, m, models / "Lora", sha256="0" * 64)  # the hash will not match
    engine = make_engine(db, models)
    await engine.add([req])
    await engine.start()
    try:
        summary = await asyncio.wait_for(engine.run_until_idle(), 30)
    finally:
        await engine.stop()
    assert summary.items[0].state == "failed"
    assert not list((models / "Lora").glob("*.preview.png"))
    assert engine._previews == {}


async def test_a_small_files_pages_go_to_the_disk_as_they_are_written(
    hub: FakeHub, db: Database, models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    m = simple_model(hub, "Writeback early", 1 * MIB)
    started: list[tuple[int, int]] = []
    monkeypatch.setattr(checkpoints, "start_writeback", lambda fd, off, n: started.append((off, n)))
    engine = make_engine(db, models)
    await engine.add([civitai_request(hub, m, models / "Lora")])
    await engine.start()
    try:
        summary = await asyncio.wait_for(engine.run_until_idle(), 30)
    finally:
        await engine.stop()
    assert summary.items[0].state == "done"
    assert sum(n for _, n in started) == 1 * MIB  # every byte handed to the disk once
    assert sorted(off for off, _ in started)[0] == 0


def test_starting_writeback_on_a_bad_descriptor_changes_nothing() -> None:
    checkpoints.start_writeback(-1, 0, 4096)  # no exception: the final sync does the work


async def test_a_small_file_is_synced_once_by_its_last_writer(
    hub: FakeHub, db: Database, models: Path
) -> None:
    m = simple_model(hub, "Synced by writer", 512 * KIB)
    syncs: list[str] = []

    def sync(fd: int) -> None:
        syncs.append(threading.current_thread().name)
        os.fdatasync(fd)

    engine = make_engine(db, models, fsync=sync)
    await engine.add([civitai_request(hub, m, models / "Lora")])
    await engine.start()
    try:
        summary = await asyncio.wait_for(engine.run_until_idle(), 30)
    finally:
        await engine.stop()
    assert summary.items[0].state == "done"
    assert syncs == ["modella-recv"]  # no second sync, no trip to another thread for it
