"""The models folder as Modella knows it: every file with its size, what it is and where it came from.

`LibraryIndex.refresh()` walks the folder in a thread (sizes only, no file is read), joins what the
download engine recorded (`downloaded_models`) and what earlier scans learned (`local_files`: hashes
cached by path, size and mtime; identifications), and stores the result in `local_files`. Screens and
commands then read it without walking again; `record()` and `forget()` keep it current when a download
lands or a file is deleted. Nothing here opens a model file: hashing and identification live in the
scanner (`core/scan.py`), which fills the same rows; docs/library.md tells the whole story.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Collection, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modella_tui.core import paths
from modella_tui.core.library_files import (
    SOURCES,
    LibrarySnapshot,
    LocalFile,
    ModelVersions,
    classify,
    guess_from_folder,
    inode_of,
    walk,
)
from modella_tui.core.store.db import Database

if TYPE_CHECKING:
    from modella_tui.core.library_ops import DeletePlan
    from modella_tui.core.protocols import CivitaiAPI
    from modella_tui.core.scan import ScanListener, Scanner, ScanReport


class LibraryIndex:
    """Keeps `local_files` in step with the models folder; `models_dir` is read when used.

    `civitai` identifies files by hash and checks for newer versions during `scan()`; without it
    a scan hashes and reads headers only (offline).
    """

    def __init__(
        self,
        db: Database,
        models_dir: Callable[[], Path],
        *,
        civitai: CivitaiAPI | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.models_dir = models_dir
        self.civitai = civitai
        self._clock = clock
        self._lock = asyncio.Lock()
        self._scan_lock = asyncio.Lock()
        self._scanner: Scanner | None = None

    def root(self) -> Path:
        """The models folder now, absolute."""
        return Path(os.path.abspath(self.models_dir()))

    # ----- scan, rename, delete (core/scan.py, core/library_ops.py) -------------------------------
    async def scan(self, progress: ScanListener | None = None) -> ScanReport:
        """Sizes, then hashes, identities, headers and update checks (one scan at a time)."""
        from modella_tui.core.scan import Scanner

        async with self._scan_lock:
            self._scanner = Scanner(self, self.civitai, clock=self._clock)
            try:
                return await self._scanner.run(progress)
            finally:
                self._scanner = None

    def stop_scan(self) -> None:
        """Stop a running scan soon; what it learned so far is kept."""
        if self._scanner is not None:
            self._scanner.stop()

    async def rename(self, path: Path, new_name: str, busy: Collection[str] = ()) -> Path:
        """Rename a file and its sidecars together (checked, no-clobber); the new path."""
        from modella_tui.core import library_ops

        moves = await asyncio.to_thread(library_ops.plan_rename, self.root(), path, new_name, busy)
        await asyncio.to_thread(library_ops.apply_moves, moves)
        for old, new in moves:
            await self.moved(old, new)
        return moves[0][1]

    async def delete_plan(self, path: Path, busy: Collection[str] = ()) -> DeletePlan:
        """What deleting `path` would remove and free, every check done (for the confirmation)."""
        from modella_tui.core import library_ops

        return await asyncio.to_thread(library_ops.plan_delete, self.root(), path, busy)

    async def delete(self, path: Path, busy: Collection[str] = ()) -> DeletePlan:
        """Delete a file and its sidecars (checked again now); what was removed."""
        from modella_tui.core import library_ops

        plan = await self.delete_plan(path, busy)
        await asyncio.to_thread(library_ops.apply_delete, plan)
        for p in plan.all:
            await self.forget(p)
        return plan

    async def refresh(self) -> LibrarySnapshot:
        """Walk the folder (sizes only), merge what is known, store it; the new snapshot."""
        async with self._lock:
            root = Path(os.path.abspath(self.models_dir()))
            if not await asyncio.to_thread(root.is_dir):
                # An unmounted volume looks like a missing folder: keep what is known of it
                # (hashes took long to compute) and show nothing.
                return LibrarySnapshot(root, [], self._clock())
            found = await asyncio.to_thread(lambda: list(walk(root)))
            landed = await self._landed()
            known = await self._known(root)
            now = self._clock()
            # 20,000 merges take a few hundred ms: in a thread, the app's keys keep being served.
            files = await asyncio.to_thread(
                lambda: [
                    self._merge(root, p, size, mtime, landed, known, inode)
                    for p, size, mtime, inode in found
                ]
            )
            await self._store(root, files, now)
            return LibrarySnapshot(root, files, now, await self.model_versions())

    async def snapshot(self) -> LibrarySnapshot:
        """What the last refresh stored (no walk): fast enough for every screen."""
        root = Path(os.path.abspath(self.models_dir()))
        landed = await self._landed()
        rows = await self._rows(root)
        files = await asyncio.to_thread(
            lambda: [
                self._merge(
                    root, Path(r["path"]), r["size"], r["mtime"], landed, {r["path"]: r}, r["inode"]
                )
                for r in rows
            ]
        )
        taken = max((r["scanned_at"] for r in rows), default=0.0)
        return LibrarySnapshot(root, files, taken, await self.model_versions())

    async def model_versions(self) -> dict[str, ModelVersions]:
        """What the last update checks learned of each Civitai model's versions."""
        rows = await self.db.fetchall("SELECT model_id, versions, checked_at FROM civitai_versions")
        return {
            r["model_id"]: ModelVersions.from_row(r["model_id"], r["versions"], r["checked_at"])
            for r in rows
        }

    async def local_model_ids(self, source: str) -> set[str]:
        """Model ids (Civitai ids, Hub repos) of `source` with at least one landed file, or one
        a scan identified (copied in by hand)."""
        rows = await self.db.fetchall(
            "SELECT model_id FROM downloaded_models WHERE source = ? AND model_id IS NOT NULL "
            "UNION SELECT model_id FROM local_files WHERE source = ? AND model_id IS NOT NULL",
            (source, source),
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
            own = os.lstat(path) if os.path.islink(path) else st  # a symlink's own inode
        except OSError:
            await self.forget(path)
            return None
        landed = await self._landed([str(path)])
        known = await self._known(root, [str(path)])
        entry = self._merge(root, path, st.st_size, st.st_mtime, landed, known, inode_of(own))
        await self._upsert([entry], self._clock())
        return entry

    async def forget(self, path: Path) -> None:
        """A file is gone (deleted by us or by hand): drop its rows, downloaded_models' too."""
        async with self.db.write() as conn:
            await conn.execute("DELETE FROM local_files WHERE path = ?", (str(path),))
            await conn.execute("DELETE FROM downloaded_models WHERE path = ?", (str(path),))

    async def moved(self, old: Path, new: Path) -> LocalFile | None:
        """A file was renamed: its rows follow it (hash, identification), then it is re-read."""
        async with self.db.write() as conn:
            for table in ("local_files", "downloaded_models"):
                await conn.execute(f"DELETE FROM {table} WHERE path = ?", (str(new),))
                await conn.execute(
                    f"UPDATE {table} SET path = ? WHERE path = ?", (str(new), str(old))
                )
        return await self.record(new)

    # ----- database ------------------------------------------------------------------------------
    async def _landed(self, only: Iterable[str] | None = None) -> dict[str, Any]:
        sql = (
            "SELECT path, size, source, model_id, version_id, file_id, name, type, base_model, "
            "sha256, verified FROM downloaded_models"
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
        prefix = str(root).rstrip(os.sep) + os.sep
        gone = await self.db.fetchall(
            "SELECT path FROM downloaded_models WHERE substr(path, 1, ?) = ?",
            (len(prefix), prefix),
        )
        stale_landed = [r["path"] for r in gone if r["path"] not in present]
        if stale or stale_landed:
            async with self.db.write() as conn:
                await conn.executemany(
                    "DELETE FROM local_files WHERE path = ?", [(p,) for p in stale]
                )
                # Deleted by hand: no longer "local" for the browser's badges either.
                await conn.executemany(
                    "DELETE FROM downloaded_models WHERE path = ?", [(p,) for p in stale_landed]
                )

    async def _upsert(self, files: list[LocalFile], now: float) -> None:
        async with self.db.write() as conn:
            await conn.executemany(
                "INSERT INTO local_files (path, size, mtime, sha256, source, model_id, version_id, "
                "name, type, base_model, scanned_at, file_id, lookup, header, inode) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(path) DO UPDATE SET size = excluded.size, mtime = excluded.mtime, "
                "sha256 = excluded.sha256, source = excluded.source, "
                "model_id = excluded.model_id, version_id = excluded.version_id, "
                "name = excluded.name, type = excluded.type, base_model = excluded.base_model, "
                "scanned_at = excluded.scanned_at, file_id = excluded.file_id, "
                "lookup = excluded.lookup, header = excluded.header, inode = excluded.inode",
                [
                    (
                        f.path, f.size, f.mtime, f.sha256,
                        None if f.source == "unknown" else f.source,
                        f.model_id, f.version_id, f.name or None, f.type, f.base_model, now,
                        f.file_id, f.lookup, f.header, f.inode,
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
        inode: str | None = None,
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
                file_id=row["file_id"],
                inode=inode,
            )  # fmt: skip
        old = known.get(key)
        # A hash, and all a scan learned from it, is only as good as the bytes it came from.
        if old is not None and old["size"] == size and old["mtime"] == mtime:
            return LocalFile(
                key, size, mtime, kind,
                source=old["source"] or source,
                type=old["type"] or kind_guess,
                base_model=old["base_model"] or "",
                name=old["name"] or "",
                model_id=old["model_id"],
                version_id=old["version_id"],
                sha256=old["sha256"],
                file_id=old["file_id"],
                lookup=old["lookup"],
                header=old["header"],
                inode=inode,
            )  # fmt: skip
        return LocalFile(key, size, mtime, kind, source=source, type=kind_guess, inode=inode)
