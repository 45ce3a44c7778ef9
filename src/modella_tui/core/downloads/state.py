"""What every part of the download engine shares: settings, seams, running tasks, events."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import stat
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import httpx

from modella_tui.core.downloads import partmeta
from modella_tui.core.downloads.checkpoints import read_boot_id
from modella_tui.core.downloads.events import Event, StateChanged
from modella_tui.core.downloads.job import MULTI_MIN, Job
from modella_tui.core.downloads.lease import LEASE_TTL, Lease
from modella_tui.core.downloads.threadhttp import make_client
from modella_tui.core.downloads.transfer import Timeouts
from modella_tui.core.downloads.verify import sha256_file
from modella_tui.core.store.db import Database
from modella_tui.core.store.queue import QueueItem, QueueStore, Segment

log = logging.getLogger("modella_tui.core.downloads.engine")
PART_KEY_NAME = "part-key"

CrashHook = Callable[[str], None]


def no_crash(point: str) -> None:
    """The production crash hook: nothing happens at any point."""


class EngineState:
    """The engine's state and seams; the admission, landing and recovery parts build on it."""

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
        crash_hook: CrashHook | None = None,
        boot_id: str | None = None,
        fsync: Callable[[int], None] | None = None,
        folder_ok: Callable[[Path], bool] | None = None,
        recheck_interval: float = 5.0,
    ) -> None:
        self.db = db
        self.store = QueueStore(db, wall_clock)
        self.models_dir = Path(os.path.abspath(models_dir))
        self.extra_roots = [Path(os.path.abspath(r)) for r in extra_roots]
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
        # Test seam: a subprocess test passes a hook that kills the process at a named point.
        self._crash = crash_hook or no_crash
        # Which boot wrote unsynced ranges decides whether a resume may trust them.
        self.boot_id = read_boot_id() if boot_id is None else boot_id
        self._fsync = fsync
        # Signs the `.part.json` files this installation writes (kept beside the database).
        self.key_path = Path(db.path).parent / PART_KEY_NAME
        self._meta_key: bytes | None = None
        self._orphans: list[Path] = []
        # A folder that cannot take files: root -> (reason, params); see waiting.py.
        self._blocked: dict[Path, tuple[str, dict[str, Any]]] = {}
        self._folder_check = folder_ok
        self.recheck_interval = recheck_interval
        self._former_roots: list[Path] = []  # earlier models folders (see reconfigure)
        self.lease = Lease(db, ttl=lease_ttl, clock=wall_clock)
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._jobs: dict[int, Job] = {}
        self._stop_reason: dict[int, str] = {}
        self._known: dict[int, tuple[str, int]] = {}
        self._listeners: list[Callable[[Event], None]] = []
        self._wake = asyncio.Event()
        self._changed = asyncio.Event()  # any state change: run_until_idle re-checks at once
        self._speed: dict[int, tuple[float, int, float]] = {}  # id -> (time, done, speed)
        self._main: asyncio.Task[None] | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._started = False
        self._add_lock = asyncio.Lock()  # concurrent add() calls must not race on dedupe
        self._side_tasks: set[asyncio.Task[None]] = set()  # sidecars being written
        # item id -> the next item it claimed when it finished (started when its task ends)
        self._handover: dict[int, tuple[QueueItem, list[Segment]]] = {}
        self._stopping = False
        self._previews: dict[int, asyncio.Future[bytes | None]] = {}  # fetched beside a download

    def _start_item(self, item: QueueItem, segments: list[Segment], *, checked: bool) -> None:
        raise NotImplementedError  # DownloadEngine starts items

    def _may_hand_over(self) -> bool:
        """Whether a finishing item may claim the next one (its slot stays taken, see _finish)."""
        return self.lease.held and not self._stopping and len(self._tasks) <= self.max_parallel

    def _key(self) -> bytes:
        if self._meta_key is None:
            self._meta_key = partmeta.load_key(self.key_path)
        return self._meta_key

    @property
    def roots(self) -> list[Path]:
        """Where new items may be placed: the models folder and the allow-listed extras."""
        return [self.models_dir, *self.extra_roots]

    def _all_roots(self) -> list[Path]:
        """Where items already queued may be written: also the models folders used before."""
        return [*self.roots, *self._former_roots]

    def _emit(self, event: Event) -> None:
        if isinstance(event, StateChanged):
            self._changed.set()
        for cb in list(self._listeners):
            try:
                cb(event)
            except Exception:
                log.exception("event listener failed")

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
            self._state_changed(item_id, state, key, params)
        return moved

    def _state_changed(
        self, item_id: int, state: str, key: str | None, params: dict[str, Any] | None
    ) -> None:
        done = self._known.get(item_id, ("", 0))[1]
        self._known[item_id] = (state, done)
        self._emit(StateChanged(item_id, state, key, dict(params or {})))

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

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = make_client()
        return self._http
