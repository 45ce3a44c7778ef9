"""One file's bytes into its `.part`: resume, range connections, retries, hashing (SPEC §6).

No database here: durable progress goes out through the `checkpoint` callback, after an fdatasync.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import httpx

from modella_tui.core.downloads.partmeta import PartWriter, Target, open_part, open_part_read
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
from modella_tui.core.downloads.verify import OrderedHasher
from modella_tui.core.store.queue import Segment

T = TypeVar("T")

MULTI_MIN = 64 * 1024 * 1024
BATCH = 4 * 1024 * 1024
FLUSH_AFTER = 0.25  # seconds
MAX_FAILURES = 5
MAX_RESTARTS = 3
BACKOFF_MAX = 60.0

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
        self.received = sum(s.done for s in segments)  # bytes on disk or on their way there
        self.notes: list[str] = []
        self.requests = 0
        self._fd = -1
        self._hasher: OrderedHasher | None = None
        self._writer: PartWriter | None = None

    # -- the whole job -------------------------------------------------------------------------

    async def run(self) -> JobResult:
        """Fetch what is missing, then finish the hash; raises TransferError / OSError."""
        self._fd = await asyncio.to_thread(open_part, self.target)
        rfd = await asyncio.to_thread(open_part_read, self.target)
        ticker: asyncio.Task[None] | None = None
        try:
            await self._validate_existing()
            self._new_hasher(rfd)
            self._writer = PartWriter(self._fd, self._on_written, pwritev=self._pwritev)
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
            await self._writer.drain()
            if self._writer.error is not None:
                raise self._writer.error
            size = sum(s.done for s in self.segments)
            if self.total is not None and size != self.total:
                raise TransferError("engine.short_body", got=size, expected=self.total)
            self.total = size
            ticker.cancel()
            # No fdatasync here: verification and landing follow at once, and forcing 25 GB to disk
            # would cost more than the download (a crash after this re-verifies the file).
            await self._save(sync=False)
            assert self._hasher is not None
            digest = await asyncio.to_thread(self._hasher.finish, size)
            return JobResult(size, digest, self.etag)
        finally:
            if ticker is not None:
                ticker.cancel()
                with contextlib.suppress(BaseException):
                    await ticker
            await self._shutdown(rfd)

    async def _shutdown(self, rfd: int) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            # Let queued writes finish so the saved progress matches the disk (shield: on cancel).
            with contextlib.suppress(BaseException):
                await asyncio.shield(writer.close())
            with contextlib.suppress(BaseException):
                await asyncio.shield(self._save())
        if self._hasher is not None:
            self._hasher.stop()
        for fd in (self._fd, rfd):
            with contextlib.suppress(OSError):
                os.close(fd)

    async def _validate_existing(self) -> None:
        """Trust only recorded ranges that the `.part` can hold; anything else restarts (T-6)."""
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
            self.received = 0
            if not segs:
                return
            self.etag = None

    def _new_hasher(self, rfd: int) -> None:
        self._hasher = OrderedHasher(rfd)
        for s in self.segments:
            self._hasher.written(s.start, s.pos)

    async def _reset(self, rfd: int) -> None:
        assert self._writer is not None and self._hasher is not None
        await self._writer.drain()
        self._hasher.stop()
        await asyncio.to_thread(os.ftruncate, self._fd, 0)
        self.segments = []
        self.received = 0
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

    async def _fetch_all(self, first: Opened | None) -> None:
        if self._complete():
            return  # T-5: the `.part` is whole; verify without a request.
        if not self.segments and self._multi(self.total):
            # Size known up front: ask for the first segment only, so a server that streams
            # ahead does not send bytes the other connections will fetch.
            assert self.total is not None
            self._split(self.total)
            await self._preallocate(self.total)
            await self._save()
            seg0 = self.segments[0]
            first = await self._retrying(lambda: self._open(0, seg0.end))
            await self._adopt(first)
        elif not self.segments:
            first = await self._retrying(lambda: self._open(0, None, probe=True))
            await self._adopt(first)
            await self._plan(first)
        todo = [s for s in self.segments if s.end is None or s.pos < s.end]
        await _run_all(
            [self._segment(s, first if s.start == 0 and first is not None else None) for s in todo]
        )

    async def _adopt(self, opened: Opened) -> None:
        """Learn size and ETag from the first response of a fresh download."""
        total = opened.total
        if self.total is not None and total is not None and total != self.total:
            await opened.aclose()
            raise FatalTransferError("engine.size_mismatch", got=total, expected=self.total)
        if self.total is None:
            self.total = total
        self.etag = opened.etag

    def _multi(self, total: int | None) -> bool:
        return total is not None and total >= self.multi_min and self.connections > 1

    def _split(self, total: int) -> None:
        step = -(-total // self.connections)
        self.segments = [
            Segment(start, min(total, start + step)) for start in range(0, total, step)
        ]

    async def _plan(self, first: Opened) -> None:
        total = self.total
        if first.status == 206 and total is not None and self._multi(total):
            self._split(total)
            await self._preallocate(total)
        else:
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
                    if exc.errno == 28:  # ENOSPC: say so now rather than mid-way
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
            # The remote file changed between attempts (T-4): never splice two versions.
            await opened.aclose()
            raise _Restart(None, "engine.note_remote_changed")
        return opened

    async def _segment(self, seg: Segment, first: Opened | None) -> None:
        opened = first
        bounded = len(self.segments) > 1

        async def attempt() -> None:
            nonlocal opened
            assert self._writer is not None
            await self._writer.drain()  # seg.done is exact only once queued writes landed
            if self._writer.error is not None:
                raise self._writer.error
            current, opened = opened, None
            if current is None:
                current = await self._open(seg.pos, seg.end if bounded else None)
            await self._pump(seg, current)
            await self._writer.drain()
            if seg.end is not None and seg.pos < seg.end:
                # Ended early: with or without Content-Length this is not a success (T-7).
                raise TransferError("engine.short_body", got=seg.pos, expected=seg.end)

        try:
            await self._retrying(attempt)
        finally:
            if opened is not None:
                await opened.aclose()

    async def _pump(self, seg: Segment, opened: Opened) -> None:
        assert self._writer is not None
        writer = self._writer
        off = seg.pos
        limit = seg.end
        bufs: list[bytes] = []
        n = 0
        now = asyncio.get_running_loop().time
        flushed_at = now()
        try:
            async for chunk in opened.response.aiter_raw():
                if limit is not None and off + n + len(chunk) >= limit:
                    bufs.append(chunk[: limit - off - n])
                    n = limit - off
                    self.received += len(bufs[-1])
                    break
                bufs.append(chunk)
                n += len(chunk)
                self.received += len(chunk)
                # Big batches for speed; on a slow link, flush often enough for a fresh checkpoint.
                if n >= BATCH or now() - flushed_at > FLUSH_AFTER:
                    flushed_at = now()
                    await writer.write(off, bufs, n)
                    off += n
                    bufs, n = [], 0
                    if self.crash_at is not None and self.received >= self.crash_at:
                        await writer.drain()
                        os._exit(137)
        except httpx.ReadTimeout:
            raise TransferError("engine.stalled") from None
        except httpx.TimeoutException:
            raise TransferError("engine.timeout") from None
        except httpx.HTTPError as exc:
            raise TransferError("engine.network", reason=type(exc).__name__) from None
        finally:
            if n:
                # What arrived before a failure is good data: keep it, resume after it.
                await writer.write(off, bufs, n)
            await opened.aclose()

    def _on_written(self, offset: int, size: int, bufs: Sequence[bytes]) -> None:
        # Writer thread: account the bytes to their segment, then let the hasher follow.
        for s in self.segments:
            if s.pos == offset and (s.end is None or offset < s.end):
                s.done += size
                break
        if self._hasher is not None:
            self._hasher.written(offset, offset + size, bufs)

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
        while True:
            await asyncio.sleep(self.checkpoint_interval)
            if loop.time() - synced >= self.sync_interval:
                synced = loop.time()
                await self._save()
            elif self._report is not None:
                await self._report(self.received)

    async def _save(self, *, sync: bool = True) -> None:
        """Sync the `.part`, then record the ranges that were written before the sync (T-25)."""
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


async def _run_all(coros: list[Awaitable[None]]) -> None:
    """Run coroutines together; the first failure cancels the rest and is raised."""
    tasks = [asyncio.ensure_future(c) for c in coros]
    if not tasks:
        return
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
