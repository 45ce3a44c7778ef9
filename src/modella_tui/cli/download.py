"""`modella download REF…` and `modella queue [--run]`: the engine, headless."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modella_tui.cli.common import Clients, is_tty, open_clients
from modella_tui.cli.output import human_size, print_json, print_table
from modella_tui.core import errors
from modella_tui.core.config import Settings
from modella_tui.core.errors import ModellaError
from modella_tui.core.i18n import t
from modella_tui.core.textsafe import clean

if TYPE_CHECKING:
    from modella_tui.core.downloads.engine import DownloadEngine, Summary
    from modella_tui.core.downloads.events import Event
    from modella_tui.core.store.queue import QueueItem

ACTIVE = ("pending", "running", "verifying")
RESOLVE_AT_ONCE = 8  # REFs looked up at once: a list of LoRAs costs about one round trip
WAIT_POLL_S = 1.0  # when another process holds the engine lease, how often to look at the queue


def run_download(args: argparse.Namespace, settings: Settings) -> int:
    """Resolve every REF, queue the files and work them off; exit 0 only if all landed."""
    from modella_tui.core.refs import parse_ref

    hub_base = os.environ.get("HF_ENDPOINT")
    refs = [
        parse_ref(text, civitai_base=settings.civitai_url, hub_base=hub_base) for text in args.refs
    ]
    for ref in refs:
        for warning in ref.warnings:
            sys.stderr.write(warning + "\n")
    fewer_collections()
    return asyncio.run(_download(refs, args, settings))


def run_queue(args: argparse.Namespace, settings: Settings) -> int:
    """List the queue, or work it off with --run."""
    fewer_collections()
    return asyncio.run(_queue(args, settings))


GC_THRESHOLD = 10_000  # new container objects between two young collections (Python's: 700)


def fewer_collections() -> None:
    """The cyclic garbage collector took ~5% of a 30-file download's CPU, mostly walking the
    objects the imports made. A headless command makes few cycles: collect the young objects
    less often, and see `freeze_imports` for the old ones."""
    import gc

    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])


def freeze_imports() -> None:
    """Once the engine's modules are imported, leave their objects out of every later
    collection (they live as long as the process)."""
    import gc

    gc.freeze()


def make_engine(settings: Settings, clients: Clients) -> DownloadEngine:
    """The engine with the keys attached only for their own hosts."""
    from modella_tui.core.downloads.auth import download_auth
    from modella_tui.core.downloads.engine import DownloadEngine

    return DownloadEngine(
        clients.db,
        models_dir=settings.models_dir,
        max_parallel=int(settings.get("max_parallel")),
        connections_per_file=int(settings.get("connections_per_file")),
        auth_headers=download_auth(clients.civitai, clients.hub),
        http=clients.http,
    )


async def _download(refs: list[Any], args: argparse.Namespace, settings: Settings) -> int:
    from modella_tui.core.downloads.resolve import check_safety, placement_for, plan_ref
    from modella_tui.core.hub.packages import Catalogue, load_catalogue
    from modella_tui.core.refs import HubRef

    place = placement_for(settings.models_dir, str(settings.get("layout")), args.target_dir)
    # The curated Hub catalogue is read only for `hf:` REFs (Civitai ones never look at it).
    if any(isinstance(r, HubRef) for r in refs):
        catalogue = load_catalogue()
    else:
        catalogue = Catalogue(version=0, categories=(), packages=(), packs=())
    failures: list[ModellaError] = []
    watched: list[int] = []
    limit = asyncio.Semaphore(RESOLVE_AT_ONCE)
    async with open_clients(settings, for_download=True) as clients:

        async def look_up(ref: Any, skipped: list[ModellaError]) -> list[Any]:
            async with limit:
                return await plan_ref(
                    ref,
                    civitai=clients.civitai,
                    hub=clients.hub,
                    catalogue=catalogue,
                    place=place,
                    glob=args.file_glob,
                    skipped=skipped,
                )

        # The look-ups start before the database opens and the engine starts: they need neither
        # (their answers are cached once they are all in), and those first round trips then
        # overlap the start-up.
        skips: list[list[ModellaError]] = [[] for _ in refs]
        plans = [
            asyncio.ensure_future(look_up(ref, skipped))
            for ref, skipped in zip(refs, skips, strict=True)
        ]
        ready: list[Any] = []  # requests of REFs looked up, not yet handed to the engine
        adding = asyncio.Lock()
        try:
            await clients.open_db()
            engine = make_engine(settings, clients)
            freeze_imports()

            async def resolve_and_add(ref: Any, plan: asyncio.Future[list[Any]],
                                      skipped: list[ModellaError]) -> None:  # fmt: skip
                # Each REF is queued as soon as its own look-up is done, so its transfer starts
                # while the other look-ups are still in flight.
                try:
                    planned = await plan
                    check_safety(planned, allow_pickle=args.allow_pickle, force=args.force)
                    _warn_unconfirmed_scans(planned)
                except ModellaError as exc:
                    sys.stderr.write(
                        clean(t("download.ref_failed", ref=ref.canonical(), reason=exc.message))
                        + "\n"
                    )
                    failures.append(exc)
                    return
                for problem in skipped:
                    sys.stderr.write(
                        clean(t("download.ref_failed", ref=ref.canonical(), reason=problem.message))
                        + "\n"
                    )
                failures.extend(skipped)
                ready.extend(p.to_request(allow_pickle=args.allow_pickle) for p in planned)
                async with adding:
                    # What is ready by now goes in together (one read of the queue, one insert);
                    # an earlier holder of the lock may have taken this REF's files already.
                    batch, ready[:] = list(ready), []
                    results = await engine.add(batch) if batch else []
                for result in results:
                    _report_add(result)
                    if result.item_id is not None and result.status in (
                        "queued",
                        "requeued",
                        "already_queued",
                    ):
                        watched.append(result.item_id)
                    elif result.status == "refused":
                        failures.append(
                            errors.DownloadError(result.key or "error.download", **result.params)
                        )

            async def resolve_all() -> list[int]:
                await asyncio.gather(
                    *(
                        resolve_and_add(ref, plan, skipped)
                        for ref, plan, skipped in zip(refs, plans, skips, strict=True)
                    )
                )
                # Every answer in one transaction, once the files are on their way.
                await _flush_cache(clients)
                return watched

            summary = await _work(engine, clients, resolve_all)
        finally:
            for plan in plans:
                plan.cancel()
            await asyncio.gather(*plans, return_exceptions=True)
    code = summary.exit_code() if summary.items else errors.EXIT_OK
    if failures:
        codes = {f.exit_code for f in failures} | ({code} if code else set())
        code = codes.pop() if len(codes) == 1 else errors.EXIT_FAILED
    return code


async def _flush_cache(clients: Clients) -> None:
    """Write the look-ups' answers to the response cache; a failure only costs the cache."""
    import sqlite3

    cache = clients.civitai.cache
    if cache is not None:
        try:
            await cache.flush()
        except (sqlite3.Error, ModellaError):
            pass


