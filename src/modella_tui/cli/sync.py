"""`modella sync NAME|FILE`: everything a list names, downloaded and verified; what is here is skipped."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modella_tui.cli.common import is_tty, open_clients
from modella_tui.cli.download import (
    RESOLVE_AT_ONCE,
    fewer_collections,
    freeze_imports,
    make_engine,
)
from modella_tui.cli.lists_cmd import hub_base, print_problems
from modella_tui.cli.output import human_size, print_table
from modella_tui.core.config import Settings
from modella_tui.core.errors import EXIT_OK, UsageError
from modella_tui.core.i18n import t
from modella_tui.core.listfile import ListEntry, ListFileError, read_list_file
from modella_tui.core.lists import ListStore
from modella_tui.core.provision import SyncReport
from modella_tui.core.textsafe import clean

if TYPE_CHECKING:
    from modella_tui.core.downloads.events import Event

MARKS = {"landed": "✓", "already": "=", "failed": "✗", "skipped": "-", "queued": "…"}


def run_sync(args: argparse.Namespace, settings: Settings) -> int:
    """Sync a stored list or a list file; exit 0 only when every item is here."""
    fewer_collections()
    try:
        return asyncio.run(_sync(args, settings))
    except ListFileError as exc:
        return print_problems(exc)


def _file_entries(target: str, settings: Settings) -> tuple[str, list[ListEntry]] | None:
    """The list in a file when `target` is one (read without the database), else None."""
    path = Path(target).expanduser()
    if not path.is_file():
        return None
    return _read_file(path, settings)


def _read_file(path: Path, settings: Settings) -> tuple[str, list[ListEntry]]:
    listfile = read_list_file(path, civitai_base=settings.civitai_url, hub_base=hub_base())
    for warning in listfile.warnings:
        sys.stderr.write(clean(warning) + "\n")
    if listfile.token_stripped:
        sys.stderr.write(t("refs.warn.token_stripped") + "\n")
    return listfile.name or path.stem, listfile.items


async def _stored_entries(
    target: str, store: ListStore, settings: Settings
) -> tuple[str, list[ListEntry]]:
    """A stored list; a name ending in .toml that no list has is read as a (missing) file, a
    folder that no list is named after is refused as one."""
    if await store.find(target) is None:
        path = Path(target).expanduser()
        if path.is_dir():
            raise UsageError("sync.target_is_dir", target=clean(target))
        if target.lower().endswith(".toml"):
            return _read_file(path, settings)
    info = await store.get(target)
    return info.name, [i.entry() for i in await store.items(info.name)]


async def _sync(args: argparse.Namespace, settings: Settings) -> int:
    from modella_tui.core.downloads.resolve import placement_for
    from modella_tui.core.hub.packages import load_catalogue
    from modella_tui.core.list_status import Holdings
    from modella_tui.core.provision import PlanningAhead, make_planner, sync

    # As `modella download`: one HTTP client for look-ups, downloads and previews, their answers
    # cached in one transaction, and for a list file the look-ups under way while the database
    # opens (a stored list needs the database first).
    found = _file_entries(args.target, settings)
    async with open_clients(settings, for_download=True) as clients:
        layout = str(settings.get("layout"))
        planner = make_planner(
            clients.civitai,
            clients.hub,
            load_catalogue(),
            lambda: placement_for(settings.models_dir, layout, None),
        )
        ahead = None
        if found is not None and found[1]:
            ahead = PlanningAhead(planner, found[1], concurrency=RESOLVE_AT_ONCE)
            planner = ahead
        try:
            await clients.open_db()
            store = ListStore(clients.db)
            name, entries = found or await _stored_entries(args.target, store, settings)
            if not entries:
                sys.stderr.write(clean(t("sync.empty", name=name)) + "\n")
                return EXIT_OK
            sys.stderr.write(clean(t("sync.resolving", name=name, count=len(entries))) + "\n")
            engine = make_engine(settings, clients)
            freeze_imports()
            holdings = await Holdings.gather(
                await store.landed(), await engine.items(), [settings.models_dir]
            )
            show = _Progress()
            # Names of rows already in the queue, for a file this run queues again.
            show.names.update({b.id: clean(b.file_name) for b in await engine.store.briefs()})
            engine.add_listener(show.on_event)  # before adding: ItemAdded names the files
            with show:
                result = await sync(
                    engine,
                    entries,
                    planner,
                    holdings,
                    allow_pickle=args.allow_pickle,
                    force=args.force,
                    concurrency=RESOLVE_AT_ONCE,
                    on_other=_other_process,
                )
        finally:
            if ahead is not None:
                await ahead.close()
    _print(name, result)
    return result.exit_code()


def _other_process() -> None:
    sys.stderr.write(t("download.other_process") + "\n")


def _print(name: str, result: SyncReport) -> None:
    """One row per item: on a terminal a table, each reason indented under its row; on a pipe,
    tab-separated fields, the reasons (joined by "; ") last."""
    rows: list[list[str]] = []
    notes: dict[int, list[str]] = {}
    table = is_tty()
    for index, r in enumerate(result.results):
        size = human_size(r.bytes) if r.bytes else ""
        files = str(r.files) if r.files else ""
        word = f"{MARKS.get(r.outcome, ' ')} {t(f'sync.outcome.{r.outcome}')}"
        rows.append([word, r.entry.ref, r.entry.title or r.entry.note or "", files, size])
        if r.reasons:
            notes[index] = list(r.reasons)
        if table:
            continue  # the table shows each reason under its row: once is enough on a terminal
        for reason in r.reasons:  # stdout may go to a file: a person watching still sees why
            sys.stderr.write(clean(t("download.ref_failed", ref=r.entry.ref, reason=reason)) + "\n")
    if table:
        cols = ("outcome", "ref", "title", "files", "size")
        print_table([t(f"sync.col.{c}") for c in cols], rows, right={3, 4}, notes=notes)
    else:
        for index, row in enumerate(rows):
            fields = [*row, "; ".join(clean(n) for n in notes.get(index, ()))]
            sys.stdout.write("\t".join(clean(f) for f in fields) + "\n")
    counts = {o: result.count(o) for o in ("landed", "already", "failed", "skipped")}
    summary = t("sync.summary", name=name, size=human_size(result.bytes), **counts)
    sys.stdout.write(clean(summary) + "\n")
    sys.stdout.flush()


class _Progress:
    """One line per finished file on a pipe; a bar per file on a terminal."""

    def __init__(self) -> None:
        self.names: dict[int, str] = {}
        self.bars: Any = None
        self.tasks: dict[int, Any] = {}
        self.said: set[tuple[int, str]] = set()
        self.mine: set[int] = set()  # the items this run queued
        if is_tty():
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TransferSpeedColumn,
            )

            self.bars = Progress(
                TextColumn("{task.description}", markup=False),
                BarColumn(),
                DownloadColumn(binary_units=True),
                TransferSpeedColumn(),
                transient=True,
            )

    def __enter__(self) -> _Progress:
        if self.bars is not None:
            self.bars.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bars is not None:
            self.bars.stop()

    def on_event(self, event: Event) -> None:
        from modella_tui.core.downloads.events import ItemAdded, Progress, StateChanged

        if isinstance(event, ItemAdded):
            self.names[event.item_id] = clean(event.file_name)
            self.mine.add(event.item_id)
        elif isinstance(event, StateChanged) and event.state in ("pending", "running"):
            self.mine.add(event.item_id)  # queued again by this run (or started)
        if event.item_id not in self.mine:
            return  # an older row of the queue (a failure of an earlier run): not this sync's
        if isinstance(event, Progress) and self.bars is not None:
            if event.item_id not in self.tasks:
                name = self.names.get(event.item_id, str(event.item_id))
                self.tasks[event.item_id] = self.bars.add_task(name[:40], total=event.total)
            self.bars.update(self.tasks[event.item_id], completed=event.done, total=event.total)
        elif isinstance(event, StateChanged) and event.state in ("done", "failed"):
            if (event.item_id, event.state) in self.said:
                return
            self.said.add((event.item_id, event.state))
            name = self.names.get(event.item_id, str(event.item_id))
            line = f"{t(f'ui.state.{event.state}')}\t{name}"
            if self.bars is not None:
                self.bars.console.print(line, markup=False, highlight=False)
            else:
                sys.stdout.write(line + "\n")
                sys.stdout.flush()
