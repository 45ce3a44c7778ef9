"""Small fakes for UI tests: a Civitai client that records calls, an engine with listeners.

Each implements the protocol of `modella_tui.core.protocols` it stands in for; the module-level
assignments at the end make mypy prove it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from modella_tui.core.civitai.parse import VersionInfo
from modella_tui.core.config import Secret
from modella_tui.core.downloads.engine import AddResult, QueueRequest
from modella_tui.core.downloads.events import Event
from modella_tui.core.errors import AuthError, LibraryError, ModellaError, NotFoundError
from modella_tui.core.library import LibrarySnapshot, LocalFile
from modella_tui.core.library_ops import DeletePlan
from modella_tui.core.models import (
    CivitaiFile,
    CivitaiModel,
    CivitaiStats,
    CivitaiVersion,
    SearchPage,
)
from modella_tui.core.protocols import CivitaiAPI, DownloadQueue, LibraryStore
from modella_tui.core.refs import CivitaiRef
from modella_tui.core.scan import ScanListener, ScanProgress, ScanReport
from modella_tui.ui.services import EnqueueCivitai


def make_model(i: int, name: str | None = None, **kw: Any) -> CivitaiModel:
    """A model with one version and one primary file."""
    version = CivitaiVersion(
        id=10_000 + i,
        name="v1",
        model_id=i,
        base_model="SDXL 1.0",
        trained_words=(f"word{i}",),
        files=(
            CivitaiFile(id=20_000 + i, name=f"model{i}.safetensors", primary=True, size_kb=1024),
        ),
    )
    base = CivitaiModel(
        id=i,
        name=name or f"Model {i}",
        type="LORA",
        description=f"<p>Description of <b>model {i}</b></p>",
        stats=CivitaiStats(downloads=1000 * i, likes=10 * i, rating=4.5),
        versions=(version,),
    )
    return replace(base, **kw)


class CivitaiLookups:
    """By-hash, by-REF and key checks over the models a fake serves through `model()`."""

    key: Secret | None = None

    async def model(self, model_id: int) -> CivitaiModel:
        raise NotImplementedError

    def known_ids(self) -> Iterable[int]:
        """The model ids a hash look-up searches."""
        return ()

    async def by_hash(self, file_hash: str) -> VersionInfo:
        for model_id in self.known_ids():
            model = await self.model(model_id)
            for version in model.versions:
                if any((f.sha256 or "") == file_hash.lower() for f in version.files):
                    return VersionInfo(version, model.id, model.name, model.type)
        raise NotFoundError("civitai.error.hash_not_found", hash=file_hash)

    async def resolve(self, ref: CivitaiRef) -> tuple[CivitaiModel, CivitaiVersion]:
        if ref.model_id is None:
            raise NotFoundError("civitai.error.version_not_found", id=ref.version_id)
        model = await self.model(ref.model_id)
        version = model.version(ref.version_id) if ref.version_id else model.latest
        if version is None:
            raise NotFoundError("civitai.error.version_not_found", id=ref.version_id)
        return model, version

    async def check_key(self) -> None:
        if not self.key:
            raise AuthError("civitai.error.auth_required", host="fake")

    def configure(self, base_url: str, api_key: Secret | None) -> None:
        self.key = api_key

    async def close(self) -> None:
        return None


@dataclass
class FakeCivitai(CivitaiLookups):
    """Pages of `per_page` models up to `total`; records each search's params."""

    total: int = 100
    per_page: int = 20
    searches: list[Any] = field(default_factory=list)
    error: ModellaError | None = None
    models: dict[int, CivitaiModel] = field(default_factory=dict)
    empty_pages: int = 0  # pages with no items (but a cursor) before the real ones

    async def search(self, params: Any) -> SearchPage:
        self.searches.append(params)
        await asyncio.sleep(0)
        if self.error is not None:
            raise self.error
        start = int(params.cursor or 0)
        if self.empty_pages and start < 0:
            pass
        if start == 0 and self.empty_pages:
            self.empty_pages -= 1
            return SearchPage((), "0")
        items = []
        for i in range(start + 1, min(self.total, start + self.per_page) + 1):
            items.append(self.models.get(i) or make_model(i))
        nxt = str(start + self.per_page) if start + self.per_page < self.total else None
        return SearchPage(tuple(items), nxt)

    async def model(self, model_id: int) -> CivitaiModel:
        return self.models.get(model_id) or make_model(model_id)

    def known_ids(self) -> Iterable[int]:
        return tuple(self.models) or range(1, self.total + 1)


@dataclass
class FakeItem:
    id: int
    title: str
    file_name: str
    state: str = "pending"
    bytes_done: int = 0
    expected_size: int | None = 1000
    model_id: str | None = None
    error: str | None = None
    error_params: dict[str, Any] = field(default_factory=dict)
    source: str = "civitai"
    target_dir: str = ""


