"""The models folder as Modella knows it: every file with its size, what it is and where it came from.

`LibraryIndex.refresh()` walks the folder in a thread (sizes only, no file is read), joins what the
download engine recorded (`downloaded_models`) and what earlier scans learned (`local_files`: hashes
cached by path, size and mtime; identifications), and stores the result in `local_files`. Screens and
commands then read it without walking again; `record()` and `forget()` keep it current when a download
lands or a file is deleted. Nothing here opens a model file: hashing and identification live in the
scanner, which fills the same rows.
"""

from __future__ import annotations

import asyncio
import os
import stat
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modella_tui.core import paths
from modella_tui.core.downloads.placement import TYPE_FOLDERS
from modella_tui.core.store.db import Database

MODEL_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".gguf", ".sft", ".onnx")
PARTIAL_SUFFIXES = (".part", ".part.json")
SIDECAR_SUFFIXES = (".civitai.info", ".preview.png")
SOURCES = ("civitai", "huggingface", "unknown")

# First folder under the models folder → type, for the Forge and ComfyUI layouts (a folder name
# shared by two types keeps the first, the model types' own order).
FOLDER_TYPES: dict[str, str] = {}
for _kind, _folders in TYPE_FOLDERS.items():
    for _folder in _folders:
        FOLDER_TYPES.setdefault(_folder.lower(), _kind)


@dataclass(frozen=True)
class LocalFile:
    """One file under the models folder."""

    path: str
    size: int
    mtime: float
    kind: str  # model | partial | sidecar | other
    source: str = "unknown"  # civitai | huggingface | unknown
    type: str = "Other"
    base_model: str = ""
    name: str = ""  # the model's display name when known
    model_id: str | None = None
    version_id: str | None = None
    sha256: str | None = None  # computed on this machine (while downloading or by a scan)
    verified: bool = False  # the hash matched the one Civitai or the Hub published

    @property
    def file_name(self) -> str:
        """The base name."""
        return os.path.basename(self.path)


@dataclass
class LibrarySnapshot:
    """Every file of the models folder at one moment."""

    root: Path
    files: list[LocalFile] = field(default_factory=list)
    taken_at: float = 0.0

    def of_kind(self, *kinds: str) -> list[LocalFile]:
        """The files of these kinds."""
        return [f for f in self.files if f.kind in kinds]

    @property
    def total_bytes(self) -> int:
        """Bytes of every file, sidecars and partial files included."""
        return sum(f.size for f in self.files)


def classify(name: str) -> str:
    """What a file is, from its name alone: model, partial (a download's working file), sidecar
    (Forge/Civitai Helper files beside a model) or other."""
    low = name.lower()
    if low.endswith(PARTIAL_SUFFIXES):
        return "partial"
    if low.endswith(SIDECAR_SUFFIXES):
        return "sidecar"
    if low.endswith(MODEL_SUFFIXES):
        return "model"
    return "other"


def guess_from_folder(root: Path, path: Path) -> tuple[str, str]:
    """(source, type) that the folder a file sits in suggests, for files no download recorded."""
    try:
        parts = path.relative_to(root).parts[:-1]
    except ValueError:
        return "unknown", "Other"
    if not parts:
        return "unknown", "Other"
    top = parts[0].lower()
    if top == "civitai":
        return "civitai", "Other"
    if top == "huggingface":
        return "huggingface", "Other"
    two = "/".join(p.lower() for p in parts[:2])
    kind = FOLDER_TYPES.get(two) or FOLDER_TYPES.get(top) or "Other"
    return "unknown", kind


def walk(root: Path) -> Iterator[tuple[Path, int, float]]:
    """(path, size, mtime) of every regular file under `root`; hidden names are skipped.

    Symlinked folders are followed (pods link model folders to shared volumes), each real folder
    once, so a link loop cannot trap the walk; symlinked files are listed with their target's size.
    """
    seen: set[tuple[int, int]] = set()
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            st = os.stat(folder)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) in seen:
            continue
        seen.add((st.st_dev, st.st_ino))
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_dir():
                    stack.append(Path(entry.path))
                elif entry.is_file():
                    info = entry.stat()
                    if stat.S_ISREG(info.st_mode):
                        yield Path(entry.path), info.st_size, info.st_mtime
            except OSError:
                continue


