"""One file's bytes into its `.part`: resume, range connections, retries, hashing.

No database here: durable progress goes out through the `checkpoint` callback, after an fdatasync.

How the bytes move (the event loop only starts and stops things):
- Each connection's body is read by its own worker thread (`ThreadBody.readinto` from the engine's
  thread transport) into a buffer from a small per-file pool, written with `pwritev` from that same
  thread (the GIL is released for the receive and the write), then offered to the OrderedHasher: a
  buffer that continues the hashed prefix is hashed from memory and returned to the pool afterwards,
  any other one is returned at once and read back from the page cache when the hash gets there.
- A body that is not a ThreadBody (a caller's own httpx client, a proxy) is read asynchronously and
  committed through the same path in a thread.
- Connections adapt (aria2-like), never above `connections`: a fresh download starts with one; when
  the file is large and that connection looks capped, a second one takes half of the largest
  remaining range (work stealing); if that raised the total by about one connection's worth the
  link caps each connection and the rest are opened at once, if it helped somewhat one more is
  tried, else no more. A connection that finishes early takes half of the largest remaining range.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import http.client
import os
import random
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import httpx

from modella_tui.core.downloads.partmeta import Target, open_part, open_part_read
from modella_tui.core.downloads.threadhttp import ThreadBody, thread_body
from modella_tui.core.downloads.transfer import (
    FatalTransferError,
    Fetcher,
    Opened,
    RangeIgnored,
    RangeMismatch,
    RangeNotSatisfiable,
    TransferError,
    UrlExpired,
)
from modella_tui.core.downloads.verify import BufferPool, OrderedHasher, lower_thread_priority
from modella_tui.core.store.queue import Segment

T = TypeVar("T")

MULTI_MIN = 64 * 1024 * 1024
BATCH = 4 * 1024 * 1024  # receive buffer size for large files
MIN_BATCH = 64 * 1024
POOL_BUFFERS = 8  # per file: 32 MiB at most
FLUSH_AFTER = 0.25  # seconds: a slow link still commits (and checkpoints) often
MAX_FAILURES = 5
MAX_RESTARTS = 3
BACKOFF_MAX = 60.0
STEAL_HORIZON = 0.5  # seconds: a range its connection finishes sooner is not split
STEAL_PIECE = 2 * 1024 * 1024  # never split off less than this (a request costs a round trip)
# Adaptive connections: one connection this fast is not capped by the server; more connections
# would only share the CPU (measured on 2 cores: one connection beats four on loopback).
FAST_CONNECTION = 160 * 1024 * 1024  # bytes/s
ADAPT_WINDOW = 0.1  # seconds of data per measurement
ADAPT_SKIP = 0.03  # seconds after a connection's first bytes before measuring
ADAPT_PAUSE = 1.0  # after a connection that did not pay, wait before trying another
ADAPT_RETRIES = 3
JOIN_TIMEOUT = 5.0

Checkpoint = Callable[[list[Segment], str | None, int | None], Awaitable[None]]


@dataclass(frozen=True)
class JobResult:
    """What landed in the `.part`: its size and SHA256."""

    size: int
    sha256: str
    etag: str | None


class _Restart(Exception):
    """Discard the `.part` and start from zero, optionally with a full-body response in hand."""

    def __init__(self, opened: Opened | None, note: str) -> None:
        super().__init__(note)
        self.opened = opened
        self.note = note


class _Conn:
    """One running connection: bytes it received (written by its worker only) and how to stop it."""

    def __init__(self) -> None:
        self.got = 0
        self.stop = threading.Event()
        self.body: ThreadBody | None = None
        self.thread: threading.Thread | None = None
        self.seg: Segment | None = None
        self.started = time.monotonic()

    def rate(self) -> float | None:
        """Bytes per second so far, None while too early to tell."""
        elapsed = time.monotonic() - self.started
        return self.got / elapsed if elapsed >= 0.1 and self.got else None

    def abort(self) -> None:
        self.stop.set()
        if self.body is not None:
            self.body.abort()


class Job:
    """Downloads one queue item into its `.part`; `run()` returns once all bytes are hashed."""

    def __init__(
        self,
        *,
        fetcher: Fetcher,
        target: Target,
        segments: list[Segment],
        total: int | None,
        etag: str | None,
        checkpoint: Checkpoint,
        connections: int = 4,
        multi_min: int = MULTI_MIN,
        checkpoint_interval: float = 1.0,
        sync_interval: float = 5.0,
        report: Callable[[int], Awaitable[None]] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        pwritev: Callable[[int, Sequence[bytes], int], int] = os.pwritev,
        crash_at: int | None = None,
        max_failures: int = MAX_FAILURES,
        preallocate: bool = True,
        fast_connection: float = FAST_CONNECTION,
    ) -> None:
        self.fetcher = fetcher
        self.target = target
        self.segments = [Segment(s.start, s.end, s.done) for s in segments]
        self.total = total
        self.etag = etag
        self._checkpoint = checkpoint
        self.connections = max(1, connections)
        self.multi_min = multi_min
        self.checkpoint_interval = checkpoint_interval
        self.sync_interval = max(sync_interval, checkpoint_interval)
        self._report = report
        self._sleep = sleep
        self._pwritev = pwritev
        self.crash_at = crash_at
        self.max_failures = max_failures
        self.preallocate = preallocate
        self.fast_connection = fast_connection
        self._retired = sum(s.done for s in segments)  # bytes of connections no longer running
        self._conns: set[_Conn] = set()
        self.notes: list[str] = []
        self.requests = 0
        self.peak_connections = 0
        self._fd = -1
        self._hasher: OrderedHasher | None = None
        self._pool: BufferPool | None = None
        self._lock = threading.Lock()  # segment ends/done, claims, connection set
        self._claimed: set[int] = set()  # id() of segments a connection is working on
        self._tasks: set[asyncio.Task[None]] = set()
        self._ranges_ok = False
        self._succeeded = False
        self._ticker_stop = asyncio.Event()

    @property
    def received(self) -> int:
        """Bytes on disk or on their way there (for progress and the free-space check)."""
        with self._lock:
            return self._retired + sum(c.got for c in self._conns)

    # -- the whole job -------------------------------------------------------------------------

    async def run(self) -> JobResult:
        """Fetch what is missing, then finish the hash; raises TransferError / OSError."""
        self._fd = await asyncio.to_thread(open_part, self.target)
        rfd = await asyncio.to_thread(open_part_read, self.target)
        ticker: asyncio.Task[None] | None = None
        try:
            await self._validate_existing()
            self._new_hasher(rfd)
            ticker = asyncio.create_task(self._tick(), name="modella-checkpoint")
            restarts = 0
            first: Opened | None = None
            while True:
                try:
                    await self._fetch_all(first)
                    break
                except _Restart as restart:
                    restarts += 1
                    if restarts > MAX_RESTARTS:
                        if restart.opened is not None:
                            await restart.opened.aclose()
                        raise FatalTransferError("engine.restart_loop") from None
                    self.notes.append(restart.note)
                    await self._reset(rfd)
                    first = restart.opened
                    if first is not None:
                        self.etag = first.etag
                        self.total = first.total if self.total is None else self.total
                        self.segments = [Segment(0, self.total)]
                        self._ranges_ok = False  # it just ignored a Range
            size = sum(s.done for s in self.segments)
            if self.total is not None and size != self.total:
                raise TransferError("engine.short_body", got=size, expected=self.total)
            self.total = size
            await self._end_ticker(ticker)
            # Durability on success, without a full-file fsync on the hot path: the ranges are
            # recorded unsynced and the file is renamed without an fdatasync. Nothing is lost by
            # that: a process crash keeps the page cache, and after a power loss the landed file is
            # re-hashed on the next start (`_already_landed`) and downloaded again if it is not
            # whole. Forcing 25 GB to disk here would cost more than the download. Checkpoints
            # taken while downloading still sync the `.part` before recording its ranges.
            await self._save(sync=False)
            assert self._hasher is not None
            digest = await asyncio.to_thread(self._hasher.finish, size)
            self._succeeded = True
            return JobResult(size, digest, self.etag)
        finally:
            if ticker is not None:
                await self._end_ticker(ticker)
            await self._shutdown(rfd)

    async def _shutdown(self, rfd: int) -> None:
        # Workers must be gone before the fds close (a reused fd number must never be written).
        await asyncio.shield(self._stop_workers())
        if not self._succeeded and self._fd >= 0:
            # Sync, then record what is on disk (shield: on cancel), so a resume trusts only
            # bytes that are really there.
            with contextlib.suppress(BaseException):
                await asyncio.shield(self._save())
        if self._hasher is not None:
            self._hasher.stop()
            await asyncio.to_thread(self._hasher.join, JOIN_TIMEOUT)
        for fd in (self._fd, rfd):
            with contextlib.suppress(OSError):
                os.close(fd)

    async def _stop_workers(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            c.abort()
        threads = [c.thread for c in conns if c.thread is not None]
        if threads:
            await asyncio.to_thread(_join_all, threads)

    async def _validate_existing(self) -> None:
        """Trust only recorded ranges that the `.part` can hold; anything else restarts."""
        size = os.fstat(self._fd).st_size
        segs = self.segments
        bad = (
            not segs
            or any(s.pos > size for s in segs)
            or (self.total is not None and size > self.total)
            or (
                self.total is not None
                and any(s.end is not None and s.end > self.total for s in segs)
            )
        )
        if bad:
            if size:
                # Only when needed: on ext4 a truncate-to-zero makes close() flush the file.
                self.notes.append("engine.note_part_discarded")
                await asyncio.to_thread(os.ftruncate, self._fd, 0)
            self.segments = []
            self._retired = 0
            if not segs:
                return
            self.etag = None

    def _new_hasher(self, rfd: int) -> None:
        self._hasher = OrderedHasher(rfd, max_kept=POOL_BUFFERS - 2)
        for s in self.segments:
            self._hasher.written(s.start, s.pos)

    async def _reset(self, rfd: int) -> None:
        assert self._hasher is not None
        await self._stop_workers()
        self._hasher.stop()
        await asyncio.to_thread(self._hasher.join, JOIN_TIMEOUT)
        await asyncio.to_thread(os.ftruncate, self._fd, 0)
        with self._lock:
            self.segments = []
            self._retired = 0
            self._conns.clear()
            self._claimed.clear()
        self.etag = None
        self.fetcher.forget_storage_url()
        await self._checkpoint([], None, self.total)
        self._new_hasher(rfd)

    # -- fetching ------------------------------------------------------------------------------

    def _complete(self) -> bool:
        return (
            bool(self.segments)
            and self.total is not None
            and all(s.end is not None and s.pos >= s.end for s in self.segments)
            and sum(s.done for s in self.segments) == self.total
        )

    def _buffer_size(self) -> int:
        # Small files get small buffers, so ranges can still be split and progress moves.
        if self.total is None:
            return BATCH
        return max(MIN_BATCH, min(BATCH, self.total // 32))

    def _steal_piece(self) -> int:
        return max(MIN_BATCH, min(STEAL_PIECE, self.multi_min // 8))

    async def _fetch_all(self, first: Opened | None) -> None:
        if self._complete():
            return  # the `.part` is whole; verify without a request.
        fresh = not self.segments
        if fresh:
            # `bytes=0-` so a server that supports ranges says so with a 206; one connection first.
            first = await self._retrying(lambda: self._open(0, None, probe=True))
            await self._adopt(first)
            await self._plan(first)
        elif first is None:
            self._ranges_ok = self.total is not None  # each ranged answer is checked anyway
        self._pool = BufferPool(self._buffer_size(), POOL_BUFFERS)
        todo = [s for s in self.segments if s.end is None or s.pos < s.end]
        start = todo[: 1 if fresh else self.connections]
        with self._lock:
            for s in start:
                self._claimed.add(id(s))
        for s in start:
            given = first if s.start == 0 and first is not None else None
            if given is first:
                first = None
            self._spawn(s, given)
        if first is not None:
            await first.aclose()
        adapt: asyncio.Task[None] | None = None
        if self.connections > 1 and self._ranges_ok:
            adapt = asyncio.create_task(self._adapt(), name="modella-adapt")
        try:
            while self._tasks:
                done, _ = await asyncio.wait(
                    self._tasks, timeout=0.25, return_when=asyncio.FIRST_COMPLETED
                )
                for task in done:
                    self._tasks.discard(task)
                    if not task.cancelled() and task.exception() is not None:
                        raise task.exception()  # type: ignore[misc]
        finally:
            if adapt is not None:
                adapt.cancel()
                with contextlib.suppress(BaseException):
                    await adapt
            await self._stop_workers()

    def _spawn(self, seg: Segment, first: Opened | None) -> None:
        task = asyncio.ensure_future(self._connection(seg, first))
        self._tasks.add(task)
        self.peak_connections = max(self.peak_connections, len(self._tasks))

    async def _connection(self, seg: Segment | None, first: Opened | None) -> None:
        """One connection: its segment, then whatever is left unclaimed or can be stolen."""
        while seg is not None:
            try:
                await self._segment(seg, first)
            finally:
                with self._lock:
                    self._claimed.discard(id(seg))
            first = None
            seg = self._next_segment()

    def _next_segment(self) -> Segment | None:
        with self._lock:
            for s in self.segments:
                if id(s) not in self._claimed and (s.end is None or s.pos < s.end):
                    self._claimed.add(id(s))
                    return s
        return self._steal()

    def _steal(self, *, eager: bool = False) -> Segment | None:
        """Split the largest remaining claimed range; the new half is claimed for the caller.

        `eager` (adding connections) splits even a range whose connection just started; a
        connection that finished only takes from one whose speed says the split pays.
        """
        if not self._ranges_ok:
            return None
        buf = self._buffer_size()
        least = self._steal_piece()
        with self._lock:
            candidates = sorted(
                (s for s in self.segments if s.end is not None and id(s) in self._claimed),
                key=lambda s: (s.end or 0) - s.pos,
                reverse=True,
            )
            for best in candidates:
                assert best.end is not None
                # Past any buffer the owner may be filling right now (it reads at most `buf`
                # bytes from its position), so the two never write the same bytes.
                mid = best.pos + max(buf, (best.end - best.pos) // 2)
                if best.end - mid < least:
                    return None  # the largest is too small: so is every other
                if eager:
                    break
                owner = next((c for c in self._conns if c.seg is best), None)
                rate = owner.rate() if owner is not None else None
                if rate is None or best.end - best.pos < rate * STEAL_HORIZON:
                    # It ends soon anyway (or it is too early to tell): a split would only
                    # waste what the server already sent on the owner's connection.
                    continue
                break
            else:
                return None
            new = Segment(mid, best.end)
            best.end = mid
            self.segments.append(new)
            self.segments.sort(key=lambda s: s.start)
            self._claimed.add(id(new))
            return new

    def _active(self) -> int:
        return sum(1 for t in self._tasks if not t.done())

    def _left(self) -> int:
        with self._lock:
            return sum(s.remaining or 0 for s in self.segments)

    async def _add_connections(self, n: int) -> int:
        added = 0
        while added < n and self._active() < self.connections:
            seg = self._steal(eager=True)
            if seg is None:
                break
            self._spawn(seg, None)
            added += 1
        return added

    async def _measure(self, seconds: float) -> float:
        """Bytes per second over the next `seconds`."""
        loop = asyncio.get_running_loop()
        t0, b0 = loop.time(), self.received
        await asyncio.sleep(seconds)
        return (self.received - b0) / max(1e-6, loop.time() - t0)

    async def _adapt(self) -> None:
        """Add connections while they pay (see the module docstring); never above the maximum."""
        # The first bytes: connection set-up and the server's first burst are not a speed.
        for _ in range(1500):  # polled: bytes arrive in worker threads
            if self.received > self._retired or not self._active():
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(ADAPT_SKIP)
        rate = await self._measure(ADAPT_WINDOW)
        if rate >= self.fast_connection * max(1, self._active()):
            return
        misses = 0
        while self._active() < self.connections and self._left() >= self.multi_min:
            before, n_before = rate, self._active()
            added = await self._add_connections(1)
            if not added:
                return
            await self._wait_first_bytes()
            await asyncio.sleep(ADAPT_SKIP)
            rate = await self._measure(ADAPT_WINDOW)
            worth = before / max(1, n_before) * added  # what one more capped connection adds
            if rate - before < 0.25 * worth:
                # Looks like no gain; one short window can mislead (bursts): look longer.
                rate = await self._measure(2 * ADAPT_WINDOW)
            gain = rate - before
            if gain >= 0.7 * worth:
                # Each connection is capped by the server: open the rest at once.
                await self._add_connections(self.connections)
                return
            if gain < 0.25 * worth:
                # No clear gain: the link or the CPU is the limit. Try again later, a few times.
                misses += 1
                if misses >= ADAPT_RETRIES:
                    return
                await asyncio.sleep(ADAPT_PAUSE)
                rate = await self._measure(ADAPT_WINDOW)

    async def _wait_first_bytes(self) -> None:
        with self._lock:
            fresh = [c for c in self._conns if c.got == 0]
        for _ in range(250):
            if not fresh or all(c.got or c.stop.is_set() for c in fresh):
                return
            await asyncio.sleep(0.02)

    async def _adopt(self, opened: Opened) -> None:
        """Learn size and ETag from the first response of a fresh download."""
        total = opened.total
        if self.total is not None and total is not None and total != self.total:
            await opened.aclose()
            raise FatalTransferError("engine.size_mismatch", got=total, expected=self.total)
        if self.total is None:
            self.total = total
        self.etag = opened.etag

    async def _plan(self, first: Opened) -> None:
        total = self.total
        self._ranges_ok = first.status == 206 and total is not None
        if self._ranges_ok and total is not None and total >= self.multi_min:
            await self._preallocate(total)
        self.segments = [Segment(0, total)]
        await self._save()

    async def _preallocate(self, total: int) -> None:
        from modella_tui.core.store.db import is_network_fs

        def work() -> None:
            if self.preallocate and not is_network_fs(self.target.directory):
                try:
                    os.posix_fallocate(self._fd, 0, total)
                    return
                except OSError as exc:
                    if exc.errno == errno.ENOSPC:  # say so now rather than mid-way
                        raise
            os.ftruncate(self._fd, total)

        await asyncio.to_thread(work)

    async def _open(self, start: int, end: int | None, *, probe: bool = False) -> Opened:
        self.requests += 1
        if_range = self.etag if start > 0 or end is not None else None
        if probe:
            return await self.fetcher.open(0, None, None, probe=True)
        opened = await self.fetcher.open(start, end, if_range)
        if (self.total is not None and opened.total is not None and opened.total != self.total) or (
            self.etag and opened.etag and opened.etag != self.etag
        ):
            # The remote file changed between attempts: never splice two versions.
            await opened.aclose()
            raise _Restart(None, "engine.note_remote_changed")
        return opened

    async def _segment(self, seg: Segment, first: Opened | None) -> None:
        opened = first

        async def attempt() -> None:
            nonlocal opened
            current, opened = opened, None
            if current is None:
                with self._lock:
                    pos, end, alone = seg.pos, seg.end, len(self.segments) == 1
                if end is not None and pos >= end:
                    return
                # Alone, ask to the end (a resume after a reset is `bytes=N-`); else the exact range.
                current = await self._open(pos, None if alone else end)
            await self._pump(seg, current)
            with self._lock:
                short = seg.end is not None and seg.pos < seg.end
                got, expected = seg.pos, seg.end
            if short:
                # Ended early: with or without Content-Length this is not a success.
                raise TransferError("engine.short_body", got=got, expected=expected)

        try:
            await self._retrying(attempt)
        finally:
            if opened is not None:
                await opened.aclose()

    async def _pump(self, seg: Segment, opened: Opened) -> None:
        try:
            body = thread_body(opened.response)
            if body is not None:
                await self._pump_thread(seg, body)
            else:
                await self._pump_async(seg, opened)
        finally:
            await opened.aclose()

    async def _pump_thread(self, seg: Segment, body: ThreadBody) -> None:
        """Read this connection's body in a worker thread; the loop only waits for the end."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[BaseException | None] = loop.create_future()
        conn = _Conn()
        conn.body = body
        conn.seg = seg
        with self._lock:
            self._conns.add(conn)

        def finished(result: BaseException | None) -> None:
            if not done.done():
                done.set_result(result)

        def work() -> None:
            result: BaseException | None = None
            lower_thread_priority()
            try:
                self._receive(seg, body, conn)
            except BaseException as exc:
                result = exc
            loop.call_soon_threadsafe(finished, result)

        conn.thread = threading.Thread(target=work, name="modella-recv", daemon=True)
        conn.thread.start()
        try:
            error = await asyncio.shield(done)
        except asyncio.CancelledError:
            conn.abort()  # the socket is shut down: a blocked read returns at once
            raise
        await asyncio.to_thread(conn.thread.join)
        self._retire(conn)
        if error is not None:
            raise error

    def _retire(self, conn: _Conn) -> None:
        with self._lock:
            if conn in self._conns:
                self._conns.discard(conn)
                self._retired += conn.got

    def _receive(self, seg: Segment, body: ThreadBody, conn: _Conn) -> None:
        """Worker thread: body → pooled buffer → pwrite → hasher, until the range or body ends."""
        pool = self._pool
        assert pool is not None
        now = time.monotonic
        while not conn.stop.is_set():
            with self._lock:
                pos, end = seg.pos, seg.end
            if end is not None and pos >= end:
                return
            buf = pool.get(conn.stop)
            if buf is None:
                return
            view = memoryview(buf)
            cap = len(buf) if end is None else min(len(buf), end - pos)
            filled = 0
            eof = False
            started = now()
            try:
                while filled < cap:
                    try:
                        n = body.readinto(view[filled:cap])
                    except TimeoutError:
                        raise TransferError("engine.stalled") from None
                    except (OSError, http.client.HTTPException, ValueError) as exc:
                        raise TransferError("engine.network", reason=type(exc).__name__) from None
                    if not n:
                        eof = True
                        break
                    filled += n
                    conn.got += n
                    if now() - started > FLUSH_AFTER:
                        break
            finally:
                # What arrived before a failure is good data: keep it, resume after it.
                if filled:
                    self._commit(seg, pos, view[:filled], buf)
                else:
                    pool.put(buf)
            if eof:
                return

    async def _pump_async(self, seg: Segment, opened: Opened) -> None:
        """A body from a plain httpx transport: gather chunks in the loop, commit in a thread."""
        limit = seg.end
        off = seg.pos
        bufs: list[bytes] = []
        n = 0
        conn = _Conn()
        conn.seg = seg
        with self._lock:
            self._conns.add(conn)
        now = asyncio.get_running_loop().time
        flushed_at = now()
        try:
            async for chunk in opened.response.aiter_raw():
                if limit is not None and off + n + len(chunk) >= limit:
                    bufs.append(chunk[: limit - off - n])
                    conn.got += len(bufs[-1])
                    n += len(bufs[-1])
                    break
                bufs.append(chunk)
                n += len(chunk)
                conn.got += len(chunk)
                if n >= BATCH or now() - flushed_at > FLUSH_AFTER:
                    flushed_at = now()
                    data, bufs, n = b"".join(bufs), [], 0
                    await asyncio.to_thread(self._commit, seg, off, memoryview(data), None)
                    off += len(data)
        except httpx.ReadTimeout:
            raise TransferError("engine.stalled") from None
        except httpx.TimeoutException:
            raise TransferError("engine.timeout") from None
        except httpx.HTTPError as exc:
            raise TransferError("engine.network", reason=type(exc).__name__) from None
        finally:
            if n:
                data = b"".join(bufs)
                await asyncio.shield(
                    asyncio.to_thread(self._commit, seg, off, memoryview(data), None)
                )
            self._retire(conn)

    def _commit(self, seg: Segment, pos: int, data: memoryview, buf: bytearray | None) -> None:
        """Write [pos, pos+len) of `seg`, account it, hand it to the hasher (any thread)."""
        pool = self._pool

        def release() -> None:
            if buf is not None and pool is not None:
                pool.put(buf)

        try:
            with self._lock:
                n = len(data) if seg.end is None else min(len(data), seg.end - pos)
                if seg.pos != pos:
                    n = 0  # not where this range stands (cannot happen; never write blindly)
            if n > 0:
                write_all(self._pwritev, self._fd, data[:n], pos)
                with self._lock:
                    seg.done += n
        except BaseException:
            release()
            raise
        if n <= 0 or self._hasher is None:
            release()
            return
        self._hasher.written(pos, pos + n, [data[:n]], release if buf is not None else None)
        if self.crash_at is not None and self.received >= self.crash_at:
            os._exit(137)  # test seam: MODELLA_TEST_CRASH_AT=mid_transfer:N

    async def _retrying(self, fn: Callable[[], Awaitable[T]]) -> T:
        failures = 0
        while True:
            mark = self.received
            try:
                return await fn()
            except RangeIgnored as exc:
                raise _Restart(exc.opened, "engine.resume_unsupported") from None
            except RangeNotSatisfiable:
                raise _Restart(None, "engine.note_part_discarded") from None
            except TransferError as exc:
                if not exc.retryable:
                    raise
                failures = 0 if self.received > mark else failures + 1
                if failures >= self.max_failures:
                    if isinstance(exc, RangeMismatch):
                        raise _Restart(None, "engine.range_mismatch") from None
                    raise FatalTransferError(exc.key, **exc.params) from None
                if isinstance(exc, UrlExpired):
                    continue  # a fresh redirect, at once
                await self._sleep(backoff(max(1, failures), exc.retry_after))

    # -- durability ----------------------------------------------------------------------------

    async def _tick(self) -> None:
        # Durable checkpoints (fdatasync + ranges) are spaced out: each sync forces writeback and
        # slows a fast download. In between, only the displayed byte count is refreshed.
        loop = asyncio.get_running_loop()
        synced = loop.time()
        while not self._ticker_stop.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.checkpoint_interval):
                    await self._ticker_stop.wait()
            if self._ticker_stop.is_set():
                return
            if loop.time() - synced >= self.sync_interval:
                synced = loop.time()
                await self._save()
            elif self._report is not None:
                await self._report(self.received)

    async def _end_ticker(self, ticker: asyncio.Task[None]) -> None:
        # Stopped, not cancelled: a cancel landing inside a database write can leave a
        # transaction open on the shared connection.
        self._ticker_stop.set()
        with contextlib.suppress(BaseException):
            await ticker

    async def _save(self, *, sync: bool = True) -> None:
        """Sync the `.part`, then record the ranges that were written before the sync."""
        with self._lock:
            snapshot = [Segment(s.start, s.end, s.done) for s in self.segments]
        if sync and self._fd >= 0:
            with contextlib.suppress(OSError):
                await asyncio.to_thread(os.fdatasync, self._fd)
        await self._checkpoint(snapshot, self.etag, self.total)


def backoff(failures: int, retry_after: float | None = None) -> float:
    """Seconds before the next attempt: Retry-After as given, else 1 s doubling to 60 s, jittered."""
    if retry_after is not None:
        return retry_after
    base = min(BACKOFF_MAX, float(2 ** (failures - 1)))
    return min(BACKOFF_MAX, base * random.uniform(1.0, 1.25))


def write_all(
    pwritev: Callable[[int, Sequence[bytes], int], int], fd: int, data: memoryview, offset: int
) -> None:
    """Write all of `data` at `offset`; a short write is finished with plain pwrite calls."""
    size = len(data)
    done = pwritev(fd, [data], offset)  # type: ignore[list-item]
    while done < size:
        # A short write (signal, quota edge): finish it.
        n = os.pwrite(fd, data[done:], offset + done)
        if n <= 0:
            raise OSError(errno.EIO, "short write")
        done += n


def _join_all(threads: list[threading.Thread]) -> None:
    """Wait for worker threads (already told to stop) to end."""
    deadline = time.monotonic() + JOIN_TIMEOUT
    for th in threads:
        th.join(max(0.0, deadline - time.monotonic()))
