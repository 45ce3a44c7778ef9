"""Bring a list onto this machine: resolve each item, skip what is here, queue the rest, sum it up.

Shared by `modella sync` (which then works the queue until the items are done) and the Lists
screen's "queue every missing item" (which hands them to the running engine). A file counts as
already here when a download recorded it, it is still on disk with the recorded size, and its hash
is the one the source publishes now; such files are never handed to the engine, so a second sync
moves no bytes and hashes nothing. See docs/lists.md.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from modella_tui.core import errors
from modella_tui.core.errors import DownloadError, ModellaError, reason_text
from modella_tui.core.list_status import (
    RESOLVE_CONCURRENCY,
    Holdings,
    PlanOutcome,
    plan_entries,
)
from modella_tui.core.listfile import ListEntry

if TYPE_CHECKING:
    from modella_tui.core.civitai.client import CivitaiClient
    from modella_tui.core.downloads.engine import DownloadEngine
    from modella_tui.core.downloads.resolve import Placement, PlannedFile
    from modella_tui.core.hub.client import HubClient
    from modella_tui.core.hub.packages import Catalogue
    from modella_tui.core.protocols import DownloadQueue, QueueItemView, RefPlanner
    from modella_tui.core.refs import Ref

log = logging.getLogger(__name__)

LANDED, ALREADY, QUEUED, FAILED, SKIPPED = "landed", "already", "queued", "failed", "skipped"
WATCH_STATES = frozenset({"queued", "requeued", "already_queued"})


def make_planner(
    civitai: CivitaiClient,
    hub: HubClient,
    catalogue: Catalogue,
    placement: Callable[[], Placement],
) -> RefPlanner:
    """`resolve.plan_ref` over these clients; the placement is asked for each REF (settings are live)."""
    from modella_tui.core.downloads.resolve import plan_ref

    async def plan(ref: Ref, glob: str | None, skipped: list[ModellaError]) -> list[PlannedFile]:
        return await plan_ref(
            ref,
            civitai=civitai,
            hub=hub,
            catalogue=catalogue,
            place=placement(),
            glob=glob,
            skipped=skipped,
        )

    return plan


Looked = tuple[list["PlannedFile"], list[ModellaError]]
"""A look-up's files and the files of it that cannot be had."""


class PlanningAhead:
    """A planner whose look-ups for `entries` start at once (`concurrency` at a time), before the
    caller has a database, an engine or the holdings; asking it for one of those REFs then waits
    for the look-up already in flight. Anything else goes to the wrapped planner. `close` cancels
    what nobody asked for."""

    def __init__(
        self, planner: RefPlanner, entries: Sequence[ListEntry], *, concurrency: int
    ) -> None:
        from modella_tui.core.refs import parse_ref

        self._planner = planner
        self._gate = asyncio.Semaphore(max(1, concurrency))
        self._ahead: dict[tuple[str, str | None], asyncio.Task[Looked]] = {}
        for entry in entries:
            try:
                ref = parse_ref(entry.ref)
            except ModellaError:
                continue  # `plan_entry` reports it
            key = (ref.canonical(), entry.file)
            if key not in self._ahead:
                self._ahead[key] = asyncio.ensure_future(self._look(ref, entry.file))

    async def _look(self, ref: Ref, glob: str | None) -> Looked:
        skipped: list[ModellaError] = []
        async with self._gate:
            files = await self._planner(ref, glob, skipped)
        return files, skipped

    async def __call__(
        self, ref: Ref, glob: str | None, skipped: list[ModellaError]
    ) -> list[PlannedFile]:
        task = self._ahead.get((ref.canonical(), glob))
        if task is None:
            return await self._planner(ref, glob, skipped)
        files, missed = await asyncio.shield(task)
        skipped.extend(missed)
        return list(files)

    async def close(self) -> None:
        for task in self._ahead.values():
            task.cancel()
        await asyncio.gather(*self._ahead.values(), return_exceptions=True)


@dataclass
class Prepared:
    """One item after its resolve: the files already here and the files to fetch."""

    entry: ListEntry
    outcome: PlanOutcome
    have: list[PlannedFile] = field(default_factory=list)
    need: list[PlannedFile] = field(default_factory=list)


