"""Disk usage of the models folder: bytes by source, base model and type, and what can be freed.

One aggregation for the Disk usage screen, the dashboard and `modella du`, so the three always
agree. It reads a `LibrarySnapshot` (the index, no walk of its own). Every file of the snapshot
counts once in every grouping: model files by their source, base model or type, and the files
that are not models in buckets of their own (partial downloads, sidecars, other files), so each
grouping adds up to the bytes on disk. Sidecars are those the Library attaches to a model (Forge's
`<stem>.json` card included). A file with several names (hard links) is one file: its bytes count
once, with its first name in path order (as `du` counts it), and its names are never duplicates.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modella_tui.core.i18n import t
from modella_tui.core.library_files import (
    PARTIAL_SUFFIXES,
    SOURCES,
    LibrarySnapshot,
    LocalFile,
    extra_names,
    identity,
    sidecar_owners,
)
from modella_tui.core.units import human_size

GROUPINGS = ("source", "base", "type")
"""The ways `modella du --by` and the screen group bytes."""
UNKNOWN = "unknown"
"""The key of model files whose source or base model is not known."""
NON_MODEL_KINDS = ("partial", "sidecar", "other")
"""Kinds of files that are not models; each is its own group in every grouping."""


@dataclass(frozen=True)
class Group:
    """Bytes and files of one bar: a source, a base model, a type, or a kind of non-model file."""

    key: str
    kind: str  # "model", or one of NON_MODEL_KINDS (then `key` is the kind)
    bytes: int
    files: int

    def share(self, total: int) -> float:
        """This group's part of `total` (0 when there is nothing)."""
        return self.bytes / total if total > 0 else 0.0


@dataclass(frozen=True)
class Duplicate:
    """Model files with the same SHA256 computed on this machine."""

    sha256: str
    size: int
    paths: tuple[str, ...]
    """Every name: the names of one file (hard links) are all listed, as one copy."""
    copies: int
    """Distinct files (two or more)."""

    @property
    def reclaimable(self) -> int:
        """Bytes freed by keeping one copy."""
        return self.size * (self.copies - 1)


@dataclass(frozen=True)
class Volume:
    """The file system the models folder lives on."""

    total: int
    used: int
    free: int

    @property
    def used_share(self) -> float:
        """How full it is, as `df` counts it: used of what users can have (used + free)."""
        room = self.used + self.free
        return self.used / room if room > 0 else 0.0


@dataclass(frozen=True)
class Usage:
    """Everything the usage views show, computed once from one snapshot."""

    root: Path
    total_bytes: int
    files: int
    model_bytes: int
    model_files: int
    groups: dict[str, tuple[Group, ...]]
    leftover_parts: tuple[LocalFile, ...] = ()
    duplicates: tuple[Duplicate, ...] = ()
    volume: Volume | None = None
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    """Model files by source and by type (what the dashboard lists)."""
    hashed_files: int = 0
    """Model files whose SHA256 this machine computed: duplicates are looked for among them."""

    @property
    def leftover_bytes(self) -> int:
        """Bytes in partial files no queued download will resume."""
        return sum(f.size for f in self.leftover_parts)

    @property
    def extra_copies(self) -> int:
        """Copies beyond the first of each duplicated file."""
        return sum(d.copies - 1 for d in self.duplicates)

    @property
    def duplicate_bytes(self) -> int:
        """Bytes freed by keeping one copy of each duplicate."""
        return sum(d.reclaimable for d in self.duplicates)

    @property
    def reclaimable_bytes(self) -> int:
        """Leftover partial files plus extra copies."""
        return self.leftover_bytes + self.duplicate_bytes

    def to_json(self, by: Sequence[str] = GROUPINGS) -> dict[str, Any]:
        """The stable JSON document of `modella du --json`."""
        total = self.total_bytes
        return {
            "root": str(self.root),
            "total_bytes": total,
            "files": self.files,
            "model_bytes": self.model_bytes,
            "model_files": self.model_files,
            "volume": None
            if self.volume is None
            else {"total": self.volume.total, "used": self.volume.used, "free": self.volume.free},
            "by": {
                name: [
                    {
                        "key": g.key,
                        "kind": g.kind,
                        "bytes": g.bytes,
                        "files": g.files,
                        "share": round(g.share(total), 6),
                    }
                    for g in self.groups[name]
                ]
                for name in by
            },
            "reclaimable": {
                "bytes": self.reclaimable_bytes,
                "hashed_files": self.hashed_files,
                "partial_bytes": self.leftover_bytes,
                "partial_files": [f.path for f in self.leftover_parts],
                "duplicate_bytes": self.duplicate_bytes,
                "extra_copies": self.extra_copies,
                "duplicates": [
                    {"sha256": d.sha256, "size": d.size, "copies": d.copies, "paths": list(d.paths)}
                    for d in self.duplicates
                ],
            },
        }


def group_label(grouping: str, group: Group) -> str:
    """What a bar is called: a translated word for sources, unknowns and non-model files; a
    base model or type as it is written (they are names, the same in every language)."""
    if group.kind != "model":
        return t(f"usage.kind.{group.kind}")
    if grouping == "source":
        return t(f"usage.source.{group.key}") if group.key in SOURCES else group.key
    if group.key == UNKNOWN:
        return t("usage.unknown")
    return group.key


def volume_line(usage: Usage) -> str:
    """`Volume: 1.8 TB, 800 GB free (56% used)`."""
    volume = usage.volume
    if volume is None:
        return ""
    return t(
        "usage.volume",
        total=human_size(volume.total),
        free=human_size(volume.free),
        used=round(volume.used_share * 100),
    )