class LibraryIndex:
    """Keeps `local_files` in step with the models folder; `models_dir` is read when used."""

    def __init__(
        self,
        db: Database,
        models_dir: Callable[[], Path],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.models_dir = models_dir
        self._clock = clock
        self._lock = asyncio.Lock()

    async def refresh(self) -> LibrarySnapshot:
        """Walk the folder (sizes only), merge what is known, store it; the new snapshot."""
        async with self._lock:
            root = Path(os.path.abspath(self.models_dir()))
            found = await asyncio.to_thread(lambda: list(walk(root)) if root.is_dir() else [])
            landed = await self._landed()
            known = await self._known(root)
            now = self._clock()
            files = [self._merge(root, p, size, mtime, landed, known) for p, size, mtime in found]
            await self._store(root, files, now)
            return LibrarySnapshot(root, files, now)

    async def snapshot(self) -> LibrarySnapshot:
        """What the last refresh stored (no walk): fast enough for every screen."""
        root = Path(os.path.abspath(self.models_dir()))
        landed = await self._landed()
        rows = await self._rows(root)
        files = [
            self._merge(root, Path(r["path"]), r["size"], r["mtime"], landed, {r["path"]: r})
            for r in rows
        ]
        return LibrarySnapshot(root, files, max((r["scanned_at"] for r in rows), default=0.0))

    async def local_model_ids(self, source: str) -> set[str]:
        """Model ids (Civitai ids, Hub repos) of `source` with at least one landed file."""
        rows = await self.db.fetchall(
            "SELECT DISTINCT model_id FROM downloaded_models "
            "WHERE source = ? AND model_id IS NOT NULL",
            (source,),
        )
        return {str(r[0]) for r in rows}

    async def record(self, path: Path) -> LocalFile | None:
        """A file appeared or changed (a download landed): index it without walking the folder."""
        root = Path(os.path.abspath(self.models_dir()))
        path = Path(os.path.abspath(path))
        if not paths.is_within(root, path):
            return None
        try:
            st = os.stat(path)
        except OSError:
            await self.forget(path)
            return None
        landed = await self._landed([str(path)])
        known = await self._known(root, [str(path)])
        entry = self._merge(root, path, st.st_size, st.st_mtime, landed, known)
        await self._upsert([entry], self._clock())
        return entry

    async def forget(self, path: Path) -> None:
        """A file is gone (deleted, renamed): drop its row."""
        async with self.db.write() as conn:
            await conn.execute("DELETE FROM local_files WHERE path = ?", (str(path),))

    # ----- database ------------------------------------------------------------------------------
    async def _landed(self, only: Iterable[str] | None = None) -> dict[str, Any]:
        sql = (
            "SELECT path, size, source, model_id, version_id, name, type, base_model, sha256, "
            "verified FROM downloaded_models"
        )
        args: list[str] = []
        if only is not None:
            args = list(only)
            sql += f" WHERE path IN ({', '.join('?' for _ in args)})"
        return {r["path"]: r for r in await self.db.fetchall(sql, args)}

    async def _known(self, root: Path, only: Iterable[str] | None = None) -> dict[str, Any]:
        if only is not None:
            args = list(only)
            rows = await self.db.fetchall(
                f"SELECT * FROM local_files WHERE path IN ({', '.join('?' for _ in args)})", args
            )
            return {r["path"]: r for r in rows}
        return {r["path"]: r for r in await self._rows(root)}

    async def _rows(self, root: Path) -> list[Any]:
        prefix = str(root).rstrip(os.sep) + os.sep
        return await self.db.fetchall(
            "SELECT * FROM local_files WHERE substr(path, 1, ?) = ? ORDER BY path",
            (len(prefix), prefix),
        )

    async def _store(self, root: Path, files: list[LocalFile], now: float) -> None:
        await self._upsert(files, now)
        present = {f.path for f in files}
        stale = [r["path"] for r in await self._rows(root) if r["path"] not in present]
        if stale:
            async with self.db.write() as conn:
                await conn.executemany(
                    "DELETE FROM local_files WHERE path = ?", [(p,) for p in stale]
                )

    async def _upsert(self, files: list[LocalFile], now: float) -> None:
        async with self.db.write() as conn:
            await conn.executemany(
                "INSERT INTO local_files (path, size, mtime, sha256, source, model_id, version_id, "
                "name, type, base_model, scanned_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(path) DO UPDATE SET size = excluded.size, mtime = excluded.mtime, "
                "sha256 = excluded.sha256, source = excluded.source, "
                "model_id = excluded.model_id, version_id = excluded.version_id, "
                "name = excluded.name, type = excluded.type, base_model = excluded.base_model, "
                "scanned_at = excluded.scanned_at",
                [
                    (
                        f.path, f.size, f.mtime, f.sha256,
                        None if f.source == "unknown" else f.source,
                        f.model_id, f.version_id, f.name or None, f.type, f.base_model, now,
                    )
                    for f in files
                ],
            )  # fmt: skip

    @staticmethod
    def _merge(
        root: Path,
        path: Path,
        size: int,
        mtime: float,
        landed: dict[str, Any],
        known: dict[str, Any],
    ) -> LocalFile:
        """One file's entry: the engine's record wins, then an earlier scan's, then the folder."""
        key = str(path)
        kind = classify(path.name)
        source, kind_guess = guess_from_folder(root, path)
        row = landed.get(key)
        if row is not None and row["size"] == size:
            return LocalFile(
                key, size, mtime, kind,
                source=row["source"] if row["source"] in SOURCES else "unknown",
                type=row["type"] or kind_guess,
                base_model=row["base_model"] or "",
                name=row["name"] or "",
                model_id=row["model_id"],
                version_id=row["version_id"],
                sha256=row["sha256"],
                verified=bool(row["verified"]),
            )  # fmt: skip
        old = known.get(key)
        if old is not None:
            same = old["size"] == size and old["mtime"] == mtime
            return LocalFile(
                key, size, mtime, kind,
                source=old["source"] or source,
                type=old["type"] or kind_guess,
                base_model=old["base_model"] or "",
                name=old["name"] or "",
                model_id=old["model_id"],
                version_id=old["version_id"],
                # A hash is only as good as the bytes it was computed from.
                sha256=old["sha256"] if same else None,
            )  # fmt: skip
        return LocalFile(key, size, mtime, kind, source=source, type=kind_guess)
