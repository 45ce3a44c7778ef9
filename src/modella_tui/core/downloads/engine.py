"""The download engine: a persisted queue worked by asyncio tasks, one process at a time."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import shutil
import stat
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from modella_tui.core import errors, paths
from modella_tui.core.downloads import partmeta
from modella_tui.core.downloads.events import Event, ItemAdded, ItemRemoved, Progress, StateChanged
from modella_tui.core.downloads.job import MULTI_MIN, Job
from modella_tui.core.downloads.lease import LEASE_TTL, Lease
from modella_tui.core.downloads.partmeta import Target, UnsafePathError, make_target
from modella_tui.core.downloads.sidecars import write_sidecars
from modella_tui.core.downloads.threadhttp import ThreadTransport
from modella_tui.core.downloads.transfer import Fetcher, Timeouts, TransferError
from modella_tui.core.downloads.verify import sha256_file
from modella_tui.core.http import USER_AGENT
from modella_tui.core.store.db import Database
from modella_tui.core.store.queue import Landed, QueueItem, QueueStore, Segment
from modella_tui.core.textsafe import redact_url
from modella_tui.core.units import human_size

log = logging.getLogger(__name__)
# httpx logs every request URL at INFO; a signed storage URL is a secret.
if logging.getLogger("httpx").level == logging.NOTSET:
    logging.getLogger("httpx").setLevel(logging.WARNING)

PICKLE_EXTS = (".ckpt", ".pt", ".pth", ".bin", ".pkl", ".pickle")
PROGRESS_HZ = 10.0

# Which exit code a failure reason maps to; anything else is 1.
EXIT_BY_KEY = {
    "engine.disk_space": errors.EXIT_DISK,
    "engine.auth_login": errors.EXIT_AUTH,
    "engine.auth_hf": errors.EXIT_AUTH,
    "engine.early_access": errors.EXIT_AUTH,
    "engine.gated": errors.EXIT_AUTH,
    "engine.forbidden": errors.EXIT_AUTH,
    "engine.not_found": errors.EXIT_NOT_FOUND,
    "engine.network": errors.EXIT_NETWORK,
    "engine.timeout": errors.EXIT_NETWORK,
}


@dataclass
class QueueRequest:
    """One already-resolved file to download (the resolver builds these)."""

    source: str  # 'civitai' | 'huggingface'
    dedupe_key: str  # "civitai:file:<id>" or "hf:<repo>@<rev>:<path>"
    title: str
    file_name: str
    type: str
    base_model: str
    url: str  # the API download URL: never a signed storage URL, never a key
    target_dir: Path
    expected_size: int | None = None  # exact bytes, when known (Hub LFS size)
    sha256: str | None = None  # lower-case hex; None = lands unverified
    model_id: str | None = None
    version_id: str | None = None
    file_id: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    allow_pickle: bool = False
    size_hint: int | None = None  # approximate size (Civitai sizeKB) for the free-space check


@dataclass(frozen=True)
class AddResult:
    """What `add()` did with one request: queued, already_queued, already_have, requeued, refused."""

    status: str
    item_id: int | None = None
    path: str | None = None
    key: str | None = None
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Summary:
    """The outcome of `run_until_idle()` over the items it watched."""

    items: list[QueueItem]

    def in_state(self, state: str) -> list[QueueItem]:
        """The watched items in one state."""
        return [i for i in self.items if i.state == state]

    def exit_code(self) -> int:
        """0 when every item landed; else the shared exit code of the failures, or 1."""
        bad = [i for i in self.items if i.state != "done"]
        if not bad:
            return errors.EXIT_OK
        codes = {EXIT_BY_KEY.get(i.error or "", errors.EXIT_FAILED) for i in bad}
        return codes.pop() if len(codes) == 1 else errors.EXIT_FAILED


class _Stop(Exception):
    """Why an item task was cancelled: pause, cancel or engine stop."""


def _crash_point(name: str) -> None:
    if os.environ.get("MODELLA_TEST_CRASH_AT") == name:
        os._exit(137)


SWITCH_INTERVAL = 0.001  # seconds; see start()


class DownloadEngine:
    """Works the persisted queue: add, run, pause, resume, cancel, retry; emits plain events."""

    def __init__(
        self,
        db: Database,
        *,
        models_dir: Path,
        max_parallel: int = 3,
        connections_per_file: int = 8,
        auth_headers: Callable[[str], dict[str, str]] = lambda url: {},
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Any] = asyncio.sleep,
        disk_usage: Callable[[str], Any] = shutil.disk_usage,
        timeouts: Timeouts | None = None,
        extra_roots: Iterable[Path] = (),
        checkpoint_interval: float = 1.0,
        sync_interval: float = 5.0,
        poll_interval: float = 1.0,
        multi_min: int = MULTI_MIN,
        pwritev: Callable[[int, Sequence[bytes], int], int] = os.pwritev,
        lease_ttl: float = LEASE_TTL,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.store = QueueStore(db, wall_clock)
        self.models_dir = Path(os.path.abspath(models_dir))
        self.roots = [self.models_dir, *(Path(os.path.abspath(r)) for r in extra_roots)]
        self.max_parallel = max(1, max_parallel)
        self.connections_per_file = max(1, connections_per_file)
        self.auth_headers = auth_headers
        self._http = http
        self._own_http = http is None
        self._clock = clock
        self._sleep = sleep
        self._disk_usage = disk_usage
        self.timeouts = timeouts or Timeouts()
        self.checkpoint_interval = checkpoint_interval
        self.sync_interval = sync_interval
        self.poll_interval = poll_interval
        self.multi_min = multi_min
        self._pwritev = pwritev
        self.lease = Lease(db, ttl=lease_ttl, clock=wall_clock)
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._jobs: dict[int, Job] = {}
        self._stop_reason: dict[int, str] = {}
        self._known: dict[int, tuple[str, int]] = {}
        self._speed: dict[int, tuple[float, int, float]] = {}  # id -> (time, done, speed)
        self._listeners: list[Callable[[Event], None]] = []
        self._queues: list[asyncio.Queue[Event]] = []
        self._wake = asyncio.Event()
        self._changed = asyncio.Event()  # any state change: run_until_idle re-checks at once
        self._main: asyncio.Task[None] | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._started = False
        crash = os.environ.get("MODELLA_TEST_CRASH_AT", "")
        self._crash_at = int(crash.split(":", 1)[1]) if crash.startswith("mid_transfer:") else None

    # -- events --------------------------------------------------------------------------------

    def add_listener(self, callback: Callable[[Event], None]) -> None:
        """Call `callback(event)` for every event (in the event loop)."""
        self._listeners.append(callback)

    async def subscribe(self) -> AsyncIterator[Event]:
        """Every event from now on, as an async iterator."""
        q: asyncio.Queue[Event] = asyncio.Queue()
        self._queues.append(q)
        try:
            while True:
                yield await q.get()
        finally:
            self._queues.remove(q)

    def _emit(self, event: Event) -> None:
        if isinstance(event, StateChanged):
            self._changed.set()
        for cb in list(self._listeners):
            try:
                cb(event)
            except Exception:
                log.exception("event listener failed")
        for q in self._queues:
            q.put_nowait(event)

    async def _set_state(
        self,
        item_id: int,
        state: str,
        key: str | None = None,
        params: dict[str, Any] | None = None,
        *,
        only_from: tuple[str, ...] | None = None,
        **extra: Any,
    ) -> bool:
        moved = await self.store.set_state(
            item_id, state, key, params, only_from=only_from, **extra
        )
        if moved:
            done = self._known.get(item_id, ("", 0))[1]
            self._known[item_id] = (state, done)
            self._emit(StateChanged(item_id, state, key, dict(params or {})))
        return moved

    # -- adding --------------------------------------------------------------------------------

    async def add(self, reqs: list[QueueRequest]) -> list[AddResult]:
        """Queue resolved files; dedupe by key, by final path and by an identical file on disk."""
        out = []
        for req in reqs:
            out.append(await self._add_one(req))
        self._wake.set()
        return out

    async def _add_one(self, req: QueueRequest) -> AddResult:
        if req.source not in ("civitai", "huggingface"):
            return AddResult("refused", key="engine.bad_request")
        try:
            target = make_target(req.target_dir, req.file_name, self.roots)
        except UnsafePathError:
            return AddResult("refused", key="engine.unsafe_path", params={"path": req.file_name})
        if target.name.lower().endswith(PICKLE_EXTS) and not req.allow_pickle:
            return AddResult(
                "refused", key="engine.pickle_needs_confirm", params={"name": target.name}
            )
        sha = req.sha256.lower() if req.sha256 else None
        existing = await self.store.by_dedupe_key(req.dedupe_key)
        if existing is not None:
            if existing.state in ("pending", "running", "verifying", "paused"):
                return AddResult("already_queued", existing.id, key="engine.already_queued")
            if (
                existing.state == "done"
                and existing.final_path
                and os.path.exists(existing.final_path)
                # A file left under an earlier models folder is not where Forge looks now.
                and any(paths.is_within(root, Path(existing.final_path)) for root in self.roots)
            ):
                return AddResult(
                    "already_have", existing.id, existing.final_path, key="engine.already_have"
                )
            await self.store.clear_segments(existing.id)
            await self._set_state(existing.id, "pending", attempts=0, verified=0, final_path=None)
            return AddResult("requeued", existing.id, key="engine.requeued")
        active = await self.store.in_states("pending", "running", "verifying", "paused")
        taken = {Path(o.target_dir) / o.file_name: o for o in active}
        other = taken.get(target.final)
        if other is not None and sha is not None and other.sha256 == sha:
            return AddResult("already_queued", other.id, key="engine.already_queued")
        if other is not None:
            # Another file of the same name is on its way to the same folder (two repos' `ae.safetensors`):
            # the `.part` must never be shared, so this one gets the next free name now.
            for n in range(2, 1000):
                candidate = make_target(
                    req.target_dir, partmeta.numbered(target.name, n), self.roots
                )
                if candidate.final not in taken and not os.path.lexists(candidate.final):
                    target = candidate
                    break
        if sha and await self._same_file(target.final, sha, req.expected_size):
            await self.store.record_landed(
                Landed(
                    req.source, req.model_id, req.version_id, req.file_id, req.title, req.type,
                    req.base_model, str(target.final), target.final.stat().st_size, sha, True,
                )
            )  # fmt: skip
            return AddResult("already_have", None, str(target.final), key="engine.already_have")
        meta = dict(req.meta)
        meta["allow_pickle"] = req.allow_pickle
        if req.size_hint is not None:
            meta["size_hint"] = req.size_hint
        item_id = await self.store.insert(
            {
                "source": req.source,
                "dedupe_key": req.dedupe_key,
                "model_id": req.model_id,
                "version_id": req.version_id,
                "file_id": req.file_id,
                "title": req.title,
                "file_name": target.name,
                "type": req.type,
                "base_model": req.base_model,
                "url": redact_url(req.url),
                "target_dir": str(target.directory),
                "expected_size": req.expected_size,
                "sha256": sha,
                "state": "pending",
                "meta": meta,
            }
        )
        self._known[item_id] = ("pending", 0)
        self._emit(ItemAdded(item_id, req.title, target.name))
        self._emit(StateChanged(item_id, "pending"))
        return AddResult("queued", item_id, str(target.final), key="engine.queued")

    async def _same_file(self, path: Path, sha: str, size: int | None) -> bool:
        """True when `path` is a regular file whose SHA256 is `sha` (cached hash when known)."""
        try:
            st = os.lstat(path)
        except OSError:
            return False
        if not stat.S_ISREG(st.st_mode) or (size is not None and st.st_size != size):
            return False
        known = await self.store.known_hash(str(path), st.st_size, st.st_mtime)
        if known is None:
            try:
                known = await asyncio.to_thread(sha256_file, path)
            except OSError:
                return False
        return known == sha

    # -- lifecycle -----------------------------------------------------------------------------

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            # Requests and bodies run on http.client in threads (see threadhttp), except behind a
            # proxy from the environment, which httpx's own transport honours.
            transport = None if _env_proxies() else ThreadTransport()
            self._http = httpx.AsyncClient(
                follow_redirects=False,
                headers={"User-Agent": USER_AGENT},
                limits=httpx.Limits(max_connections=64, max_keepalive_connections=16),
                transport=transport,
            )
        return self._http

    async def start(self) -> bool:
        """Take the lease and work the queue (True), or observe another process's work (False)."""
        if self._started:
            return self.lease.held
        self._started = True
        # Transfer, write and hash threads hand the GIL back only every switch interval (5 ms by
        # default); several of them at once make the event loop wait too long for a UI.
        if sys.getswitchinterval() > SWITCH_INTERVAL:
            sys.setswitchinterval(SWITCH_INTERVAL)
        held = await self.lease.acquire()
        if held:
            self.lease.start_heartbeat()
            await self._reconcile()
        for item in await self.store.all():
            self._known[item.id] = (item.state, item.bytes_done)
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
        running = list(self._tasks.items())
        for item_id, task in running:
            self._stop_reason[item_id] = "stop"
            task.cancel()
        if running:
            await asyncio.wait([t for _, t in running], timeout=1.5)
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
        while True:
            self._changed.clear()
            items = await self.store.all()
            watched = [i for i in items if ids is None or i.id in ids]
            active = any(i.state in ("pending", "running", "verifying") for i in watched)
            if not active and not any(i.id in self._tasks for i in watched):
                return Summary(watched)
            self._wake.set()
            with contextlib.suppress(TimeoutError):
                # asyncio.timeout: wait_for on 3.11 can lose a cancellation racing its timeout.
                async with asyncio.timeout(self.poll_interval):
                    await self._changed.wait()

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
            partmeta.remove_part(make_target(item.target_dir, item.file_name, self.roots))
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
        while True:
            try:
                if not self.lease.held and await self.lease.acquire():
                    # The previous holder died (its lease expired): take over its work.
                    self.lease.start_heartbeat()
                    await self._reconcile()
                await self._poll()
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
        if free <= 0:
            return
        for item in await self.store.in_states("pending"):
            if free <= 0:
                break
            if item.id in self._tasks:
                continue
            if not await self._set_state(item.id, "running", only_from=("pending",)):
                continue
            item.state = "running"
            task = asyncio.create_task(self._work(item), name=f"modella-item-{item.id}")
            self._tasks[item.id] = task
            free -= 1

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
            if before is not None and before[1] != item.bytes_done and item.state == "running":
                self._emit(Progress(item.id, item.bytes_done, item.expected_size, 0.0, None))
            self._known[item.id] = (item.state, item.bytes_done)

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
                t0, d0, speed = last
                if done == d0 and now - t0 < 1.0:
                    continue
                dt = max(1e-6, now - t0)
                inst = max(0.0, (done - d0) / dt)
                speed = inst if speed == 0.0 else 0.7 * speed + 0.3 * inst
                self._speed[item_id] = (now, done, speed)
                total = job.total
                eta = (total - done) / speed if total is not None and speed > 0 else None
                self._emit(Progress(item_id, done, total, speed, eta))

    # -- one item ------------------------------------------------------------------------------

    async def _work(self, item: QueueItem) -> None:
        try:
            await self._download(item)
        except asyncio.CancelledError:
            reason = self._stop_reason.get(item.id, "stop")
            await asyncio.shield(self._after_stop(item, reason))
        except TransferError as exc:
            await self._fail(item, exc.key, exc.params)
        except UnsafePathError as exc:
            await self._fail(item, "engine.unsafe_path", {"path": os.path.basename(str(exc))})
        except errors.DiskSpaceError as exc:
            await self._fail(item, "engine.disk_space", exc.params)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                await self._set_state(item.id, "paused", "engine.disk_full", {})
            else:
                await self._fail(item, "engine.io_error", {"reason": exc.strerror or str(exc)})
        except Exception as exc:
            log.exception("download of item %s failed", item.id)
            await self._fail(item, "engine.internal", {"reason": type(exc).__name__})
        finally:
            self._tasks.pop(item.id, None)
            self._jobs.pop(item.id, None)
            self._speed.pop(item.id, None)
            self._stop_reason.pop(item.id, None)
            self._wake.set()
            self._changed.set()

    async def _fail(self, item: QueueItem, key: str, params: dict[str, Any]) -> None:
        # Nothing worth resuming: leave no empty `.part` debris behind.
        if not any(s.done for s in await self.store.segments(item.id)):
            with contextlib.suppress(UnsafePathError, OSError):
                target = make_target(item.target_dir, item.file_name, self.roots)
                await asyncio.to_thread(partmeta.remove_part, target)
        await self._set_state(item.id, "failed", key, params)

    async def _after_stop(self, item: QueueItem, reason: str) -> None:
        if reason == "cancel":
            with contextlib.suppress(UnsafePathError):
                partmeta.remove_part(make_target(item.target_dir, item.file_name, self.roots))
            await self.store.clear_segments(item.id)
            await self._set_state(item.id, "cancelled")
        elif reason == "pause":
            await self._set_state(item.id, "paused")
        else:
            await self._set_state(item.id, "pending")

    async def _download(self, item: QueueItem) -> None:
        target = make_target(item.target_dir, item.file_name, self.roots)
        if await self._already_landed(item, target):
            return
        segments = await self.store.segments(item.id)
        await self._check_space(item, target, sum(s.done for s in segments))
        await asyncio.to_thread(target.directory.mkdir, parents=True, exist_ok=True)
        await asyncio.to_thread(partmeta.write_meta, target, self._meta_for(item, segments))
        fetcher = Fetcher(
            self._client(),
            item.url,
            source=item.source,
            auth_headers=self.auth_headers,
            timeouts=self.timeouts,
            file_name=target.name,
        )

        async def checkpoint(segs: list[Segment], etag: str | None, total: int | None) -> None:
            await self.store.save_progress(item.id, segs, etag)
            if total is not None and item.expected_size is None:
                item.expected_size = total
                await self.store.update(item.id, expected_size=total)
            item.etag = etag
            with contextlib.suppress(OSError):
                await asyncio.to_thread(partmeta.write_meta, target, self._meta_for(item, segs))

        async def report(done: int) -> None:
            # For observers in other processes; resuming never reads this column.
            await self.store.update(item.id, bytes_done=done)

        job = Job(
            fetcher=fetcher,
            target=target,
            segments=segments,
            total=item.expected_size,
            etag=item.etag,
            checkpoint=checkpoint,
            connections=self.connections_per_file,
            multi_min=self.multi_min,
            checkpoint_interval=self.checkpoint_interval,
            sync_interval=self.sync_interval,
            report=report,
            sleep=self._sleep,
            pwritev=self._pwritev,
            crash_at=self._crash_at,
        )
        self._jobs[item.id] = job
        result = await job.run()
        await self._set_state(item.id, "verifying", bytes_done=result.size)
        if item.sha256 and result.sha256 != item.sha256:
            await asyncio.to_thread(partmeta.remove_part, target)
            await self.store.clear_segments(item.id)
            await self._fail(item, "engine.hash_mismatch", {"name": item.file_name})
            return
        verified = bool(item.sha256)
        final = await self._land(item, target, result.sha256)
        await self._finish(item, final, result.size, result.sha256, verified)

    async def _land(self, item: QueueItem, target: Target, sha: str) -> Path:
        # An identical file already under the final name: keep it, drop ours.
        if await self._same_file(target.final, sha, None):
            await asyncio.to_thread(partmeta.remove_part, target)
            return target.final
        _crash_point("before_rename")
        final = await asyncio.to_thread(partmeta.land, target)
        _crash_point("after_rename")
        with contextlib.suppress(FileNotFoundError):
            await asyncio.to_thread(os.unlink, target.meta)
        return final

    async def _finish(
        self, item: QueueItem, final: Path, size: int, sha: str | None, verified: bool
    ) -> None:
        # Only a model file gets sidecars: a version's Config `.yaml` or VAE would otherwise write
        # an empty card over the model's `<stem>.json`.
        if item.source == "civitai" and isinstance(item.meta.get("version_json"), dict):
            await write_sidecars(
                self._client(), final, item.meta, item.base_model, self.timeouts.headers
            )
        await self.store.record_landed(
            Landed(
                item.source, item.model_id, item.version_id, item.file_id, item.title, item.type,
                item.base_model, str(final), size, sha, verified,
            )
        )  # fmt: skip
        await self.store.clear_segments(item.id)
        await self._set_state(
            item.id,
            "done",
            final_path=str(final),
            verified=int(verified),
            bytes_done=size,
            expected_size=size,
        )

    async def _already_landed(self, item: QueueItem, target: Target) -> bool:
        """The file is already in place: an identical one exists, or a crash hit after the rename."""
        if not os.path.lexists(target.final):
            return False
        if item.sha256:
            if await self._same_file(target.final, item.sha256, item.expected_size):
                await asyncio.to_thread(partmeta.remove_part, target)
                await self._finish(
                    item, target.final, os.path.getsize(target.final), item.sha256, True
                )
                return True
            return False
        # Unverified: only trust it when our sidecar says the `.part` was renamed.
        meta = partmeta.read_meta(target.meta)
        size = os.path.getsize(target.final) if os.path.isfile(target.final) else -1
        if meta and partmeta.part_size(target) is None and size == meta.get("expected_size"):
            await asyncio.to_thread(partmeta.remove_part, target)
            await self._finish(item, target.final, size, None, False)
            return True
        return False

    async def _check_space(self, item: QueueItem, target: Target, done: int) -> None:
        """Refuse to start without room for this file's rest plus every running remainder."""
        size = item.expected_size or item.meta.get("size_hint")
        if not isinstance(size, int):
            return
        need = max(0, size - done)
        for other_id, job in self._jobs.items():
            if other_id != item.id and job.total is not None:
                need += max(0, job.total - job.received)
        folder = target.directory
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        free = int(self._disk_usage(str(folder)).free)
        if need > free:
            raise errors.DiskSpaceError(
                "engine.disk_space",
                need=human_size(need),
                free=human_size(free),
                name=item.file_name,
            )

    def _meta_for(self, item: QueueItem, segments: list[Segment]) -> dict[str, Any]:
        return {
            "source": item.source,
            "dedupe_key": item.dedupe_key,
            "model_id": item.model_id,
            "version_id": item.version_id,
            "file_id": item.file_id,
            "title": item.title,
            "file_name": item.file_name,
            "type": item.type,
            "base_model": item.base_model,
            "url": redact_url(item.url),
            "expected_size": item.expected_size,
            "sha256": item.sha256,
            "etag": item.etag,
            "ranges": [[s.start, s.end, s.done] for s in segments],
            "meta": item.meta,
        }

    # -- startup reconciliation ----------------------------------------------------------

    async def _reconcile(self) -> None:
        """Rows a crash left running go back in line; orphan `.part.json` files are re-queued."""
        for item in await self.store.in_states("running", "verifying"):
            if item.id not in self._tasks:
                await self.store.set_state(item.id, "pending")
        known = {i.dedupe_key for i in await self.store.all()}
        found = await asyncio.to_thread(_find_part_metas, self.roots)
        for path, data in found:
            key = data.get("dedupe_key")
            if not isinstance(key, str) or key in known:
                continue
            await self._requeue_from_meta(path, data)
            known.add(key)

    async def _requeue_from_meta(self, path: Path, data: dict[str, Any]) -> None:
        name = path.name[: -len(partmeta.META_SUFFIX)]
        source = data.get("source")
        url = data.get("url")
        if source not in ("civitai", "huggingface") or not isinstance(url, str):
            return
        try:
            target = make_target(path.parent, name, self.roots)
        except UnsafePathError:
            return
        sha = data.get("sha256")
        size = data.get("expected_size")
        meta = data.get("meta") if isinstance(data.get("meta"), dict) else {}
        item_id = await self.store.insert(
            {
                "source": source,
                "dedupe_key": data["dedupe_key"],
                "model_id": _str_or_none(data.get("model_id")),
                "version_id": _str_or_none(data.get("version_id")),
                "file_id": _str_or_none(data.get("file_id")),
                "title": str(data.get("title") or name),
                "file_name": target.name,
                "type": str(data.get("type") or "Other"),
                "base_model": str(data.get("base_model") or ""),
                "url": redact_url(url),
                "target_dir": str(target.directory),
                "expected_size": size if isinstance(size, int) else None,
                "sha256": sha.lower() if isinstance(sha, str) and len(sha) == 64 else None,
                "etag": data.get("etag") if isinstance(data.get("etag"), str) else None,
                "state": "pending",
                "meta": meta,
            }
        )
        segs = []
        for r in data.get("ranges") or []:
            ok = isinstance(r, list) and len(r) == 3 and isinstance(r[1], int | None)
            if ok and isinstance(r[0], int) and isinstance(r[2], int):
                segs.append(Segment(r[0], r[1], r[2]))
        if segs:
            await self.store.save_progress(item_id, segs, data.get("etag"))
        self._emit(ItemAdded(item_id, str(data.get("title") or name), target.name))


def _env_proxies() -> bool:
    """True when the environment names an HTTP(S) proxy (httpx would use it)."""
    proxies = urllib.request.getproxies()
    return any(k in proxies for k in ("http", "https", "all"))


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _find_part_metas(roots: list[Path]) -> list[tuple[Path, dict[str, Any]]]:
    """Every readable `*.part.json` under the roots (symlinked folders not followed)."""
    out = []
    for root in roots:
        if not root.is_dir():
            continue
        for folder, _dirs, files in os.walk(root):
            for name in files:
                if name.endswith(partmeta.META_SUFFIX) and not name.startswith("."):
                    path = Path(folder) / name
                    data = partmeta.read_meta(path)
                    if data is not None:
                        out.append((path, data))
    return out