def reclaim_lines(usage: Usage) -> list[str]:
    """What can be freed, and among which files duplicates were looked for."""
    if usage.reclaimable_bytes:
        first = t(
            "usage.reclaim",
            size=human_size(usage.reclaimable_bytes),
            parts=len(usage.leftover_parts),
            part_size=human_size(usage.leftover_bytes),
            copies=usage.extra_copies,
            groups=len(usage.duplicates),
            dup_size=human_size(usage.duplicate_bytes),
        )
    else:
        first = t("usage.reclaim_none")
    return [first, t("usage.hash_note", hashed=usage.hashed_files, files=usage.model_files)]


def part_target(path: str) -> str | None:
    """The final path a `.part` or `.part.json` belongs to (None for any other file)."""
    low = path.lower()
    for suffix in sorted(PARTIAL_SUFFIXES, key=len, reverse=True):
        if low.endswith(suffix):
            return path[: -len(suffix)]
    return None


def _key(f: LocalFile, grouping: str) -> str:
    if grouping == "source":
        return f.source or UNKNOWN
    if grouping == "base":
        return f.base_model.strip() or UNKNOWN
    return f.type or "Other"


def _groups(files: Iterable[tuple[LocalFile, str, int]], grouping: str) -> tuple[Group, ...]:
    sizes: dict[tuple[str, str], list[int]] = {}
    for f, bucket, size in files:
        kind = bucket if bucket in NON_MODEL_KINDS else "model"
        key = _key(f, grouping) if kind == "model" else kind
        entry = sizes.setdefault((kind, key), [0, 0])
        entry[0] += size
        entry[1] += 1
    groups = [Group(key, kind, b, n) for (kind, key), (b, n) in sizes.items()]
    # Largest first; model groups before the non-model buckets of the same size; then by name.
    return tuple(sorted(groups, key=lambda g: (-g.bytes, g.kind != "model", g.key.lower())))


def duplicates(files: Iterable[LocalFile]) -> tuple[Duplicate, ...]:
    """Model files sharing a SHA256, largest reclaimable first.

    Only hashes this machine computed count (while downloading or scanning): a hash copied from
    a server's metadata or guessed from a name would call different files the same. Names of one
    file (hard links) are one copy: deleting one of them frees nothing.
    """
    by_hash: dict[tuple[str, int], list[LocalFile]] = {}
    for f in files:
        if f.kind == "model" and f.sha256:
            by_hash.setdefault((f.sha256.lower(), f.size), []).append(f)
    out = [
        Duplicate(sha, size, tuple(sorted(f.path for f in same)), copies)
        for (sha, size), same in by_hash.items()
        if (copies := len({identity(f) for f in same})) > 1
    ]
    return tuple(sorted(out, key=lambda d: (-d.reclaimable, d.sha256)))


def summarize(
    snapshot: LibrarySnapshot,
    *,
    active_targets: Collection[str] = (),
    volume: Volume | None = None,
) -> Usage:
    """The usage of one snapshot; `active_targets` are final paths of unfinished downloads,
    whose `.part` files are resumed rather than reclaimed."""
    files = snapshot.files
    models = [f for f in files if f.kind == "model"]
    extra = extra_names(files)
    owners = sidecar_owners(files)
    # (file, bucket, bytes it adds): a Forge card beside its model is a sidecar, as in the
    # Library; a name whose file another name holds adds no bytes.
    counted = [
        (
            f,
            "sidecar" if f.kind == "other" and f.path in owners else f.kind,
            0 if f.path in extra else f.size,
        )
        for f in files
    ]
    active = {os.path.normpath(p) for p in active_targets}
    leftovers = tuple(
        f
        for f in files
        if f.kind == "partial"
        and (target := part_target(f.path)) is not None
        and os.path.normpath(target) not in active
    )
    counts: dict[str, dict[str, int]] = {"source": {}, "type": {}}
    for f in models:
        for grouping in ("source", "type"):
            key = _key(f, grouping)
            counts[grouping][key] = counts[grouping].get(key, 0) + 1
    return Usage(
        root=snapshot.root,
        total_bytes=sum(size for _f, _kind, size in counted),
        files=len(files),
        model_bytes=sum(size for _f, kind, size in counted if kind == "model"),
        model_files=len(models),
        groups={g: _groups(counted, g) for g in GROUPINGS},
        leftover_parts=tuple(sorted(leftovers, key=lambda f: f.path)),
        duplicates=duplicates(files),
        volume=volume,
        counts=counts,
        hashed_files=sum(1 for f in models if f.sha256),
    )


def volume_of(path: Path) -> Volume | None:
    """Size, use and free space of the file system holding `path` (or its nearest existing
    parent, for a models folder not made yet); None when none can be read."""
    current = Path(os.path.abspath(path))
    while True:
        try:
            du = shutil.disk_usage(current)
        except OSError:
            if current.parent == current:
                return None
            current = current.parent
            continue
        return Volume(total=du.total, used=du.used, free=du.free)


def text_bar(share: float, width: int) -> str:
    """A bar of `width` cells, filled in eighths so small shares still show."""
    if width <= 0:
        return ""
    eighths = round(max(0.0, min(1.0, share)) * width * 8)
    full, part = divmod(eighths, 8)
    partial = " ▏▎▍▌▋▊▉"[part] if part else ""
    bar = "█" * full + partial
    return bar + "·" * (width - len(bar))