def split(entry: ListEntry, outcome: PlanOutcome, holdings: Holdings) -> Prepared:
    """One resolved entry with its files split into already here and to fetch."""
    prepared = Prepared(entry, outcome)
    for planned in outcome.files:
        target = prepared.have if holdings.have(planned) is not None else prepared.need
        target.append(planned)
    return prepared


async def prepare(
    entries: Sequence[ListEntry],
    planner: RefPlanner,
    holdings: Holdings,
    *,
    concurrency: int = RESOLVE_CONCURRENCY,
) -> list[Prepared]:
    """Resolve every entry (a few at a time) and split its files into here and to fetch."""
    outcomes = await plan_entries(entries, planner, concurrency=concurrency)
    return [split(e, o, holdings) for e, o in zip(entries, outcomes, strict=True)]


@dataclass
class Queued:
    """What handing one item's files to the engine did."""

    prepared: Prepared
    ids: list[int] = field(default_factory=list)
    """Queue rows of its files (new, queued again, or already waiting)."""
    already: int = 0
    """Files the engine found in place (same hash) although no download had recorded them."""
    refused: list[ModellaError] = field(default_factory=list)
    """Files not queued: a pickle without consent, a file the scan flagged, a refused name."""


async def enqueue(
    engine: DownloadQueue,
    prepared: Sequence[Prepared],
    *,
    allow_pickle: bool = False,
    force: bool = False,
) -> list[Queued]:
    """Queue the files each item still needs; the safety rules of `modella download` apply.

    Every item's files go to the engine in one `add` (one read of the queue, one insert).
    """
    from modella_tui.core.downloads.resolve import check_safety

    out = []
    requests = []
    owners: list[Queued] = []  # the item each request belongs to
    for item in prepared:
        queued = Queued(item)
        out.append(queued)
        for planned in item.need:
            try:
                check_safety([planned], allow_pickle=allow_pickle, force=force)
            except DownloadError as exc:
                queued.refused.append(exc)
                continue
            requests.append(planned.to_request(allow_pickle=allow_pickle))
            owners.append(queued)
    results = await engine.add(requests) if requests else []
    for queued, result in zip(owners, results, strict=True):
        if result.status in WATCH_STATES:
            if result.item_id is not None:
                queued.ids.append(result.item_id)
        elif result.status == "already_have":
            queued.already += 1
        else:
            key = result.key or "error.download"
            queued.refused.append(DownloadError(key, **result.params))
    return out


@dataclass(frozen=True)
class ItemResult:
    """One item's end: landed, already here, queued (the app), failed or skipped, and why."""

    entry: ListEntry
    outcome: str
    reasons: tuple[str, ...] = ()
    exit_code: int = errors.EXIT_OK
    files: int = 0
    """Files landed (sync) or queued (the app) for it."""
    bytes: int = 0
    """Bytes its landed files brought."""


@dataclass
class SyncReport:
    """Every item's end, in list order."""

    results: list[ItemResult] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        """How many items ended this way."""
        return sum(1 for r in self.results if r.outcome == outcome)

    @property
    def bytes(self) -> int:
        """Bytes that landed in this run."""
        return sum(r.bytes for r in self.results)

    @property
    def files(self) -> int:
        """Files that landed (or were queued) in this run."""
        return sum(r.files for r in self.results)

    def exit_code(self) -> int:
        """0 when every item is here; else the failures' shared exit code, or 1 when they differ."""
        codes = {r.exit_code for r in self.results if r.outcome in (FAILED, SKIPPED)}
        if not codes:
            return errors.EXIT_OK
        return codes.pop() if len(codes) == 1 else errors.EXIT_FAILED


def _exit_for(failures: Sequence[ModellaError], rows: Sequence[QueueItemView]) -> int:
    from modella_tui.core.downloads.engine import EXIT_BY_KEY

    codes = {f.exit_code for f in failures}
    codes |= {EXIT_BY_KEY.get(r.error or "", errors.EXIT_FAILED) for r in rows}
    if not codes:
        return errors.EXIT_OK
    return codes.pop() if len(codes) == 1 else errors.EXIT_FAILED


