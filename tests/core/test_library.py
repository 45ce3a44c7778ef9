"""The models-folder index: sizes without reading files, what the engine recorded, what the folder
says, cached hashes kept only while the file is unchanged, incremental updates."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from modella_tui.core.library import LibraryIndex
from modella_tui.core.library_files import LocalFile, classify, guess_from_folder, walk
from modella_tui.core.store import db as dbmod
from modella_tui.core.store.db import Database
from modella_tui.core.store.queue import Landed, QueueStore


def put(path: Path, size: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    return path


def test_classify_by_name() -> None:
    assert classify("a.safetensors") == "model"
    assert classify("a.safetensors.part") == "partial"
    assert classify("a.safetensors.part.json") == "partial"
    assert classify("a.civitai.info") == "sidecar"
    assert classify("a.preview.png") == "sidecar"
    assert classify("notes.txt") == "other"


def test_the_folder_suggests_a_type(tmp_path: Path) -> None:
    root = tmp_path
    assert guess_from_folder(root, root / "Lora" / "x.safetensors") == ("unknown", "LORA")
    assert guess_from_folder(root, root / "loras" / "x.safetensors") == ("unknown", "LORA")
    assert guess_from_folder(root, root / "ultralytics" / "segm" / "x.pt") == (
        "unknown",
        "Segmenter",
    )
    assert guess_from_folder(root, root / "civitai" / "42" / "x.safetensors")[0] == "civitai"
    assert guess_from_folder(root, root / "x.safetensors") == ("unknown", "Other")


def test_walk_follows_a_linked_folder_once_and_skips_hidden(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    put(shared / "a.safetensors", 3)
    root = tmp_path / "models"
    put(root / "Lora" / "b.safetensors", 5)
    put(root / ".cache" / "c.bin", 7)
    os.symlink(shared, root / "Shared")
    os.symlink(root, root / "Lora" / "loop")
    found = sorted((p.name, size) for p, size, _mtime, _inode in walk(root))
    assert found == [("a.safetensors", 3), ("b.safetensors", 5)]


async def test_refresh_merges_downloads_and_keeps_hashes_of_unchanged_files(
    db: Database, tmp_path: Path
) -> None:
    root = tmp_path / "models"
    landed = put(root / "Lora" / "ink.safetensors", 10)
    stranger = put(root / "Stable-diffusion" / "wget.safetensors", 20)
    put(root / "Lora" / "half.safetensors.part", 4)
    await QueueStore(db).record_landed(
        Landed(
            "civitai", "1", "2", "3", "Ink", "LORA", "SDXL 1.0", str(landed), 10, "ab" * 32, True
        )
    )
    index = LibraryIndex(db, lambda: root)
    snap = await index.refresh()
    by_name = {os.path.basename(f.path): f for f in snap.files}
    assert by_name["ink.safetensors"].source == "civitai"
    assert by_name["ink.safetensors"].verified and by_name["ink.safetensors"].name == "Ink"
    assert by_name["wget.safetensors"].source == "unknown"
    assert by_name["wget.safetensors"].type == "Checkpoint"
    assert by_name["half.safetensors.part"].kind == "partial"
    assert snap.total_bytes == 34
    # A scan's hash survives a refresh while size and mtime stay; a change drops it.
    await db.execute("UPDATE local_files SET sha256 = ? WHERE path = ?", ("cd" * 32, str(stranger)))
    again = {os.path.basename(f.path): f for f in (await index.refresh()).files}
    assert again["wget.safetensors"].sha256 == "cd" * 32
    stranger.write_bytes(b"y" * 21)
    changed = {os.path.basename(f.path): f for f in (await index.refresh()).files}
    assert changed["wget.safetensors"].sha256 is None and changed["wget.safetensors"].size == 21
    stored = await index.snapshot()
    assert sorted(f.size for f in stored.files) == [4, 10, 21]


async def test_record_and_forget_update_one_file(db: Database, tmp_path: Path) -> None:
    root = tmp_path / "models"
    index = LibraryIndex(db, lambda: root)
    await index.refresh()
    new = put(root / "VAE" / "vae.safetensors", 6)
    entry = await index.record(new)
    assert entry is not None and entry.type == "VAE"
    assert [f.path for f in (await index.snapshot()).files] == [str(new)]
    assert await index.record(tmp_path / "elsewhere.safetensors") is None
    new.unlink()
    await index.forget(new)
    assert (await index.snapshot()).files == []


async def test_a_new_models_folder_is_indexed_on_its_own(db: Database, tmp_path: Path) -> None:
    folders = {"now": tmp_path / "a"}
    put(folders["now"] / "x.safetensors", 1)
    index = LibraryIndex(db, lambda: folders["now"])
    assert len((await index.refresh()).files) == 1
    folders["now"] = tmp_path / "b"
    put(folders["now"] / "y.safetensors", 2)
    snap = await index.refresh()
    assert [os.path.basename(f.path) for f in snap.files] == ["y.safetensors"]


async def test_hard_links_are_one_file_whose_bytes_count_once(db: Database, tmp_path: Path) -> None:
    root = tmp_path / "models"
    original = put(root / "Lora" / "a.safetensors", 100)
    (root / "misc").mkdir()
    os.link(original, root / "misc" / "hard.safetensors")
    put(root / "Lora" / "copy.safetensors", 100)
    os.symlink(original, root / "Lora" / "link.safetensors")  # a name of its own, as before
    index = LibraryIndex(db, lambda: root)

    def names(files: list[LocalFile]) -> dict[str, LocalFile]:
        return {os.path.basename(f.path): f for f in files}

    for snap in (await index.refresh(), await index.snapshot()):  # walked, then read back
        by_name = names(snap.files)
        inode = by_name["a.safetensors"].inode
        assert inode is not None and by_name["hard.safetensors"].inode == inode
        assert by_name["copy.safetensors"].inode not in (None, inode)
        assert by_name["link.safetensors"].inode not in (None, inode)
        assert len(snap.files) == 4
        assert snap.total_bytes == 300  # a.safetensors once, not once per hard link
    stored = names((await index.snapshot()).files)
    entry = await index.record(root / "misc" / "hard.safetensors")
    assert entry is not None and entry.inode == stored["a.safetensors"].inode
    link = await index.record(root / "Lora" / "link.safetensors")
    assert link is not None and link.inode == stored["link.safetensors"].inode


async def test_an_index_from_before_inodes_keeps_its_rows(tmp_path: Path) -> None:
    # A database of the previous schema, with a hashed file in its index: the migration keeps
    # the row (the hash took long to compute) and the next walk fills in the inode.
    path = tmp_path / "old.db"
    root = tmp_path / "models"
    model = put(root / "Lora" / "a.safetensors", 10)
    con = sqlite3.connect(path)
    for number, script in dbmod.migrations():
        if number <= 5:
            con.executescript(script)
    con.execute("PRAGMA user_version = 5")
    st = model.stat()
    con.execute(
        "INSERT INTO local_files (path, size, mtime, sha256, type, scanned_at) "
        "VALUES (?, ?, ?, ?, 'LORA', 0)",
        (str(model), 10, st.st_mtime, "ab" * 32),
    )
    con.commit()
    con.close()
    async with Database(path) as db:
        version = await db.fetchone("PRAGMA user_version")
        assert version is not None and version[0] == dbmod.migrations()[-1][0] >= 6
        index = LibraryIndex(db, lambda: root)
        (before,) = (await index.snapshot()).files
        assert before.sha256 == "ab" * 32 and before.inode is None
        (after,) = (await index.refresh()).files
        assert after.sha256 == "ab" * 32 and after.inode == f"{st.st_dev}:{st.st_ino}"
