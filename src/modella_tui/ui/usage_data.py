"""What the dashboard and the disk usage screen read: the index, the queue, the volume.

No walk of the folder here beyond the one per run (`library_walk`): a landed download enters the
index by its own path, a deleted file leaves it by its own path, and a screen reads `snapshot()`.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from modella_tui.core.config import Settings
from modella_tui.core.library import LibrarySnapshot
from modella_tui.core.protocols import QueueItemView
from modella_tui.core.usage import Usage, summarize, volume_of
from modella_tui.ui.library_walk import walk_again, walk_once
from modella_tui.ui.services import Services

UNFINISHED = frozenset({"pending", "running", "verifying", "paused"})


@dataclass
class UsageReader:
    """Reads usage for one screen; remembers which landed downloads it already took in."""

    services: Services
    settings: Settings
    recorded: set[int] = field(default_factory=set)

    async def read(self, walk: str = "") -> tuple[Usage, Sequence[QueueItemView]]:
        """Usage and queue rows now; `walk` is "once" (this run's walk) or "again" (`ctrl+r`)."""
        engine = self.services.engine
        items: Sequence[QueueItemView] = list(await engine.items()) if engine else []
        library = self.services.library
        if library is None:
            snapshot = LibrarySnapshot(Path(os.path.abspath(self.settings.models_dir)))
        else:
            for item in items:
                # The index records a landed file itself, maybe a moment after this message:
                # taking it in here too (the same upsert) means the figures never lag a landing.
                if item.state == "done" and item.final_path and item.id not in self.recorded:
                    self.recorded.add(item.id)
                    await library.record(Path(item.final_path))
            if walk == "again":
                snapshot = await walk_again(library)
            elif walk == "once":
                snapshot = await walk_once(library)
            else:
                snapshot = await library.snapshot()
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
