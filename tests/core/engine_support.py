"""Shared builders for the engine tests (fake hub requests, a fast engine)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from modella_tui.core.downloads.engine import DownloadEngine, QueueRequest
from modella_tui.core.downloads.transfer import Timeouts
from modella_tui.core.store.db import Database
from tests.fakes.catalog import KIB, CModel
from tests.fakes.fakehub import FakeHub


class FakeSleep:
    """Records backoff delays and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0)


def civitai_request(
    hub: FakeHub, model: CModel, target_dir: Path, **overrides: Any
) -> QueueRequest:
    """A resolved Civitai request for a model's primary file, as the resolver would build it."""
    version = model.versions[0]
    f = version.files[0]
    values: dict[str, Any] = {
        "source": "civitai",
        "dedupe_key": f"civitai:file:{f.id}",
        "title": model.name,
        "file_name": f.name,
        "type": model.type,
        "base_model": version.base_model,
        "url": hub.civitai_file_url(version.id),
        "target_dir": target_dir,
        "expected_size": f.blob.size,
        "sha256": f.blob.sha256,
        "model_id": str(model.id),
        "version_id": str(version.id),
        "file_id": str(f.id),
        "meta": {
            "version_json": {"id": version.id, "name": version.name},
            "preview_url": f"{hub.cdn_url}/images/{model.id}.png",
            "trained_words": ["alpha", "beta gamma"],
            "description": "A test model.",
        },
    }
    values.update(overrides)
    return QueueRequest(**values)


def simple_model(hub: FakeHub, name: str, size: int = 256 * KIB, **kw: Any) -> CModel:
    """Add a one-file model to the running hub's catalog."""
    return hub.catalog.add_simple_model(name, size=size, **kw)


def make_engine(db: Database, models: Path, **kw: Any) -> DownloadEngine:
    """An engine with test-speed timeouts, checkpoints and polling."""
    kw.setdefault("timeouts", Timeouts(headers=0.5, idle=0.5))
    kw.setdefault("checkpoint_interval", 0.05)
    kw.setdefault("sync_interval", 0.05)
    kw.setdefault("poll_interval", 0.05)
    kw.setdefault("sleep", FakeSleep())
    kw.setdefault("lease_ttl", 2.0)
    return DownloadEngine(db, models_dir=models, **kw)