def _warn_unconfirmed_scans(planned: list[Any]) -> None:
    """One warning line for each file whose Civitai scan is Pending or Error."""
    for p in planned:
        if p.scan_unconfirmed in ("Pending", "Error"):
            key = f"cli.download.scan_{p.scan_unconfirmed.lower()}"
            sys.stderr.write(clean(t(key, name=p.file_name)) + "\n")


def _report_add(result: Any) -> None:
    if result.status == "already_have":
        sys.stdout.write(t("download.already_have", path=clean(result.path or "")) + "\n")
    elif result.status == "already_queued":
        sys.stdout.write(t("download.already_queued", item=result.item_id) + "\n")
    elif result.status == "refused":
        reason = t(result.key, **result.params) if result.key else ""
        sys.stderr.write(clean(t("download.refused", reason=reason)) + "\n")


async def _work(
    engine: DownloadEngine,
    clients: Clients,
    feed: Callable[[], Awaitable[list[int]]] | None,
) -> Summary:
    """Run the engine (or wait on the process that holds it) and show progress.

    `feed` queues the command's files once the engine runs and returns the ids to watch; without
    it (`queue --run`) the work still pending is watched.
    """
    from modella_tui.core.downloads.engine import Summary

    show = _TtyProgress() if is_tty() else _LineProgress()
    names = {b.id: b.file_name for b in await engine.store.briefs()}
    engine.add_listener(lambda event: show.on_event(event, names))
    try:
        with show:
            held = await engine.start()
            if feed is not None:
                watched = await feed()
                if not watched:
                    return Summary([])
            else:
                # `queue --run`: the work still to do once the engine has reconciled (a `.part`
                # left by a lost database is queued again then), not the finished history.
                _report_orphans(await engine.orphans())
                watched = [i.id for i in await engine.items() if i.state in ACTIVE]
                if not watched:
                    sys.stderr.write(t("queue.nothing_to_do") + "\n")
                    return Summary([])
            if held:
                summary = await engine.run_until_idle(watched)
            else:
                sys.stderr.write(t("download.other_process") + "\n")
                summary = Summary(await _wait_for_other(engine, watched))
    finally:
        await engine.stop()
    for item in summary.items:
        _report_item(item)
    return summary


async def _wait_for_other(engine: DownloadEngine, watched: list[int] | None) -> list[QueueItem]:
    terminal = {"done", "failed", "cancelled", "paused"}
    while True:
        items = [i for i in await engine.items() if watched is None or i.id in watched]
        if all(i.state in terminal for i in items):
            return items
        await asyncio.sleep(WAIT_POLL_S)


def _report_item(item: QueueItem) -> None:
    if item.state == "done":
        key = "download.landed" if item.verified else "download.landed_unverified"
        sys.stdout.write(clean(t(key, path=item.final_path or item.file_name)) + "\n")
    else:
        reason = item.message or t(f"ui.state.{item.state}")
        sys.stderr.write(
            clean(t("download.item_failed", name=item.file_name, reason=reason)) + "\n"
        )


