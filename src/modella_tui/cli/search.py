"""`modella search`: Civitai search as a table on a TTY, JSON lines with --json."""

from __future__ import annotations

import argparse
import asyncio
import sys

from modella_tui.cli.common import is_tty, open_clients
from modella_tui.cli.output import human_count, model_json, no_results, print_json, print_table
from modella_tui.core.config import Settings
from modella_tui.core.errors import UsageError
from modella_tui.core.i18n import t
from modella_tui.core.models import CivitaiModel
from modella_tui.core.refs import CivitaiRef

# An empty page is not the end (Civitai filters after paging), but a bound keeps a CLI call finite.
MAX_PAGES = 20


def run_search(args: argparse.Namespace, settings: Settings) -> int:
    """Search Civitai and print the matches."""
    if not 1 <= args.limit <= 1000:
        raise UsageError("error.limit_range", low=1, high=1000)
    return asyncio.run(_search(args, settings))


async def _search(args: argparse.Namespace, settings: Settings) -> int:
    from modella_tui.core.civitai.client import SearchParams
    from modella_tui.core.civitai.lookup import open_intent
    from modella_tui.core.civitai.query import parse_query
    from modella_tui.core.civitai.vocab import BASE_MODELS, PERIODS, SORTS, TYPES, canonical

    intent = parse_query(args.query or "", civitai_base=settings.civitai_url)
    if intent.token_stripped:
        sys.stderr.write(t("refs.warn.token_stripped") + "\n")
    async with open_clients(settings) as clients:
        found: list[CivitaiModel] = []
        if intent.kind == "hash" or isinstance(intent.ref, CivitaiRef):
            model, _version = await open_intent(clients.civitai, intent)
            found.append(model)
        elif intent.kind == "open":
            raise UsageError("error.search_needs_words")
        else:
            params = SearchParams(
                query=intent.query or "",
                tag=args.tag or intent.tag or "",
                username=args.user or intent.username or "",
                types=[canonical(v, TYPES, "--type") for v in args.types],
                base_models=[canonical(v, BASE_MODELS, "--base", strict=False) for v in args.bases],
                sort=canonical(args.sort, SORTS, "--sort") if args.sort else "",
                period=canonical(args.period, PERIODS, "--period") if args.period else "",
                nsfw=bool(args.nsfw or settings.get("nsfw")),
                limit=min(100, max(args.limit, 20)),
            )
            for _ in range(MAX_PAGES):
                page = await clients.civitai.search(params)
                found.extend(page.items)
                if len(found) >= args.limit or not page.next_cursor:
                    break
                params = params.with_cursor(page.next_cursor)
    found = found[: args.limit]
    if not found:
        no_results()
        return 0
    if args.json or not is_tty():
        for m in found:
            print_json(model_json(m, base_url=settings.civitai_url))
        return 0
    rows = [
        [
            f"civitai:{m.id}",
            m.name,
            m.type,
            m.base_model,
            human_count(m.stats.likes),
            human_count(m.stats.downloads),
            m.creator or "",
        ]
        for m in found
    ]
    headers = [
        t(f"search.col.{c}")
        for c in ("ref", "name", "type", "base", "likes", "downloads", "creator")
    ]
    print_table(headers, rows, right={4, 5})
    return 0
