"""Admission: what a queue request becomes (queued, deduplicated, refused) before any byte moves."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modella_tui.core import errors, paths
from modella_tui.core.downloads import partmeta
from modella_tui.core.downloads.events import ItemAdded, StateChanged
from modella_tui.core.downloads.partmeta import PICKLE_EXTS, UnsafePathError, make_target
from modella_tui.core.downloads.state import EngineState
from modella_tui.core.store.queue import Copy, Landed, QueueItem
from modella_tui.core.textsafe import redact_url

# Which exit code a failure reason maps to; anything else is 1.
EXIT_BY_KEY = {
    "engine.disk_space": errors.EXIT_DISK,
    "engine.folder_full": errors.EXIT_DISK,
    "engine.auth_login": errors.EXIT_AUTH,
    "engine.auth_hf": errors.EXIT_AUTH,
    "engine.early_access": errors.EXIT_AUTH,
    "engine.gated": errors.EXIT_AUTH,
    "engine.forbidden": errors.EXIT_AUTH,
    "engine.not_found": errors.EXIT_NOT_FOUND,
    "engine.network": errors.EXIT_NETWORK,
    "engine.timeout": errors.EXIT_NETWORK,
}


@dataclass
class QueueRequest:
    """One already-resolved file to download (the resolver builds these)."""

    source: str  # 'civitai' | 'huggingface'
    dedupe_key: str  # "civitai:file:<id>" or "hf:<repo>@<rev>:<path>"
    title: str
    file_name: str
    type: str
    base_model: str
    url: str  # the API download URL: never a signed storage URL, never a key
    target_dir: Path
    expected_size: int | None = None  # exact bytes, when known (Hub LFS size)
    sha256: str | None = None  # lower-case hex; None = lands unverified
    model_id: str | None = None
    version_id: str | None = None
    file_id: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    allow_pickle: bool = False
    size_hint: int | None = None  # approximate size (Civitai sizeKB) for the free-space check


@dataclass(frozen=True)
class AddResult:
    """What `add()` did with one request: queued, already_queued, already_have, requeued, refused."""

    status: str
    item_id: int | None = None
    path: str | None = None
    key: str | None = None
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Summary:
    """The outcome of `run_until_idle()` over the items it watched."""

    items: list[QueueItem]

    def in_state(self, state: str) -> list[QueueItem]:
        """The watched items in one state."""
        return [i for i in self.items if i.state == state]

    def exit_code(self) -> int:
        """0 when every item landed; else the shared exit code of the failures, or 1."""
        bad = [i for i in self.items if i.state != "done"]
        if not bad:
            return errors.EXIT_OK
        codes = {EXIT_BY_KEY.get(i.error or "", errors.EXIT_FAILED) for i in bad}
        return codes.pop() if len(codes) == 1 else errors.EXIT_FAILED


class Admission(EngineState):
    """Queues resolved files: dedupe by key, by final path and by an identical file on disk."""

    async def add(self, reqs: list[QueueRequest]) -> list[AddResult]:
        """Queue resolved files; dedupe by key, by final path and by an identical file on disk.

        A list is admitted together: one read of the queue, one insert transaction.
        """
        async with self._add_lock:
            out = await self._admit(reqs)
        self._wake.set()
        return out

    async def _admit(self, reqs: list[QueueRequest]) -> list[AddResult]:
        keys = list(dict.fromkeys(r.dedupe_key for r in reqs))
        shas = [r.sha256.lower() for r in reqs if r.sha256]
        known, active, copies = await self.store.admission_view(keys, ADMITTED_STATES, shas)
        batch = _Batch(known, {Path(o.target_dir) / o.file_name: (o.id, o.sha256) for o in active})
        batch.copies = copies
        results = [await self._admit_one(req, batch) for req in reqs]
        ids = await self.store.insert_many([row for _, row in batch.rows])
        out: list[AddResult] = []
        for result in results:
            if isinstance(result, int):  # queued in this batch (or already, by an earlier entry)
                (req, row), item_id = batch.rows[result], ids[result]
                final = str(Path(row["target_dir"]) / row["file_name"])
                if req is None:
                    out.append(AddResult("already_queued", item_id, key="engine.already_queued"))
                    continue
                out.append(AddResult("queued", item_id, final, key="engine.queued"))
                self._known[item_id] = ("pending", 0)
                self._emit(ItemAdded(item_id, req.title, row["file_name"]))
                self._emit(StateChanged(item_id, "pending"))
                batch.rows[result] = (None, row)  # a later mention of it is "already queued"
            else:
                out.append(result)
        return out

    async def _admit_one(self, req: QueueRequest, batch: _Batch) -> AddResult | int:
        """The outcome for one request, or the index of its new row in `batch.rows`."""
        if req.source not in ("civitai", "huggingface"):
            return AddResult("refused", key="engine.bad_request")
        try:
            target = make_target(req.target_dir, req.file_name, self.roots)
        except UnsafePathError:
            return AddResult("refused", key="engine.unsafe_path", params={"path": req.file_name})
        if target.name.lower().endswith(PICKLE_EXTS) and not req.allow_pickle:
            return AddResult(
                "refused", key="engine.pickle_needs_confirm", params={"name": target.name}
            )
        sha = req.sha256.lower() if req.sha256 else None
        if req.dedupe_key in batch.new_keys:
            return batch.new_keys[req.dedupe_key]
        existing = batch.known.get(req.dedupe_key)
        if existing is not None:
            if existing.state in ADMITTED_STATES:
                return AddResult("already_queued", existing.id, key="engine.already_queued")
            if (
                existing.state == "done"
                and existing.final_path
                and os.path.exists(existing.final_path)
                # A file left under an earlier models folder is not where Forge looks now.
                and any(paths.is_within(root, Path(existing.final_path)) for root in self.roots)
            ):
                return AddResult(
                    "already_have", existing.id, existing.final_path, key="engine.already_have"
                )
            elsewhere = self._copy_here(batch.copies.get(sha or "", ()), req.expected_size)
            if elsewhere is not None:  # moved or renamed by hand since it landed
                return AddResult("already_have", None, elsewhere, key="engine.already_have")
            await self.store.clear_segments(existing.id)
            if not any(paths.is_within(r, Path(existing.target_dir)) for r in self._all_roots()):
                # Asked again after the models folder changed: it goes where it is asked for now.
                existing.target_dir, existing.file_name = str(target.directory), target.name
                await self.store.update(
                    existing.id, target_dir=existing.target_dir, file_name=existing.file_name
                )
            await self._set_state(existing.id, "pending", attempts=0, verified=0, final_path=None)
            existing.state = "pending"  # asked again in this list: already queued
            taken_at = Path(existing.target_dir) / existing.file_name
            batch.taken[taken_at] = (existing.id, existing.sha256)
            return AddResult("requeued", existing.id, key="engine.requeued")
        taken = batch.taken
        other = taken.get(target.final)
        if other is not None and sha is not None and other[1] == sha:
            if other[0] is None:  # queued earlier in this list
                return batch.new_paths[target.final]
            return AddResult("already_queued", other[0], key="engine.already_queued")
        if other is not None or _card_clash(target.final, taken):
            # Another file of the same name is on its way to the same folder (two repos'
            # `ae.safetensors`), or a `.json` would take a model's Forge card name: the `.part`
            # must never be shared, so this one gets the next free name now.
            for n in range(2, 1000):
                candidate = make_target(
                    req.target_dir, partmeta.numbered(target.name, n), self.roots
                )
                if (
                    candidate.final not in taken
                    and not os.path.lexists(candidate.final)
                    and not _card_clash(candidate.final, taken)
                ):
                    target = candidate
                    break
            else:
                return AddResult(
                    "refused", key="engine.unsafe_path", params={"path": req.file_name}
                )
        if sha and await self._same_file(target.final, sha, req.expected_size):
            await self.store.record_landed(
                Landed(
                    req.source, req.model_id, req.version_id, req.file_id, req.title, req.type,
                    req.base_model, str(target.final), target.final.stat().st_size, sha, True,
                )
            )  # fmt: skip
            return AddResult("already_have", None, str(target.final), key="engine.already_have")
        elsewhere = self._copy_here(batch.copies.get(sha or "", ()), req.expected_size)
        if elsewhere is not None:
            # The same bytes under another name or folder (copied in by hand, or an earlier
            # download): a file with this SHA256 is this file, whatever it is called.
            return AddResult("already_have", None, elsewhere, key="engine.already_have")
        meta = dict(req.meta)
        meta["allow_pickle"] = req.allow_pickle
        root = next((r for r in self.roots if paths.is_within(r, target.directory)), None)
        if root is not None:
            meta["root"] = str(root)  # so a later models folder can take it (see `_rebase`)
        if req.size_hint is not None:
            meta["size_hint"] = req.size_hint
        row = {
            "source": req.source,
            "dedupe_key": req.dedupe_key,
            "model_id": req.model_id,
            "version_id": req.version_id,
            "file_id": req.file_id,
            "title": req.title,
            "file_name": target.name,
            "type": req.type,
            "base_model": req.base_model,
            "url": redact_url(req.url),
            "target_dir": str(target.directory),
            "expected_size": req.expected_size,
            "sha256": sha,
            "state": "pending",
            "meta": meta,
        }
        index = len(batch.rows)
        batch.rows.append((req, row))
        batch.new_keys[req.dedupe_key] = index
        batch.new_paths[target.final] = index
        taken[target.final] = (None, sha)
        return index

    def _copy_here(self, copies: Sequence[Copy], size: int | None) -> str | None:
        """The first of these hashed files that is still what was hashed, under a models root."""
        for copy in copies:
            if size is not None and copy.size != size:
                continue
            if paths.still_hashed(Path(copy.path), self.roots, copy.size, copy.mtime):
                return copy.path
        return None


ADMITTED_STATES = ("pending", "running", "verifying", "paused")


@dataclass
class _Batch:
    """What one `add()` knows while it admits its list: the queue as read, and its new rows."""

    known: dict[str, QueueItem]  # rows holding the list's dedupe keys
    taken: dict[Path, tuple[int | None, str | None]]  # final path -> (item id, SHA256) on its way
    rows: list[tuple[QueueRequest | None, dict[str, Any]]] = field(default_factory=list)
    new_keys: dict[str, int] = field(default_factory=dict)  # dedupe key -> index in rows
    new_paths: dict[Path, int] = field(default_factory=dict)  # final path -> index in rows
    copies: dict[str, list[Copy]] = field(default_factory=dict)  # SHA256 -> files hashed here


def _card_clash(final: Path, taken: dict[Path, Any]) -> bool:
    """A `<stem>.json` beside a model file (on disk or queued) would be read as its Forge card."""
    if not final.name.lower().endswith(".json"):
        return False
    stem = final.name[: -len(".json")]
    for ext in partmeta.WEIGHT_SUFFIXES:
        sibling = final.with_name(stem + ext)
        if sibling in taken or os.path.lexists(sibling):
            return True
    return False
