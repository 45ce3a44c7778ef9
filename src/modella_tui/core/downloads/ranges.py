"""The ranges of one file: what the first answer says (size, ranges or not), and adaptive range
connections (aria2-like), never more than `connections`.

A fresh download starts with one connection; when the file is large and that connection is far
below what a link moves (a server capping each connection), all the others open at once. Between
that and a fast connection, a second one takes half of the largest remaining range (work
stealing): if that raised the total by about one connection's worth the rest are opened at once,
if it helped somewhat one more is tried, else no more. A connection that finishes early
takes half of the largest remaining range.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os

from modella_tui.core.downloads.jobstate import JobState
from modella_tui.core.downloads.transfer import FatalTransferError, Opened
from modella_tui.core.downloads.verify import SNIFF_BYTES, looks_like_web_page
from modella_tui.core.store.queue import Segment

STEAL_HORIZON = 0.5  # seconds: a range its connection finishes sooner is not split
ADAPT_WINDOW = 0.1  # seconds of data per measurement
FIRST_WINDOW = 0.05  # the first one only tells fast from capped: both are far apart
ADAPT_SKIP = 0.03  # seconds after a connection's first bytes before measuring
ADAPT_PAUSE = 1.0  # after a connection that did not pay, wait before trying another
ADAPT_RETRIES = 3
SLOW_CONNECTION = 64 * 1024 * 1024  # bytes/s: a connection this slow is capped by the server


class RangePlanner(JobState):
    """Splits ranges between connections and decides how many connections pay."""

    async def _adopt(self, opened: Opened) -> None:
        """Learn size and ETag from the first response of a fresh download."""
        total = opened.total
        if self.total is not None and total is not None and total != self.total:
            # A body of another size is most often a login or error page: say so when it is one.
            head = await _read_head(opened)
            if looks_like_web_page(head, opened.content_type, self.target.name):
                raise FatalTransferError("engine.web_page")
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

    def _splittable(self) -> bool:
        """Whether a second connection could ever get a piece of this file: a range is only split
        into pieces of at least `_steal_piece()`, so a file under two of them never is."""
        with self._lock:
            left = sum(s.remaining or 0 for s in self.segments)
            unknown = any(s.end is None for s in self.segments)
        return unknown or left >= 2 * self._steal_piece()

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
        rate = await self._measure(FIRST_WINDOW)
        if rate >= self.fast_connection * max(1, self._active()):
            return
        if rate < SLOW_CONNECTION * max(1, self._active()):
            # Far below what one connection moves on any link a pod has: the server caps each
            # connection (or the link is slow, where more connections cost nothing). Open them all
            # now rather than one measurement at a time.
            await self._add_connections(self.connections)
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


async def _read_head(opened: Opened) -> bytes:
    """The first bytes of a response's body (for sniffing), then the response is closed."""
    head = b""
    with contextlib.suppress(Exception):
        async for chunk in opened.response.aiter_raw():
            head += chunk
            if len(head) >= SNIFF_BYTES:
                break
    await opened.aclose()
    return head[:SNIFF_BYTES]
