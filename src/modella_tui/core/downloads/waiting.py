"""A models folder that cannot take files (read-only, missing, full) makes the queue wait.

One item meets the problem; the folder is then marked blocked, every item bound for it waits paused
with the same reason (no burst of failures, no request made), and a periodic check resumes them all
once the folder takes files again. Their `.part` files are kept, so nothing is lost.
"""

from __future__ import annotations

import asyncio
import errno
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from modella_tui.core.downloads.state import EngineState
from modella_tui.core.store.queue import QueueItem

# errno -> the reason shown; each names the folder.
FOLDER_ERRORS = {
    errno.ENOSPC: "engine.folder_full",
    errno.EDQUOT: "engine.folder_full",
    errno.EROFS: "engine.folder_read_only",
    errno.EACCES: "engine.folder_read_only",
    errno.EPERM: "engine.folder_read_only",
    errno.ENOENT: "engine.folder_missing",
    errno.ENOTDIR: "engine.folder_missing",
}
# Pauses the engine made itself and lifts by itself (the user paused nothing).
AUTO_PAUSES = (*sorted(set(FOLDER_ERRORS.values())), "engine.disk_space")
PROBE_NAME = ".modella-write-test"
MIN_FREE = 16 * 1024 * 1024  # a folder with less free space is still full


def folder_takes_files(folder: Path, disk_usage: Callable[[str], Any]) -> bool:
    """True when a file can be created in `folder` (made if missing) and the disk has room."""
    try:
        os.makedirs(folder, exist_ok=True)
        probe = folder / f"{PROBE_NAME}-{os.getpid()}"
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        os.close(fd)
        os.unlink(probe)
        return int(disk_usage(str(folder)).free) >= MIN_FREE
    except OSError:
        return False


class FolderWait(EngineState):
    """Pauses the items of a folder that cannot take files, and resumes them when it can."""

    def _root_of(self, folder: str | Path) -> Path:
        """The folder a problem is judged on: the item's own (a subfolder may be read-only alone)."""
        return Path(os.path.normpath(os.path.abspath(folder)))

    async def _folder_error(self, item: QueueItem, exc: OSError) -> bool:
        """Pause `item` (and mark its folder blocked) when `exc` is about its folder."""
        key = FOLDER_ERRORS.get(exc.errno or 0)
        if key is None:
            return False
        root = self._root_of(item.target_dir)
        params = {"folder": str(root)}
        self._blocked[root] = (key, params)
        await self._set_state(item.id, "paused", key, params)
        return True

    async def _wait_if_blocked(self, item: QueueItem) -> bool:
        """Before starting an item: when its folder is blocked, it waits paused instead."""
        blocked = self._blocked.get(self._root_of(item.target_dir))
        if blocked is None:
            return False
        await self._set_state(item.id, "paused", blocked[0], blocked[1], only_from=("pending",))
        return True

    async def _recheck(self) -> None:
        """Resume the items the engine paused once their folder (or disk) takes files again."""
        waiting = [i for i in await self.store.in_states("paused") if i.error in AUTO_PAUSES]
        ok: dict[Path, bool] = {}
        for item in waiting:
            root = self._root_of(item.target_dir)
            if root not in ok:
                ok[root] = await self._probe(root)
            need = item.error_params.get("bytes")
            room = True
            if ok[root] and item.error == "engine.disk_space" and isinstance(need, int):
                room = int(self._disk_usage(str(root)).free) >= need
            if ok[root] and room:
                await self._set_state(item.id, "pending", only_from=("paused",), attempts=0)
        for root, good in ok.items():
            if good:
                self._blocked.pop(root, None)
        for root in [r for r in self._blocked if r not in ok]:
            if await self._probe(root):
                self._blocked.pop(root, None)

    async def _probe(self, root: Path) -> bool:
        check = self._folder_check or (lambda p: folder_takes_files(p, self._disk_usage))
        return await asyncio.to_thread(check, root)
