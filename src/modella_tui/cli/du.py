"""`modella du`: the disk usage of the models folder, as text bars or one JSON document.

The figures come from `core/usage.py`, the same aggregation the Disk usage screen draws, over a
fresh walk of the folder (sizes only; no file is read).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys

from rich.cells import cell_len, set_cell_size

from modella_tui.core import paths
from modella_tui.core.config import Settings
from modella_tui.core.errors import NotFoundError
from modella_tui.core.i18n import t
from modella_tui.core.textsafe import clean
from modella_tui.core.units import human_size
from modella_tui.core.usage import (
    GROUPINGS,
    Usage,
    group_label,
    reclaim_lines,
    summarize,
    text_bar,
    volume_line,
    volume_of,
)

LABEL_WIDTH = 24
BAR_WIDTH = 30
ACTIVE = ("pending", "running", "verifying", "paused")


def run_du(args: argparse.Namespace, settings: Settings) -> int:
    """Walk the models folder, then print its usage; 4 when the folder does not exist."""
    root = settings.models_dir
    if not root.is_dir():
        raise NotFoundError("du.no_folder", folder=str(root))
    usage = asyncio.run(_usage(settings))
    by = [args.by] if args.by else list(GROUPINGS)
    if args.json:
        sys.stdout.write(json.dumps(usage.to_json(by), ensure_ascii=True, indent=2) + "\n")
        return 0
    for line in render(usage, by):
        sys.stdout.write(clean(line) + "\n")
    return 0


async def _usage(settings: Settings) -> Usage:
    from modella_tui.core.library import LibraryIndex
    from modella_tui.core.store.db import Database
    from modella_tui.core.store.queue import QueueStore

    db = Database(paths.db_path())
    await db.open()
    for note in db.notes:
        sys.stderr.write(note + "\n")
    try:
        snapshot = await LibraryIndex(db, lambda: settings.models_dir).refresh()
        active = await QueueStore(db).in_states(*ACTIVE)
    finally:
        await db.close()
    targets = [os.path.join(i.target_dir, i.file_name) for i in active]
    return summarize(snapshot, active_targets=targets, volume=volume_of(snapshot.root))


def _cells(text: str, width: int) -> str:
    if cell_len(text) > width:
        return set_cell_size(text, width - 1) + "…"
    return set_cell_size(text, width)


def render(usage: Usage, by: list[str]) -> list[str]:
    """The lines `modella du` prints: totals, one bar chart per grouping, what can be freed."""
    total = usage.total_bytes
    lines = [t("usage.folder", folder=str(usage.root))]
    lines.append(t("usage.total", size=human_size(total), files=usage.files))
    if usage.volume is not None:
        lines.append(volume_line(usage))
    for grouping in by:
        lines.append("")
        lines.append(t(f"usage.by.{grouping}"))
        for group in usage.groups[grouping]:
            share = group.share(total)
            lines.append(
                "  "
                + _cells(clean(group_label(grouping, group)), LABEL_WIDTH)
                + " "
                + text_bar(share, BAR_WIDTH)
                + f" {human_size(group.bytes):>9} {share * 100:5.1f}%"
            )
        if not usage.groups[grouping]:
            lines.append("  " + t("usage.empty"))
    lines.append("")
    lines.extend(reclaim_lines(usage))
    for part in usage.leftover_parts:
        rel = os.path.relpath(part.path, usage.root)
        lines.append("  " + t("usage.leftover", size=human_size(part.size), path=rel))
    for dup in usage.duplicates:
        names = ", ".join(os.path.relpath(p, usage.root) for p in dup.paths)
        lines.append("  " + t("usage.duplicate", size=human_size(dup.size), paths=names))
    return lines
