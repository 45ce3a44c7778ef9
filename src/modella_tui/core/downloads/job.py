"""One file's bytes into its `.part`: resume, range connections, retries, hashing.

No database here: progress goes out through the `checkpoint` callback (see `checkpoints`). The
parts: `ranges` (what the first answer says, how many connections, who fetches what), `receive`
(bytes to disk and hasher),
`checkpoints` (writeback and recorded ranges), `jobstate` (what they share).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable
from typing import TypeVar

from modella_tui.core.downloads.checkpoints import Checkpointer
from modella_tui.core.downloads.jobstate import (
    INLINE_HASH_MAX,
    JOIN_TIMEOUT,
    MULTI_MIN,
    POOL_BUFFERS,
    JobResult,
    Restart,
    backoff,
    join_all,
)
from modella_tui.core.downloads.partmeta import Target, open_part, open_part_read
from modella_tui.core.downloads.ranges import RangePlanner
from modella_tui.core.downloads.receive import Receiver, write_all
from modella_tui.core.downloads.transfer import (
    FatalTransferError,
    Opened,
    RangeIgnored,
    RangeMismatch,
    RangeNotSatisfiable,
    TransferError,
    UrlExpired,
)
from modella_tui.core.downloads.verify import (
    BufferPool,
    InlineHasher,
    OrderedHasher,
)
from modella_tui.core.store.queue import Segment

__all__ = ["MULTI_MIN", "Job", "JobResult", "backoff", "write_all"]

T = TypeVar("T")
MAX_RESTARTS = 3


class Job(RangePlanner, Receiver, Checkpointer):
    """Downloads one queue item into its `.part`; `run()` returns once all bytes are hashed.

    Constructor arguments: see `JobState`.
    """

    # -- the whole job -------------------------------------------------------------------------

    def send_first_request(self) -> None:
        """A fresh download: send its first request now; `run` takes the answer."""
        if not self.segments and self._early is None:
            self._early = asyncio.ensure_future(
                self._retrying(lambda: self._open(0, None, probe=True))
            )

    async def drop_first_request(self) -> None:
        """Cancel the request `send_first_request` sent (or close its answer) when unused."""
        early, self._early = self._early, None
        if early is None:
            return
        early.cancel()
        with contextlib.suppress(BaseException):
            opened = await early
            await opened.aclose()

    async def run(self, fds: tuple[int, int] | None = None) -> JobResult:
        """Fetch what is missing, then finish the hash; raises TransferError / OSError.

        `fds`: the `.part` already opened for writing and reading (`open_both`), else opened here.
        """
        try:
            if fds is None:
                fds = await asyncio.to_thread(open_both, self.target)
            self._fd, rfd = fds
        except BaseException:
            await self.drop_first_request()
            raise
        ticker: asyncio.Task[None] | None = None
        try:
            self._rfd = rfd
            await self._validate_existing()
            if self.segments or self.total is not None:
                self._new_hasher()  # else once the first answer gives the size (_fetch_all)
            if self.total is not None or self.segments:
                # A fresh download learns its size from the first answer (see _fetch_all).
                self._start_writeback()
            ticker = asyncio.create_task(self._tick(), name="modella-checkpoint")
            restarts = 0
            first: Opened | None = None
            while True:
                try:
                    await self._fetch_all(first)
                    break
                except Restart as restart:
                    restarts += 1
                    if restarts > MAX_RESTARTS:
                        if restart.opened is not None:
                            await restart.opened.aclose()
                        raise FatalTransferError("engine.restart_loop") from None
                    self.notes.append(restart.note)
                    await self._reset()
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
            # Durable before the rename: the writeback thread synced all but the last few MB
            # while the bytes arrived, so this sync is short; it runs beside the hash's tail.
            assert self._hasher is not None
            hashed = self._hasher.digest_if_done(size)  # a small file's writers hashed it all
            if hashed is None:
                digest, _ = await asyncio.gather(
                    asyncio.to_thread(self._hasher.finish, size), self._flush()
                )
            else:
                await self._flush()
                digest = hashed
            self._succeeded = True  # the item is marked done next; its ranges are then dropped
            return JobResult(size, digest, self.etag)
        finally:
            if ticker is not None:
                await self._end_ticker(ticker)
            await self._shutdown(rfd)

    def final_segments(self) -> list[Segment]:
        """The ranges after a successful run: everything written and synced."""
        with self._lock:
            return [Segment(s.start, s.end, s.done, s.done) for s in self.segments]

    async def _shutdown(self, rfd: int) -> None:
        await self.drop_first_request()
        # Workers must be gone before the fds close (a reused fd number must never be written).
        await asyncio.shield(self._stop_workers())
        if not self._succeeded and self._fd >= 0:
            # Sync, then record what is on disk (shield: on cancel), so a resume trusts only
            # bytes that are really there.
            with contextlib.suppress(BaseException):
                await asyncio.shield(self._save())
        with contextlib.suppress(BaseException):
            await asyncio.shield(self._stop_writeback())
        if self._hasher is not None:
            self._hasher.stop()
            if not self._hasher.ended:  # after a success it has ended already
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
        ended = [c.ended for c in conns if c.started_work]
        if ended:
            await asyncio.to_thread(join_all, ended)

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
            self._synced.clear()
            self._retired = 0
            if not segs:
                return
            self.etag = None

    def _new_hasher(self) -> None:
        fresh = not any(s.done for s in self.segments)  # nothing written yet
        if fresh and self.total is not None and self.total <= INLINE_HASH_MAX:
            self._hasher = InlineHasher(self._rfd)
            return
        self._hasher = OrderedHasher(self._rfd, max_kept=POOL_BUFFERS - 2)
        for s in self.segments:
            self._hasher.written(s.start, s.pos)

    async def _reset(self) -> None:
        await self._stop_workers()
        if self._hasher is not None:  # None when the first answer already asked for this
            self._hasher.stop()
            if not self._hasher.ended:
                await asyncio.to_thread(self._hasher.join, JOIN_TIMEOUT)
        await self._stop_writeback()
        await asyncio.to_thread(os.ftruncate, self._fd, 0)
        self._synced.clear()
        with self._lock:
            self.segments = []
            self._retired = 0
            self._conns.clear()
            self._claimed.clear()
        self.etag = None
        self.fetcher.forget_storage_url()
        await self._checkpoint([], None, self.total)
        self._new_hasher()
        self._start_writeback()

    # -- fetching ------------------------------------------------------------------------------

    def _complete(self) -> bool:
        return (
            bool(self.segments)
            and self.total is not None
            and all(s.end is not None and s.pos >= s.end for s in self.segments)
            and sum(s.done for s in self.segments) == self.total
        )

    async def _fetch_all(self, first: Opened | None) -> None:
        if self._complete():
            return  # the `.part` is whole; verify without a request.
        fresh = not self.segments
        if not fresh:
            await self.drop_first_request()  # the `.part` holds ranges to resume after all
        elif first is None:
            # `bytes=0-` so a server that supports ranges says so with a 206; one connection first
            # (sent already when `send_first_request` was called).
            early, self._early = self._early, None
            first = await (early or self._retrying(lambda: self._open(0, None, probe=True)))
        if fresh:
            assert first is not None
            await self._adopt(first)
            await self._plan(first)
            if self._hasher is None:
                self._new_hasher()
            self._start_writeback()  # now that the size is known (a small file needs none)
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
        if self.connections > 1 and self._ranges_ok and self._splittable():
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
            raise Restart(None, "engine.note_remote_changed")
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

    async def _retrying(self, fn: Callable[[], Awaitable[T]]) -> T:
        failures = 0
        while True:
            mark = self.received
            try:
                return await fn()
            except RangeIgnored as exc:
                raise Restart(exc.opened, "engine.resume_unsupported") from None
            except RangeNotSatisfiable:
                raise Restart(None, "engine.note_part_discarded") from None
            except TransferError as exc:
                if not exc.retryable:
                    raise
                failures = 0 if self.received > mark else failures + 1
                if failures >= self.max_failures:
                    if isinstance(exc, RangeMismatch):
                        raise Restart(None, "engine.range_mismatch") from None
                    raise FatalTransferError(exc.key, **exc.params) from None
                if isinstance(exc, UrlExpired):
                    continue  # a fresh redirect, at once
                await self._sleep(backoff(max(1, failures), exc.retry_after))


def open_both(target: Target) -> tuple[int, int]:
    """The `.part` for writing and for reading (the hash), in one trip to a worker thread."""
    fd = open_part(target)
    try:
        return fd, open_part_read(target)
    except BaseException:
        os.close(fd)
        raise
