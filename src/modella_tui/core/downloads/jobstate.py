"""What the parts of one file's transfer share: ranges, connections, buffers, the hasher, limits."""

from __future__ import annotations

import asyncio
import os
import random
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from modella_tui.core.downloads.partmeta import Target
from modella_tui.core.downloads.threadhttp import ThreadBody
from modella_tui.core.downloads.transfer import Fetcher, Opened
from modella_tui.core.downloads.verify import BufferPool, InlineHasher, OrderedHasher
from modella_tui.core.store.queue import Segment

MULTI_MIN = 64 * 1024 * 1024
INLINE_HASH_MAX = 16 * 1024 * 1024  # a fresh file this small is hashed by its writers (see verify)
BATCH = 4 * 1024 * 1024  # receive buffer size for large files
MIN_BATCH = 64 * 1024
POOL_BUFFERS = 8  # per file: 32 MiB at most
MAX_FAILURES = 5
BACKOFF_MAX = 60.0
STEAL_PIECE = 2 * 1024 * 1024  # never split off less than this (a request costs a round trip)
# Adaptive connections: one connection this fast is not capped by the server; more connections
# would only share the CPU (measured on 2 cores: one connection beats four on loopback).
FAST_CONNECTION = 160 * 1024 * 1024  # bytes/s
JOIN_TIMEOUT = 5.0

Checkpoint = Callable[[list[Segment], str | None, int | None], Awaitable[None]]
CrashHook = Callable[[str], None]


@dataclass(frozen=True)
class JobResult:
    """What landed in the `.part`: its size and SHA256."""

    size: int
    sha256: str
    etag: str | None


class Restart(Exception):
    """Discard the `.part` and start from zero, optionally with a full-body response in hand."""

    def __init__(self, opened: Opened | None, note: str) -> None:
        super().__init__(note)
        self.opened = opened
        self.note = note


class Conn:
    """One running connection: bytes it received (written by its worker only) and how to stop it."""

    def __init__(self) -> None:
        self.got = 0
        self.stop = threading.Event()
        self.body: ThreadBody | None = None
        self.ended = threading.Event()  # set when its worker is done with the body and the file
        self.started_work = False
        self.seg: Segment | None = None
        self.started = time.monotonic()

    def rate(self) -> float | None:
        """Bytes per second so far, None while too early to tell."""
        elapsed = time.monotonic() - self.started
        return self.got / elapsed if elapsed >= 0.1 and self.got else None

    def abort(self) -> None:
        """Stop the worker: a blocked read returns at once (its socket is shut down)."""
        self.stop.set()
        if self.body is not None:
            self.body.abort()


class JobState:
    """One file's transfer state; `Job` and its range, receive and checkpoint parts share it."""

    def __init__(
        self,
        *,
        fetcher: Fetcher,
        target: Target,
        segments: list[Segment],
        total: int | None,
        etag: str | None,
        checkpoint: Checkpoint,
        connections: int = 8,
        multi_min: int = MULTI_MIN,
        checkpoint_interval: float = 1.0,
        sync_interval: float = 5.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        pwritev: Callable[[int, Sequence[bytes], int], int] = os.pwritev,
        max_failures: int = MAX_FAILURES,
        preallocate: bool = True,
        fast_connection: float = FAST_CONNECTION,
        crash_hook: CrashHook | None = None,
        fsync: Callable[[int], None] | None = None,
    ) -> None:
        self.fetcher = fetcher
        self.target = target
        self.segments = [Segment(s.start, s.end, s.done, s.synced) for s in segments]
        self.total = total
        self.etag = etag
        self._checkpoint = checkpoint
        self.connections = max(1, connections)
        self.multi_min = multi_min
        self.checkpoint_interval = checkpoint_interval
        self.sync_interval = max(sync_interval, checkpoint_interval)
        self._sleep = sleep
        self._pwritev = pwritev
        self.max_failures = max_failures
        self.preallocate = preallocate
        self.fast_connection = fast_connection
        self._crash: CrashHook = crash_hook or (lambda point: None)
        self._retired = sum(s.done for s in segments)  # bytes of connections no longer running
        self._conns: set[Conn] = set()
        self.notes: list[str] = []
        self.requests = 0
        self._early: asyncio.Future[Opened] | None = None  # see Job.send_first_request
        self.peak_connections = 0
        self._fd = -1
        self._hasher: OrderedHasher | InlineHasher | None = None
        self._rfd = -1  # the `.part` opened for reading (the hash)
        self._pool: BufferPool | None = None
        self._lock = threading.Lock()  # segment ends/done, claims, connection set
        self._claimed: set[int] = set()  # id() of segments a connection is working on
        self._tasks: set[asyncio.Task[None]] = set()
        self._ranges_ok = False
        self._succeeded = False
        self._ticker_stop = asyncio.Event()
        self._head_type: str | None = None  # Content-Type of the response holding byte 0
        # start of a range -> its bytes covered by an fdatasync (the rest may be only in the cache)
        self._synced: dict[int, int] = {s.start: min(s.synced, s.done) for s in segments}
        self._fsync: Callable[[int], None] = fsync or default_fsync

    @property
    def received(self) -> int:
        """Bytes on disk or on their way there (for progress and the free-space check)."""
        with self._lock:
            return self._retired + sum(c.got for c in self._conns)

    def _buffer_size(self) -> int:
        # A small file gets a quarter of its size: each buffer is a write, a hand-off to the hasher
        # and thread wake-ups, so a few per file rather than dozens (64 KiB buffers cost a 2 MB
        # file 40% more CPU). Splits stay possible (a range is split past the buffer its owner
        # fills, and never into pieces below `_steal_piece`), and a slow link still commits every
        # FLUSH_AFTER, so progress moves.
        if self.total is None:
            return BATCH
        return max(MIN_BATCH, min(BATCH, self.total // 4))

    def _steal_piece(self) -> int:
        return max(MIN_BATCH, min(STEAL_PIECE, self.multi_min // 8))

    def _sync_if_whole(self) -> None:
        """A writer that may have written the file's last bytes (the checkpoint part syncs)."""

    def _wrote(self, pos: int, n: int) -> None:
        """Writers report each write (any thread); the checkpoint part starts writeback."""

    def _spawn(self, seg: Segment, first: Opened | None) -> None:
        raise NotImplementedError  # Job starts connections

    async def _open(self, start: int, end: int | None, *, probe: bool = False) -> Opened:
        raise NotImplementedError  # Job opens ranges


def default_fsync(fd: int) -> None:
    sync = getattr(os, "fdatasync", os.fsync)  # macOS has no fdatasync
    sync(fd)


def backoff(failures: int, retry_after: float | None = None) -> float:
    """Seconds before the next attempt: Retry-After as given, else 1 s doubling to 60 s, jittered."""
    if retry_after is not None:
        return retry_after
    base = min(BACKOFF_MAX, float(2 ** (failures - 1)))
    return min(BACKOFF_MAX, base * random.uniform(1.0, 1.25))


def join_all(ended: list[threading.Event]) -> None:
    """Wait for workers (already told to stop) to be done with the file."""
    deadline = time.monotonic() + JOIN_TIMEOUT
    for event in ended:
        event.wait(max(0.0, deadline - time.monotonic()))
