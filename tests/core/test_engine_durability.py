"""Durability: writeback during the transfer, a sync before the rename, a kill costs about a second."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from modella_tui.core.downloads import checkpoints
from modella_tui.core.downloads.checkpoints import Writeback, read_boot_id
from modella_tui.core.downloads.recovery import meta_ranges
from modella_tui.core.store.db import Database
from modella_tui.core.store.queue import Segment
from tests.core.engine_support import civitai_request, make_engine, simple_model
from tests.core.test_engine_lifecycle import spawn, worker_cfg
from tests.fakes.catalog import KIB, MIB
from tests.fakes.fakehub import FakeHub


def test_boot_id_is_read_and_unknown_is_empty(tmp_path: Path) -> None:
    (tmp_path / "boot_id").write_text("abc-123\n")
    assert read_boot_id(str(tmp_path / "boot_id")) == "abc-123"
    assert read_boot_id(str(tmp_path / "missing")) == ""


def test_writeback_syncs_while_the_file_grows(tmp_path: Path) -> None:
    synced_at: list[int] = []
    done = {0: 0}
    lock = threading.Lock()
    synced = threading.Event()

    def sync(fd: int) -> None:
        synced_at.append(done[0])
        synced.set()

    def snapshot() -> dict[int, int]:
        with lock:
            return dict(done)

    fd = os.open(tmp_path / "f", os.O_WRONLY | os.O_CREAT)
    try:
        wb = Writeback(fd, snapshot, step=1 * MIB, interval=60.0, sync=sync)
        for _ in range(4):
            with lock:
                done[0] += 1 * MIB
            wb.wrote(1 * MIB)
            assert synced.wait(10)  # each full step is synced while the writes go on
            synced.clear()
        assert synced_at == [1 * MIB, 2 * MIB, 3 * MIB, 4 * MIB]
        wb.finish()
        assert len(synced_at) == 5  # and once more at the end
        assert wb.synced == {0: 4 * MIB}
    finally:
        os.close(fd)


def test_writeback_without_a_step_syncs_on_its_interval_only(tmp_path: Path) -> None:
    syncs: list[float] = []
    synced = threading.Event()

    def sync(fd: int) -> None:
        syncs.append(time.monotonic())
        synced.set()

    fd = os.open(tmp_path / "f", os.O_WRONLY | os.O_CREAT)
    try:
        wb = Writeback(fd, lambda: {0: 8 * MIB}, step=None, interval=0.3, sync=sync)
        started = time.monotonic()
        wb.wrote(8 * MIB)  # many steps' worth at once: no sync for the bytes alone
        assert synced.wait(10)
        assert syncs[0] - started >= 0.25  # the interval, not the bytes, woke it
        wb.finish()
        assert wb.synced == {0: 8 * MIB}
    finally:
        os.close(fd)


async def test_a_large_file_asks_for_writeback_on_every_write_and_syncs_at_the_end(
    hub: FakeHub, db: Database, models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kicked: list[tuple[int, int]] = []
    threads: list[Writeback] = []
    real = Writeback

    def record(*args: Any, **kw: Any) -> Writeback:
        threads.append(real(*args, **kw))
        return threads[-1]

    monkeypatch.setattr(checkpoints, "THREAD_MIN", 1 * MIB)  # "large" for this test
    monkeypatch.setattr(checkpoints, "Writeback", record)
    monkeypatch.setattr(checkpoints, "_kick", lambda fd, pos, n: kicked.append((pos, n)))
    m = simple_model(hub, "Kicked", 3 * MIB)
    events: list[str] = []
    engine = make_engine(db, models, fsync=lambda fd: events.append("sync"))
    await engine.add([civitai_request(hub, m, models / "Lora")])
    await engine.start()
    summary = await asyncio.wait_for(engine.run_until_idle(), 20)
    await engine.stop()
    assert summary.items[0].state == "done" and summary.items[0].verified
    assert len(threads) == 1  # the file had its writeback thread
    assert sum(n for _, n in kicked) == 3 * MIB  # and every byte written was handed to the disk
    assert "sync" in events  # durable before the rename all the same


def test_part_json_ranges_trust_written_bytes_only_on_the_same_boot() -> None:
    data = {"boot_id": "A", "ranges": [[0, 100, 80, 30], [100, 200, 50, 50], [0, "x", 1, 1]]}
    assert meta_ranges(data, "A") == [Segment(0, 100, 80, 30), Segment(100, 200, 50, 50)]
    assert meta_ranges(data, "B") == [Segment(0, 100, 30, 30), Segment(100, 200, 50, 50)]
    assert meta_ranges(data, "") == [Segment(0, 100, 30, 30), Segment(100, 200, 50, 50)]
    older = {"ranges": [[0, 100, 70]]}  # written before ranges were recorded unsynced
    assert meta_ranges(older, "A") == [Segment(0, 100, 70, 70)]


async def test_the_part_is_synced_before_it_is_renamed(
    hub: FakeHub, db: Database, models: Path
) -> None:
    m = simple_model(hub, "Synced", 3 * MIB)
    events: list[str] = []
    engine = make_engine(
        db, models, fsync=lambda fd: events.append("sync"), crash_hook=events.append
    )
    await engine.add([civitai_request(hub, m, models / "Lora")])
    await engine.start()
    summary = await asyncio.wait_for(engine.run_until_idle(), 20)
    await engine.stop()
    assert summary.items[0].state == "done"
    assert "before_rename" in events
    assert events[events.index("before_rename") - 1] == "sync"


@pytest.mark.parametrize(("boot", "expect_from"), [("boot-A", "written"), ("boot-B", "synced")])
async def test_resume_trusts_unsynced_ranges_only_on_the_same_boot(
    hub: FakeHub, db: Database, models: Path, boot: str, expect_from: str
) -> None:
    size = 2 * MIB
    m = simple_model(hub, f"Boot {boot}", size)
    blob = m.versions[0].files[0].blob
    written, synced = 1536 * KIB, 512 * KIB
    seeded = make_engine(db, models, boot_id="boot-A")
    req = civitai_request(hub, m, models / "Lora")
    (res,) = await seeded.add([req])
    assert res.item_id is not None
    (models / "Lora").mkdir(parents=True, exist_ok=True)
    part = models / "Lora" / (req.file_name + ".part")
    part.write_bytes(blob.read(0, written))  # what the killed process left in the page cache
    await seeded.store.save_progress(
        res.item_id, [Segment(0, size, written, synced)], None, "boot-A"
    )
    engine = make_engine(db, models, boot_id=boot)
    await engine.start()
    summary = await asyncio.wait_for(engine.run_until_idle(), 20)
    await engine.stop()
    assert summary.items[0].state == "done" and summary.items[0].verified
    resumed_at = written if expect_from == "written" else synced
    assert hub.bytes_served(blob.id) == size - resumed_at


@pytest.mark.parametrize(("connections", "size"), [(1, 32 * MIB), (4, 96 * MIB)])
async def test_kill_3_5_s_after_the_first_byte_costs_about_a_second(
    hub: FakeHub, db: Database, models: Path, connections: int, size: int
) -> None:
    # 2 MB/s per connection; the process is killed (SIGKILL) once ~3.5 s of transfer arrived,
    # with the production checkpoint interval (1 s) and sync interval (5 s).
    rate = 2 * 1000 * 1000
    m = simple_model(hub, f"Kill at 3.5 s x{connections}", size)
    blob = m.versions[0].files[0].blob
    hub.rate_per_connection = rate
    req = civitai_request(hub, m, models / "Lora")
    cfg = worker_cfg(
        db, models, req, connections, checkpoint_interval=1.0, sync_interval=5.0,
        multi_min=1 * MIB,
    )  # fmt: skip
    proc = spawn(cfg)
    try:
        assert await asyncio.to_thread(hub.wait_served, blob.id, 1, 30)
        start = asyncio.get_running_loop().time()
        # The first connection alone, then the ramp: ~3.5 s of transfer at this many connections.
        target = int(3.5 * rate * (1 if connections == 1 else 3))
        assert await asyncio.to_thread(hub.wait_served, blob.id, target, 30)
        proc.send_signal(signal.SIGKILL)
        await asyncio.to_thread(proc.wait, 10)
        elapsed = asyncio.get_running_loop().time() - start
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    served_before = hub.bytes_served(blob.id)
    assert served_before < size, "finished before the kill"
    hub.rate_per_connection = None
    engine = make_engine(db, models, multi_min=1 * MIB, connections_per_file=connections)
    await engine.start()
    summary = await asyncio.wait_for(engine.run_until_idle(), 60)
    await engine.stop()
    item = summary.items[0]
    assert item.state == "done" and item.verified
    fetched_again = hub.bytes_served(blob.id) - size
    per_second = served_before / max(elapsed, 0.5)
    info: dict[str, Any] = {"again": fetched_again, "per_s": per_second, "elapsed": elapsed}
    assert hub.bytes_served(blob.id) <= 1.12 * size, info