def report(queued: Sequence[Queued], rows: Sequence[QueueItemView] | None = None) -> SyncReport:
    """Sum up: with the rows after the engine ran (`sync`), or without them (the app queued)."""
    by_id = {r.id: r for r in rows or ()}
    out = SyncReport()
    for q in queued:
        entry, outcome = q.prepared.entry, q.prepared.outcome
        if outcome.error is not None:
            out.results.append(
                ItemResult(entry, FAILED, (outcome.error.message,), outcome.error.exit_code)
            )
            continue
        problems: list[ModellaError] = [*outcome.skipped, *q.refused]
        reasons = [p.message for p in problems]
        if rows is None:
            result = _queued_result(entry, q, problems, reasons)
        else:
            result = _synced_result(entry, q, problems, reasons, by_id)
        out.results.append(result)
    return out


def _queued_result(
    entry: ListEntry, q: Queued, problems: list[ModellaError], reasons: list[str]
) -> ItemResult:
    if q.ids:
        outcome = QUEUED
    elif problems:
        outcome = SKIPPED if q.refused and not q.prepared.outcome.skipped else FAILED
    else:
        outcome = ALREADY
    code = _exit_for(problems, ()) if problems else errors.EXIT_OK
    return ItemResult(entry, outcome, tuple(reasons), code, files=len(q.ids))


def _synced_result(
    entry: ListEntry,
    q: Queued,
    problems: list[ModellaError],
    reasons: list[str],
    by_id: dict[int, QueueItemView],
) -> ItemResult:
    finished = [by_id[i] for i in q.ids if i in by_id]
    done = [r for r in finished if r.state == "done"]
    bad = [r for r in finished if r.state != "done"]
    for r in bad:
        why = reason_text(r.error, r.error_params) or reason_text(f"ui.state.{r.state}")
        reasons.append(f"{r.file_name}: {why}")
    moved = sum(r.expected_size or r.bytes_done for r in done)
    if bad or q.prepared.outcome.skipped:
        outcome = FAILED
    elif q.refused:
        outcome = SKIPPED
    elif done:
        outcome = LANDED
    else:
        outcome = ALREADY
    code = _exit_for(problems, bad) if outcome in (FAILED, SKIPPED) else errors.EXIT_OK
    return ItemResult(entry, outcome, tuple(reasons), code, files=len(done), bytes=moved)


async def sync(
    engine: DownloadEngine,
    entries: Sequence[ListEntry],
    planner: RefPlanner,
    holdings: Holdings,
    *,
    allow_pickle: bool = False,
    force: bool = False,
    concurrency: int = RESOLVE_CONCURRENCY,
    on_other: Callable[[], None] | None = None,
) -> SyncReport:
    """Resolve, queue and download every entry; the report once the engine is done with them.

    Each entry is queued as soon as its resolve answers, and the engine starts with the first file,
    so downloads overlap the resolves still running. `on_other` is called when another process
    (the app, a second sync) holds the engine: that process downloads, this one watches.
    """
    from modella_tui.core.list_status import plan_entry

    gate = asyncio.Semaphore(max(1, concurrency))
    adding = asyncio.Lock()  # one `add` at a time: two entries may name the same file
    ready: list[tuple[int, Prepared]] = []  # entries resolved, not yet handed to the engine
    done: dict[int, Queued] = {}  # by the entry's place in the list

    async def one(index: int, entry: ListEntry) -> None:
        async with gate:
            outcome = await plan_entry(entry, planner)
        ready.append((index, split(entry, outcome, holdings)))
        async with adding:
            # What is ready by now goes in together; an earlier holder of the lock may have
            # taken this entry's files already.
            batch, ready[:] = list(ready), []
            if batch:
                queued = await enqueue(
                    engine, [p for _, p in batch], allow_pickle=allow_pickle, force=force
                )
                done.update(zip((i for i, _ in batch), queued, strict=True))

    # The engine starts (lease, reconcile) while the first look-ups are in flight, as in
    # `modella download`, so the first file's transfer waits for neither.
    starting = asyncio.ensure_future(engine.start())
    try:
        await asyncio.gather(*(one(i, e) for i, e in enumerate(entries)))
        held = await starting
        queued = [done[i] for i in range(len(entries))]
        ids = [i for q in queued for i in q.ids]
        if ids and not held and on_other is not None:
            on_other()
        rows = list((await engine.run_until_idle(ids)).items) if ids else []
    finally:
        if not starting.done():
            starting.cancel()
        await asyncio.gather(starting, return_exceptions=True)
        await engine.stop()
    return report(queued, rows)
