"""The library scan: sizes now, then each file's SHA256 once, then who it is.

Order of a run (docs/library.md): walk the folder for sizes (`LibraryIndex.refresh`); hash every
model file whose hash is not cached for its (path, size, mtime), smallest first, in one background
thread at low priority; ask Civitai's by-hash look-up about files no download recorded; read the
safetensors header of what is still unknown; check each Civitai model for a newer version (once a
day). Every answer is stored as it comes, so a stopped scan keeps what it learned and the next one
reads only what changed. No model file is ever loaded: hashing reads bytes, and the header reader
reads the header of safetensors files only.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import stat
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from modella_tui.core.errors import ModellaError, NotFoundError
from modella_tui.core.i18n import t
from modella_tui.core.library_files import LibrarySnapshot, LocalFile, ModelVersions
from modella_tui.core.safetensors import HeaderInfo, is_safetensors, read_header
from modella_tui.core.store import scan_results as rows
from modella_tui.core.units import human_size

if TYPE_CHECKING:
    from modella_tui.core.civitai.parse import VersionInfo
    from modella_tui.core.library import LibraryIndex
    from modella_tui.core.protocols import CivitaiAPI

HASH_CHUNK = 4 * 1024 * 1024
SAVE_EVERY = 2.0
"""Seconds between batches of hashes written to the database."""
VERSIONS_TTL = 24 * 3600.0
"""How long a model's version list counts as current for update badges."""
PARALLEL_LOOKUPS = 4
PROGRESS_EVERY = 0.2


@dataclass(frozen=True)
class ScanProgress:
    """Where a scan is: phase sizes, hash, identify, header, updates or done."""

    phase: str
    done: int = 0
    total: int = 0
    bytes_done: int = 0
    bytes_total: int = 0
    current: str = ""


ScanListener = Callable[[ScanProgress], None]


@dataclass
class ScanReport:
    """What one scan did and found."""

    snapshot: LibrarySnapshot
    hashed: int = 0
    hashed_bytes: int = 0
    identified: list[LocalFile] = field(default_factory=list)
    not_on_civitai: int = 0
    headers_read: int = 0
    unreadable: list[str] = field(default_factory=list)
    versions_checked: int = 0
    civitai_error: ModellaError | None = None
    """Why look-ups or update checks stopped early (network, rate limit); the rest was done."""
    stopped: bool = False


def sha256_file(
    path: str, stop: threading.Event, on_bytes: Callable[[int], None] | None = None
) -> str | None:
    """SHA256 of a regular file, read in large chunks; None when stopped or not a regular file."""
    # O_NONBLOCK: a FIFO swapped in after the walk must not hang the scan on open.
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        with contextlib.suppress(AttributeError, OSError):
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)
        digest = hashlib.sha256()
        buf = bytearray(HASH_CHUNK)
        view = memoryview(buf)
        while True:
            if stop.is_set():
                return None
            n = os.readv(fd, [buf])
            if n == 0:
                return digest.hexdigest()
            digest.update(view[:n])
            if on_bytes is not None:
                on_bytes(n)
    finally:
        os.close(fd)


def _unchanged(f: LocalFile) -> bool:
    try:
        st = os.stat(f.path)
    except OSError:
        return False
    return st.st_size == f.size and st.st_mtime == f.mtime


