"""Where each item of a list stands: local (verified or not), queued, missing, or gone from its source.

Two answers, one quick and one exact. `offline_status` reads only what this machine knows: the files
downloads recorded (`downloaded_models`, kept when still on disk under the models folder) and the
queue's rows. It cannot know which version "latest" means today or which file is a version's
primary one, so it counts any recorded file of the model, version or repo. `planned_status` starts
from the files a resolve against Civitai or the Hub names (`PlanOutcome`) and checks each of them;
a 404 or 410 there is "gone". See docs/lists.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from modella_tui.core import paths
from modella_tui.core.errors import ModellaError, NotFoundError, UsageError
from modella_tui.core.i18n import t
from modella_tui.core.listfile import ListEntry
from modella_tui.core.lists import LandedFile
from modella_tui.core.refs import CivitaiRef, HubRef, Ref, parse_ref

if TYPE_CHECKING:
    from modella_tui.core.downloads.resolve import PlannedFile
    from modella_tui.core.hub.packages import Catalogue
    from modella_tui.core.protocols import QueueItemView, RefPlanner

ACTIVE_STATES = frozenset({"pending", "running", "verifying", "paused"})
LOCAL, QUEUED, MISSING, GONE = "local", "queued", "missing", "gone"
RESOLVE_CONCURRENCY = 4
"""REFs resolved at once: enough to hide latency, few enough not to hit Civitai's rate limit."""


@dataclass(frozen=True)
class ItemStatus:
    """One item's state; `paths` are its files on disk (some may be there while it is missing)."""

    state: str
    verified: bool = False
    paths: tuple[str, ...] = ()
    size: int = 0
    wanted: int = 0
    """How many files the item means, when known (a resolve, or a curated Hub package)."""
    reason: str | None = None
    """Why it is gone, or why the source could not be asked (translated)."""
    checked: bool = False
    """The source was asked (a resolve), so "latest" and the primary file are today's."""


@dataclass
class PlanOutcome:
    """What a resolve said about one item: the files it means, or the error it met."""

    files: list[PlannedFile] = field(default_factory=list)
    error: ModellaError | None = None
    skipped: list[ModellaError] = field(default_factory=list)
    """Files of a many-file REF that cannot be had (hostile path, gone), while others can."""


@dataclass
class Holdings:
    """What this machine has: recorded files still on disk, and the queue's active rows."""

    landed: list[LandedFile] = field(default_factory=list)
    queued: list[QueueItemView] = field(default_factory=list)

    @classmethod
    async def gather(
        cls,
        landed: Sequence[LandedFile],
        queue: Sequence[QueueItemView],
        roots: Sequence[Path],
    ) -> Holdings:
        """Keep the files still on disk (a thread looks) and the rows still to download."""
        present = await asyncio.to_thread(_present, list(landed), list(roots))
        return cls(present, [q for q in queue if q.state in ACTIVE_STATES])

    def have(self, planned: PlannedFile) -> LandedFile | None:
        """The file on disk that is this planned file (same identity, same hash when published)."""
        for f in self.landed:
            if planned.sha256 and f.verified and f.sha256 == planned.sha256:
                return f
            if f.source != planned.source or f.file_id != planned.file_id:
                continue
            if planned.source == "huggingface" and (
                f.model_id != planned.model_id or f.version_id != planned.version_id
            ):
                continue
            # The source now publishes another hash: the list wants that file, not this one.
            if planned.sha256 and f.sha256 != planned.sha256:
                continue
            return f
        return None

    def queued_for(self, planned: PlannedFile) -> QueueItemView | None:
        """The active queue row of this planned file."""
        return next((q for q in self.queued if q.dedupe_key == planned.dedupe_key), None)


def _present(landed: list[LandedFile], roots: list[Path]) -> list[LandedFile]:
    return [f for f in landed if paths.still_hashed(Path(f.path), roots, f.size, f.mtime)]


def _glob_ok(glob: str | None, name: str) -> bool:
    return glob is None or fnmatch.fnmatch(name.lower(), glob.lower())


def _civitai_match(ref: CivitaiRef, source: str, model: str | None, version: str | None) -> bool:
    if source != "civitai":
        return False
    if ref.version_id is not None:
        return version == str(ref.version_id)
    return model == str(ref.model_id)


def _hub_match(
    ref: HubRef, source: str, repo: str | None, rev: str | None, path: str | None
) -> bool:
    if source != "huggingface" or repo != ref.repo or rev != ref.revision:
        return False
    if not ref.path:
        return True
    if ref.folder:
        return (path or "").startswith(ref.path.rstrip("/") + "/")
    return path == ref.path


def _summary(found: Sequence[LandedFile], wanted: int, queued: bool) -> ItemStatus:
    paths_ = tuple(f.path for f in found)
    size = sum(f.size for f in found)
    complete = bool(found) and (wanted == 0 or len(found) >= wanted)
    if complete:
        verified = all(f.verified for f in found)
        return ItemStatus(LOCAL, verified, paths_, size, wanted)
    return ItemStatus(QUEUED if queued else MISSING, False, paths_, size, wanted)


