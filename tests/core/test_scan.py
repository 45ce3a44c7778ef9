"""The library scan against the fake hub: hashes once per (path, size, mtime), identifies files
copied in by hand, reads headers of the rest, remembers what Civitai does not know, finds newer
versions and duplicates, and reads nothing the second time."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from modella_tui.core import scan
from modella_tui.core.civitai.client import CivitaiClient
from modella_tui.core.errors import NetworkError
from modella_tui.core.library import LibraryIndex
from modella_tui.core.library_view import build_view
from modella_tui.core.scan import ScanProgress, sha256_file
from modella_tui.core.store.db import Database
from modella_tui.core.store.queue import Landed, QueueStore
from modella_tui.core.usage import summarize
from tests.core.test_safetensors import safetensors
from tests.fakes.catalog import INK_WASH
from tests.fakes.fakehub import FakeHub

SDXL_LORA = {"__metadata__": {"ss_base_model_version": "sdxl_base_v1-0"}, "lora_unet_a": {}}


async def no_sleep(_seconds: float) -> None:
    return None


@pytest.fixture
async def civitai(hub: FakeHub) -> AsyncIterator[CivitaiClient]:
    """A real client pointed at the fake hub (no cache, so every look-up reaches it)."""
    client = CivitaiClient(hub.civitai_url, None, None, sleep=no_sleep)
    yield client
    await client.close()


def put(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def by_hash_requests(hub: FakeHub) -> int:
    return len(hub.requests("civitai", "/api/v1/model-versions/by-hash/"))


class OpenCounter:
    """Counts files opened under one folder (hashing and header reads both use `os.open`)."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = str(root)
        self.opened: list[str] = []
        real: Callable[..., int] = os.open

        def counting(path: Any, *args: Any, **kwargs: Any) -> int:
            if str(path).startswith(self.root):
                self.opened.append(str(path))
            return real(path, *args, **kwargs)

        monkeypatch.setattr(os, "open", counting)


async def test_a_copied_file_is_identified_and_the_rest_read_from_headers(
    db: Database, models: Path, hub: FakeHub, civitai: CivitaiClient
) -> None:
    v1 = hub.version(1011)  # Ink Wash LoRA v1.0; v2.0 is newer
    copied = put(models / "Lora" / "my copy.safetensors", v1.files[0].blob.data())
    mine = put(models / "Lora" / "mine.safetensors", safetensors(SDXL_LORA))
    junk = put(models / "Stable-diffusion" / "junk.safetensors", b"\xff" * 64)
    pickle = put(models / "Stable-diffusion" / "old.ckpt", b"PK\x03\x04 not loaded")
    index = LibraryIndex(db, lambda: models, civitai=civitai)
    phases: list[str] = []

    report = await index.scan(lambda p: phases.append(p.phase))

    assert report.hashed == 4
    files = {os.path.basename(f.path): f for f in report.snapshot.files}
    found = files["my copy.safetensors"]
    assert (found.source, found.model_id, found.version_id) == ("civitai", str(INK_WASH), "1011")
    assert found.name == "Ink Wash LoRA" and found.lookup == "found"
    assert found.sha256 == hashlib.sha256(copied.read_bytes()).hexdigest()
    assert [f.path for f in report.identified] == [str(copied)]
    assert report.snapshot.update_for(found) == ("1012", "v2.0")
    unknown = files["mine.safetensors"]
    assert (unknown.source, unknown.lookup, unknown.header) == ("unknown", "unknown", "ok")
    assert (unknown.type, unknown.base_model) == ("LORA", "SDXL 1.0")
    assert files["junk.safetensors"].header == "unreadable"
    assert report.unreadable == [str(junk)]
    assert files["old.ckpt"].header is None  # a pickle format: its header is never read
    assert report.not_on_civitai == 3
    assert {"sizes", "hash", "identify", "header", "updates", "done"} <= set(phases)
    assert str(mine) in {f.path for f in report.snapshot.files}
    assert pickle.exists()


