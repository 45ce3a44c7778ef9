"""A read-only, missing or full models folder: a clear reason naming it, the queue waits, nothing lost."""

from __future__ import annotations

import asyncio
import errno
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from modella_tui.core.downloads.engine import DownloadEngine, Summary
from modella_tui.core.store.db import Database
from tests.core.engine_support import civitai_request, make_engine, simple_model
from tests.fakes.catalog import KIB
from tests.fakes.fakehub import FakeHub


async def wait_until(engine: DownloadEngine, check: Any, timeout: float = 20) -> list[Any]:
    async def poll() -> list[Any]:
        while True:
            items = await engine.items()
            if check(items):
                return items
            await asyncio.sleep(0.02)

    return await asyncio.wait_for(poll(), timeout)


class Disk:
    """A writer seam that fails with `error` while `broken` is set; the folder check agrees."""

    def __init__(self, error: int) -> None:
        self.error = error
        self.broken = True
        self.failures = 0

    def pwritev(self, fd: int, bufs: Sequence[bytes], off: int) -> int:
        if self.broken:
            self.failures += 1
            raise OSError(self.error, os.strerror(self.error))
        return os.pwritev(fd, bufs, off)

    def folder_ok(self, folder: Path) -> bool:
        return not self.broken


@pytest.mark.parametrize(
    ("error", "key"),
    [
        (errno.EROFS, "engine.folder_read_only"),
        (errno.EACCES, "engine.folder_read_only"),
        (errno.ENOSPC, "engine.folder_full"),
    ],
)
async def test_the_queue_waits_for_the_folder_and_loses_nothing(
    hub: FakeHub, db: Database, models: Path, error: int, key: str
) -> None:
    folder = models / "Lora"
    ms = [simple_model(hub, f"Waits {key} {n}", 300 * KIB) for n in range(3)]
    disk = Disk(error)
    engine = make_engine(
        db, models, max_parallel=1, pwritev=disk.pwritev, folder_ok=disk.folder_ok,
        recheck_interval=0.05,
    )  # fmt: skip
    results = await engine.add([civitai_request(hub, m, folder) for m in ms])
    await engine.start()
    try:
        items = await wait_until(engine, lambda xs: all(i.state == "paused" for i in xs))
        # One clear reason naming the folder, for every item; no item failed.
        assert {(i.error, i.error_params.get("folder")) for i in items} == {(key, str(folder))}
        assert str(folder) in (items[0].message or "")
        blobs = [m.versions[0].files[0].blob for m in ms]
        # Only the first one tried; the others waited without a request.
        assert [hub.bytes_served(b.id) > 0 for b in blobs].count(True) <= 1
        assert len(hub.requests("civitai", "/api/download")) == 1
        disk.broken = False  # space freed / permissions fixed
        items = await wait_until(engine, lambda xs: all(i.state == "done" for i in xs))
    finally:
        await engine.stop()
    assert all(i.verified for i in items)
    for m in ms:
        blob = m.versions[0].files[0].blob
        assert (folder / m.versions[0].files[0].name).read_bytes() == blob.read(0, blob.size)
    assert len(results) == 3


async def test_a_folder_that_cannot_be_created_waits_until_it_can(
    hub: FakeHub, db: Database, tmp_path: Path
) -> None:
    # Runs as root too: a path under a regular file cannot be made by anyone (ENOTDIR).
    blocker = tmp_path / "mnt"
    blocker.write_text("not a folder")
    models = blocker / "models"
    m = simple_model(hub, "Missing folder", 100 * KIB)
    engine = make_engine(db, models, recheck_interval=0.05)
    await engine.add([civitai_request(hub, m, models / "Lora")])
    await engine.start()
    try:
        (item,) = await wait_until(engine, lambda xs: xs[0].state == "paused")
        assert item.error == "engine.folder_missing"
        assert item.error_params == {"folder": str(models / "Lora")}
        assert hub.requests("civitai", "/api/download") == []
        blocker.unlink()  # the volume is back
        blocker.mkdir()
        (item,) = await wait_until(engine, lambda xs: xs[0].state == "done")
    finally:
        await engine.stop()
    assert item.verified


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
async def test_a_read_only_models_folder_on_disk(hub: FakeHub, db: Database, models: Path) -> None:
    folder = models / "Lora"
    folder.mkdir(parents=True)
    folder.chmod(0o500)
    try:
        m = simple_model(hub, "Read-only", 100 * KIB)
        engine = make_engine(db, models, recheck_interval=0.05)
        await engine.add([civitai_request(hub, m, folder)])
        await engine.start()
        try:
            (item,) = await wait_until(engine, lambda xs: xs[0].state == "paused")
            assert item.error == "engine.folder_read_only"
            folder.chmod(0o755)
            (item,) = await wait_until(engine, lambda xs: xs[0].state == "done")
        finally:
            await engine.stop()
    finally:
        folder.chmod(0o755)


async def test_not_enough_space_waits_then_resumes_when_room_returns(
    hub: FakeHub, db: Database, models: Path
) -> None:
    m = simple_model(hub, "Big one", 200 * KIB)
    free = {"bytes": 10 * KIB}

    def usage(path: str) -> Any:
        return type("Usage", (), {"free": free["bytes"]})()

    engine = make_engine(
        db, models, disk_usage=usage, folder_ok=lambda p: True, recheck_interval=0.05
    )
    await engine.add([civitai_request(hub, m, models / "Lora")])
    await engine.start()
    try:
        (item,) = await wait_until(engine, lambda xs: xs[0].state == "paused")
        assert item.error == "engine.disk_space"
        assert Summary([item]).exit_code() == 6
        assert hub.requests("civitai", "/api/download") == []
        free["bytes"] = 10 * 1024 * KIB
        (item,) = await wait_until(engine, lambda xs: xs[0].state == "done")
    finally:
        await engine.stop()
    assert item.verified
