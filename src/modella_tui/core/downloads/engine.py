"""The download engine: a persisted queue worked by asyncio tasks, one process at a time.

The parts live beside this module: `admission` (what a request becomes), `landing` (one item from
start to its final name), `recovery` (start-up reconciliation), `state` (what they share).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from modella_tui.core import paths
from modella_tui.core.downloads import partmeta
from modella_tui.core.downloads.admission import (
    EXIT_BY_KEY,
    AddResult,
    Admission,
    QueueRequest,
    Summary,
)
from modella_tui.core.downloads.events import Event, ItemAdded, ItemRemoved, Progress, StateChanged
from modella_tui.core.downloads.landing import Landing
from modella_tui.core.downloads.partmeta import PICKLE_EXTS, UnsafePathError, make_target
from modella_tui.core.downloads.recovery import Recovery
from modella_tui.core.downloads.state import CrashHook
from modella_tui.core.store.queue import ACTIVE_STATES, QueueItem, Segment

__all__ = [
    "EXIT_BY_KEY",
    "PICKLE_EXTS",
    "AddResult",
    "CrashHook",
    "DownloadEngine",
    "QueueRequest",
    "Summary",
]

log = logging.getLogger(__name__)
# httpx logs every request URL at INFO; a signed storage URL is a secret.
if logging.getLogger("httpx").level == logging.NOTSET:
    logging.getLogger("httpx").setLevel(logging.WARNING)

PROGRESS_HZ = 10.0
SWITCH_INTERVAL = 0.001  # seconds; see start()


class DownloadEngine(Admission, Landing, Recovery):
    """Works the persisted queue: add, run, pause, resume, cancel, retry; emits plain events.

    Constructor arguments: see `EngineState`.
    """

    # -- events --------------------------------------------------------------------------------

    def add_listener(self, callback: Callable[[Event], None]) -> None:
        """Call `callback(event)` for every event (in the event loop)."""
        self._listeners.append(callback)

    def remove_listener(self, callback: Callable[[Event], None]) -> None:
        """Stop calling `callback`; a callback never added is ignored."""
        with contextlib.suppress(ValueError):
            self._listeners.remove(callback)

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> bool:
        """Take the lease and work the queue (True), or observe another process's work (False)."""
        if self._started:
            return self.lease.held
        self._started = True
        # Transfer, write and hash threads hand the GIL back only every switch interval (5 ms by
        # default); several of them at once make the event loop wait too long for a UI.
        if sys.getswitchinterval() > SWITCH_INTERVAL:
            sys.setswitchinterval(SWITCH_INTERVAL)
        # The signing key is read (or made) beside the lease, not before it.
        _, held = await asyncio.gather(asyncio.to_thread(self._key), self.lease.acquire())
        if held:
            self.lease.start_heartbeat()
            await self._reconcile()
        for brief in await self.store.briefs():
            self._known[brief.id] = (brief.state, brief.bytes_done)
        self._main = asyncio.create_task(self._main_loop(), name="modella-engine")
        self._ticker = asyncio.create_task(self._progress_loop(), name="modella-progress")
        return held

    async def stop(self) -> None:
        """Stop gracefully: running items go back to pending with their `.part` kept."""
        for task in (self._main, self._ticker):
            if task is not None:
                task.cancel()
        for task in (self._main, self._ticker):
            if task is not None:
                with contextlib.suppress(BaseException):
                    await task
        self._main = self._ticker = None
        self._stopping = True
        try:
            # A finishing item may have handed its slot on meanwhile: stop that one too.
            while self._tasks:
                running = list(self._tasks.items())
                for item_id, task in running:
                    self._stop_reason[item_id] = "stop"
                    task.cancel()
                _, late = await asyncio.wait([t for _, t in running], timeout=1.5)
                if late:
                    break
        finally:
            self._stopping = False
        await self._sidecars_written()
        await self.lease.release()
        if self._own_http and self._http is not None:
            with contextlib.suppress(Exception):
                await self._http.aclose()
            self._http = None
        self._started = False

    async def run_until_idle(self, item_ids: Iterable[int] | None = None) -> Summary:
        """Work (or watch) the queue until the given items (default all) are no longer active."""
        if not self._started:
            await self.start()
        ids = set(item_ids) if item_ids is not None else None
        checked: float | None = None
        while True:
            self._changed.clear()
            # Every state change this process makes is known here at once (other processes'
            # once a poll interval), so the database is asked only when that says the items may
            # be idle, and at least once a poll interval: not at each of a file's changes.
            if (
                ids is None
                or checked is None
                or self._may_be_idle(ids)
                or (self._clock() - checked >= self.poll_interval)
            ):
                checked = self._clock()
                states = await self.store.states(ids)
                active = any(s in ACTIVE_STATES for s in states.values())
                if not active and not any(i in self._tasks for i in states):
                    await self._sidecars_written()
                    return Summary([i for i in await self.store.all() if i.id in states])
                self._wake.set()
            with contextlib.suppress(TimeoutError):
                # asyncio.timeout: wait_for on 3.11 can lose a cancellation racing its timeout.
                async with asyncio.timeout(self.poll_interval):
                    await self._changed.wait()

    def _may_be_idle(self, ids: set[int]) -> bool:
        """False while this process knows one of `ids` to be running here or still active."""
        return not any(
            i in self._tasks or self._known.get(i, ("pending", 0))[0] in ACTIVE_STATES for i in ids
        )

    async def _sidecars_written(self) -> None:
        """Wait for the sidecars being written (each is bounded by its own timeouts)."""
        while self._side_tasks:
            await asyncio.gather(*list(self._side_tasks), return_exceptions=True)

    async def items(self) -> list[QueueItem]:
        """Every queue row (for `modella queue` and the queue screen)."""
        return await self.store.all()

    # -- user actions ----------------------------------------------------------------------------

    async def pause(self, item_id: int) -> None:
        """Pause: the `.part` is kept and resumed by Range later."""
        if item_id in self._tasks:
            self._stop_reason[item_id] = "pause"
            self._tasks[item_id].cancel()
            return
        await self._set_state(item_id, "paused", only_from=("pending", "running", "verifying"))

    async def resume(self, item_id: int) -> None:
        """Put a paused (or failed) item back in line."""
        await self._set_state(item_id, "pending", only_from=("paused", "failed"), attempts=0)
        self._wake.set()

    async def cancel(self, item_id: int) -> None:
        """Cancel: the `.part` is removed, no final file, state cancelled."""
        if item_id in self._tasks:
            self._stop_reason[item_id] = "cancel"
            self._tasks[item_id].cancel()
            return
        item = await self.store.get(item_id)
        if item is None or item.state in ("done", "cancelled"):
            return
        moved = await self._set_state(
            item_id, "cancelled", only_from=("pending", "paused", "failed")
        )
        if not moved:
            # Running in another process: mark it; that process stops it and removes the .part.
            await self._set_state(item_id, "cancelled", only_from=("running", "verifying"))
            return
        with contextlib.suppress(UnsafePathError):
            partmeta.remove_part(make_target(item.target_dir, item.file_name, self._all_roots()))
        await self.store.clear_segments(item_id)

    async def retry(self, item_id: int) -> None:
        """Try a failed or cancelled item again."""
        await self._set_state(
            item_id, "pending", only_from=("failed", "cancelled", "paused"), attempts=0
        )
        self._wake.set()

    async def clear_finished(self) -> None:
        """Remove done, failed and cancelled rows from the queue."""
        for item_id in await self.store.delete_finished():
            self._known.pop(item_id, None)
            self._emit(ItemRemoved(item_id))

    # -- the loop ----------------------------------------------------------------------------------

    async def _main_loop(self) -> None:
        rechecked = self._clock()
        polled: float | None = None
        while True:
            try:
                if not self.lease.held and await self.lease.acquire():
                    # The previous holder died (its lease expired): take over its work.
                    self.lease.start_heartbeat()
                    await self._reconcile()
                # Other processes' changes are looked for once a poll interval, not on each of
                # our own wake-ups (each file's state changes wake the loop several times).
                if polled is None or self._clock() - polled >= self.poll_interval:
                    polled = self._clock()
                    await self._poll()
                if self.lease.held and self._clock() - rechecked >= self.recheck_interval:
                    rechecked = self._clock()
                    await self._recheck()
                if self.lease.held:
                    await self._schedule()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("engine loop")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                # asyncio.timeout: wait_for on 3.11 can lose a cancellation racing its timeout.
                async with asyncio.timeout(self.poll_interval):
                    await self._wake.wait()

    async def _schedule(self) -> None:
        free = self.max_parallel - len(self._tasks)
        while free > 0:
            # Only as many rows as there are free slots: the loop runs at every state change, and
            # decoding every pending row each time costs a long queue dearly.
            batch = await self.store.in_states("pending", limit=free)
            started = skipped = 0
            for item in batch:
                if item.id in self._tasks:
                    skipped += 1
                    continue
                await self._rebase(item)
                if await self._wait_if_blocked(item):
                    continue  # now paused: the next batch does not hold it
                # Running, and the ranges it may resume from, in one trip to the database.
                segments = await self.store.claim(item.id, self.boot_id)
                if segments is None:
                    skipped += 1
                    continue
                item.state = "running"
                self._state_changed(item.id, "running", None, None)
                self._start_item(item, segments, checked=True)
                started += 1
            free -= started
            if len(batch) < free + started or skipped:
                return  # no more pending rows (or some are not ours to start right now)

    def _start_item(self, item: QueueItem, segments: list[Segment], *, checked: bool) -> None:
        """Run a claimed (running) item in a task of its own; `checked` when the scheduler made
        the checks a start needs (an item handed a slot at another's landing gets them first)."""
        work = self._work(item, segments) if checked else self._start_handed(item, segments)
        self._tasks[item.id] = asyncio.create_task(work, name=f"modella-item-{item.id}")

    async def _start_handed(self, item: QueueItem, segments: list[Segment]) -> None:
        try:
            await self._rebase(item, segments)
            blocked = self._blocked.get(self._root_of(item.target_dir))
        except BaseException as exc:
            # Back in line (the scheduler or the next start takes it up).
            with contextlib.suppress(Exception):
                await asyncio.shield(self._set_state(item.id, "pending", only_from=("running",)))
            self._tasks.pop(item.id, None)
            self._wake.set()
            if isinstance(exc, asyncio.CancelledError):
                raise
            log.exception("starting item %s failed", item.id)
            return
        if blocked is not None:
            # Its folder cannot take files: it waits like the others bound there.
            self._tasks.pop(item.id, None)
            await self._set_state(item.id, "paused", *blocked, only_from=("running",))
            self._wake.set()
            return
        await self._work(item, segments)

    def reconfigure(
        self,
        *,
        models_dir: Path | None = None,
        max_parallel: int | None = None,
        connections_per_file: int | None = None,
    ) -> None:
        """Apply changed settings now, without a restart.

        A new models folder takes new items (and queued ones not yet started); items already
        running finish where they started, their old folder staying allowed for them. A higher
        `max_parallel` starts pending items at once; `connections_per_file` applies to new jobs
        and is the new ramp ceiling of running ones.
        """
        if models_dir is not None:
            new = Path(os.path.abspath(models_dir))
            if new != self.models_dir:
                if self.models_dir not in self._former_roots:
                    self._former_roots.append(self.models_dir)
                self._former_roots = [r for r in self._former_roots if r != new]
                self.models_dir = new
        if max_parallel is not None:
            self.max_parallel = max(1, max_parallel)
        if connections_per_file is not None:
            self.connections_per_file = max(1, connections_per_file)
            for job in self._jobs.values():
                job.connections = self.connections_per_file
        self._wake.set()

    async def _rebase(self, item: QueueItem, segments: list[Segment] | None = None) -> None:
        """A queued item bound for an earlier models folder, with nothing downloaded yet, moves."""
        folder = Path(item.target_dir)
        if any(paths.is_within(root, folder) for root in self.roots):
            return
        # The models folder it was queued under: one this process switched away from, or the one
        # admission recorded (a restart forgets the former, an older row lacks the latter).
        recorded = item.meta.get("root")
        former = [*self._former_roots, *([Path(recorded)] if isinstance(recorded, str) else [])]
        old = next((r for r in former if paths.is_within(r, folder)), None)
        if segments is None and old is not None:
            segments = await self.store.segments(item.id, self.boot_id)
        if old is None or any(s.done for s in segments or []):
            return  # a .part is there: it finishes where it started
        item.target_dir = str(self.models_dir / folder.relative_to(old))
        await self.store.update(item.id, target_dir=item.target_dir)

    async def _poll(self) -> None:
        """Emit what other processes changed; stop our tasks whose row was paused/cancelled elsewhere."""
        for item in await self.store.all():
            before = self._known.get(item.id)
            if before is None:
                self._emit(ItemAdded(item.id, item.title, item.file_name))
            if before is None or before[0] != item.state:
                self._emit(StateChanged(item.id, item.state, item.error, item.error_params))
            if item.id in self._tasks:
                if item.state in ("paused", "cancelled") and item.id not in self._stop_reason:
                    self._stop_reason[item.id] = "pause" if item.state == "paused" else "cancel"
                    self._tasks[item.id].cancel()
                self._known[item.id] = (item.state, self._known.get(item.id, ("", 0))[1])
                continue
            if item.state == "running" and item.id not in self._speed:
                self._speed[item.id] = (self._clock(), item.bytes_done, 0.0)  # speed from here
            if before is not None and before[1] != item.bytes_done and item.state == "running":
                speed, eta = self._observed_speed(item.id, item.bytes_done, item.expected_size)
                self._emit(Progress(item.id, item.bytes_done, item.expected_size, speed, eta))
            self._known[item.id] = (item.state, item.bytes_done)

    def _observed_speed(
        self, item_id: int, done: int, total: int | None
    ) -> tuple[float, float | None]:
        """Speed and time left of an item another process downloads, from the progress it records
        (about once a second), smoothed as this process's own transfers are."""
        now = self._clock()
        last = self._speed.get(item_id)
        if last is None or done < last[1]:
            self._speed[item_id] = (now, done, 0.0)
            return 0.0, None
        return self._smoothed(item_id, done, total, now)

    def _smoothed(
        self, item_id: int, done: int, total: int | None, now: float
    ) -> tuple[float, float | None]:
        """Speed (an exponential average of the rate since the last reading) and time left; the
        reading is kept for the next one. The item must have a reading already."""
        t0, d0, speed = self._speed[item_id]
        inst = max(0.0, (done - d0) / max(1e-6, now - t0))
        speed = inst if speed == 0.0 else 0.7 * speed + 0.3 * inst
        self._speed[item_id] = (now, done, speed)
        eta = (total - done) / speed if total is not None and speed > 0 else None
        return speed, eta

    async def _progress_loop(self) -> None:
        while True:
            await asyncio.sleep(1.0 / PROGRESS_HZ)
            now = self._clock()
            for item_id, job in list(self._jobs.items()):
                done = job.received
                last = self._speed.get(item_id)
                if last is None:
                    self._speed[item_id] = (now, done, 0.0)
                    continue
                t0, d0, _ = last
                if done == d0 and now - t0 < 1.0:
                    continue
                speed, eta = self._smoothed(item_id, done, job.total, now)
                self._emit(Progress(item_id, done, job.total, speed, eta))
