"""The real services for `modella`: database, Civitai client, engine (deferred imports)."""

from __future__ import annotations

from collections.abc import Sequence

from modella_tui.core import paths
from modella_tui.core.config import Settings
from modella_tui.core.models import CivitaiFile, CivitaiModel, CivitaiVersion
from modella_tui.ui.services import Services


def build_services(settings: Settings) -> Services:
    """Construct (not yet open) everything the app talks to; the App opens it in `on_mount`."""
    from modella_tui.core.civitai.client import CivitaiClient
    from modella_tui.core.downloads.engine import DownloadEngine, QueueRequest
    from modella_tui.core.downloads.resolve import placement_for, plan_civitai
    from modella_tui.core.store.cache import ResponseCache
    from modella_tui.core.store.db import Database

    db = Database(paths.data_dir() / "modella.db")
    ttl = int(settings.get("cache_minutes")) * 60
    civitai = CivitaiClient(
        settings.civitai_url, settings.civitai_key, ResponseCache(db), cache_ttl=ttl
    )
    engine = DownloadEngine(
        db,
        models_dir=settings.models_dir,
        max_parallel=int(settings.get("max_parallel")),
        connections_per_file=int(settings.get("connections_per_file")),
        # The client adds the key only for its own API origin, never for the storage redirect.
        auth_headers=civitai.headers_for,
    )

    async def enqueue_civitai(
        model: CivitaiModel, version: CivitaiVersion, files: Sequence[CivitaiFile]
    ) -> int:
        """Plan the files (placement, sidecar metadata) and hand them to the engine."""
        place = placement_for(settings.models_dir, str(settings.get("layout")), None)
        planned = plan_civitai(
            model, version, list(files), base_url=settings.civitai_url, place=place
        )
        requests = [
            QueueRequest(
                source=p.source,
                dedupe_key=p.dedupe_key,
                title=p.title,
                file_name=p.file_name,
                type=p.type,
                base_model=p.base_model,
                url=p.url,
                target_dir=p.target_dir,
                sha256=p.sha256,
                model_id=p.model_id,
                version_id=p.version_id,
                file_id=p.file_id,
                meta=p.meta,
                allow_pickle=p.is_pickle,  # the UI asked the user before calling this
                size_hint=p.expected_size,
            )
            for p in planned
        ]
        results = await engine.add(requests)
        return sum(1 for r in results if r.status in ("queued", "requeued"))

    return Services(
        settings=settings, db=db, civitai=civitai, engine=engine, enqueue_civitai=enqueue_civitai
    )
