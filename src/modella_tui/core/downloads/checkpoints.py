"""Durability of one transfer: background writeback, and ranges recorded every second.

Two facts are recorded for each range: `done`, the bytes written (recorded every checkpoint interval
without waiting for the disk), and `synced`, the bytes an `fdatasync` has covered. A killed process
leaves its writes in the page cache, so on the same boot `done` is trusted and a kill costs about
one checkpoint interval of transfer; after a reboot only `synced` is (see `docs/downloads.md`).

Each write asks the kernel to start writing its bytes out (`start_writeback`), so the disk works
during the download and the final sync before the rename finds little left. A file larger than
`THREAD_MIN` also has a writeback thread that `fdatasync`s the `.part` every sync interval while it
grows, so a reboot costs at most that interval of transfer; where the kernel cannot be asked to
start writeback, that thread also syncs every `WRITEBACK_STEP` bytes. (Measured for 1 GiB: the
per-write requests cost 39 ms in all and leave the final `fdatasync` 0.4 ms; sixteen step syncs
cost ~17 ms each. See `docs/downloads.md`.)
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
import time
from collections.abc import Callable

from modella_tui.core.downloads.jobstate import JobState, default_fsync
from modella_tui.core.store.queue import Segment

BOOT_ID_PATH = "/proc/sys/kernel/random/boot_id"
THREAD_MIN = 64 * 1024 * 1024
"""Files larger than this get a writeback thread (a smaller one is synced once, at its end)."""
WRITEBACK_STEP = 64 * 1024 * 1024
"""Bytes between two syncs where `sync_file_range` is missing."""
SYNC_FILE_RANGE_WRITE = 2  # start writing the range out; do not wait for it

Kick = Callable[[int, int, int], None]
_kick: Kick | None = None
_kick_lock = threading.Lock()


def start_writeback(fd: int, offset: int, length: int) -> None:
    """Have the kernel start writing these bytes of `fd` to disk now, without waiting for it.

    Linux `sync_file_range` (through ctypes, loaded on first use); elsewhere, or where it fails,
    nothing happens. Durability still comes from the fdatasync before the rename: this only
    leaves that sync little to do (measured here: ~1.5 ms less for a 2 MB file).
    """
    (_kick or _load_kick())(fd, offset, length)


def _load_kick() -> Kick:
    global _kick
    with _kick_lock:
        if _kick is None:
            _kick = _no_kick
            if sys.platform.startswith("linux"):
                try:
                    import ctypes

                    fn = ctypes.CDLL(None, use_errno=True).sync_file_range
                    fn.argtypes = (
                        ctypes.c_int,
                        ctypes.c_longlong,
                        ctypes.c_longlong,
                        ctypes.c_uint,
                    )
                    fn.restype = ctypes.c_int

                    def kick(fd: int, offset: int, length: int) -> None:
                        fn(fd, offset, length, SYNC_FILE_RANGE_WRITE)  # a failure changes nothing

                    _kick = kick
                except (OSError, AttributeError):
                    pass
        return _kick


def _no_kick(fd: int, offset: int, length: int) -> None:
    """Where `sync_file_range` is missing: the syncs do all the work."""


def can_start_writeback() -> bool:
    """Whether `start_writeback` reaches the kernel here (Linux) or does nothing."""
    return (_kick or _load_kick()) is not _no_kick


def read_boot_id(path: str = BOOT_ID_PATH) -> str:
    """This boot's id (Linux); '' where unknown, which never matches, so only synced ranges count."""
    try:
        with open(path, encoding="ascii") as fh:
            return fh.read().strip()
    except (OSError, UnicodeDecodeError):
        return ""


