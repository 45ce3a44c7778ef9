"""Durability of one transfer: when the `.part` is synced and when its ranges are recorded."""

from __future__ import annotations

import asyncio
import contextlib
import os

from modella_tui.core.downloads.jobstate import JobState
from modella_tui.core.store.queue import Segment


class Checkpointer(JobState):
    """Records the ranges on disk through the job's `checkpoint` callback."""

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
