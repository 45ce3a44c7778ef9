"""The receive/write path of one file: body → pooled buffer → pwrite → ordered hasher.

Each connection's body is read by its own worker thread (`ThreadBody.readinto` from the engine's
thread transport) into a buffer from a small per-file pool, written with `pwritev` from that same
thread (the GIL is released for the receive and the write), then offered to the OrderedHasher: a
buffer that continues the hashed prefix is hashed from memory and returned to the pool afterwards,
any other one is returned at once and read back from the page cache when the hash gets there.
A body that is not a ThreadBody (a caller's own httpx client, a proxy) is read asynchronously and
committed through the same path in a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import http.client
import os
import time
from collections.abc import Callable, Sequence

import httpx

from modella_tui.core.downloads.jobstate import BATCH, Conn, JobState
from modella_tui.core.downloads.threadhttp import ThreadBody, thread_body
from modella_tui.core.downloads.transfer import FatalTransferError, Opened, TransferError
from modella_tui.core.downloads.verify import (
    SNIFF_BYTES,
    looks_like_web_page,
    lower_thread_priority,
)
from modella_tui.core.downloads.workers import RECEIVERS
from modella_tui.core.store.queue import Segment

FLUSH_AFTER = 0.25  # seconds: a slow link still commits (and checkpoints) often


class Receiver(JobState):
    """Moves one connection's bytes to the `.part` and the hasher."""

    async def _pump(self, seg: Segment, opened: Opened) -> None:
        if opened.start == 0:
            self._head_type = opened.content_type  # the label of the body that starts the file
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
        conn = Conn()
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
                self._sync_if_whole()
            except BaseException as exc:
                result = exc
            finally:
                conn.ended.set()
            with contextlib.suppress(RuntimeError):  # the loop may be closed at exit
                loop.call_soon_threadsafe(finished, result)

        conn.started_work = True
        RECEIVERS.submit(work)
        try:
            error = await asyncio.shield(done)
        except asyncio.CancelledError:
            conn.abort()  # the socket is shut down: a blocked read returns at once
            raise
        self._retire(conn)
        if error is not None:
            raise error

    def _retire(self, conn: Conn) -> None:
        with self._lock:
            if conn in self._conns:
                self._conns.discard(conn)
                self._retired += conn.got

    def _receive(self, seg: Segment, body: ThreadBody, conn: Conn) -> None:
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
        conn = Conn()
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
            if pos == 0 and looks_like_web_page(bytes(data[:SNIFF_BYTES]), self._head_type,
                                                self.target.name):  # fmt: skip
                raise FatalTransferError("engine.web_page")
            with self._lock:
                n = len(data) if seg.end is None else min(len(data), seg.end - pos)
                if seg.pos != pos:
                    n = 0  # not where this range stands (cannot happen; never write blindly)
            if n > 0:
                write_all(self._pwritev, self._fd, data[:n], pos)
                with self._lock:
                    seg.done += n
                self._wrote(pos, n)
        except BaseException:
            release()
            raise
        if n <= 0 or self._hasher is None:
            release()
            return
        self._hasher.written(pos, pos + n, [data[:n]], release if buf is not None else None)


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