class Writeback:
    """Syncs one file in a background thread as it grows, every `interval` seconds while there is
    something new and, with a `step`, every `step` bytes; remembers what each sync covered."""

    def __init__(
        self,
        fd: int,
        snapshot: Callable[[], dict[int, int]],
        *,
        step: int | None = None,
        interval: float = 5.0,
        sync: Callable[[int], None] = default_fsync,
    ) -> None:
        self._fd = fd
        self._snapshot = snapshot
        self._step = step
        self._interval = interval
        self._sync = sync
        self._cond = threading.Condition()
        self._dirty = 0
        self._stopped = False
        self.synced: dict[int, int] = {}  # start of a range -> bytes of it on disk
        self.syncs = 0
        self._thread = threading.Thread(target=self._run, name="modella-sync", daemon=True)
        self._thread.start()

    def wrote(self, n: int) -> None:
        """Writers report each write (any thread); a full step wakes the thread."""
        with self._cond:
            self._dirty += n
            if self._step is not None and self._dirty >= self._step:
                self._cond.notify()

    def _run(self) -> None:
        last = time.monotonic()
        while True:
            with self._cond:
                while not self._stopped:
                    if self._step is not None and self._dirty >= self._step:
                        break
                    wait = self._interval - (time.monotonic() - last)
                    if self._dirty and wait <= 0:
                        break
                    self._cond.wait(wait if self._dirty and wait > 0 else self._interval)
                if self._stopped:
                    return
                self._dirty = 0
            self._sync_now()
            last = time.monotonic()

    def _sync_now(self) -> None:
        snap = self._snapshot()  # taken before the sync: only what was written before it counts
        try:
            self._sync(self._fd)
        except OSError:
            return
        with self._cond:
            self.synced = snap
            self.syncs += 1

    def synced_now(self) -> dict[int, int]:
        """What the last finished sync covered."""
        with self._cond:
            return dict(self.synced)

    def stop(self) -> None:
        """End the thread (waits for a sync in progress); the caller closes the fd afterwards."""
        with self._cond:
            self._stopped = True
            self._cond.notify()
        self._thread.join()

    def finish(self) -> None:
        """Stop, then sync everything written so far (blocking: call it in a thread)."""
        self.stop()
        self._sync_now()


class Checkpointer(JobState):
    """Records the ranges through the job's `checkpoint` callback every checkpoint interval."""

    _writeback: Writeback | None = None
    _synced_by_writer: dict[int, int] | None = None  # what a writer's own final sync covered

    def _done_by_start(self) -> dict[int, int]:
        with self._lock:
            return {s.start: s.done for s in self.segments}

    def _start_writeback(self) -> None:
        if self._writeback is not None:
            return
        if self.total is not None and self.total <= THREAD_MIN:
            return  # a small file: the one sync before its rename is all it needs
        self._writeback = Writeback(
            self._fd,
            self._done_by_start,
            step=None if can_start_writeback() else WRITEBACK_STEP,
            interval=self.sync_interval,
            sync=self._fsync,
        )

    def _sync_if_whole(self) -> None:
        """A small file's last writer makes it durable at once, in its own thread: the sync
        before the rename then needs no trip to another thread (`_flush`)."""
        if self._writeback is not None or self.total is None or self._fd < 0:
            return
        with self._lock:
            snap = {s.start: s.done for s in self.segments}
            whole = sum(snap.values()) == self.total and all(
                s.end is not None and s.pos >= s.end for s in self.segments
            )
        if whole:
            with contextlib.suppress(OSError):  # `_flush` tries again
                self._fsync(self._fd)
                self._synced_by_writer = snap

    def _wrote(self, pos: int, n: int) -> None:
        # Every file's pages go to the disk as they are written; the thread's syncs only record
        # what is durable (and do the writing where the kernel cannot be asked to).
        start_writeback(self._fd, pos, n)
        if self._writeback is not None:
            self._writeback.wrote(n)

    async def _tick(self) -> None:
        # Not cancelled but stopped (see _end_ticker); a write in flight when the process dies
        # costs at most one interval of transfer on the same boot.
        while not self._ticker_stop.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.checkpoint_interval):
                    await self._ticker_stop.wait()
            if self._ticker_stop.is_set():
                return
            await self._save(sync=False)

    async def _end_ticker(self, ticker: asyncio.Task[None]) -> None:
        # Stopped, not cancelled: a cancel landing inside a database write can leave a
        # transaction open on the shared connection.
        self._ticker_stop.set()
        with contextlib.suppress(BaseException):
            await ticker

    async def _stop_writeback(self) -> None:
        """End the writeback thread without a last sync (before the fd closes or is truncated)."""
        writeback, self._writeback = self._writeback, None
        if writeback is not None:
            await asyncio.to_thread(writeback.stop)

    async def _flush(self) -> None:
        """Make everything written durable now (the writeback thread has done most of it)."""
        writeback, self._writeback = self._writeback, None
        if writeback is not None:
            await asyncio.to_thread(writeback.finish)
            self._synced.update(writeback.synced)
        elif self._fd >= 0:
            snap = self._done_by_start()
            if snap == self._synced_by_writer:  # the last writer synced every byte already
                self._synced.update(snap)
                return
            with contextlib.suppress(OSError):
                await asyncio.to_thread(self._fsync, self._fd)
                self._synced.update(snap)

    async def _save(self, *, sync: bool = True) -> None:
        """Record the ranges written so far, with what a sync covered (sync first when asked)."""
        if sync:
            await self._flush()
        elif self._writeback is not None:
            self._synced.update(self._writeback.synced_now())
        with self._lock:
            snapshot = [
                Segment(s.start, s.end, s.done, min(s.done, self._synced.get(s.start, 0)))
                for s in self.segments
            ]
        await self._checkpoint(snapshot, self.etag, self.total)
