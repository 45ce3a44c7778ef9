"""Engine lifecycle: range connections, pause/cancel, stop, lease, reconciliation, crashes, kill -9."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from modella_tui.core.downloads import partmeta
from modella_tui.core.downloads.events import Progress
from modella_tui.core.store.db import Database
from tests.core.engine_support import civitai_request, make_engine, simple_model
from tests.fakes.catalog import KIB, MIB
from tests.fakes.fakehub import FakeHub

ROOT = Path(__file__).resolve().parents[2]


async def wait_state(engine: Any, item_id: int, *states: str, timeout: float = 10) -> Any:
    async def poll() -> Any:
        while True:
            item = await engine.store.get(item_id)
            if item.state in states:
                return item
            await asyncio.sleep(0.02)

    return await asyncio.wait_for(poll(), timeout)


async def test_t25_range_connections(hub: FakeHub, db: Database, models: Path) -> None:
    # A server that caps each connection: the engine starts with one, sees it capped and adds
    # more by splitting the remaining range, never more than connections_per_file.
    m = simple_model(hub, "Multi", 3 * MIB + 123)
    blob = m.versions[0].files[0].blob
    hub.rate_per_connection = 1 * MIB
    engine = make_engine(db, models, multi_min=256 * KIB, connections_per_file=4)
    await engine.add([civitai_request(hub, m, models / "Lora")])
    await engine.start()
    summary = await asyncio.wait_for(engine.run_until_idle(), 20)
    await engine.stop()
    item = summary.items[0]
    assert item.state == "done" and item.verified
    gets = [r for r in hub.requests("cdn", "/files/") if r.method == "GET"]
    ranges = [r.headers.get("range", "") for r in gets]
    assert ranges[0] == "bytes=0-"  # the first connection asks to the end
    assert 2 <= len(gets) <= 8, ranges
    assert all(r.startswith("bytes=") for r in ranges)
    starts = sorted(int(r[6:].split("-")[0]) for r in ranges)
    assert len(set(starts)) == len(starts)  # every connection got its own range
    assert hub.bytes_served(blob.id) <= blob.size * 1.05
    assert await engine.store.segments(item.id) == []


async def test_fast_single_connection_stays_single(
    hub: FakeHub, db: Database, models: Path
) -> None:
    # Unlimited and fast: a second connection would only share the CPU.
    m = simple_model(hub, "Fast", 2 * MIB)
    engine = make_engine(db, models, multi_min=256 * KIB, connections_per_file=4)
    await engine.add([civitai_request(hub, m, models / "Lora")])
    await engine.start()
    summary = await asyncio.wait_for(engine.run_until_idle(), 20)
    await engine.stop()
    assert summary.items[0].state == "done" and summary.items[0].verified
    gets = [r for r in hub.requests("cdn", "/files/") if r.method == "GET"]
    assert [r.headers.get("range") for r in gets] == ["bytes=0-"]


async def test_t29_pause_resume_cancel(hub: FakeHub, db: Database, models: Path) -> None:
    a = simple_model(hub, "Pausable", 2 * MIB)
    b = simple_model(hub, "Cancellable", 2 * MIB)
    blob_a = a.versions[0].files[0].blob
    hub.rate_per_connection = 2 * MIB
    engine = make_engine(db, models)
    ra, rb = await engine.add(
        [civitai_request(hub, a, models / "Lora"), civitai_request(hub, b, models / "Lora")]
    )
    assert ra.item_id is not None and rb.item_id is not None
    await engine.start()
    try:
        assert await asyncio.to_thread(hub.wait_served, blob_a.id, 400 * KIB)
        await engine.pause(ra.item_id)
        paused = await wait_state(engine, ra.item_id, "paused")
        assert paused.bytes_done > 0
        target_a = partmeta.Target(models / "Lora", a.versions[0].files[0].name)
        assert target_a.part.exists()
        await engine.cancel(rb.item_id)
        await wait_state(engine, rb.item_id, "cancelled")
        target_b = partmeta.Target(models / "Lora", b.versions[0].files[0].name)
        assert not target_b.part.exists() and not target_b.meta.exists()
        hub.rate_per_connection = None
        await engine.resume(ra.item_id)
        done = await wait_state(engine, ra.item_id, "done", "failed")
    finally:
        await engine.stop()
    assert done.state == "done" and done.verified
    assert hub.bytes_served(blob_a.id) <= blob_a.size * 1.1
    assert not (models / "Lora" / b.versions[0].files[0].name).exists()


async def test_t48_stop_is_fast_and_resumable(hub: FakeHub, db: Database, models: Path) -> None:
    m = simple_model(hub, "Stoppable", 4 * MIB)
    blob = m.versions[0].files[0].blob
    hub.rate_per_connection = 2 * MIB
    engine = make_engine(db, models)
    (res,) = await engine.add([civitai_request(hub, m, models / "Lora")])
    assert res.item_id is not None
    await engine.start()
    assert await asyncio.to_thread(hub.wait_served, blob.id, 600 * KIB)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    await engine.stop()
    assert loop.time() - t0 < 2.0
    item = await engine.store.get(res.item_id)
    assert item is not None and item.state == "pending" and item.bytes_done > 0
    hub.rate_per_connection = None
    engine2 = make_engine(db, models)
    await engine2.start()
    summary = await asyncio.wait_for(engine2.run_until_idle(), 20)
    await engine2.stop()
    assert summary.items[0].state == "done"
    assert hub.bytes_served(blob.id) <= blob.size * 1.25


async def test_t27_one_lease_and_takeover(hub: FakeHub, db: Database, models: Path) -> None:
    db2 = await Database(db.path).open()
    try:
        a = make_engine(db, models)
        b = make_engine(db2, models)
        assert await a.start() is True
        assert await b.start() is False
        m = simple_model(hub, "Shared", 200 * KIB)
        blob = m.versions[0].files[0].blob
        (res,) = await b.add([civitai_request(hub, m, models / "Lora")])  # observers can add
        assert res.item_id is not None
        summary = await asyncio.wait_for(b.run_until_idle([res.item_id]), 20)
        assert summary.items[0].state == "done"
        assert hub.bytes_served(blob.id) == blob.size  # served once
        # The holder dies without releasing: its lease expires and the other takes over.
        assert a._main is not None
        a._main.cancel()
        if a.lease._task is not None:
            a.lease._task.cancel()
        a.lease.held = False
        await db.execute("UPDATE engine_lease SET expires_at = 0")
        m2 = simple_model(hub, "Later", 100 * KIB)
        (res2,) = await b.add([civitai_request(hub, m2, models / "Lora")])
        assert res2.item_id is not None
        summary2 = await asyncio.wait_for(b.run_until_idle([res2.item_id]), 20)
        assert summary2.items[0].state == "done" and b.lease.held
        await b.stop()
    finally:
        await db2.close()


async def test_an_observer_reports_the_speed_of_what_the_holder_downloads(
    hub: FakeHub, db: Database, models: Path
) -> None:
    db2 = await Database(db.path).open()
    try:
        holder = make_engine(db, models)
        observer = make_engine(db2, models)
        assert await holder.start() is True
        assert await observer.start() is False
        m = simple_model(hub, "Watched", 2 * MIB)
        hub.rate_per_connection = 512 * KIB
        seen: list[Progress] = []
        observer.add_listener(lambda e: seen.append(e) if isinstance(e, Progress) else None)
        (res,) = await observer.add([civitai_request(hub, m, models / "Lora")])
        assert res.item_id is not None
        summary = await asyncio.wait_for(observer.run_until_idle([res.item_id]), 30)
        assert summary.items[0].state == "done"
        assert seen, "the observer saw no progress"
        assert any(p.speed_bps > 100 * KIB for p in seen)  # it printed 0 B/s throughout
        await holder.stop()
        await observer.stop()
    finally:
        await db2.close()


async def test_t26_orphan_part_json_requeued(hub: FakeHub, db: Database, models: Path) -> None:
    m = simple_model(hub, "Orphan", 300 * KIB)
    blob = m.versions[0].files[0].blob
    req = civitai_request(hub, m, models / "Lora")
    target = partmeta.Target(models / "Lora", req.file_name)
    target.directory.mkdir(parents=True)
    target.part.write_bytes(blob.read(0, 100 * KIB))
    partmeta.write_meta(
        target,
        {
            "source": "civitai", "dedupe_key": req.dedupe_key, "title": req.title,
            "file_name": req.file_name, "type": "LORA", "base_model": "SD 1.5", "url": req.url,
            "expected_size": blob.size, "sha256": blob.sha256, "etag": f'"{blob.sha256[:32]}"',
            "ranges": [[0, blob.size, 100 * KIB]], "meta": {},
        },
        partmeta.load_key(db.path.parent / "part-key"),  # this installation wrote it
    )  # fmt: skip
    engine = make_engine(db, models)
    await engine.start()
    summary = await asyncio.wait_for(engine.run_until_idle(), 20)
    await engine.stop()
    assert [i.state for i in summary.items] == ["done"]
    assert hub.bytes_served(blob.id) == blob.size - 100 * KIB


# -- crashes in a subprocess ----------------------------------------------------------------------


def worker_cfg(db: Database, models: Path, req: Any, connections: int = 1, **extra: Any) -> str:
    data = dict(vars(req))
    data["target_dir"] = str(req.target_dir)
    return json.dumps(
        {
            "db": str(db.path),
            "models": str(models),
            "req": data,
            "multi_min": 256 * KIB,
            "connections": connections,
            **extra,
        }
    )


def spawn(cfg: str) -> subprocess.Popen[bytes]:
    """The engine worker (tests/core/engine_worker.py) in a subprocess."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "src")])
    return subprocess.Popen(
        [sys.executable, "-m", "tests.core.engine_worker", cfg], env=env, cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


@pytest.mark.parametrize("point", ["before_rename", "after_rename"])
async def test_t26_crash_around_rename(
    hub: FakeHub, db: Database, models: Path, point: str
) -> None:
    m = simple_model(hub, f"Crash {point}", 200 * KIB)
    blob = m.versions[0].files[0].blob
    req = civitai_request(hub, m, models / "Lora")
    proc = spawn(worker_cfg(db, models, req, crash_at=point))
    assert await asyncio.to_thread(proc.wait, 30) == 137
    engine = make_engine(db, models)
    await engine.start()
    summary = await asyncio.wait_for(engine.run_until_idle(), 20)
    await engine.stop()
    assert [i.state for i in summary.items] == ["done"]
    assert sorted(p.name for p in (models / "Lora").iterdir() if "safetensors" in p.name) == [
        req.file_name
    ]
    assert hub.bytes_served(blob.id) == blob.size  # nothing fetched twice


@pytest.mark.parametrize("connections", [1, 4])
async def test_t24_t25_kill_9_resumes(
    hub: FakeHub, db: Database, models: Path, connections: int
) -> None:
    size = 3 * MIB
    m = simple_model(hub, f"Killed {connections}", size)
    blob = m.versions[0].files[0].blob
    hub.rate_per_connection = 1.5 * MIB / connections
    req = civitai_request(hub, m, models / "Lora")
    proc = spawn(worker_cfg(db, models, req, connections))
    try:
        assert await asyncio.to_thread(hub.wait_served, blob.id, int(size * 0.45), 20)
        proc.send_signal(signal.SIGKILL)
        await asyncio.to_thread(proc.wait, 10)
    finally:
        if proc.poll() is None:
            proc.kill()
    hub.rate_per_connection = None
    engine = make_engine(db, models, multi_min=256 * KIB, connections_per_file=connections)
    await engine.start()
    summary = await asyncio.wait_for(engine.run_until_idle(), 20)
    await engine.stop()
    item = summary.items[0]
    assert item.state == "done" and item.verified
    assert hub.bytes_served(blob.id) <= 1.25 * size