def _background_priority() -> None:
    """Hashing yields to Forge or ComfyUI on a shared pod: this thread alone runs at nice 10."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)


def wants_hash(f: LocalFile) -> bool:
    """A model file whose hash is not known for its current bytes."""
    return f.kind == "model" and f.sha256 is None


def wants_lookup(f: LocalFile) -> bool:
    """A hashed model file no download recorded and Civitai was not asked about yet."""
    return (
        f.kind == "model"
        and f.sha256 is not None
        and f.model_id is None
        and f.lookup is None
        and f.source != "huggingface"
    )


def wants_header(f: LocalFile) -> bool:
    """An unidentified safetensors file whose header was not read for its current bytes."""
    return f.kind == "model" and f.model_id is None and f.header is None and is_safetensors(f.path)


class Scanner:
    """One scan over a `LibraryIndex`; `civitai` None means offline (no look-ups, no checks)."""

    def __init__(
        self,
        index: LibraryIndex,
        civitai: CivitaiAPI | None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.index = index
        self.civitai = civitai
        self._clock = clock
        self._stop = threading.Event()
        self._listener: ScanListener | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._state = ScanProgress("sizes")
        self._last_emit = 0.0
        self._stopped_early = False

    def stop(self) -> None:
        """Stop soon: the file being hashed is abandoned, everything learned so far is kept."""
        self._stop.set()

    @property
    def stopped(self) -> bool:
        """Whether `stop()` was called."""
        return self._stop.is_set()

    async def run(self, progress: ScanListener | None = None) -> ScanReport:
        """Every phase in order; returns the report with the library as it is at the end."""
        self._listener = progress
        self._loop = asyncio.get_running_loop()
        self._emit(ScanProgress("sizes"))
        snap = await self.index.refresh()
        report = ScanReport(snap)
        self._emit(ScanProgress("sizes", len(snap.files), len(snap.files)))
        files = {f.path: f for f in snap.files}
        executor = ThreadPoolExecutor(
            1, thread_name_prefix="modella-scan", initializer=_background_priority
        )
        try:
            await self._hash_all(files, report, executor)
            if not self.stopped and self.civitai is not None:
                await self._identify(files, report, self.civitai)
            if not self.stopped:
                await self._headers(files, report, executor)
            if not self.stopped and self.civitai is not None and report.civitai_error is None:
                await self._check_versions(files, snap, report, self.civitai)
        finally:
            self._stop.set()  # a hash still running in the thread ends at its next chunk
            executor.shutdown(wait=False, cancel_futures=True)
        report.stopped = self._stopped_early
        report.snapshot = await self.index.snapshot()
        count = len(report.snapshot.files)
        self._emit(ScanProgress("done", count, count), force=True)
        return report

    # ----- progress ------------------------------------------------------------------------------
    def _emit(self, state: ScanProgress, *, force: bool = False) -> None:
        """Tell the listener, at most every PROGRESS_EVERY seconds within one phase."""
        phase_changed = state.phase != self._state.phase
        self._state = state
        now = time.monotonic()
        if self._listener is None:
            return
        if force or phase_changed or now - self._last_emit >= PROGRESS_EVERY:
            self._last_emit = now
            self._listener(state)

    def _on_bytes(self, n: int) -> None:
        """Called in the hashing thread: count, and hand a copy to the loop now and then."""
        self._state = replace(self._state, bytes_done=self._state.bytes_done + n)
        if self._loop is not None and time.monotonic() - self._last_emit >= PROGRESS_EVERY:
            self._loop.call_soon_threadsafe(self._emit, self._state)

    def _check_stop(self) -> bool:
        if self._stop.is_set():
            self._stopped_early = True
            return True
        return False

    # ----- phases --------------------------------------------------------------------------------
    async def _hash_all(
        self, files: dict[str, LocalFile], report: ScanReport, executor: ThreadPoolExecutor
    ) -> None:
        todo = sorted((f for f in files.values() if wants_hash(f)), key=lambda f: (f.size, f.path))
        total = sum(f.size for f in todo)
        self._emit(ScanProgress("hash", 0, len(todo), 0, total))
        loop = asyncio.get_running_loop()
        batch: list[tuple[LocalFile, str]] = []
        saved_at = time.monotonic()
        done_bytes = 0
        for n, f in enumerate(todo):
            if self._check_stop():
                break
            self._emit(ScanProgress("hash", n, len(todo), done_bytes, total, f.path))
            try:
                sha = await loop.run_in_executor(
                    executor, sha256_file, f.path, self._stop, self._on_bytes
                )
            except OSError:
                sha = None  # gone or unreadable since the walk: the next refresh says which
            done_bytes += f.size
            if sha is None or not await asyncio.to_thread(_unchanged, f):
                continue
            batch.append((f, sha))
            files[f.path] = replace(f, sha256=sha)
            report.hashed += 1
            report.hashed_bytes += f.size
            if time.monotonic() - saved_at > SAVE_EVERY:
                await rows.save_hashes(self.index.db, batch)
                batch, saved_at = [], time.monotonic()
        await rows.save_hashes(self.index.db, batch)
        self._emit(ScanProgress("hash", len(todo), len(todo), total, total), force=True)

    async def _identify(
        self, files: dict[str, LocalFile], report: ScanReport, civitai: CivitaiAPI
    ) -> None:
        todo = [f for f in files.values() if wants_lookup(f)]
        self._emit(ScanProgress("identify", 0, len(todo)))
        gate = asyncio.Semaphore(PARALLEL_LOOKUPS)
        done = 0

        async def one(f: LocalFile) -> None:
            nonlocal done
            async with gate:
                if report.civitai_error is not None or self._check_stop():
                    return
                assert f.sha256 is not None
                try:
                    info = await civitai.by_hash(f.sha256)
                except NotFoundError:
                    await rows.save_unknown(self.index.db, f, self._clock())
                    files[f.path] = replace(f, lookup="unknown")
                    report.not_on_civitai += 1
                except ModellaError as exc:  # offline, rate limited, refused: ask next time
                    report.civitai_error = report.civitai_error or exc
                    return
                else:
                    await self._identified(f, info, files, report)
                done += 1
                self._emit(ScanProgress("identify", done, len(todo), current=f.path))

        await asyncio.gather(*(one(f) for f in todo))

    async def _identified(
        self, f: LocalFile, info: VersionInfo, files: dict[str, LocalFile], report: ScanReport
    ) -> None:
        """Store who Civitai says the file is."""
        version = info.version
        model_id = str(info.model_id or version.model_id or "")
        if not model_id:
            return
        match = next((x for x in version.files if x.sha256 == f.sha256), None)
        who = rows.Identity(
            model_id=model_id,
            version_id=str(version.id),
            file_id=str(match.id) if match else None,
            name=info.model_name,
            type=info.model_type or f.type,
            base_model=version.base_model,
        )
        await rows.save_identity(self.index.db, f, who, self._clock())
        found = replace(
            f, source="civitai", model_id=who.model_id, version_id=who.version_id,
            file_id=who.file_id, name=who.name, type=who.type, base_model=who.base_model,
            lookup="found",
        )  # fmt: skip
        files[f.path] = found
        report.identified.append(found)

    async def _headers(
        self, files: dict[str, LocalFile], report: ScanReport, executor: ThreadPoolExecutor
    ) -> None:
        todo = [f for f in files.values() if wants_header(f)]
        self._emit(ScanProgress("header", 0, len(todo)))
        loop = asyncio.get_running_loop()
        batch: list[tuple[LocalFile, HeaderInfo]] = []
        for n, f in enumerate(todo):
            if self._check_stop():
                break
            info = await loop.run_in_executor(executor, read_header, Path(f.path))
            batch.append((f, info))
            report.headers_read += 1
            if info.status == "unreadable":
                report.unreadable.append(f.path)
            if len(batch) >= 200:
                await rows.save_headers(self.index.db, batch)
                batch = []
            if n % 50 == 0:
                self._emit(ScanProgress("header", n, len(todo), current=f.path))
        await rows.save_headers(self.index.db, batch)

    async def _check_versions(
        self,
        files: dict[str, LocalFile],
        snap: LibrarySnapshot,
        report: ScanReport,
        civitai: CivitaiAPI,
    ) -> None:
        now = self._clock()
        ids = civitai_model_ids(files.values())
        todo = [
            m for m in sorted(ids)
            if m not in snap.versions or now - snap.versions[m].checked_at > VERSIONS_TTL
        ]  # fmt: skip
        self._emit(ScanProgress("updates", 0, len(todo)))
        gate = asyncio.Semaphore(PARALLEL_LOOKUPS)

        async def one(model_id: str) -> None:
            async with gate:
                if report.civitai_error is not None or self._check_stop():
                    return
                try:
                    model = await civitai.model(int(model_id))
                except NotFoundError:
                    versions = ModelVersions(model_id, (), self._clock())
                except ModellaError as exc:
                    report.civitai_error = report.civitai_error or exc
                    return
                else:
                    listed = tuple((str(v.id), v.name, v.early_access) for v in model.versions)
                    versions = ModelVersions(model_id, listed, self._clock())
                await rows.save_versions(self.index.db, versions)
                report.versions_checked += 1
                self._emit(ScanProgress("updates", report.versions_checked, len(todo)))

        await asyncio.gather(*(one(m) for m in todo))


def civitai_model_ids(files: Iterable[LocalFile]) -> set[str]:
    """Civitai model ids of the local model files."""
    return {
        f.model_id
        for f in files
        if f.kind == "model" and f.source == "civitai" and f.model_id and f.model_id.isdigit()
    }


def describe(p: ScanProgress) -> str:
    """One translated line saying where a scan is (the app's status line, the CLI's)."""
    if p.phase == "hash":
        return t(
            "library.scan.hash",
            done=p.done,
            total=p.total,
            bytes_done=human_size(p.bytes_done),
            bytes_total=human_size(p.bytes_total),
        )
    if p.phase in ("identify", "header", "updates"):
        return t(f"library.scan.{p.phase}", done=p.done, total=p.total)
    return t(f"library.scan.{p.phase}", count=p.total)
