"""`modella show REF`: one model's versions, files (size, format, SHA256), trained words, tags."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from modella_tui.cli.common import open_clients
from modella_tui.cli.output import (
    hub_json,
    human_size,
    model_json,
    print_json,
    print_line,
    print_table,
)
from modella_tui.core.config import Settings
from modella_tui.core.errors import NotFoundError
from modella_tui.core.i18n import t
from modella_tui.core.models import CivitaiModel, HubRepo
from modella_tui.core.refs import CivitaiRef, parse_ref
from modella_tui.core.textsafe import clean

# Scan results that earn a sentence under the files table.
SCAN_NOTES = {
    "danger": "cli.show.note.danger",
    "error": "cli.show.note.error",
    "pending": "cli.show.note.pending",
}


def run_show(args: argparse.Namespace, settings: Settings) -> int:
    """Show one Civitai model or Hub repo."""
    ref = parse_ref(
        args.ref, civitai_base=settings.civitai_url, hub_base=os.environ.get("HF_ENDPOINT")
    )
    for warning in ref.warnings:
        sys.stderr.write(clean(warning) + "\n")
    return asyncio.run(_show(ref, args, settings))


async def _show(ref: object, args: argparse.Namespace, settings: Settings) -> int:
    async with open_clients(settings) as clients:
        if isinstance(ref, CivitaiRef):
            model_id = ref.model_id
            if model_id is None:
                assert ref.version_id is not None
                version = await clients.civitai.version(ref.version_id)
                model_id = version.model_id
                if model_id is None:
                    raise NotFoundError("error.not_found")
            model = await clients.civitai.model(model_id)
            if ref.version_id is not None:
                chosen = model.version(ref.version_id)
                if chosen is None:
                    raise NotFoundError(
                        "error.version_not_in_model", version=ref.version_id, model=model.id
                    )
                model = _only_version(model, ref.version_id)
            if args.json:
                print_json(model_json(model, versions=True, base_url=settings.civitai_url))
            else:
                _print_model(model, settings)
            return 0
        repo: HubRepo = await clients.hub.repo_info(ref.repo, ref.revision)  # type: ignore[attr-defined]
        path = getattr(ref, "path", None)
        if path:
            files = tuple(
                f for f in repo.files if f.path == path or f.path.startswith(path.rstrip("/") + "/")
            )
            if not files:
                raise NotFoundError("error.hub_file_missing", repo=repo.id, path=path)
            repo = HubRepo(id=repo.id, sha=repo.sha, gated=repo.gated, files=files)
        if args.json:
            print_json(hub_json(repo))
        else:
            _print_repo(repo)
        return 0


def _only_version(model: CivitaiModel, version_id: int) -> CivitaiModel:
    from dataclasses import replace

    return replace(model, versions=tuple(v for v in model.versions if v.id == version_id))


def _print_model(model: CivitaiModel, settings: Settings) -> None:
    print_line(
        t(
            "show.model_header",
            name=clean(model.name),
            ref=f"civitai:{model.id}",
            type=clean(model.type),
            creator=clean(model.creator or "?"),
        )
    )
    print_line(f"{settings.civitai_url}/models/{model.id}")
    if model.tags:
        print_line(t("show.tags", tags=clean(", ".join(model.tags))))
    for v in model.versions:
        print_line("")
        print_line(
            t(
                "show.version_header",
                name=clean(v.name),
                ref=f"civitai:{model.id}@{v.id}",
                base=clean(v.base_model or "?"),
                date=(v.published_at or "")[:10],
            )
            + (" " + t("show.early_access") if v.early_access else "")
        )
        words = ", ".join(v.trained_words)
        print_line("  " + t("show.trained_words", words=clean(words) if words else "–"))
        rows = [
            [
                f.name + (" *" if f.primary else ""),
                f.type,
                human_size(f.size_bytes),
                " ".join(x for x in (f.format, f.fp, f.size) if x),
                t(f"cli.show.scan.{f.scan_state}"),
                (f.sha256 or t("show.no_hash")).lower(),
            ]
            for f in v.files
        ]
        if rows:
            headers = [
                t(f"show.col.{c}") for c in ("file", "type", "size", "format", "scan", "sha256")
            ]
            print_table(headers, rows, right={2})
        for f in v.files:
            # A word, not a colour: the table may be piped, and colour alone says nothing.
            if f.scan_state in SCAN_NOTES:
                print_line("  " + t(SCAN_NOTES[f.scan_state], file=clean(f.name)))


def _print_repo(repo: HubRepo) -> None:
    print_line(t("show.repo_header", repo=clean(repo.id), sha=clean(repo.sha or "?")))
    if repo.gated:
        print_line(t("show.gated"))
    rows = [
        [f.path, human_size(f.size), (f.sha256 or t("show.not_lfs")).lower()] for f in repo.files
    ]
    headers = [t(f"show.col.{c}") for c in ("path", "size", "sha256")]
    print_table(headers, rows, right={1})