async def test_a_second_scan_reads_nothing_unchanged_and_asks_nothing_again(
    db: Database,
    models: Path,
    hub: FakeHub,
    civitai: CivitaiClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    put(models / "Lora" / "copy.safetensors", hub.version(1011).files[0].blob.data())
    put(models / "Lora" / "mine.safetensors", safetensors(SDXL_LORA))
    changing = put(models / "VAE" / "vae.safetensors", safetensors(SDXL_LORA, b"1" * 32))
    index = LibraryIndex(db, lambda: models, civitai=civitai)
    await index.scan()
    asked = by_hash_requests(hub)
    counter = OpenCounter(models, monkeypatch)

    report = await index.scan()

    assert counter.opened == []
    assert report.hashed == 0 and report.headers_read == 0
    assert by_hash_requests(hub) == asked  # "unknown" is remembered, not asked again
    changing.write_bytes(safetensors(SDXL_LORA, b"2" * 40))
    report = await index.scan()
    assert counter.opened == [str(changing), str(changing)]  # hashed, then its header read
    assert by_hash_requests(hub) == asked + 1


async def test_offline_scan_hashes_and_reads_headers_and_asks_later(
    db: Database, models: Path, hub: FakeHub, civitai: CivitaiClient
) -> None:
    put(models / "Lora" / "copy.safetensors", hub.version(1011).files[0].blob.data())
    offline = LibraryIndex(db, lambda: models)
    report = await offline.scan()
    assert report.hashed == 1 and report.identified == [] and by_hash_requests(hub) == 0
    assert report.snapshot.files[0].lookup is None
    online = LibraryIndex(db, lambda: models, civitai=civitai)
    report = await online.scan()
    assert report.hashed == 0
    assert [f.name for f in report.identified] == ["Ink Wash LoRA"]


async def test_an_unreachable_civitai_leaves_files_to_ask_next_time(
    db: Database, models: Path, hub: FakeHub
) -> None:
    put(models / "Lora" / "copy.safetensors", hub.version(1011).files[0].blob.data())
    dead = CivitaiClient("http://127.0.0.1:9", None, None, sleep=no_sleep, max_attempts=1)
    try:
        report = await LibraryIndex(db, lambda: models, civitai=dead).scan()
    finally:
        await dead.close()
    assert isinstance(report.civitai_error, NetworkError)
    assert report.snapshot.files[0].lookup is None and report.snapshot.files[0].sha256


async def test_landed_files_keep_the_engines_hash_and_are_not_read(
    db: Database,
    models: Path,
    hub: FakeHub,
    civitai: CivitaiClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    blob = hub.version(1012).files[0].blob
    landed = put(models / "Lora" / "inkWashLora_v20.safetensors", blob.data())
    await QueueStore(db).record_landed(
        Landed("civitai", str(INK_WASH), "1012", None, "Ink Wash LoRA", "LORA", "SDXL 1.0",
               str(landed), blob.size, blob.sha256, True)
    )  # fmt: skip
    counter = OpenCounter(models, monkeypatch)
    report = await LibraryIndex(db, lambda: models, civitai=civitai).scan()
    assert counter.opened == [] and by_hash_requests(hub) == 0
    assert report.snapshot.update_for(report.snapshot.files[0]) is None  # v2.0 is the newest


async def test_identical_files_are_duplicates_with_the_bytes_to_reclaim(
    db: Database, models: Path
) -> None:
    data = safetensors(SDXL_LORA, b"z" * 1000)
    put(models / "Lora" / "a.safetensors", data)
    put(models / "Lora" / "sub" / "a (2).safetensors", data)
    put(models / "Lora" / "other.safetensors", safetensors(SDXL_LORA, b"y" * 1000))
    report = await LibraryIndex(db, lambda: models).scan()
    view = build_view(report.snapshot)
    assert [len(copies) for copies in view.duplicates.values()] == [2]
    assert view.reclaimable == len(data)


async def test_hard_links_are_one_file_not_duplicates(db: Database, models: Path) -> None:
    data = safetensors(SDXL_LORA, b"h" * 1000)
    original = put(models / "Lora" / "a.safetensors", data)
    (models / "misc").mkdir()
    os.link(original, models / "misc" / "hard.safetensors")
    index = LibraryIndex(db, lambda: models)
    report = await index.scan()
    assert report.hashed == 2 and all(f.sha256 for f in report.snapshot.files)
    for snap in (report.snapshot, await index.snapshot()):
        view = build_view(snap)
        assert view.duplicates == {} and view.reclaimable == 0
        assert view.total_bytes == len(data)
        usage = summarize(snap)
        assert usage.duplicates == () and usage.reclaimable_bytes == 0
        assert usage.total_bytes == len(data)


async def test_a_scan_stops_when_asked_and_keeps_what_it_learned(
    db: Database, models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scan, "PROGRESS_EVERY", 0.0)  # every step reported: no clock involved
    for n in range(3):
        put(models / "Lora" / f"{n}.safetensors", safetensors(SDXL_LORA, bytes([n]) * (n + 1)))
    index = LibraryIndex(db, lambda: models)
    seen: list[ScanProgress] = []

    def progress(p: ScanProgress) -> None:
        seen.append(p)
        if p.phase == "hash" and p.done == 1:
            index.stop_scan()

    report = await index.scan(progress)
    assert report.stopped and report.hashed == 1
    assert sum(1 for f in report.snapshot.files if f.sha256) == 1
    again = await index.scan()
    assert again.hashed == 2 and not again.stopped


def test_sha256_file_stops_at_the_next_chunk(tmp_path: Path) -> None:
    import threading

    path = put(tmp_path / "f.bin", b"a" * 100)
    stop = threading.Event()
    assert sha256_file(str(path), stop) == hashlib.sha256(b"a" * 100).hexdigest()
    stop.set()
    assert sha256_file(str(path), stop) is None
