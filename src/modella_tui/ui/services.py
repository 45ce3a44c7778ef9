"""What the app talks to, gathered in one object so tests inject fakes."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from modella_tui.core.config import Settings
from modella_tui.core.models import CivitaiFile, CivitaiModel, CivitaiVersion, SearchPage

T = TypeVar("T")
log = logging.getLogger("modella.ui")


class CivitaiLike(Protocol):
    """The part of `CivitaiClient` the app uses."""

    async def search(self, params: Any) -> SearchPage:
        """One page of `/api/v1/models`."""
        ...

    async def model(self, model_id: int) -> CivitaiModel:
        """One model with all its versions."""
        ...


class EnqueueCivitai(Protocol):
    """Queue Civitai files; returns how many were added (duplicates are skipped by the engine)."""

    def __call__(
        self, model: CivitaiModel, version: CivitaiVersion, files: Sequence[CivitaiFile]
    ) -> Awaitable[int]:
        """Queue `files` of `version` of `model`."""
        ...


class ThumbnailsLike(Protocol):
    """The part of `core.thumbnails.Thumbnails` the detail pane uses."""

    async def fetch(self, url: str) -> Path | None:
        """The cached small rendition of an image URL, or None when there is none."""
        ...

    def forget_failures(self) -> None:
        """Ask again for URLs that failed before."""
        ...


KeyCheck = Callable[[str], Awaitable[None]]
"""Checks the key named `civitai` or `hf` against its API; raises a ModellaError when refused."""


@dataclass
class Services:
    """Everything the screens use; each may be None where a test or a platform lacks it."""

    settings: Settings
    db: Any = None
    civitai: CivitaiLike | None = None
    hub: Any = None
    engine: Any = None  # DownloadEngine: add/start/stop/pause/resume/cancel/retry/items/subscribe
    catalogue: Any = None
    enqueue_civitai: EnqueueCivitai | None = None
    check_key: KeyCheck | None = None
    thumbnails: ThumbnailsLike | None = None  # None: no image previews (tests, snapshots)

    async def start(self) -> None:
        """Open the database and start the engine (the App calls this in `on_mount`)."""
        if self.db is not None and getattr(self.db, "conn", True) is None:
            await self.db.open()
        if self.engine is not None and hasattr(self.engine, "start"):
            await maybe_await(self.engine.start())

    async def aclose(self) -> None:
        """Stop the engine, close clients, then the database (an open aiosqlite hangs exit)."""
        closing = (
            (self.engine, "stop"),
            (self.civitai, "close"),
            (self.hub, "close"),
            (self.thumbnails, "aclose"),
        )
        for obj, name in closing:
            method = getattr(obj, name, None) if obj is not None else None
            if method is not None:
                try:
                    await maybe_await(method())
                except Exception:  # closing must go on whatever one part says
                    log.exception("closing %s failed", name)
        if self.db is not None and hasattr(self.db, "close"):
            await self.db.close()


async def maybe_await(value: T | Awaitable[T]) -> T:
    """Await `value` if the engine method returned a coroutine (its API may be sync or async)."""
    if inspect.isawaitable(value):
        return await value
    return value
