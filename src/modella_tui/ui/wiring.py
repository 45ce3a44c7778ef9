"""The real services for `modella`: database, Civitai and Hub clients, engine (deferred imports)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from modella_tui.core import paths
from modella_tui.core.config import Settings
from modella_tui.core.downloads.events import Event, SidecarsWritten, StateChanged
from modella_tui.core.errors import NotFoundError, UsageError
from modella_tui.core.models import CivitaiFile, CivitaiModel, CivitaiVersion
from modella_tui.ui.services import EnqueueHub, HubQueued, KeyCheck, Services

if TYPE_CHECKING:
    from modella_tui.core.downloads.engine import DownloadEngine
    from modella_tui.core.downloads.resolve import PlannedFile
    from modella_tui.core.hub.browse import HubPick
    from modella_tui.core.library import LibraryIndex
    from modella_tui.core.protocols import CivitaiAPI, DownloadQueue, HubAPI


def build_services(settings: Settings) -> Services:
    """Construct (not yet open) everything the app talks to; the App opens it in `on_mount`."""
    from modella_tui.core.civitai.client import CivitaiClient
    from modella_tui.core.downloads.auth import download_auth
    from modella_tui.core.downloads.engine import DownloadEngine
    from modella_tui.core.downloads.resolve import placement_for, plan_civitai
    from modella_tui.core.hub.client import HubClient
    from modella_tui.core.hub.packages import load_catalogue
    from modella_tui.core.hub.search import HubSearch
    from modella_tui.core.library import LibraryIndex
    from modella_tui.core.lists import ListStore
    from modella_tui.core.provision import make_planner
    from modella_tui.core.store.cache import ResponseCache
    from modella_tui.core.store.db import Database
    from modella_tui.core.thumbnails import Thumbnails

    db = Database(paths.data_dir() / "modella.db")
    ttl = int(settings.get("cache_minutes")) * 60
    civitai = CivitaiClient(
        settings.civitai_url, settings.civitai_key, ResponseCache(db), cache_ttl=ttl
    )
    hub = HubClient(settings)
    engine = DownloadEngine(
        db,
        models_dir=settings.models_dir,
        max_parallel=int(settings.get("max_parallel")),
        connections_per_file=int(settings.get("connections_per_file")),
        auth_headers=download_auth(civitai, hub),
    )
    library = LibraryIndex(db, lambda: settings.models_dir, civitai=civitai)
    index_landed_files(engine, library)

    async def enqueue_civitai(
        model: CivitaiModel, version: CivitaiVersion, files: Sequence[CivitaiFile]
    ) -> int:
        """Plan the files (placement, sidecar metadata) and hand them to the engine."""
        place = placement_for(settings.models_dir, str(settings.get("layout")), None)
        planned = plan_civitai(
            model, version, list(files), base_url=settings.civitai_url, place=place
        )
        # The UI asked the user before queueing a pickle file.
        requests = [p.to_request(allow_pickle=p.is_pickle) for p in planned]
        results = await engine.add(requests)
        return sum(1 for r in results if r.status in ("queued", "requeued"))

    async def setting_changed(key: str) -> None:
        """Apply a changed setting to the running clients (the Hub client reads its token live)."""
        if key in ("civitai.api_key", "civitai.url"):
            civitai.configure(settings.civitai_url, settings.civitai_key)
        elif key == "models_dir":
            engine.reconfigure(models_dir=settings.models_dir)
        elif key in ("max_parallel", "connections_per_file"):
            engine.reconfigure(
                max_parallel=int(settings.get("max_parallel")),
                connections_per_file=int(settings.get("connections_per_file")),
            )
        elif key == "cache_minutes":
            civitai.cache_ttl = 60.0 * int(settings.get("cache_minutes"))

    planner = make_planner(
        civitai,
        hub,
        load_catalogue(),
        lambda: placement_for(settings.models_dir, str(settings.get("layout")), None),
    )

    return Services(
        settings=settings,
        db=db,
        civitai=civitai,
        hub=hub,
        hub_search=HubSearch(lambda: hub.endpoint, hub.auth_headers),
        engine=engine,
        library=library,
        enqueue_civitai=enqueue_civitai,
        enqueue_hub=hub_enqueuer(settings, hub, engine),
        check_key=key_checker(civitai, hub),
        thumbnails=Thumbnails(),  # its own client: image requests never carry a key
        on_setting=setting_changed,
        lists=ListStore(db),
        plan_ref=planner,
    )


def hub_enqueuer(settings: Settings, hub: HubAPI, engine: DownloadQueue) -> EnqueueHub:
    """`enqueue_hub`: each file's size and SHA256 read fresh from the Hub (the tree's sizes may
    be a day old), planned into the folder of its type, and handed to the engine."""
    from modella_tui.core.downloads.resolve import placement_for, plan_hub

    async def enqueue(picks: Sequence[HubPick]) -> HubQueued:
        place = placement_for(settings.models_dir, str(settings.get("layout")), None)
        planned: list[PlannedFile] = []
        skipped: list[NotFoundError | UsageError] = []
        for pick in picks:
            try:
                info = await hub.file_info(pick.repo, pick.path, pick.revision)
                planned += plan_hub(
                    [(info, pick.type)],
                    endpoint=hub.endpoint,
                    place=place,
                    title=pick.title or None,
                    base_model=pick.base_model,
                )
            except (NotFoundError, UsageError) as exc:
                # A file gone from the repo, or a hostile path: the others still go.
                skipped.append(exc)
        # The screen asked the user before it passed a pickle file on.
        results = await engine.add([p.to_request(allow_pickle=p.is_pickle) for p in planned])
        added = sum(1 for r in results if r.status in ("queued", "requeued"))
        return HubQueued(added=added, wanted=len(picks), skipped=tuple(skipped))

    return enqueue


def index_landed_files(engine: DownloadEngine, library: LibraryIndex) -> None:
    """Each file that lands enters the library index at once (no walk of the whole folder)."""
    pending: set[asyncio.Task[None]] = set()

    async def record(item_id: int) -> None:
        item = await engine.store.get(item_id)
        if item is not None and item.final_path:
            await library.record(Path(item.final_path))

    async def record_sidecars(model: Path) -> None:
        from modella_tui.core.library_ops import sidecars_of

        for path in await asyncio.to_thread(sidecars_of, model):
            await library.record(path)

    def on_event(event: Event) -> None:
        if isinstance(event, StateChanged) and event.state == "done":
            work = record(event.item_id)
        elif isinstance(event, SidecarsWritten):
            work = record_sidecars(Path(event.path))  # written a moment after the landing
        else:
            return
        task = asyncio.get_running_loop().create_task(work)
        pending.add(task)
        task.add_done_callback(pending.discard)

    engine.add_listener(on_event)


def key_checker(civitai: CivitaiAPI, hub: HubAPI) -> KeyCheck:
    """Settings' "test": ask the API whether the key (`civitai`) or token (`hf`) works."""

    async def check(which: str) -> None:
        if which == "civitai":
            await civitai.check_key()
            return
        await hub.check_token()

    return check
