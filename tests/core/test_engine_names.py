"""Server names are data: they never name a working file or a sidecar, and never collide."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from pathlib import Path

import pytest

from modella_tui.core import paths
from modella_tui.core.downloads import partmeta, sidecars
from modella_tui.core.downloads.partmeta import numbered, working_safe_name
from modella_tui.core.store.db import Database
from tests.core.engine_support import civitai_request, make_engine, simple_model
from tests.fakes.catalog import KIB
from tests.fakes.fakehub import FakeHub


@pytest.mark.parametrize(
    ("given", "lands_as"),
    [
        ("X.part", "X_part"),
        ("X.part.json", "X_part.json"),
        ("model.safetensors.part", "model.safetensors_part"),
        ("model.safetensors.part.json", "model.safetensors_part.json"),
        ("x.civitai.info", "x_civitai.info"),
        ("x.PREVIEW.png", "x_PREVIEW.png"),
        ("x.part.part", "x.part_part"),
        ("plain.safetensors", "plain.safetensors"),
    ],
)
def test_reserved_suffixes_are_renamed(given: str, lands_as: str) -> None:
    name = working_safe_name(given)
    assert name == lands_as
    assert not name.lower().endswith(partmeta.RESERVED_SUFFIXES)


def test_long_names_stay_distinct_when_numbered() -> None:
    for n in ("é" * 150 + ".safetensors", "a" * 199 + ".safetensors", "b" * 250, "c" * 190 + ".x"):
        name = paths.safe_name(n)
        two, three = numbered(name, 2), numbered(name, 3)
        assert paths.safe_name(two) == two != name
        assert paths.safe_name(three) == three != two
        assert len(two.encode()) <= paths.MAX_NAME_BYTES


async def run_all(engine: object, reqs: list[object]) -> list[object]:
    results = await engine.add(reqs)  # type: ignore[attr-defined]
    await engine.start()  # type: ignore[attr-defined]
    summary = await asyncio.wait_for(engine.run_until_idle(), 30)  # type: ignore[attr-defined]
    await engine.stop()  # type: ignore[attr-defined]
    assert all(i.state == "done" for i in summary.items), [i.error for i in summary.items]
    return list(results)


async def test_a_file_named_like_another_items_part_never_takes_it_over(
    hub: FakeHub, db: Database, models: Path
) -> None:
    a = simple_model(hub, "Model A", 300 * KIB, file_name="a.safetensors")
    b = simple_model(hub, "Model B", 200 * KIB, file_name="a.safetensors.part")
    c = simple_model(hub, "Model C", 100 * KIB, file_name="a.safetensors.part.json")
    folder = models / "Lora"
    engine = make_engine(db, models)
    await run_all(engine, [civitai_request(hub, m, folder) for m in (a, b, c)])
    for m, name in (
        (a, "a.safetensors"),
        (b, "a.safetensors_part"),
        (c, "a.safetensors_part.json"),
    ):
        blob = m.versions[0].files[0].blob
        assert (folder / name).read_bytes() == blob.read(0, blob.size), name
    assert not list(folder.glob("*.part")) and not list(folder.glob("*.part.json"))


async def test_two_long_names_that_truncate_alike_get_their_own_part(
    hub: FakeHub, db: Database, models: Path
) -> None:
    stem = "n" * 196
    a = simple_model(hub, "Long A", 150 * KIB, file_name=stem + "A.safetensors")
    b = simple_model(hub, "Long B", 120 * KIB, file_name=stem + "B.safetensors")
    folder = models / "Lora"
    engine = make_engine(db, models)
    first, second = await run_all(engine, [civitai_request(hub, m, folder) for m in (a, b)])
    assert first.path != second.path  # type: ignore[attr-defined]
    landed = sorted(p for p in folder.iterdir() if p.name.endswith(".safetensors"))
    assert len(landed) == 2
    contents = {p.read_bytes() for p in landed}
    assert contents == {m.versions[0].files[0].blob.read(0, 10**9) for m in (a, b)}


async def test_a_json_file_does_not_take_a_models_forge_card_name(
    hub: FakeHub, db: Database, models: Path
) -> None:
    folder = models / "Lora"
    folder.mkdir(parents=True)
    (folder / "style.safetensors").write_bytes(b"the user's model")
    cfg = simple_model(hub, "Style config", 10 * KIB, file_name="style.json")
    engine = make_engine(db, models)
    (result,) = await run_all(engine, [civitai_request(hub, cfg, folder, meta={})])
    assert Path(result.path).name == "style (2).json"  # type: ignore[attr-defined]
    assert not (folder / "style.json").exists()


async def test_sidecars_never_overwrite_another_models(
    hub: FakeHub, db: Database, models: Path
) -> None:
    folder = models / "Lora"
    first = simple_model(hub, "Foo safetensors", 100 * KIB, file_name="foo.safetensors")
    second = simple_model(hub, "Foo pickle", 90 * KIB, file_name="foo.ckpt")
    engine = make_engine(db, models)
    req1 = civitai_request(hub, first, folder)
    await run_all(engine, [req1])
    info = folder / "foo.civitai.info"
    card = folder / "foo.json"
    before = (info.read_bytes(), card.read_bytes())
    req2 = civitai_request(
        hub, second, folder, allow_pickle=True,
        meta={"version_json": {"id": 999, "name": "other"}, "trained_words": ["other"]},
    )  # fmt: skip
    engine = make_engine(db, models)
    await run_all(engine, [req2])
    assert (folder / "foo.ckpt").is_file()
    assert (info.read_bytes(), card.read_bytes()) == before
    assert json.loads(info.read_text())["id"] == first.versions[0].id


def test_write_new_never_replaces(tmp_path: Path) -> None:
    path = tmp_path / "m.civitai.info"
    assert sidecars.write_new(path, b"first")
    assert not sidecars.write_new(path, b"second")
    assert path.read_bytes() == b"first"
    assert [p.name for p in tmp_path.iterdir()] == ["m.civitai.info"]  # no temporary left


def test_write_new_without_nameless_files_uses_a_temporary_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delattr(os, "O_TMPFILE")  # a system without them
    path = tmp_path / "m.preview.png"
    assert sidecars.write_new(path, b"first")
    assert not sidecars.write_new(path, b"second")
    assert path.read_bytes() == b"first"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["m.preview.png"]  # no temporary left


def test_write_new_gives_a_nameless_file_its_name(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    assert sidecars.write_new(path, b"{}")
    assert path.read_bytes() == b"{}"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    os.symlink(tmp_path / "elsewhere", tmp_path / "link.json")
    assert not sidecars.write_new(tmp_path / "link.json", b"{}")  # a link there is never followed
    assert not (tmp_path / "elsewhere").exists()


def test_write_new_makes_sidecars_readable_under_a_strict_umask(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(partmeta, "_UMASK", 0o077)  # as read at start-up on such a pod
    old = os.umask(0o077)
    try:
        assert sidecars.write_new(tmp_path / "m.civitai.info", b"{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "m.civitai.info").stat().st_mode) == 0o644