def offline_status(
    item: ListEntry, holdings: Holdings, catalogue: Catalogue | None = None
) -> ItemStatus:
    """The item's state from what this machine knows, without asking the source."""
    try:
        ref: Ref = parse_ref(item.ref)
    except UsageError as exc:
        return ItemStatus(GONE, reason=exc.message)
    if isinstance(ref, CivitaiRef):
        found = [
            f
            for f in holdings.landed
            if _civitai_match(ref, f.source, f.model_id, f.version_id)
            and _glob_ok(item.file, f.file_name)
        ]
        queued = any(
            _civitai_match(ref, q.source, q.model_id, q.version_id)
            and _glob_ok(item.file, q.file_name)
            for q in holdings.queued
        )
        return _summary(found, 0, queued)
    wanted: list[str] = []
    if catalogue is not None and not ref.folder:
        curated = catalogue.find(ref.repo, ref.path)
        wanted = [f.path for _, f in curated if _glob_ok(item.file, f.path.rsplit("/", 1)[-1])]
    found = [
        f
        for f in holdings.landed
        if _hub_match(ref, f.source, f.model_id, f.version_id, f.file_id)
        and _glob_ok(item.file, (f.file_id or f.file_name).rsplit("/", 1)[-1])
        and (not wanted or f.file_id in wanted)
    ]
    # One record per wanted file: the same file landed twice (two names) counts once.
    unique = list({f.file_id or f.path: f for f in found}.values())
    queued = any(
        _hub_match(ref, q.source, q.model_id, q.version_id, q.file_id)
        and _glob_ok(item.file, q.file_name)
        for q in holdings.queued
    )
    return _summary(unique, len(wanted), queued)


def planned_status(outcome: PlanOutcome, holdings: Holdings) -> ItemStatus | None:
    """The item's state from a resolve; None when the source could not say (network, key)."""
    if outcome.error is not None:
        if isinstance(outcome.error, NotFoundError):
            return ItemStatus(GONE, reason=outcome.error.message, checked=True)
        return None
    have = [holdings.have(p) for p in outcome.files]
    found = [f for f in have if f is not None]
    queued = any(
        holdings.queued_for(p) is not None
        for p, f in zip(outcome.files, have, strict=True)
        if f is None
    )
    status = _summary(found, len(outcome.files), queued)
    return ItemStatus(
        status.state, status.verified, status.paths, status.size, status.wanted, checked=True
    )


def item_status(
    item: ListEntry,
    holdings: Holdings,
    outcome: PlanOutcome | None = None,
    catalogue: Catalogue | None = None,
) -> ItemStatus:
    """The exact state when a resolve answered, else the quick one (with why the source was silent)."""
    if outcome is not None:
        exact = planned_status(outcome, holdings)
        if exact is not None:
            return exact
    quick = offline_status(item, holdings, catalogue)
    if outcome is not None and outcome.error is not None:
        return ItemStatus(
            quick.state, quick.verified, quick.paths, quick.size, quick.wanted,
            reason=outcome.error.message,
        )  # fmt: skip
    return quick


async def plan_entry(item: ListEntry, planner: RefPlanner) -> PlanOutcome:
    """Resolve one item against its source; errors are kept, not raised."""
    try:
        ref = parse_ref(item.ref)
    except UsageError as exc:
        return PlanOutcome(error=exc)
    skipped: list[ModellaError] = []
    try:
        files = await planner(ref, item.file, skipped)
    except ModellaError as exc:
        return PlanOutcome(error=exc)
    return PlanOutcome(files, None, skipped)


async def plan_entries(
    items: Sequence[ListEntry], planner: RefPlanner, *, concurrency: int = RESOLVE_CONCURRENCY
) -> list[PlanOutcome]:
    """Resolve every item, a few at a time, in order."""
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(item: ListEntry) -> PlanOutcome:
        async with gate:
            return await plan_entry(item, planner)

    return list(await asyncio.gather(*(one(i) for i in items)))


# ----- removing a list's files -------------------------------------------------------------------
@dataclass
class Removal:
    """What removing files did: the files gone, the bytes freed, the files that stayed and why."""

    removed: list[Path] = field(default_factory=list)
    freed: int = 0
    failed: list[tuple[Path, str]] = field(default_factory=list)


def companions(f: LandedFile) -> list[Path]:
    """The file and, for a Civitai file, the cards written beside it (info, preview, Forge JSON)."""
    path = Path(f.path)
    if f.source != "civitai":
        return [path]
    from modella_tui.core.downloads.sidecars import sidecar_paths

    return [path, *sidecar_paths(path).values()]


def measure(files: Iterable[LandedFile]) -> int:
    """Bytes the files and their cards take on disk now."""
    total = 0
    for f in files:
        for path in companions(f):
            with contextlib.suppress(OSError):
                st = os.lstat(path)
                if stat.S_ISREG(st.st_mode):
                    total += st.st_size
    return total


def remove_files(files: Iterable[LandedFile], root: Path) -> Removal:
    """Delete the files and their cards, only inside `root` (checked lexically, links not followed)."""
    out = Removal()
    for f in files:
        main = Path(f.path)
        if not paths.is_within(root, main):
            out.failed.append((main, t("lists.remove.outside", root=str(root))))
            continue
        for path in companions(f):
            try:
                st = os.lstat(path)
                if not stat.S_ISREG(st.st_mode) and path != main:
                    continue
                os.unlink(path)
            except FileNotFoundError:
                continue
            except OSError as exc:
                if path == main:
                    out.failed.append((main, exc.strerror or str(exc)))
                continue
            out.freed += st.st_size
            if path == main:
                out.removed.append(main)
    return out