class FakeEngine:
    """Items and a listener list; actions record what they were asked."""

    def __init__(self) -> None:
        self.listeners: list[Callable[[Event], None]] = []
        self._items: dict[int, FakeItem] = {}
        self.calls: list[tuple[str, Any]] = []

    def add_listener(self, callback: Callable[[Event], None]) -> None:
        self.listeners.append(callback)

    def reconfigure(
        self,
        *,
        models_dir: Path | None = None,
        max_parallel: int | None = None,
        connections_per_file: int | None = None,
    ) -> None:
        self.calls.append(("reconfigure", (models_dir, max_parallel, connections_per_file)))

    def remove_listener(self, callback: Callable[[Event], None]) -> None:
        self.listeners.remove(callback)

    def emit(self, event: Event) -> None:
        for listener in list(self.listeners):
            listener(event)

    def put(self, item: FakeItem) -> None:
        self._items[item.id] = item

    async def items(self) -> list[FakeItem]:
        return list(self._items.values())

    async def start(self) -> bool:
        self.calls.append(("start", None))
        return True

    async def add(self, reqs: list[QueueRequest]) -> list[AddResult]:
        self.calls.append(("add", reqs))
        return [AddResult("queued") for _ in reqs]

    async def stop(self) -> None:
        self.calls.append(("stop", None))

    async def pause(self, item_id: int) -> None:
        self.calls.append(("pause", item_id))
        self._items[item_id].state = "paused"

    async def resume(self, item_id: int) -> None:
        self.calls.append(("resume", item_id))
        self._items[item_id].state = "pending"

    async def cancel(self, item_id: int) -> None:
        self.calls.append(("cancel", item_id))
        self._items[item_id].state = "cancelled"

    async def retry(self, item_id: int) -> None:
        self.calls.append(("retry", item_id))

    async def clear_finished(self) -> None:
        self.calls.append(("clear_finished", None))
        for key in [k for k, v in self._items.items() if v.state in ("done", "cancelled")]:
            del self._items[key]


@dataclass
class Enqueued:
    calls: list[tuple[CivitaiModel, CivitaiVersion, list[CivitaiFile]]] = field(
        default_factory=list
    )

    async def __call__(
        self, model: CivitaiModel, version: CivitaiVersion, files: Sequence[CivitaiFile]
    ) -> int:
        self.calls.append((model, version, list(files)))
        return len(files)


class FakeLibrary:
    """A fixed snapshot; rename and delete change it in memory (nothing on disk)."""

    def __init__(self, snapshot: LibrarySnapshot) -> None:
        self.snap = snapshot
        self.calls: list[tuple[str, Any]] = []

    async def local_model_ids(self, source: str) -> set[str]:
        return set()  # what downloads recorded: none here

    async def refresh(self) -> LibrarySnapshot:
        return self.snap

    async def snapshot(self) -> LibrarySnapshot:
        return self.snap

    async def record(self, path: Path) -> LocalFile | None:
        return None

    async def forget(self, path: Path) -> None:
        self.snap.files = [f for f in self.snap.files if f.path != str(path)]

    async def scan(self, progress: ScanListener | None = None) -> ScanReport:
        self.calls.append(("scan", None))
        count = len(self.snap.files)
        if progress is not None:
            progress(ScanProgress("done", count, count))
        return ScanReport(self.snap)

    def stop_scan(self) -> None:
        self.calls.append(("stop_scan", None))

    def _file(self, path: Path) -> LocalFile:
        found = next((f for f in self.snap.files if f.path == str(path)), None)
        if found is None:
            raise LibraryError("library.error.gone", path=str(path))
        return found

    async def rename(self, path: Path, new_name: str, busy: Collection[str] = ()) -> Path:
        old = self._file(path)
        new = path.with_name(new_name)
        self.snap.files = [replace(f, path=str(new)) if f is old else f for f in self.snap.files]
        return new

    async def delete_plan(self, path: Path, busy: Collection[str] = ()) -> DeletePlan:
        return DeletePlan(path, (), self._file(path).size, 0)

    async def delete(self, path: Path, busy: Collection[str] = ()) -> DeletePlan:
        plan = await self.delete_plan(path, busy)
        await self.forget(path)
        return plan


# mypy checks that each fake fits the protocol the app types its service with.
_civitai: CivitaiAPI = FakeCivitai()
_engine: DownloadQueue = FakeEngine()
_enqueue: EnqueueCivitai = Enqueued()
_library: LibraryStore = FakeLibrary(LibrarySnapshot(Path("/m")))
