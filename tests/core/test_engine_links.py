"""Planted symlinks in the models folder: files outside it are never written through."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from modella_tui.core.store.db import Database
from tests.core.engine_support import civitai_request, make_engine, simple_model
from tests.fakes.catalog import KIB
from tests.fakes.fakehub import FakeHub


async def run(engine: object, reqs: list[object]) -> list[object]:
    await engine.add(reqs)  # type: ignore[attr-defined]
    await engine.start()  # type: ignore[attr-defined]
    summary = await asyncio.wait_for(engine.run_until_idle(), 20)  # type: ignore[attr-defined]
    await engine.stop()  # type: ignore[attr-defined]
    return list(summary.items)


async def test_a_link_at_the_final_name_and_sidecar_names_is_never_followed(
    hub: FakeHub, db: Database, models: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    keys = outside / "authorized_keys"
    keys.write_text("ssh-ed25519 KEEP")
    info = outside / "info.json"
    info.write_text("{}")
    folder = models / "Lora"
    folder.mkdir(parents=True)
    os.symlink(keys, folder / "x.safetensors")  # planted at the name the file will take
    os.symlink(info, folder / "x.civitai.info")  # and at a sidecar's name
    m = simple_model(hub, "Link target", 100 * KIB, file_name="x.safetensors")
    (item,) = await run(make_engine(db, models), [civitai_request(hub, m, folder)])
    assert item.state == "done" and item.verified  # type: ignore[attr-defined]
    assert Path(item.final_path).name == "x (2).safetensors"  # type: ignore[attr-defined]
    assert keys.read_text() == "ssh-ed25519 KEEP" and info.read_text() == "{}"
    assert os.path.islink(folder / "x.safetensors") and os.path.islink(folder / "x.civitai.info")
    assert sorted(p.name for p in outside.iterdir()) == ["authorized_keys", "info.json"]


async def test_a_planted_folder_link_never_changes_what_is_outside(
    hub: FakeHub, db: Database, models: Path, tmp_path: Path
) -> None:
    # models/Lora -> /outside, not an allowed root. Containment is lexical (pods symlink their
    # model folders on purpose), so a new file may land through the link, but nothing that
    # exists outside is ever overwritten, truncated or followed.
    outside = tmp_path / "outside"
    outside.mkdir()
    existing = {"y.safetensors": b"someone else's model", "y.json": b'{"mine": 1}'}
    for name, body in existing.items():
        (outside / name).write_bytes(body)
    models.mkdir(parents=True, exist_ok=True)
    os.symlink(outside, models / "Lora", target_is_directory=True)
    m = simple_model(hub, "Through a link", 80 * KIB, file_name="y.safetensors")
    (item,) = await run(make_engine(db, models), [civitai_request(hub, m, models / "Lora")])
    assert item.state == "done"  # type: ignore[attr-defined]
    assert Path(item.final_path).name == "y (2).safetensors"  # type: ignore[attr-defined]
    for name, body in existing.items():
        assert (outside / name).read_bytes() == body
    assert os.path.islink(models / "Lora")  # the link itself is left alone
