"""The library grouped for the tree: source → type → model → files, biggest first, totals that add
up to the bytes on disk, sidecars with their model, partial files and duplicates apart."""

from __future__ import annotations

from pathlib import Path

from modella_tui.core.library_files import LibrarySnapshot, LocalFile, ModelVersions
from modella_tui.core.library_view import Group, build_view

ROOT = Path("/m")


def f(rel: str, size: int, **kw: object) -> LocalFile:
    from modella_tui.core.library_files import classify

    return LocalFile(str(ROOT / rel), size, 0.0, classify(rel), **kw)  # type: ignore[arg-type]


def find(groups: list[Group], key: str) -> Group:
    for g in groups:
        if g.key == key:
            return g
        try:
            return find(g.children, key)
        except KeyError:
            continue
    raise KeyError(key)


def test_groups_totals_and_order() -> None:
    files = [
        f("Lora/ink_v1.safetensors", 100, source="civitai", type="LORA", name="Ink",
          model_id="1", version_id="11", sha256="a" * 64),
        f("Lora/ink_v1.civitai.info", 5),
        f("Lora/ink_v1.preview.png", 7),
        f("Lora/ink_v1.json", 3),
        f("Lora/ink_v2.safetensors", 120, source="civitai", type="LORA", name="Ink",
          model_id="1", version_id="12"),
        f("Stable-diffusion/big.safetensors", 5000, source="civitai", type="Checkpoint",
          name="Big", model_id="2", version_id="21"),
        f("Lora/copy.safetensors", 100, type="LORA", base_model="SDXL 1.0", sha256="a" * 64),
        f("Lora/mystery.safetensors", 40, type="LORA"),
        f("text_encoder/t5.safetensors", 900, source="huggingface", type="TextEncoder",
          name="org/t5", model_id="org/t5", file_id="t5.safetensors"),
        f("Lora/half.safetensors.part", 60),
        f("Lora/half.safetensors.part.json", 2),
        f("Lora/orphan.preview.png", 9),
    ]  # fmt: skip
    versions = {"1": ModelVersions("1", (("12", "v2", False), ("11", "v1", False)))}
    view = build_view(LibrarySnapshot(ROOT, files, 0.0, versions))

    assert [g.key for g in view.groups] == [
        "dupes", "civitai", "huggingface", "unknown", "partial", "other",
    ]  # fmt: skip
    civitai = find(view.groups, "civitai")
    assert civitai.size == 100 + 15 + 120 + 5000
    assert [c.name for c in civitai.children] == ["Checkpoint", "LORA"]  # biggest first
    ink = find(view.groups, "civitai/LORA/1")
    assert (ink.name, ink.count, ink.updates) == ("Ink", 2, 1)
    assert [x.file_name for x in ink.files] == ["ink_v2.safetensors", "ink_v1.safetensors"]
    assert [s.file_name for s in view.sidecars[str(ROOT / "Lora/ink_v1.safetensors")]] == [
        "ink_v1.civitai.info", "ink_v1.preview.png", "ink_v1.json",
    ]  # fmt: skip
    unknown = find(view.groups, "unknown/LORA")
    assert [c.name for c in unknown.children] == ["SDXL 1.0", ""]
    assert find(view.groups, "partial").size == 62
    assert [x.file_name for x in find(view.groups, "partial").files] == ["half.safetensors.part"]
    assert [x.file_name for x in find(view.groups, "other").files] == ["orphan.preview.png"]
    total = sum(g.size for g in view.groups if g.kind != "dupes")
    assert total == view.total_bytes == sum(x.size for x in files)
    dupes = find(view.groups, "dupes")
    assert dupes.reclaim == view.reclaimable == 100 and dupes.size == 200
    assert {x.file_name for x in dupes.children[0].files} == {
        "ink_v1.safetensors",
        "copy.safetensors",
    }
    assert view.update_count == 1
    one = view.by_path[str(ROOT / "Lora/copy.safetensors")]
    assert [c.file_name for c in view.copies_of(one)] == ["ink_v1.safetensors"]
    assert view.relative(one.path) == "Lora/copy.safetensors"


def test_names_of_one_file_are_not_duplicates_and_count_once() -> None:
    a, b = "a" * 64, "b" * 64
    files = [
        f("Lora/a.safetensors", 100, type="LORA", sha256=a, inode="1:1"),
        f("misc/hard.safetensors", 100, sha256=a, inode="1:1"),
        f("Lora/b.safetensors", 50, type="LORA", sha256=b, inode="1:2"),
        f("Lora/b-link.safetensors", 50, type="LORA", sha256=b, inode="1:2"),
        f("Lora/b copy.safetensors", 50, type="LORA", sha256=b, inode="1:3"),
        f("Lora/b.civitai.info", 5, inode="1:4"),
    ]
    view = build_view(LibrarySnapshot(ROOT, files))
    assert list(view.duplicates) == [b] and view.reclaimable == 50
    one = view.by_path[str(ROOT / "Lora/a.safetensors")]
    assert view.copy_count(one) == 1 and view.copies_of(one) == []
    assert [n.file_name for n in view.names_of(one)] == ["hard.safetensors"]
    linked = view.by_path[str(ROOT / "Lora/b.safetensors")]
    assert view.copy_count(linked) == 2
    assert [c.file_name for c in view.copies_of(linked)] == ["b copy.safetensors"]
    assert [n.file_name for n in view.names_of(linked)] == ["b-link.safetensors"]
    dupes = find(view.groups, "dupes")
    assert (dupes.reclaim, dupes.size, dupes.count) == (50, 100, 3)
    total = sum(g.size for g in view.groups if g.kind != "dupes")
    assert total == view.total_bytes == 100 + 50 + 50 + 5
    assert view.file_count == 6
    assert find(view.groups, "unknown/Other").size == 0  # hard.safetensors: a's bytes


def test_unknown_files_group_by_type_then_base_model() -> None:
    files = [
        f(f"Lora/d{n % 300}/x{n}.safetensors", n, type="LORA", base_model=f"B{n % 5}")
        for n in range(20_000)
    ]
    view = build_view(LibrarySnapshot(ROOT, files))
    assert view.file_count == 20_000
    assert find(view.groups, "unknown").count == 20_000
    assert sorted(c.name for c in find(view.groups, "unknown/LORA").children) == [
        "B0", "B1", "B2", "B3", "B4",
    ]  # fmt: skip
