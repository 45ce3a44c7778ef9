"""Disk usage of the models folder: every grouping adds up to the bytes on disk, leftovers and
duplicates are what can be freed, and only hashes computed here make duplicates."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from modella_tui.core.library import LibraryIndex
from modella_tui.core.library_files import LibrarySnapshot, LocalFile
from modella_tui.core.library_view import build_view
from modella_tui.core.store.db import Database
from modella_tui.core.store.queue import Landed, QueueStore
from modella_tui.core.usage import (
    GROUPINGS,
    Volume,
    group_label,
    part_target,
    reclaim_lines,
    summarize,
    text_bar,
    volume_of,
)

SHA_A = "a" * 64
SHA_B = "b" * 64


def lf(path: str, size: int, kind: str = "model", **kw: Any) -> LocalFile:
    return LocalFile(path, size, 0.0, kind, **kw)


def snapshot(files: list[LocalFile]) -> LibrarySnapshot:
    return LibrarySnapshot(Path("/m"), files)


def sample() -> LibrarySnapshot:
    return snapshot(
        [
            lf("/m/Lora/a.safetensors", 100, source="civitai", type="LORA", base_model="SDXL 1.0"),
            lf("/m/Lora/b.safetensors", 300, source="civitai", type="LORA", base_model="Pony"),
            lf("/m/VAE/ae.safetensors", 50, source="huggingface", type="VAE"),
            lf("/m/Stable-diffusion/x.ckpt", 1000, type="Checkpoint"),
            lf("/m/Lora/a.civitai.info", 7, "sidecar"),
            lf("/m/Lora/c.safetensors.part", 40, "partial"),
            lf("/m/Lora/c.safetensors.part.json", 3, "partial"),
            lf("/m/notes.txt", 5, "other"),
        ]
    )


def test_every_grouping_adds_up_to_every_byte() -> None:
    usage = summarize(sample())
    assert usage.total_bytes == 1505
    assert usage.model_bytes == 1450 and usage.model_files == 4
    for grouping in GROUPINGS:
        groups = usage.groups[grouping]
        assert sum(g.bytes for g in groups) == usage.total_bytes
        assert sum(g.files for g in groups) == usage.files == 8
        assert sum(g.share(usage.total_bytes) for g in groups) == pytest.approx(1.0)
        assert [g.bytes for g in groups] == sorted((g.bytes for g in groups), reverse=True)
    by_source = {g.key: g.bytes for g in usage.groups["source"]}
    assert by_source == {
        "unknown": 1000, "civitai": 400, "huggingface": 50,
        "partial": 43, "sidecar": 7, "other": 5,
    }  # fmt: skip
    by_base = {g.key: g.bytes for g in usage.groups["base"] if g.kind == "model"}
    assert by_base == {"unknown": 1050, "Pony": 300, "SDXL 1.0": 100}
    by_type = {g.key: g.bytes for g in usage.groups["type"] if g.kind == "model"}
    assert by_type == {"Checkpoint": 1000, "LORA": 400, "VAE": 50}
    assert usage.counts["source"] == {"civitai": 2, "huggingface": 1, "unknown": 1}


def test_leftover_parts_are_those_no_unfinished_download_resumes() -> None:
    usage = summarize(sample())
    assert [f.path for f in usage.leftover_parts] == [
        "/m/Lora/c.safetensors.part",
        "/m/Lora/c.safetensors.part.json",
    ]
    assert usage.leftover_bytes == 43
    resumed = summarize(sample(), active_targets=["/m/Lora/./c.safetensors"])
    assert resumed.leftover_parts == () and resumed.reclaimable_bytes == 0
    assert part_target("/m/x.bin.part.json") == "/m/x.bin"
    assert part_target("/m/x.bin") is None


def test_duplicates_need_hashes_computed_here() -> None:
    files = [
        lf("/m/Lora/one.safetensors", 10, sha256=SHA_A),
        lf("/m/Lora/two.safetensors", 10, sha256=SHA_A.upper()),
        lf("/m/Lora/three.safetensors", 10, sha256=SHA_A),
        lf("/m/Lora/other.safetensors", 10, sha256=SHA_B),
        lf("/m/Lora/nohash.safetensors", 10),
        lf("/m/Lora/nohash2.safetensors", 10),
        # a sidecar is never a duplicate of a model
        lf("/m/Lora/x.preview.png", 10, "sidecar", sha256=SHA_B),
    ]
    usage = summarize(snapshot(files))
    assert len(usage.duplicates) == 1
    dup = usage.duplicates[0]
    assert dup.sha256 == SHA_A and len(dup.paths) == 3
    assert dup.reclaimable == 20 == usage.duplicate_bytes == usage.reclaimable_bytes
    assert usage.hashed_files == 4


def test_names_of_one_file_are_never_duplicates_and_count_once() -> None:
    files = [
        # one file, two names (a hard link): not a duplicate, its bytes count once
        lf("/m/Lora/a.safetensors", 10, sha256=SHA_A, inode="1:5", type="LORA"),
        lf("/m/misc/hard.safetensors", 10, sha256=SHA_A, inode="1:5"),
        # a file with two names and one real copy: one extra copy
        lf("/m/Lora/b.safetensors", 7, sha256=SHA_B, inode="1:6", type="LORA"),
        lf("/m/Lora/b-link.safetensors", 7, sha256=SHA_B, inode="1:6", type="LORA"),
        lf("/m/Lora/b copy.safetensors", 7, sha256=SHA_B, inode="1:7", type="LORA"),
    ]
    usage = summarize(snapshot(files))
    assert [d.sha256 for d in usage.duplicates] == [SHA_B]
    dup = usage.duplicates[0]
    assert dup.copies == 2 and len(dup.paths) == 3
    assert dup.reclaimable == 7 == usage.duplicate_bytes == usage.reclaimable_bytes
    assert usage.total_bytes == usage.model_bytes == 10 + 7 + 7
    assert usage.files == usage.model_files == 5
    for grouping in GROUPINGS:
        assert sum(g.bytes for g in usage.groups[grouping]) == usage.total_bytes
        assert sum(g.files for g in usage.groups[grouping]) == 5
    by_type = {g.key: (g.bytes, g.files) for g in usage.groups["type"]}
    assert by_type == {"LORA": (24, 4), "Other": (0, 1)}  # the first name in path order holds it
    doc = usage.to_json()["reclaimable"]
    assert doc["duplicate_bytes"] == 7 and doc["extra_copies"] == 1
    assert doc["duplicates"][0]["copies"] == 2
    assert summarize(snapshot(files[:2])).reclaimable_bytes == 0


def test_the_reclaim_line_counts_extra_copies_and_their_groups() -> None:
    files = [
        lf("/m/Lora/one.safetensors", 10, sha256=SHA_A),
        lf("/m/Lora/two.safetensors", 10, sha256=SHA_A),
        lf("/m/Lora/three.safetensors", 10, sha256=SHA_A),
        lf("/m/VAE/x.safetensors", 5, sha256=SHA_B),
        lf("/m/VAE/y.safetensors", 5, sha256=SHA_B),
    ]
    usage = summarize(snapshot(files))
    assert usage.extra_copies == 3 and len(usage.duplicates) == 2
    first, _note = reclaim_lines(usage)
    assert "extra copies: 3 in 2 group(s) (25 B)" in first


def test_a_forge_card_beside_its_model_is_a_sidecar_as_in_the_library() -> None:
    snap = snapshot(
        [
            lf("/m/Lora/ink.safetensors", 100, type="LORA"),
            lf("/m/Lora/ink.json", 4, "other"),  # Forge's card for ink.safetensors
            lf("/m/Lora/ink.civitai.info", 6, "sidecar"),
            lf("/m/Lora/lonely.json", 3, "other"),  # no model of that stem beside it
            lf("/m/VAE/ink.json", 2, "other"),  # a model of that stem, in another folder
        ]
    )
    usage = summarize(snap)
    for grouping in GROUPINGS:
        buckets = {g.key: (g.bytes, g.files) for g in usage.groups[grouping] if g.kind != "model"}
        assert buckets == {"sidecar": (10, 2), "other": (5, 2)}
    view = build_view(snap)
    attached = view.sidecars["/m/Lora/ink.safetensors"]
    assert sum(f.size for f in attached) == 10
    other = next(g for g in view.groups if g.kind == "other")
    assert {f.file_name for f in other.files} == {"lonely.json", "ink.json"}


def test_json_document_is_stable_and_complete() -> None:
    usage = summarize(sample(), volume=Volume(total=1000, used=600, free=300))
    doc = usage.to_json()
    assert doc["total_bytes"] == 1505 and doc["files"] == 8
    assert set(doc["by"]) == set(GROUPINGS)
    assert doc["volume"] == {"total": 1000, "used": 600, "free": 300}
    assert doc["reclaimable"]["partial_bytes"] == 43
    only = usage.to_json(["type"])
    assert set(only["by"]) == {"type"}
    assert usage.volume is not None and usage.volume.used_share == pytest.approx(600 / 900)


def test_labels_are_words_for_sources_unknowns_and_non_models() -> None:
    usage = summarize(sample())
    labels = {group_label("source", g) for g in usage.groups["source"]}
    assert {"Civitai", "Hugging Face", "Unknown source", "Partial downloads"} <= labels
    bases = {group_label("base", g) for g in usage.groups["base"]}
    assert {"Unknown", "Pony", "Sidecar files", "Other files"} <= bases


def test_text_bars_fill_in_eighths() -> None:
    assert text_bar(0, 4) == "····"
    assert text_bar(1, 4) == "████"
    assert text_bar(0.5, 4) == "██··"
    assert text_bar(1 / 32, 4) == "▏···"
    assert len(text_bar(0.37, 17)) == 17
    assert text_bar(2.0, 3) == "███" and text_bar(0.3, 0) == ""


def test_volume_of_a_folder_not_made_yet_is_its_parents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []

    def disk_usage(path: os.PathLike[str] | str) -> shutil._ntuple_diskusage:
        seen.append(str(path))
        if not os.path.isdir(path):
            raise FileNotFoundError(path)
        return shutil._ntuple_diskusage(100, 40, 50)

    monkeypatch.setattr("modella_tui.core.usage.shutil.disk_usage", disk_usage)
    volume = volume_of(tmp_path / "not" / "yet")
    assert volume == Volume(100, 40, 50)
    assert seen[-1] == str(tmp_path)


async def test_totals_match_the_bytes_on_disk(db: Database, tmp_path: Path) -> None:
    root = tmp_path / "models"
    sizes = {
        "Lora/a.safetensors": 1234,
        "Lora/a.civitai.info": 55,
        "Stable-diffusion/big.safetensors": 4096,
        "VAE/v.safetensors.part": 77,
        "VAE/v.safetensors.part.json": 12,
        "readme.txt": 9,
    }
    for rel, size in sizes.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"x" * size)
    await QueueStore(db).record_landed(
        Landed("civitai", "1", "2", "3", "A", "LORA", "SDXL 1.0",
               str(root / "Lora/a.safetensors"), 1234, SHA_A, True)
    )  # fmt: skip
    usage = summarize(await LibraryIndex(db, lambda: root).refresh())
    on_disk = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    assert usage.total_bytes == on_disk == sum(sizes.values())
    source = {g.key: g.bytes for g in usage.groups["source"]}
    assert source["civitai"] == 1234 and source["partial"] == 89
