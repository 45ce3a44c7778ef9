"""`modella lists [NAME]`, `modella lists export NAME [--output FILE]`, `modella lists import FILE`."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modella_tui.cli.common import Clients, is_tty, open_clients
from modella_tui.cli.output import human_size, print_json, print_table
from modella_tui.core.config import Settings
from modella_tui.core.errors import EXIT_OK, UsageError
from modella_tui.core.i18n import t
from modella_tui.core.listfile import ListFileError, dump_list, read_list_file, write_list_file
from modella_tui.core.lists import ListStore
from modella_tui.core.textsafe import clean

if TYPE_CHECKING:
    from modella_tui.core.list_status import ItemStatus
    from modella_tui.core.lists import ListItem

ACTIONS = ("export", "import")


def run_lists(args: argparse.Namespace, settings: Settings) -> int:
    """Dispatch on the words after `lists`: none, NAME, `export NAME` or `import FILE`."""
    words: list[str] = list(args.words)
    if words == ["export"]:
        raise UsageError("cli.lists.export_needs_name")
    if words == ["import"]:
        raise UsageError("cli.lists.import_needs_file")
    action = words[0] if len(words) == 2 and words[0] in ACTIONS else None
    if len(words) > 2 or (len(words) == 2 and action is None):
        raise UsageError("cli.lists.usage")
    if args.output is not None and action != "export":
        raise UsageError("cli.lists.output_only_export")
    if args.name is not None and action != "import":
        raise UsageError("cli.lists.name_only_import")
    try:
        if action == "export":
            return asyncio.run(_export(words[1], args.output, settings, force=args.force))
        if action == "import":
            return asyncio.run(_import(Path(words[1]).expanduser(), args.name, settings))
        if words:
            return asyncio.run(_show(words[0], args, settings))
        return asyncio.run(_all(args, settings))
    except ListFileError as exc:
        return print_problems(exc)


def print_problems(exc: ListFileError) -> int:
    """Each bad line of a list file on stderr, then what to do; the exit code of bad usage."""
    for problem in exc.problems:
        sys.stderr.write(clean(problem) + "\n")
    sys.stderr.write(clean(exc.message) + "\n")
    return exc.exit_code


def hub_base() -> str | None:
    """The Hub endpoint links in a list file may point at (a mirror, the tests' fake hub)."""
    return os.environ.get("HF_ENDPOINT")


async def _all(args: argparse.Namespace, settings: Settings) -> int:
    async with open_clients(settings) as clients:
        infos = await ListStore(clients.db).lists()
    if not infos:
        sys.stderr.write(t("cli.lists.none") + "\n")
        return EXIT_OK
    if args.json or not is_tty():
        for info in infos:
            print_json({"name": info.name, "items": info.count, "created": _iso(info.created_at)})
        return EXIT_OK
    headers = [t("cli.lists.col.name"), t("cli.lists.col.items")]
    print_table(headers, [[info.name, str(info.count)] for info in infos], right={1})
    return EXIT_OK


async def _show(name: str, args: argparse.Namespace, settings: Settings) -> int:
    async with open_clients(settings) as clients:
        store = ListStore(clients.db)
        info = await store.get(name)
        items = await store.items(info.name)
        statuses = await list_statuses(clients, store, items, settings, offline=args.offline)
    if args.json or not is_tty():
        for item, status in zip(items, statuses, strict=True):
            print_json(_item_json(item, status))
        return EXIT_OK
    sys.stdout.write(clean(t("cli.lists.header", name=info.name, count=len(items))) + "\n")
    if not items:
        sys.stderr.write(t("cli.lists.empty", name=clean(info.name)) + "\n")
        return EXIT_OK
    rows = [
        [
            status_word(status),
            item.ref,
            item.file or "",
            human_size(status.size) if status.size else "",
            item.title or item.note or "",
        ]
        for item, status in zip(items, statuses, strict=True)
    ]
    cols = ("status", "ref", "file", "size", "title")
    print_table([t(f"cli.lists.col.{c}") for c in cols], rows, right={3})
    reasons: dict[str, int] = {}
    for status in statuses:
        if status.reason:
            reasons[status.reason] = reasons.get(status.reason, 0) + 1
    for reason, count in reasons.items():
        sys.stderr.write(clean(t("cli.lists.reason", count=count, reason=reason)) + "\n")
    return EXIT_OK


async def list_statuses(
    clients: Clients,
    store: ListStore,
    items: list[ListItem],
    settings: Settings,
    *,
    offline: bool,
) -> list[ItemStatus]:
    """Each item's state: what this machine has, checked against the source unless `offline`."""
    from modella_tui.core.downloads.resolve import placement_for
    from modella_tui.core.hub.packages import load_catalogue
    from modella_tui.core.list_status import Holdings, item_status, plan_entries
    from modella_tui.core.provision import make_planner
    from modella_tui.core.store.queue import QueueStore

    queue = await QueueStore(clients.db).all()
    holdings = await Holdings.gather(await store.landed(), queue, [settings.models_dir])
    catalogue = load_catalogue()
    entries = [i.entry() for i in items]
    if offline:
        return [item_status(e, holdings, None, catalogue) for e in entries]
    layout = str(settings.get("layout"))
    planner = make_planner(
        clients.civitai,
        clients.hub,
        catalogue,
        lambda: placement_for(settings.models_dir, layout, None),
    )
    outcomes = await plan_entries(entries, planner)
    return [item_status(e, holdings, o, catalogue) for e, o in zip(entries, outcomes, strict=True)]


def status_word(status: ItemStatus) -> str:
    """local ✓ (verified), local, queued, missing or gone, in words."""
    if status.state == "local" and status.verified:
        return t("lists.status.local_verified")
    return t(f"lists.status.{status.state}")


def _item_json(item: ListItem, status: ItemStatus) -> dict[str, Any]:
    return {
        "ref": item.ref,
        "file": item.file,
        "note": item.note,
        "title": item.title,
        "status": status.state,
        "verified": status.verified,
        "checked": status.checked,
        "paths": list(status.paths),
        "size": status.size,
        "reason": status.reason,
    }


async def _export(name: str, output: str | None, settings: Settings, *, force: bool) -> int:
    if output is not None and not force and Path(output).expanduser().is_file():
        # A kit file edited by hand is not replaced unasked (the app asks; a command is told).
        raise UsageError("cli.lists.exists", file=clean(str(Path(output).expanduser())))
    async with open_clients(settings) as clients:
        store = ListStore(clients.db)
        info = await store.get(name)
        items = await store.items(info.name)
    entries = [i.entry() for i in items]
    if output is None:
        sys.stdout.write(dump_list(info.name, entries))
        return EXIT_OK
    path = Path(output).expanduser()
    write_list_file(path, info.name, entries)
    sys.stderr.write(
        clean(t("cli.lists.exported", name=info.name, count=len(entries), file=str(path))) + "\n"
    )
    return EXIT_OK


async def _import(path: Path, name: str | None, settings: Settings) -> int:
    listfile = read_list_file(path, civitai_base=settings.civitai_url, hub_base=hub_base())
    for warning in listfile.warnings:
        sys.stderr.write(clean(warning) + "\n")
    if listfile.token_stripped:
        sys.stderr.write(t("refs.warn.token_stripped") + "\n")
    target = name or listfile.name or path.stem
    async with open_clients(settings) as clients:
        added = await ListStore(clients.db).add_items(target, listfile.items, create=True)
    key = "cli.lists.imported_new" if added.created else "cli.lists.imported_merged"
    sys.stdout.write(
        clean(t(key, name=added.list.name, added=added.added, already=added.already)) + "\n"
    )
    return EXIT_OK


def _iso(stamp: float) -> str:
    return dt.datetime.fromtimestamp(stamp, dt.UTC).isoformat(timespec="seconds")
