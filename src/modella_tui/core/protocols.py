"""What the app and the CLI use of the core's services, as protocols mypy can check.

The concrete classes (`DownloadEngine`, `LibraryStore`, `CivitaiClient`, `HubClient`) satisfy these
structurally; the UI's test fakes implement the same protocols, so a change to the engine's API
breaks type-checking, not a running app. See docs/architecture.md for the layers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from modella_tui.core.downloads.events import Event
from modella_tui.core.models import CivitaiModel, CivitaiVersion, HubFile, HubRepo, SearchPage

if TYPE_CHECKING:
    from modella_tui.core.civitai.client import SearchParams
    from modella_tui.core.civitai.parse import VersionInfo
    from modella_tui.core.config import Secret
    from modella_tui.core.downloads.engine import AddResult, QueueRequest
    from modella_tui.core.downloads.resolve import PlannedFile
    from modella_tui.core.errors import ModellaError
    from modella_tui.core.hub.search import HubSearchResult
    from modella_tui.core.library_files import LibrarySnapshot, LocalFile
    from modella_tui.core.library_ops import DeletePlan
    from modella_tui.core.listfile import ListEntry
    from modella_tui.core.lists import AddReport, LandedFile, ListInfo, ListItem
    from modella_tui.core.refs import CivitaiRef, Ref
    from modella_tui.core.scan import ScanListener, ScanReport


class QueueItemView(Protocol):
    """One queue row as screens read it (`core.store.queue.QueueItem` is the real one)."""

    @property
    def id(self) -> int:
        """The row id."""
        ...

    @property
    def title(self) -> str:
        """The model's (or repo's) display name."""
        ...

    @property
    def file_name(self) -> str:
        """The safe base name it lands as."""
        ...

    @property
    def target_dir(self) -> str:
        """The absolute folder it lands in (its `.part` is written there too)."""
        ...

    @property
    def state(self) -> str:
        """pending, running, verifying, done, failed, cancelled or paused."""
        ...

    @property
    def bytes_done(self) -> int:
        """Bytes on disk so far."""
        ...

    @property
    def expected_size(self) -> int | None:
        """Exact size when known."""
        ...

    @property
    def model_id(self) -> str | None:
        """Civitai model id or Hub repo id."""
        ...

    @property
    def source(self) -> str:
        """civitai or huggingface."""
        ...

    @property
    def version_id(self) -> str | None:
        """Civitai version id or Hub revision."""
        ...

    @property
    def file_id(self) -> str | None:
        """Civitai file id or the path in the Hub repo."""
        ...

    @property
    def dedupe_key(self) -> str:
        """`civitai:file:<id>` or `hf:<repo>@<rev>:<path>`: one file, whoever queued it."""
        ...

    @property
    def error(self) -> str | None:
        """Locale key of the failure or pause reason."""
        ...

    @property
    def error_params(self) -> Mapping[str, Any]:
        """Parameters of that key."""
        ...

    @property
    def final_path(self) -> str | None:
        """Where it landed, once done."""
        ...

    @property
    def finished_at(self) -> float | None:
        """When it ended (done, failed or cancelled), as a unix time."""
        ...


EventListener = Callable[[Event], None]


class DownloadQueue(Protocol):
    """The download engine as the app drives it (`core.downloads.engine.DownloadEngine`)."""

    async def start(self) -> bool:
        """Work the queue (True) or watch another process work it (False)."""
        ...

    async def stop(self) -> None:
        """Stop; running items go back to pending with their partial files kept."""
        ...

    async def add(self, reqs: list[QueueRequest]) -> list[AddResult]:
        """Queue resolved files."""
        ...

    async def items(self) -> Sequence[QueueItemView]:
        """Every queue row, oldest first."""
        ...

    async def pause(self, item_id: int) -> None:
        """Pause one item (its partial file is kept)."""
        ...

    async def resume(self, item_id: int) -> None:
        """Put a paused item back in line."""
        ...

    async def cancel(self, item_id: int) -> None:
        """Cancel one item (its partial file is removed)."""
        ...

    async def retry(self, item_id: int) -> None:
        """Try a failed or cancelled item again."""
        ...

    async def clear_finished(self) -> None:
        """Remove done, failed and cancelled rows."""
        ...

    def reconfigure(
        self,
        *,
        models_dir: Path | None = None,
        max_parallel: int | None = None,
        connections_per_file: int | None = None,
    ) -> None:
        """Apply changed settings to the running engine."""
        ...

    def add_listener(self, callback: EventListener) -> None:
        """Call `callback(event)` for every engine event."""
        ...

    def remove_listener(self, callback: EventListener) -> None:
        """Stop calling `callback`."""
        ...


class CivitaiAPI(Protocol):
    """The Civitai client as the app uses it (`core.civitai.client.CivitaiClient`)."""

    async def search(self, params: SearchParams) -> SearchPage:
        """One page of `/api/v1/models`."""
        ...

    async def model(self, model_id: int) -> CivitaiModel:
        """One model with all its versions."""
        ...

    async def by_hash(self, file_hash: str) -> VersionInfo:
        """The version holding a file with this hash."""
        ...

    async def resolve(self, ref: CivitaiRef) -> tuple[CivitaiModel, CivitaiVersion]:
        """The model and version a REF means."""
        ...

    async def check_key(self) -> None:
        """Raise an AuthError unless the key works."""
        ...

    def configure(self, base_url: str, api_key: Secret | None) -> None:
        """Use another host or key from the next request on (settings changed)."""
        ...

    async def close(self) -> None:
        """Close the HTTP client."""
        ...


class HubAPI(Protocol):
    """The Hugging Face client as the app uses it (`core.hub.client.HubClient`)."""

    @property
    def endpoint(self) -> str:
        """The Hub's base URL now (`HF_ENDPOINT`)."""
        ...

    def model_page_url(self, repo: str) -> str:
        """The repo's page, where a gated licence is accepted."""
        ...

    async def repo_info(self, repo: str, revision: str = "main") -> HubRepo:
        """A repo's commit, gating and files with sizes and LFS SHA256."""
        ...

    async def file_info(self, repo: str, path: str, revision: str = "main") -> HubFile:
        """One file's size and SHA256; checks access too."""
        ...

    async def check_access(self, repo: str) -> None:
        """Raise an AuthError when the token in use may not download this (gated) repo."""
        ...

    async def check_token(self) -> None:
        """Raise an AuthError unless the token works."""
        ...

    async def close(self) -> None:
        """Close the HTTP client."""
        ...


