"""Start-up recovery: rows a crash left running, and `.part.json` files without a queue row."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from modella_tui.core.downloads import partmeta
from modella_tui.core.downloads.events import ItemAdded
from modella_tui.core.downloads.partmeta import PICKLE_EXTS, UnsafePathError, make_target
from modella_tui.core.downloads.state import EngineState
from modella_tui.core.downloads.waiting import AUTO_PAUSES
from modella_tui.core.store.queue import Segment
from modella_tui.core.textsafe import redact_url


class Recovery(EngineState):
    """Puts interrupted work back in line at start-up (or when taking over a dead holder's lease)."""

    async def _reconcile(self) -> None:
        """Rows a crash left running go back in line; our own `.part.json` files are re-queued.

        A `.part.json` found without a queue row (the database was lost) is used only when this
        installation signed it; any other is listed by `orphans()` and never fetched.
        """
        for item in await self.store.in_states("running", "verifying", "paused"):
            if item.state == "paused":
                if item.error in AUTO_PAUSES:  # the engine paused it (folder, space): try again
                    await self.store.set_state(item.id, "pending")
            elif item.id not in self._tasks:
                await self.store.set_state(item.id, "pending")
        self._orphans = []
        requeued: set[str] = set()
        for path, data in await self._unknown_metas():
            if not partmeta.is_signed(data, self._key()):
                self._orphans.append(path)
            elif data.get("dedupe_key") not in requeued:
                await self._requeue_from_meta(path, data)
                requeued.add(str(data.get("dedupe_key")))

    async def orphans(self) -> list[Path]:
        """`.part.json` files under the models folder that no queue row and no signature vouch for.

        They are never used to fetch anything; the user may delete them.
        """
        key = await asyncio.to_thread(self._key)
        return [p for p, data in await self._unknown_metas() if not partmeta.is_signed(data, key)]

    async def _unknown_metas(self) -> list[tuple[Path, dict[str, Any]]]:
        # The folder walk and the query run side by side.
        briefs, found = await asyncio.gather(
            self.store.briefs(), asyncio.to_thread(_find_part_metas, self._all_roots())
        )
        known = {i.dedupe_key for i in briefs}
        out = []
        for path, data in found:
            key = data.get("dedupe_key")
            if isinstance(key, str) and key in known:
                continue  # the queue row decides; this file's content is not used
            out.append((path, data))
        return out

    async def _requeue_from_meta(self, path: Path, data: dict[str, Any]) -> None:
        name = path.name[: -len(partmeta.META_SUFFIX)]
        source = data.get("source")
        url = data.get("url")
        if source not in ("civitai", "huggingface") or not isinstance(url, str):
            return
        try:
            target = make_target(path.parent, name, self._all_roots())
        except UnsafePathError:
            return
        sha = data.get("sha256")
        size = data.get("expected_size")
        meta = dict(data["meta"]) if isinstance(data.get("meta"), dict) else {}
        # Recovery never gives consent: a pickle file waits, paused, until the user resumes it.
        meta["allow_pickle"] = False
        pickle = target.name.lower().endswith(PICKLE_EXTS)
        item_id = await self.store.insert(
            {
                "source": source,
                "dedupe_key": data["dedupe_key"],
                "model_id": _str_or_none(data.get("model_id")),
                "version_id": _str_or_none(data.get("version_id")),
                "file_id": _str_or_none(data.get("file_id")),
                "title": str(data.get("title") or name),
                "file_name": target.name,
                "type": str(data.get("type") or "Other"),
                "base_model": str(data.get("base_model") or ""),
                "url": redact_url(url),
                "target_dir": str(target.directory),
                "expected_size": size if isinstance(size, int) else None,
                "sha256": sha.lower() if isinstance(sha, str) and len(sha) == 64 else None,
                "etag": data.get("etag") if isinstance(data.get("etag"), str) else None,
                "state": "paused" if pickle else "pending",
                "meta": meta,
            }
        )
        if pickle:
            await self.store.set_state(
                item_id, "paused", "engine.recovered_pickle", {"name": target.name}
            )
        segs = meta_ranges(data, self.boot_id)
        if segs:
            etag = data.get("etag") if isinstance(data.get("etag"), str) else None
            await self.store.save_progress(item_id, segs, etag, self.boot_id)
        self._emit(ItemAdded(item_id, str(data.get("title") or name), target.name))


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _find_part_metas(roots: list[Path]) -> list[tuple[Path, dict[str, Any]]]:
    """Every readable `*.part.json` under the roots (symlinked folders not followed)."""
    out = []
    for root in roots:
        if not root.is_dir():
            continue
        for folder, _dirs, files in os.walk(root):
            for name in files:
                if name.endswith(partmeta.META_SUFFIX) and not name.startswith("."):
                    path = Path(folder) / name
                    data = partmeta.read_meta(path)
                    if data is not None:
                        out.append((path, data))
    return out


def meta_ranges(data: dict[str, Any], boot_id: str) -> list[Segment]:
    """The ranges of a `.part.json` a resume may trust: written ones on the same boot, else synced."""
    same_boot = bool(boot_id) and data.get("boot_id") == boot_id
    out = []
    for r in data.get("ranges") or []:
        if not isinstance(r, list) or len(r) not in (3, 4):
            continue
        start, end, done = r[0], r[1], r[2]
        synced = r[3] if len(r) == 4 else done  # older files recorded ranges only after a sync
        if not all(isinstance(v, int) and v >= 0 for v in (start, done, synced)):
            continue
        if end is not None and not isinstance(end, int):
            continue
        synced = min(synced, done)
        out.append(Segment(start, end, done if same_boot else synced, synced))
    return out
