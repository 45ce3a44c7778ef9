"""What the app talks to, gathered in one object so tests inject fakes; typed by `core.protocols`."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from modella_tui.core.config import Settings
from modella_tui.core.errors import ModellaError
from modella_tui.core.models import CivitaiFile, CivitaiModel, CivitaiVersion
from modella_tui.core.protocols import (
    CivitaiAPI,
    DownloadQueue,
    HubAPI,
    HubSearchAPI,
    ImageCache,
    LibraryStore,
    ListCatalog,
    RefPlanner,
)

if TYPE_CHECKING:
    from modella_tui.core.hub.browse import HubPick
    from modella_tui.core.store.db import Database

log = logging.getLogger("modella.ui")


class EnqueueCivitai(Protocol):
    """Queue Civitai files; returns how many were added (duplicates are skipped by the engine)."""

    def __call__(
        self, model: CivitaiModel, version: CivitaiVersion, files: Sequence[CivitaiFile]
    ) -> Awaitable[int]:
        """Queue `files` of `version` of `model`."""
        ...


@dataclass(frozen=True)
class HubQueued:
    """What queueing Hub files did: files added, files asked for, files that could not be had."""

    added: int
    wanted: int
    skipped: tuple[ModellaError, ...] = ()


class EnqueueHub(Protocol):
    """Queue Hub files: each file's size and SHA256 are read fresh from the Hub, then planned."""

    def __call__(self, picks: Sequence[HubPick]) -> Awaitable[HubQueued]:
        """Queue `picks` (pickle formats only after the user said yes)."""
        ...


KeyCheck = Callable[[str], Awaitable[None]]
"""Checks the key named `civitai` or `hf` against its API; raises a ModellaError when refused."""

SettingsListener = Callable[[str], Awaitable[None]]
"""Called with a setting's key after the user changed it, so the services apply it at once."""


@dataclass
class Services:
    """Everything the screens use; each may be None where a test or a platform lacks it."""

    settings: Settings
    db: Database | None = None
    civitai: CivitaiAPI | None = None
    hub: HubAPI | None = None
    hub_search: HubSearchAPI | None = None
    engine: DownloadQueue | None = None
    library: LibraryStore | None = None
    enqueue_civitai: EnqueueCivitai | None = None
    enqueue_hub: EnqueueHub | None = None
    check_key: KeyCheck | None = None
    thumbnails: ImageCache | None = None  # None: no image previews (tests, snapshots)
    on_setting: SettingsListener | None = None
    lists: ListCatalog | None = None
    plan_ref: RefPlanner | None = None
    """Resolves a list item's REF to the files it means (placed by the settings of the moment)."""

    async def start(self) -> None:
        """Open the database and start the engine (the App calls this in `on_mount`)."""
        if self.db is not None and self.db.conn is None:
            await self.db.open()
        if self.engine is not None:
            await self.engine.start()

    async def setting_changed(self, key: str) -> None:
        """A setting changed in the running app: let the services pick it up now."""
        if self.on_setting is not None:
            await self.on_setting(key)

    async def aclose(self) -> None:
        """Stop the engine, close clients, then the database (an open aiosqlite hangs exit)."""
        if self.library is not None:
            self.library.stop_scan()  # a hashing thread would otherwise hold the exit
        closing: list[tuple[str, Callable[[], Awaitable[None]] | None]] = [
            ("engine", self.engine.stop if self.engine else None),
            ("civitai", self.civitai.close if self.civitai else None),
            ("hub", self.hub.close if self.hub else None),
            ("hub_search", self.hub_search.aclose if self.hub_search else None),
            ("thumbnails", self.thumbnails.aclose if self.thumbnails else None),
            ("db", self.db.close if self.db else None),
        ]
        for name, close in closing:
            if close is None:
                continue
            try:
                await close()
            except Exception:  # closing must go on whatever one part says
                log.exception("closing %s failed", name)
