"""How the CLI prints models: JSON lines for programs, tables for people (remote text cleaned)."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from modella_tui.core.i18n import t
from modella_tui.core.models import CivitaiFile, CivitaiModel, CivitaiVersion, HubFile, HubRepo
from modella_tui.core.textsafe import clean
from modella_tui.core.units import human_count, human_size

__all__ = ["human_count", "human_size"]  # re-exported for the commands


def file_json(f: CivitaiFile) -> dict[str, Any]:
    """A stable JSON view of a Civitai file."""
    return {
        "id": f.id,
        "name": f.name,
        "type": f.type,
        "size": f.size_bytes,
        "format": f.format,
        "fp": f.fp,
        "primary": f.primary,
        "sha256": f.sha256,
        "pickleScan": f.pickle_scan,
        "virusScan": f.virus_scan,
        "scan": f.scan_state,
    }


def version_json(v: CivitaiVersion) -> dict[str, Any]:
    """A stable JSON view of a Civitai version."""
    return {
        "id": v.id,
        "name": v.name,
        "baseModel": v.base_model,
        "publishedAt": v.published_at,
        "earlyAccess": v.early_access,
        "trainedWords": list(v.trained_words),
        "files": [file_json(f) for f in v.files],
        "images": [i.url for i in v.images],
    }


def model_json(m: CivitaiModel, *, versions: bool = False, base_url: str = "") -> dict[str, Any]:
    """A stable JSON view of a Civitai model (one line of `modella search --json`)."""
    out: dict[str, Any] = {
        "ref": f"civitai:{m.id}",
        "id": m.id,
        "name": m.name,
        "type": m.type,
        "baseModel": m.base_model,
        "creator": m.creator,
        "nsfw": m.nsfw,
        "tags": list(m.tags),
        "stats": {
            "downloads": m.stats.downloads,
            "likes": m.stats.likes,
            "rating": m.stats.rating,
        },
        "url": f"{base_url}/models/{m.id}" if base_url else None,
    }
    if m.latest is not None:
        out["latestVersion"] = {"id": m.latest.id, "name": m.latest.name}
    if versions:
        out["description"] = m.description
        out["versions"] = [version_json(v) for v in m.versions]
    return out


def hub_json(repo: HubRepo) -> dict[str, Any]:
    """A stable JSON view of a Hub repo and its files."""
    return {
        "ref": f"hf:{repo.id}",
        "id": repo.id,
        "sha": repo.sha,
        "gated": repo.gated,
        "files": [hub_file_json(f) for f in repo.files],
    }


def hub_file_json(f: HubFile) -> dict[str, Any]:
    """A stable JSON view of a Hub file."""
    return {"path": f.path, "size": f.size, "sha256": f.sha256, "revision": f.revision}


def print_json(obj: Any) -> None:
    """One JSON object on one line; ensure_ascii keeps terminal escapes in remote text inert."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=True) + "\n")


def print_table(
    headers: list[str],
    rows: list[list[str]],
    *,
    right: set[int] | None = None,
    notes: Mapping[int, Sequence[str]] | None = None,
) -> None:
    """A plain table sized to the content, every cell cleaned of control characters.

    `notes[i]` are lines shown under row i, each on its own line indented to the second column and
    folded at the terminal's width (a failure's reason, too long for a column at 80 columns).
    """
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    for i, h in enumerate(headers):
        table.add_column(
            h,
            justify="right" if right and i in right else "left",
            overflow="fold",
            # With notes, the first column never folds: a row's first line is the one starting at
            # the margin, so each note can follow the last line of its row.
            no_wrap=bool(notes) and i == 0,
        )
    for row in rows:
        table.add_row(*(Text(clean(cell)) for cell in row))
    # On a pipe nothing is folded: one row stays one line, whole hashes included.
    width = None if sys.stdout.isatty() else 1000
    console = Console(highlight=False, soft_wrap=False, width=width)
    if not notes:
        console.print(table)
        return
    _print_with_notes(console, table, headers, rows, notes)


def _print_with_notes(
    console: Any,
    table: Any,
    headers: list[str],
    rows: list[list[str]],
    notes: Mapping[int, Sequence[str]],
) -> None:
    from rich.cells import cell_len
    from rich.padding import Padding
    from rich.segment import Segment, Segments
    from rich.text import Text

    lines = console.render_lines(table, pad=False)
    texts = ["".join(segment.text for segment in line) for line in lines]
    starts = [n for n, text in enumerate(texts) if text[:1] not in ("", " ")]
    first = max(cell_len(clean(cell)) for cell in [headers[0], *(row[0] for row in rows)])
    indent = min(first + 2, console.width // 2)
    out: list[Segment] = []

    def add(chunk: list[list[Segment]]) -> None:
        for line in chunk:
            out.extend(line)
            out.append(Segment.line())

    def add_notes(index: int) -> None:
        for note in notes.get(index, ()):
            text = Text("↳ " + clean(note), overflow="fold")
            add(console.render_lines(Padding(text, (0, 0, 0, indent), expand=False), pad=False))

    if len(starts) == len(rows) + 1:  # the header, then one start per row
        ends = [*starts[2:], len(lines)]
        add(lines[: starts[1]])
        for index in range(len(rows)):
            add(lines[starts[index + 1] : ends[index]])
            add_notes(index)
    else:  # a terminal too narrow for the first column: the notes go under the table
        add(lines)
        for index in range(len(rows)):
            add_notes(index)
    console.print(Segments(out), end="")


def print_line(text: str) -> None:
    """A line of text, cleaned again as a whole (callers clean each remote part already)."""
    sys.stdout.write(clean(text, keep_newlines=True) + "\n")


def no_results() -> None:
    """Say that nothing matched (on stderr: stdout stays clean for pipes)."""
    sys.stderr.write(t("search.no_results") + "\n")
