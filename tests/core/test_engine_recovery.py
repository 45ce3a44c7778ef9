"""A `.part.json` is used for recovery only when this installation wrote it."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path
from typing import Any

from modella_tui.core.downloads import partmeta
from modella_tui.core.store.db import Database
from tests.core.engine_support import civitai_request, make_engine, simple_model
from tests.fakes.catalog import KIB
from tests.fakes.fakehub import FakeHub


def planted(hub: FakeHub, url: str, name: str = "payload.ckpt") -> dict[str, Any]:
    """What someone else's `.part.json` could say: any URL, pickle consent given."""
    return {
        "source": "civitai", "dedupe_key": "civitai:file:424242", "title": "Free model",
        "file_name": name, "type": "Checkpoint", "base_model": "SD 1.5", "url": url,
        "expected_size": 1000, "sha256": None, "etag": None, "ranges": [[0, 1000, 10, 10]],
        "meta": {"allow_pickle": True}, "boot_id": "any",
    }  # fmt: skip


async def test_a_planted_part_json_is_an_orphan_and_never_fetched(
    hub: FakeHub, db: Database, models: Path
) -> None:
    foreign = f"{hub.cdn_url}/planted/payload.ckpt"
    target = partmeta.Target(models / "Stable-diffusion", "payload.ckpt")
    target.directory.mkdir(parents=True)
    target.part.write_bytes(b"x" * 10)
    partmeta.write_meta(target, planted(hub, foreign))  # unsigned
    forged = planted(hub, foreign) | {"sig": "0" * 64}
    other = partmeta.Target(models / "Stable-diffusion", "forged.ckpt")
    partmeta.write_meta(other, forged)
    engine = make_engine(db, models)
    await engine.start()
    summary = await asyncio.wait_for(engine.run_until_idle(), 10)
    assert sorted(await engine.orphans()) == sorted([target.meta, other.meta])
    await engine.stop()
    assert summary.items == [] and await engine.items() == []
    assert [r for r in hub.log if "planted" in r.path] == []
    assert target.part.read_bytes() == b"x" * 10  # listed for the user, never deleted for them


async def test_our_own_part_json_never_restores_pickle_consent(
    hub: FakeHub, db: Database, models: Path
) -> None:
    m = simple_model(hub, "Recovered pickle", 50 * KIB, file_name="recovered.ckpt")
    req = civitai_request(hub, m, models / "Stable-diffusion", allow_pickle=True)
    target = partmeta.Target(req.target_dir, req.file_name)
    target.directory.mkdir(parents=True)
    data = planted(hub, req.url, req.file_name) | {"dedupe_key": req.dedupe_key, "ranges": []}
    partmeta.write_meta(target, data, partmeta.load_key(db.path.parent / "part-key"))
    engine = make_engine(db, models)
    await engine.start()
    await asyncio.wait_for(engine.run_until_idle(), 10)
    (item,) = await engine.items()
    await engine.stop()
    assert item.state == "paused" and item.error == "engine.recovered_pickle"
    assert item.meta["allow_pickle"] is False
    assert hub.requests("civitai", "/api/download") == [] and await engine.orphans() == []


async def test_the_signing_key_is_private(db: Database, models: Path) -> None:
    engine = make_engine(db, models)
    await engine.start()
    await engine.stop()
    key = db.path.parent / "part-key"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert len(key.read_bytes()) == partmeta.KEY_BYTES
    assert partmeta.load_key(key) == key.read_bytes()  # the same key on the next start


def test_a_signature_covers_every_field(tmp_path: Path) -> None:
    key = partmeta.load_key(tmp_path / "k")
    target = partmeta.Target(tmp_path, "m.safetensors")
    partmeta.write_meta(target, {"url": "https://a/x", "meta": {"allow_pickle": False}}, key)
    data = partmeta.read_meta(target.meta)
    assert data is not None and partmeta.is_signed(data, key)
    assert not partmeta.is_signed(data | {"url": "https://evil/x"}, key)
    assert not partmeta.is_signed(data | {"meta": {"allow_pickle": True}}, key)
    assert not partmeta.is_signed(data, os.urandom(partmeta.KEY_BYTES))