class HubSearchAPI(Protocol):
    """Finding repos on the Hub (`core.hub.search.HubSearch`)."""

    async def search(self, query: str, limit: int = ...) -> list[HubSearchResult]:
        """Repos matching `query`, image-generation ones first."""
        ...

    async def aclose(self) -> None:
        """Close the HTTP client."""
        ...


class LibraryStore(Protocol):
    """The models folder as indexed (`core.library.LibraryIndex`); no screen runs SQL itself."""

    async def local_model_ids(self, source: str) -> set[str]:
        """Model ids (Civitai ids, Hub repos) with at least one landed file."""
        ...

    async def refresh(self) -> LibrarySnapshot:
        """Walk the folder (sizes only) and store what is there."""
        ...

    async def snapshot(self) -> LibrarySnapshot:
        """What the last refresh stored, without walking."""
        ...

    async def record(self, path: Path) -> LocalFile | None:
        """Index one file that appeared or changed."""
        ...

    async def forget(self, path: Path) -> None:
        """Drop one file that is gone."""
        ...

    async def scan(self, progress: ScanListener | None = None) -> ScanReport:
        """Sizes, then each file's SHA256 once, identities, headers and newer versions."""
        ...

    def stop_scan(self) -> None:
        """Stop a running scan soon, keeping what it learned."""
        ...

    async def rename(self, path: Path, new_name: str, busy: Collection[str] = ()) -> Path:
        """Rename a file with its sidecars (checked, no-clobber); the new path."""
        ...

    async def delete_plan(self, path: Path, busy: Collection[str] = ()) -> DeletePlan:
        """What deleting a file would remove and free; raises LibraryError when refused."""
        ...

    async def delete(self, path: Path, busy: Collection[str] = ()) -> DeletePlan:
        """Delete a file and its sidecars; what was removed."""
        ...


class ImageCache(Protocol):
    """Thumbnails for the detail pane (`core.thumbnails.Thumbnails`)."""

    async def fetch(self, url: str) -> Path | None:
        """The cached small rendition of an image URL, or None when there is none."""
        ...

    def forget_failures(self) -> None:
        """Ask again for URLs that failed before."""
        ...

    async def aclose(self) -> None:
        """Close the HTTP client."""
        ...


class RefPlanner(Protocol):
    """Resolve a REF (with an optional file glob) to the files to download, placed by the settings
    of the moment; files of a many-file REF that cannot be had go to `skipped`."""

    def __call__(
        self, ref: Ref, glob: str | None, skipped: list[ModellaError]
    ) -> Awaitable[list[PlannedFile]]:
        """The planned files of one REF."""
        ...


class ListCatalog(Protocol):
    """Named lists and what downloads recorded (`core.lists.ListStore`)."""

    async def lists(self) -> list[ListInfo]:
        """Every list with its item count, by name."""
        ...

    async def find(self, name: str) -> ListInfo | None:
        """The list of that name (case aside), if any."""
        ...

    async def create(self, name: str) -> ListInfo:
        """A new, empty list."""
        ...

    async def rename(self, old: str, new: str) -> ListInfo:
        """Give a list another name."""
        ...

    async def delete(self, name: str) -> ListInfo:
        """Delete a list and its items (never a file)."""
        ...

    async def last_used(self) -> str | None:
        """The list something was last added to."""
        ...

    async def items(self, name: str) -> list[ListItem]:
        """The items of a list, oldest first."""
        ...

    async def all_items(self) -> dict[str, list[ListItem]]:
        """Every list's items, by list name."""
        ...

    async def add_items(
        self, name: str, entries: Sequence[ListEntry], *, create: bool = False
    ) -> AddReport:
        """Add entries (all or none); `create` makes a missing list."""
        ...

    async def remove_item(self, item_id: int) -> None:
        """Take one item off its list."""
        ...

    async def landed(self) -> list[LandedFile]:
        """Every file downloads recorded."""
        ...

    async def forget_landed(self, paths: Iterable[Path]) -> None:
        """Drop the records of removed files."""
        ...
