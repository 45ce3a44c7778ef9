"""What the dashboard and the disk usage screen read: the index, the queue, the volume.

No walk of the folder here beyond the one per run (`library_walk`), and no full read of the index
on each queue message either (20,000 files take a quarter of a second to read): the reader keeps
its snapshot, folds a landed download in by its own path, and reads the index again only when
asked (a file deleted or renamed elsewhere, another models folder).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from modella_tui.core.config import Settings
from modella_tui.core.library_files import LibrarySnapshot, LocalFile
from modella_tui.core.protocols import QueueItemView
from modella_tui.core.usage import Usage, summarize, volume_of
from modella_tui.ui.library_walk import walk_again, walk_once
from modella_tui.ui.services import Services

UNFINISHED = frozenset({"pending", "running", "verifying", "paused"})


@dataclass
class UsageReader:
    """Reads usage for one screen; remembers the snapshot and the landings it took in."""

    services: Services
    settings: Settings
    recorded: set[int] = field(default_factory=set)
    snapshot: LibrarySnapshot | None = None
    version: int = 0
    """Counts the walks taken in, so a slower plain read never replaces a walk's snapshot."""
    stale: bool = False
    """Files changed other than by downloads: the next read takes the whole index again (kept
    until a read succeeds, so a newer reload replacing this one still does it)."""

    def _root(self) -> Path:
        return Path(os.path.abspath(self.settings.models_dir))

    async def _snapshot(self, walk: str) -> LibrarySnapshot:
        """The snapshot to aggregate: a walk's, the whole index read again, or the one kept."""
        library = self.services.library
        assert library is not None
        started = self.version
        if walk:
            self.snapshot = await (walk_again(library) if walk == "again" else walk_once(library))
            self.version += 1
            return self.snapshot
        if self.stale or self.snapshot is None or self.snapshot.root != self._root():
            fresh = await library.snapshot()
            # A walk that finished meanwhile saw the folder later than this read did.
            if self.version != started and self.snapshot is not None:
                return self.snapshot
            self.snapshot, self.stale = fresh, False
        return self.snapshot

    async def read(self, walk: str = "") -> tuple[Usage, Sequence[QueueItemView]]:
        """Usage and queue rows now; `walk` is "once" (this run's walk) or "again" (`ctrl+r`)."""
        engine = self.services.engine
        items: Sequence[QueueItemView] = list(await engine.items()) if engine else []
        library = self.services.library
        if library is None:
            snapshot = LibrarySnapshot(self._root())
        else:
            snapshot = await self._snapshot(walk)
            for item in items:
                # The index records a landed file itself, maybe a moment after this message;
                # recording it here too (the same upsert) means the figures never lag a landing.
                if item.state == "done" and item.final_path and item.id not in self.recorded:
                    self.recorded.add(item.id)
                    path = Path(item.final_path)
                    entry = await library.record(path)
                    snapshot = self.snapshot = fold(self.snapshot or snapshot, str(path), entry)
        active = [
            os.path.join(i.target_dir, i.file_name)
            for i in items
            if i.state in UNFINISHED and i.target_dir
        ]
        volume = await asyncio.to_thread(volume_of, snapshot.root)
        usage = await asyncio.to_thread(
            lambda: summarize(snapshot, active_targets=active, volume=volume)
        )
        return usage, items


def fold(snapshot: LibrarySnapshot, path: str, entry: LocalFile | None) -> LibrarySnapshot:
    """The snapshot with one file added, changed (`entry`) or gone (None)."""
    files = [f for f in snapshot.files if f.path != path]
    if entry is not None:
        files.append(entry)
    return replace(snapshot, files=files)
