"""Small fakes for UI tests: a Civitai client that records calls, an engine with listeners.

Each implements the protocol of `modella_tui.core.protocols` it stands in for; the module-level
assignments at the end make mypy prove it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from modella_tui.core.civitai.parse import VersionInfo
from modella_tui.core.config import Secret
from modella_tui.core.downloads.engine import AddResult, QueueRequest
from modella_tui.core.downloads.events import Event
from modella_tui.core.downloads.resolve import PlannedFile
from modella_tui.core.errors import AuthError, LibraryError, ModellaError, NotFoundError
from modella_tui.core.hub.browse import HubPick
from modella_tui.core.hub.search import HubSearchResult
from modella_tui.core.library_files import LibrarySnapshot, LocalFile, classify
from modella_tui.core.library_ops import DeletePlan
from modella_tui.core.models import (
    CivitaiFile,
    CivitaiModel,
    CivitaiStats,
    CivitaiVersion,
    HubFile,
    HubRepo,
    SearchPage,
)
from modella_tui.core.protocols import (
    CivitaiAPI,
    DownloadQueue,
    HubAPI,
    HubSearchAPI,
    LibraryStore,
    RefPlanner,
)
from modella_tui.core.refs import CivitaiRef, Ref
from modella_tui.core.scan import ScanListener, ScanProgress, ScanReport
from modella_tui.ui.services import EnqueueCivitai, EnqueueHub, HubQueued


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
    version_id: str | None = None
    file_id: str | None = None
    dedupe_key: str = ""
    target_dir: str = ""
    final_path: str | None = None
    finished_at: float | None = None


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
        start = 1000 + sum(len(args) for name, args in self.calls if name == "add") - len(reqs)
        return [AddResult("queued", start + n) for n in range(len(reqs))]

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


@dataclass
class EnqueuedHub:
    """Records the Hub files the app queued; `added` says how many the engine took."""

    calls: list[list[HubPick]] = field(default_factory=list)
    added: int | None = None

    async def __call__(self, picks: Sequence[HubPick]) -> HubQueued:
        self.calls.append(list(picks))
        return HubQueued(len(picks) if self.added is None else self.added, len(picks))


class FakeHubAPI:
    """Fixed repos; `gated` repos refuse access with the error given (no token by default)."""

    endpoint = "https://hub.example"

    def __init__(
        self,
        repos: dict[str, HubRepo] | None = None,
        *,
        gated: Mapping[str, ModellaError] | None = None,
        errors: Mapping[str, ModellaError] | None = None,
    ) -> None:
        self.repos = repos or {}
        self.gated = dict(gated or {})
        self.errors = dict(errors or {})
        self.asked: list[str] = []

    def model_page_url(self, repo: str) -> str:
        return f"{self.endpoint}/{repo}"

    async def repo_info(self, repo: str, revision: str = "main") -> HubRepo:
        self.asked.append(repo)
        await asyncio.sleep(0)
        if repo in self.errors:
            raise self.errors[repo]
        if repo not in self.repos:
            raise NotFoundError("hub.error.repo_not_found", repo=repo, endpoint=self.endpoint)
        return self.repos[repo]

    async def file_info(self, repo: str, path: str, revision: str = "main") -> HubFile:
        info = await self.repo_info(repo, revision)
        for f in info.files:
            if f.path == path:
                return f
        raise NotFoundError("hub.error.file_not_found", repo=repo, path=path)

    async def check_access(self, repo: str) -> None:
        if repo in self.gated:
            raise self.gated[repo]

    async def check_token(self) -> None:
        return None

    async def close(self) -> None:
        return None


@dataclass
class FakeHubSearch:
    """Answers every search with `results` (or raises `error`)."""

    results: list[HubSearchResult] = field(default_factory=list)
    error: ModellaError | None = None
    queries: list[str] = field(default_factory=list)

    async def search(self, query: str, limit: int = 50) -> list[HubSearchResult]:
        self.queries.append(query)
        await asyncio.sleep(0)
        if self.error is not None:
            raise self.error
        return list(self.results)

    async def aclose(self) -> None:
        return None


class FakeLibrary:
    """A library index in memory: `record` reads a file's size from disk when it exists (else
    `landing`); rename and delete change it in memory (nothing on disk)."""

    def __init__(self, root: Path | LibrarySnapshot, files: Iterable[LocalFile] = ()) -> None:
        if isinstance(root, LibrarySnapshot):
            self.root, files = root.root, root.files
            self.versions = root.versions
        else:
            self.root, self.versions = root, {}
        self.files = {f.path: f for f in files}
        self.landing: dict[str, LocalFile] = {}
        self.refreshes = 0
        self.snapshots = 0
        self.calls: list[tuple[str, Any]] = []

    @property
    def snap(self) -> LibrarySnapshot:
        """The index as a snapshot (no count, unlike `snapshot()`)."""
        return LibrarySnapshot(
            self.root, sorted(self.files.values(), key=lambda f: f.path), versions=self.versions
        )

    async def local_model_ids(self, source: str) -> set[str]:
        return {f.model_id for f in self.files.values() if f.source == source and f.model_id}

    async def refresh(self) -> LibrarySnapshot:
        self.refreshes += 1
        return await self.snapshot()

    async def snapshot(self) -> LibrarySnapshot:
        self.snapshots += 1
        await asyncio.sleep(0)
        return self.snap

    async def record(self, path: Path) -> LocalFile | None:
        entry = self.landing.get(str(path))
        if entry is None and path.is_file():
            entry = LocalFile(str(path), path.stat().st_size, 0.0, classify(path.name))
        if entry is not None:
            self.files[entry.path] = entry
        return entry

    async def forget(self, path: Path) -> None:
        self.files.pop(str(path), None)

    async def scan(self, progress: ScanListener | None = None) -> ScanReport:
        self.calls.append(("scan", None))
        count = len(self.files)
        if progress is not None:
            progress(ScanProgress("done", count, count))
        return ScanReport(self.snap)

    def stop_scan(self) -> None:
        self.calls.append(("stop_scan", None))

    def _file(self, path: Path) -> LocalFile:
        found = self.files.get(str(path))
        if found is None:
            raise LibraryError("library.error.gone", path=str(path))
        return found

    async def rename(self, path: Path, new_name: str, busy: Collection[str] = ()) -> Path:
        old = self._file(path)
        new = path.with_name(new_name)
        del self.files[old.path]
        self.files[str(new)] = replace(old, path=str(new))
        return new

    async def delete_plan(self, path: Path, busy: Collection[str] = ()) -> DeletePlan:
        f = self._file(path)
        # Other names of the same inode keep its bytes, as with the real index.
        links = sum(1 for o in self.files.values() if f.inode and o.inode == f.inode) - 1
        return DeletePlan(path, (), 0 if links > 0 else f.size, 0, max(0, links))

    async def delete(self, path: Path, busy: Collection[str] = ()) -> DeletePlan:
        plan = await self.delete_plan(path, busy)
        await self.forget(path)
        return plan


# mypy checks that each fake fits the protocol the app types its service with.
_civitai: CivitaiAPI = FakeCivitai()
_engine: DownloadQueue = FakeEngine()
_enqueue: EnqueueCivitai = Enqueued()


def planned_file(ref: str, name: str, *, sha256: str | None = None, **kw: Any) -> PlannedFile:
    """A resolved file of a Civitai (`civitai:M@V`) or Hub (`hf:org/repo/path`) REF."""
    if ref.startswith("hf:"):
        org, name_, path = ref[3:].split("/", 2)
        repo = f"{org}/{name_}"
        values: dict[str, Any] = {
            "source": "huggingface", "dedupe_key": f"hf:{repo}@main:{path}",
            "model_id": repo, "version_id": "main", "file_id": path, "type": "TextEncoder",
        }  # fmt: skip
    else:
        model, _, version = ref[len("civitai:") :].partition("@")
        file_id = kw.pop("file_id", f"{version}0")
        values = {
            "source": "civitai", "dedupe_key": f"civitai:file:{file_id}",
            "model_id": model, "version_id": version, "file_id": file_id, "type": "LORA",
        }  # fmt: skip
    values.update(
        title=name, file_name=name, base_model="", url="http://127.0.0.1:9/x",
        target_dir=Path("/models"), expected_size=1000, sha256=sha256,
    )  # fmt: skip
    values.update(kw)
    return PlannedFile(**values)


@dataclass
class FixedPlanner:
    """Resolves REFs from a table; the REFs in `gone` answer as Civitai does for an archived model."""

    files: dict[str, list[PlannedFile]] = field(default_factory=dict)
    gone: set[str] = field(default_factory=set)
    calls: list[str] = field(default_factory=list)

    async def __call__(
        self, ref: Ref, glob: str | None, skipped: list[ModellaError]
    ) -> list[PlannedFile]:
        key = ref.canonical()
        self.calls.append(key)
        await asyncio.sleep(0)
        if key in self.gone or key not in self.files:
            raise NotFoundError("civitai.error.gone")
        return list(self.files[key])


_planner: RefPlanner = FixedPlanner()
_enqueue_hub: EnqueueHub = EnqueuedHub()
_hub: HubAPI = FakeHubAPI()
_hub_search: HubSearchAPI = FakeHubSearch()
_library: LibraryStore = FakeLibrary(Path("/m"))
