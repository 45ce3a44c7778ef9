"""`modella scan`: index the models folder — sizes now, each file's SHA256 once, then who it is.

Files Civitai knows by hash are identified and shown with their model and version; the rest get a
type and base model from their safetensors header where it names them. Newer versions of local
Civitai models, duplicates and leftover partial downloads are listed. A second run reads only files
whose size or mtime changed (docs/library.md).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
from typing import Any

from modella_tui.cli.common import open_clients
from modella_tui.cli.output import human_size, print_json, print_line
from modella_tui.core.config import Settings
from modella_tui.core.errors import NotFoundError
from modella_tui.core.i18n import t
from modella_tui.core.library import LibraryIndex
from modella_tui.core.library_files import LocalFile
from modella_tui.core.library_view import LibraryView, build_view, reclaim
from modella_tui.core.scan import ScanProgress, ScanReport, describe
from modella_tui.core.textsafe import clean


def run_scan(args: argparse.Namespace, settings: Settings) -> int:
    """Scan `models_dir`; exit 0, or the look-up failure's code once everything else is done."""
    root = settings.models_dir
    if not os.path.isdir(root):
        raise NotFoundError("cli.scan.no_folder", path=clean(str(root)))
    return asyncio.run(_scan(args, settings))


async def _scan(args: argparse.Namespace, settings: Settings) -> int:
    status = _Status(enabled=sys.stderr.isatty() and not args.json)
    async with open_clients(settings) as clients:
        index = LibraryIndex(
            clients.db,
            lambda: settings.models_dir,
            civitai=None if args.offline else clients.civitai,
        )
        try:
            report = await index.scan(status.show)
        finally:
            status.clear()
    view = build_view(report.snapshot)
    if args.json:
        print_json(report_json(report, view))
    else:
        _print_report(report, view)
    if report.civitai_error is not None:
        sys.stderr.write(
            clean(t("cli.scan.civitai_failed", reason=report.civitai_error.message)) + "\n"
        )
        return report.civitai_error.exit_code
    return 0


class _Status:
    """One line on stderr rewritten in place while the scan runs (terminals only)."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self.shown = False

    def show(self, progress: ScanProgress) -> None:
        if not self.enabled or progress.phase == "done":
            return
        width = shutil.get_terminal_size((80, 24)).columns - 1
        line = clean(describe(progress))[:width]
        sys.stderr.write("\r" + line.ljust(width))
        sys.stderr.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            width = shutil.get_terminal_size((80, 24)).columns - 1
            sys.stderr.write("\r" + " " * width + "\r")
            sys.stderr.flush()


def _rel(view: LibraryView, f: LocalFile | str) -> str:
    return clean(view.relative(f if isinstance(f, str) else f.path))


SHOW_AT_MOST = 20  # lines of one kind in the text report; --json has them all


def _version(report: ScanReport, f: LocalFile) -> str:
    known = report.snapshot.versions.get(f.model_id or "")
    return (known.name_of(f.version_id) if known else None) or str(f.version_id or "?")


def _print_report(report: ScanReport, view: LibraryView) -> None:
    snap = report.snapshot
    print_line(
        t(
            "cli.scan.summary",
            folder=clean(str(snap.root)),
            count=view.file_count,
            size=human_size(view.total_bytes),
        )
    )
    print_line(
        t("cli.scan.hashed", count=report.hashed, size=human_size(report.hashed_bytes))
        if report.hashed
        else t("cli.scan.nothing_to_hash")
    )
    if report.identified:
        print_line(t("cli.scan.identified", count=len(report.identified)))
        for f in report.identified:
            ref = f"civitai:{f.model_id}@{f.version_id}"
            name = clean(f.name)
            print_line(f"  {_rel(view, f)} → {name} · {clean(_version(report, f))} ({ref})")
    unknown = [f for f in snap.files if f.kind == "model" and f.source == "unknown"]
    if unknown:
        typed = [f for f in unknown if f.header == "ok"]
        print_line(t("cli.scan.unknown", count=len(unknown), typed=len(typed)))
        for f in typed[:SHOW_AT_MOST]:
            what = " · ".join(clean(x) for x in (f.type, f.base_model) if x and x != "Other")
            print_line(f"  {_rel(view, f)}: {what or clean(f.type)}")
        if len(typed) > SHOW_AT_MOST:
            print_line("  …" + t("cli.scan.more", count=len(typed) - SHOW_AT_MOST))
    for path in report.unreadable:
        print_line("  " + t("cli.scan.unreadable", path=_rel(view, path)))
    updates = [(f, snap.update_for(f)) for f in snap.files if f.kind == "model"]
    newer = [(f, u) for f, u in updates if u is not None]
    if newer:
        print_line(t("cli.scan.updates", count=len(newer)))
        for f, (vid, vname) in newer:
            print_line(
                f"  {_rel(view, f)}: {clean(f.name)} {clean(_version(report, f))} → "
                f"{clean(vname)} (civitai:{f.model_id}@{vid})"
            )
    if view.duplicates:
        print_line(
            t(
                "cli.scan.duplicates",
                count=len(view.duplicates),
                size=human_size(view.reclaimable),
            )
        )
        for copies in view.duplicates.values():
            print_line("  " + " = ".join(_rel(view, f) for f in copies))
    partial = [f for f in snap.files if f.kind == "partial"]
    parts = [f for f in partial if f.path.endswith(".part")]
    if parts:
        size = human_size(sum(f.size for f in partial))  # with their `.part.json` notes
        print_line(t("cli.scan.partial", count=len(parts), size=size))
    if report.stopped:
        print_line(t("cli.scan.stopped"))


def report_json(report: ScanReport, view: LibraryView) -> dict[str, Any]:
    """One JSON document: the totals and every finding, with paths relative to the folder."""
    snap = report.snapshot

    def entry(f: LocalFile) -> dict[str, Any]:
        return {
            "path": view.relative(f.path),
            "size": f.size,
            "source": f.source,
            "type": f.type,
            "baseModel": f.base_model,
            "name": f.name,
            "modelId": f.model_id,
            "versionId": f.version_id,
            "sha256": f.sha256,
            "header": f.header,
        }

    models = [f for f in snap.files if f.kind == "model"]
    return {
        "root": str(snap.root),
        "files": view.file_count,
        "bytes": view.total_bytes,
        "hashed": report.hashed,
        "hashedBytes": report.hashed_bytes,
        "identified": [entry(f) for f in report.identified],
        "unknown": [entry(f) for f in models if f.source == "unknown"],
        "unreadable": [view.relative(p) for p in report.unreadable],
        "updates": [
            {**entry(f), "newerVersionId": u[0], "newerVersionName": u[1]}
            for f in models
            if (u := snap.update_for(f)) is not None
        ],
        "duplicates": [
            {
                "sha256": sha,
                "paths": [view.relative(f.path) for f in copies],
                "reclaimBytes": reclaim(copies),
            }
            for sha, copies in view.duplicates.items()
        ],
        "partial": [entry(f) for f in snap.files if f.kind == "partial"],
        "civitaiError": report.civitai_error.message if report.civitai_error else None,
        "stopped": report.stopped,
    }