class _LineProgress:
    """One line per event on a pipe; progress only every 10 %."""

    def __init__(self) -> None:
        self._last: dict[int, int] = {}

    def __enter__(self) -> _LineProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def on_event(self, event: Event, names: dict[int, str]) -> None:
        from modella_tui.core.downloads.events import ItemAdded, Progress, StateChanged

        if isinstance(event, ItemAdded):
            names[event.item_id] = event.file_name
            return
        name = clean(names.get(event.item_id, str(event.item_id)))
        if isinstance(event, StateChanged):
            state = t(f"ui.state.{event.state}")
            reason = t(event.error_key, **event.error_params) if event.error_key else ""
            line = f"{state}\t{name}" + (f"\t{clean(reason)}" if reason else "")
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
        elif isinstance(event, Progress) and event.total:
            step = int(event.done * 10 / event.total)
            if step > self._last.get(event.item_id, 0):
                self._last[event.item_id] = step
                sys.stdout.write(
                    f"{t('ui.state.running')}\t{name}\t{step * 10}%\t"
                    f"{human_size(event.speed_bps)}/s\n"
                )
                sys.stdout.flush()


class _TtyProgress:
    """Rich progress bars on a terminal, one per file."""

    def __init__(self) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self.progress = Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            DownloadColumn(binary_units=True),  # the sizes the app and `modella show` print
            TransferSpeedColumn(),
            TimeRemainingColumn(),
        )
        self.tasks: dict[int, Any] = {}

    def __enter__(self) -> _TtyProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def _task(self, item_id: int, names: dict[int, str]) -> Any:
        if item_id not in self.tasks:
            name = clean(names.get(item_id, str(item_id)))
            self.tasks[item_id] = self.progress.add_task(name[:40], total=None)
        return self.tasks[item_id]

    def on_event(self, event: Event, names: dict[int, str]) -> None:
        from modella_tui.core.downloads.events import ItemAdded, Progress, StateChanged

        if isinstance(event, ItemAdded):
            names[event.item_id] = event.file_name
        elif isinstance(event, Progress):
            self.progress.update(
                self._task(event.item_id, names), completed=event.done, total=event.total
            )
        elif isinstance(event, StateChanged) and event.state in ("done", "failed", "cancelled"):
            task = self._task(event.item_id, names)
            state = t(f"ui.state.{event.state}")
            done = event.state == "done"
            total = next((x.total for x in self.progress.tasks if x.id == task), None)
            self.progress.update(
                task, description=f"{clean(names.get(event.item_id, ''))[:40]} {state}"
            )
            if done and total:  # whole, though the last progress tick came before its end
                self.progress.update(task, completed=total)
            elif total is None:  # over before its first progress tick: its line below says it
                self.progress.remove_task(task)


def _report_orphans(orphans: list[Path]) -> None:
    """Name the `.part.json` files this installation did not write, and say they can go."""
    if not orphans:
        return
    sys.stderr.write(t("cli.queue.orphans", count=len(orphans)) + "\n")
    for path in orphans:
        sys.stderr.write(f"  {clean(str(path))}\n")
    sys.stderr.write(t("cli.queue.orphans_hint") + "\n")


async def _queue(args: argparse.Namespace, settings: Settings) -> int:
    async with open_clients(settings) as clients:
        engine = make_engine(settings, clients)
        freeze_imports()
        if args.run:
            summary = await _work(engine, clients, None)
            return summary.exit_code()
        items = await engine.items()
        _report_orphans(await engine.orphans())
    if not items:
        sys.stderr.write(t("queue.empty") + "\n")
        return 0
    if args.json or not is_tty():
        for i in items:
            print_json(_item_json(i))
        return 0
    rows = [
        [
            str(i.id),
            t(f"ui.state.{i.state}"),
            i.file_name,
            _percent(i),
            human_size(i.expected_size),
            i.message or "",
        ]
        for i in items
    ]
    headers = [t(f"queue.col.{c}") for c in ("id", "state", "file", "done", "size", "reason")]
    print_table(headers, rows, right={0, 3, 4})
    return 0


def _percent(item: QueueItem) -> str:
    if item.state == "done":
        return "100%"
    if item.expected_size:
        return f"{min(100, item.bytes_done * 100 // item.expected_size)}%"
    return human_size(item.bytes_done)


def _item_json(i: QueueItem) -> dict[str, Any]:
    return {
        "id": i.id,
        "state": i.state,
        "source": i.source,
        "title": i.title,
        "file": i.file_name,
        "type": i.type,
        "target_dir": i.target_dir,
        "size": i.expected_size,
        "done": i.bytes_done,
        "sha256": i.sha256,
        "verified": i.verified,
        "path": i.final_path,
        "error": i.message,
    }
