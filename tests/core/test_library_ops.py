"""Rename and delete with hostile names and symlinks: sidecars move together or not at all, nothing
outside the models folder is reached, nothing is overwritten, busy files are left alone."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest

from modella_tui.core import library_ops
from modella_tui.core.errors import LibraryError
from modella_tui.core.library import LibraryIndex
from modella_tui.core.library_ops import apply_moves, busy_paths, plan_delete, plan_rename
from modella_tui.core.store.db import Database
from modella_tui.core.store.queue import Landed, QueueStore
from tests.ui.fakes import FakeItem

SIDECARS = (".civitai.info", ".preview.png", ".json")


def put(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def model_with_sidecars(folder: Path, stem: str = "ink") -> Path:
    model = put(folder / f"{stem}.safetensors", b"m" * 100)
    for end in SIDECARS:
        put(folder / f"{stem}{end}", end.encode())
    return model


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def error_key(exc: pytest.ExceptionInfo[LibraryError]) -> str:
    return exc.value.key


async def test_rename_moves_the_file_and_its_sidecars_and_their_rows(
    db: Database, models: Path
) -> None:
    model = model_with_sidecars(models / "Lora")
    put(models / "Lora" / "inkling.safetensors")  # a sibling with a similar name stays put
    await QueueStore(db).record_landed(
        Landed("civitai", "1", "2", "3", "Ink", "LORA", "SD 1.5", str(model), 100, "ab" * 32, True)
    )
    index = LibraryIndex(db, lambda: models)
    await index.refresh()
    new = await index.rename(model, "Ink Wash v1")
    assert new == models / "Lora" / "Ink Wash v1.safetensors"
    assert names(models / "Lora") == sorted(
        ["Ink Wash v1.safetensors", "inkling.safetensors"] + [f"Ink Wash v1{e}" for e in SIDECARS]
    )
    files = {f.path: f for f in (await index.snapshot()).files}
    assert files[str(new)].name == "Ink" and files[str(new)].sha256 == "ab" * 32
    assert str(model) not in files
    assert await index.local_model_ids("civitai") == {"1"}


@pytest.mark.parametrize(
    "name",
    [
        "../escape", "a/b", "..", "", "   ", ".safetensors", " .SafeTensors ", ".hidden",
        "x\x1b[2Jy", "bad\u202ename", "a\\b", "-rf",
    ],
)  # fmt: skip
def test_unsafe_names_are_refused_with_a_suggestion(models: Path, name: str) -> None:
    model = model_with_sidecars(models / "Lora")
    with pytest.raises(LibraryError) as exc:
        plan_rename(models, model, name)
    empty = name.strip().lower() in ("", ".safetensors")  # nothing before the extension
    expected = "library.error.empty_name" if empty else "library.error.unsafe_name"
    assert error_key(exc) == expected
    assert names(models / "Lora") == sorted(["ink.safetensors"] + [f"ink{e}" for e in SIDECARS])


def test_a_name_taken_by_the_file_or_a_sidecar_is_refused(models: Path) -> None:
    model = model_with_sidecars(models / "Lora")
    put(models / "Lora" / "taken.safetensors")
    with pytest.raises(LibraryError) as exc:
        plan_rename(models, model, "taken")
    assert error_key(exc) == "library.error.exists"
    put(models / "Lora" / "other.preview.png")  # another model's sidecar
    with pytest.raises(LibraryError) as exc:
        plan_rename(models, model, "other.safetensors")
    assert error_key(exc) == "library.error.exists"
    with pytest.raises(LibraryError):
        plan_rename(models, model, "ink.safetensors")


def test_a_failed_move_puts_back_the_ones_already_made(
    models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = model_with_sidecars(models / "Lora")
    moves = plan_rename(models, model, "renamed")
    real_link = os.link

    def link(src: Any, dst: Any, **kw: Any) -> None:
        if str(dst).endswith(".preview.png"):
            raise OSError(errno.EIO, "disk trouble")
        real_link(src, dst, **kw)

    monkeypatch.setattr(os, "link", link)
    with pytest.raises(OSError):
        apply_moves(moves)
    assert names(models / "Lora") == sorted(["ink.safetensors"] + [f"ink{e}" for e in SIDECARS])


def test_without_hard_links_a_checked_rename_is_used(
    models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = model_with_sidecars(models / "Lora")

    def no_links(*_a: Any, **_kw: Any) -> None:
        raise OSError(errno.EPERM, "no hard links on this volume")

    monkeypatch.setattr(os, "link", no_links)
    apply_moves(plan_rename(models, model, "moved"))
    assert "moved.safetensors" in names(models / "Lora")
    assert (models / "Lora" / "moved.safetensors").read_bytes() == b"m" * 100


def test_the_final_link_is_never_followed(models: Path, tmp_path: Path) -> None:
    outside = put(tmp_path / "elsewhere" / "secret.safetensors", b"s")
    link_out = models / "Lora" / "linked.safetensors"
    link_out.parent.mkdir(parents=True)
    os.symlink(outside, link_out)
    for attempt in (
        lambda: plan_rename(models, link_out, "x"),
        lambda: plan_delete(models, link_out),
    ):
        with pytest.raises(LibraryError) as exc:
            attempt()
        assert error_key(exc) == "library.error.link_outside"
    assert outside.read_bytes() == b"s" and link_out.is_symlink()
    # A link to a file inside is renamed and deleted as a link; its target is untouched.
    inside = put(models / "Lora" / "real.safetensors", b"r" * 10)
    link_in = models / "Lora" / "alias.safetensors"
    os.symlink(inside, link_in)
    apply_moves(plan_rename(models, link_in, "alias2"))
    moved = models / "Lora" / "alias2.safetensors"
    assert moved.is_symlink() and os.readlink(moved) == str(inside)
    plan = plan_delete(models, moved)
    assert plan.bytes_freed == 0
    library_ops.apply_delete(plan)
    assert not os.path.lexists(moved) and inside.read_bytes() == b"r" * 10


def test_paths_outside_the_folder_are_refused(models: Path, tmp_path: Path) -> None:
    victim = put(tmp_path / "victim.safetensors")
    for path in (models / ".." / "victim.safetensors", victim, models):
        with pytest.raises(LibraryError) as exc:
            plan_delete(models, path)
        assert error_key(exc) == "library.error.outside"
    assert victim.exists()


def test_a_linked_model_folder_is_inside(models: Path, tmp_path: Path) -> None:
    shared = tmp_path / "volume" / "loras"
    put(shared / "shared.safetensors", b"v" * 5)
    os.symlink(shared, models / "Lora")
    plan = plan_delete(models, models / "Lora" / "shared.safetensors")
    assert plan.bytes_freed == 5


def test_files_being_downloaded_are_left_alone(models: Path) -> None:
    model = put(models / "Lora" / "ink.safetensors")
    part = put(models / "Lora" / "new.safetensors.part")
    items = [
        FakeItem(1, "Ink", "ink.safetensors", "paused", target_dir=str(models / "Lora")),
        FakeItem(2, "New", "new.safetensors", "running", target_dir=str(models / "Lora")),
        FakeItem(3, "Old", "old.safetensors", "done", target_dir=str(models / "Lora")),
    ]
    busy = busy_paths(items)
    for attempt in (
        lambda: plan_rename(models, model, "x", busy),
        lambda: plan_delete(models, model, busy),
        lambda: plan_delete(models, part, busy),
    ):
        with pytest.raises(LibraryError) as exc:
            attempt()
        assert error_key(exc) == "library.error.busy"
    assert str(models / "Lora" / "old.safetensors") not in busy


async def test_delete_removes_the_file_and_its_sidecars_only(db: Database, models: Path) -> None:
    model = model_with_sidecars(models / "Lora")
    sibling = put(models / "Lora" / "ink_v2.safetensors", b"s" * 7)
    await QueueStore(db).record_landed(
        Landed("civitai", "9", "8", "7", "Ink", "LORA", "", str(model), 100, None, False)
    )
    index = LibraryIndex(db, lambda: models)
    await index.refresh()
    plan = await index.delete_plan(model)
    sidecar_bytes = sum(len(e.encode()) for e in SIDECARS)
    assert plan.bytes_freed == 100 + sidecar_bytes and plan.sidecar_bytes == sidecar_bytes
    assert len(plan.sidecars) == 3
    await index.delete(model)
    assert names(models / "Lora") == ["ink_v2.safetensors"]
    assert sibling.read_bytes() == b"s" * 7
    assert [f.path for f in (await index.snapshot()).files] == [str(sibling)]
    assert await index.local_model_ids("civitai") == set()


def test_a_leftover_part_goes_with_its_json_and_hard_links_free_nothing(models: Path) -> None:
    part = put(models / "Lora" / "half.safetensors.part", b"p" * 50)
    put(models / "Lora" / "half.safetensors.part.json", b"{}")
    plan = plan_delete(models, part)
    assert [p.name for p in plan.sidecars] == ["half.safetensors.part.json"]
    assert plan.bytes_freed == 52 and plan.links == 0
    original = put(models / "VAE" / "vae.safetensors", b"v" * 30)
    info = put(models / "VAE" / "vae.civitai.info", b"i" * 4)
    os.link(original, models / "VAE" / "vae copy.safetensors")
    linked = plan_delete(models, original)
    # The other name keeps the bytes: only the sidecar is freed, and the plan says why.
    assert linked.bytes_freed == 4 and linked.links == 1 and linked.sidecars == (info,)


def test_partial_and_sidecar_files_are_not_renamed_alone(models: Path) -> None:
    part = put(models / "Lora" / "half.safetensors.part")
    info = put(models / "Lora" / "ink.civitai.info")
    for path in (part, info):
        with pytest.raises(LibraryError) as exc:
            plan_rename(models, path, "whatever")
        assert error_key(exc) == "library.error.rename_kind"


async def test_a_file_a_scan_identified_makes_its_model_local(db: Database, models: Path) -> None:
    copy = put(models / "Lora" / "copied by hand.safetensors")
    index = LibraryIndex(db, lambda: models)
    await index.refresh()
    assert await index.local_model_ids("civitai") == set()
    await db.execute(  # what the by-hash look-up of a scan records
        "UPDATE local_files SET source = 'civitai', model_id = '102', version_id = '1021' "
        "WHERE path = ?",
        (str(copy),),
    )
    assert await index.local_model_ids("civitai") == {"102"}  # the browser's "local" badge
