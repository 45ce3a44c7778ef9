"""A list as a TOML file (`modella lists export/import`, `modella sync FILE`); see docs/lists.md.

```toml
name = "Flux pod kit"
[[items]]
ref = "civitai:4384@128713"      # any REF
file = "*.safetensors"            # optional: which files of it
note = "the base"                 # optional
title = "Ink Wash LoRA · v2.0"    # optional: the name shown in lists
```

Reading checks every item and reports every problem with the line of the key it is about, so a
file is taken whole or not at all. REFs are stored in their short form (`civitai:…`, `hf:…`): a key pasted in a link is gone
before anything is kept or written.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modella_tui.core import paths
from modella_tui.core.errors import ModellaError, NotFoundError, UsageError
from modella_tui.core.i18n import t
from modella_tui.core.refs import parse_ref
from modella_tui.core.textsafe import clean, has_controls

MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_ITEMS = 5000
MAX_TEXT = 500
"""Longest note or title kept (longer ones are cut)."""
MAX_GLOB = 255
ITEM_KEYS = ("ref", "file", "note", "title")
TOP_KEYS = ("name", "items")

_TOML_WHERE = re.compile(r"\(at line (\d+), column (\d+)\)")
_ITEMS_HEADER = re.compile(r"""^\s*\[\[\s*(?:items|"items"|'items')\s*\]\]""")
_TABLE = re.compile(r"^\s*\[")
_KEY = re.compile(r"""^\s*(?:([A-Za-z0-9_-]+)|"([^"\\]*)"|'([^']*)')\s*=""")


@dataclass(frozen=True)
class ListEntry:
    """One item of a list: a REF in its short form, optionally a file glob, a note and a title."""

    ref: str
    file: str | None = None
    note: str | None = None
    title: str | None = None
    line: int = 0
    """Where it stood in the file it was read from (0: not from a file)."""


@dataclass
class ListFile:
    """A list read from TOML: its name (None when the file gave none), items and warnings."""

    name: str | None
    items: list[ListEntry] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    token_stripped: bool = False
    """Some REF carried a key in its link; it was dropped."""


class ListFileError(UsageError):
    """A list file that cannot be used; `problems` holds one sentence per bad line."""

    key = "lists.file.invalid"

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        super().__init__(count=len(problems), file=source)
        self.problems = list(problems)


def normalise_ref(
    text: str, *, civitai_base: str | None = None, hub_base: str | None = None
) -> tuple[str, bool]:
    """(the REF's short form, whether a key was dropped from it); UsageError when it is no REF."""
    ref = parse_ref(text, civitai_base=civitai_base, hub_base=hub_base)
    return ref.canonical(), ref.token_stripped


def check_glob(value: str | None) -> str | None:
    """A `file` glob as kept: None for none; refused when it could never match a file name."""
    if value is None:
        return None
    glob = value.strip()
    if not glob:
        return None
    if len(glob) > MAX_GLOB or "/" in glob or "\\" in glob or has_controls(glob):
        raise UsageError("lists.error.bad_glob", glob=clean(glob)[:80])
    return glob


def short_text(value: str | None) -> str | None:
    """A note or title as kept: one clean line, at most MAX_TEXT characters, None when empty."""
    if value is None:
        return None
    text = " ".join(clean(value, replacement=" ").split())
    return text[:MAX_TEXT] or None


def entry(
    ref: str,
    file: str | None = None,
    note: str | None = None,
    title: str | None = None,
    *,
    civitai_base: str | None = None,
    hub_base: str | None = None,
) -> tuple[ListEntry, bool]:
    """A checked entry from raw values, and whether a key was dropped from its REF."""
    canonical, stripped = normalise_ref(ref, civitai_base=civitai_base, hub_base=hub_base)
    return ListEntry(canonical, check_glob(file), short_text(note), short_text(title)), stripped


def read_list_file(
    path: Path, *, civitai_base: str | None = None, hub_base: str | None = None
) -> ListFile:
    """Read and check a list file; ListFileError names every bad line, nothing half-read."""
    shown = clean(str(path))
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise NotFoundError("lists.file.missing", file=shown) from None
    except IsADirectoryError:
        raise UsageError(
            "lists.file.unreadable", file=shown, reason=t("lists.file.is_dir")
        ) from None
    except OSError as exc:
        raise UsageError("lists.file.unreadable", file=shown, reason=exc.strerror or "") from None
    if len(data) > MAX_FILE_BYTES:
        raise ListFileError(
            shown, [t("lists.file.too_large", file=shown, limit=MAX_FILE_BYTES // (1024 * 1024))]
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ListFileError(shown, [_at(shown, line, t("lists.file.not_utf8"))]) from None
    return parse_list_text(text, shown, civitai_base=civitai_base, hub_base=hub_base)


def parse_list_text(
    text: str,
    source: str = "-",
    *,
    civitai_base: str | None = None,
    hub_base: str | None = None,
) -> ListFile:
    """Check list TOML read from `source` (named in messages)."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        reason = str(exc)
        where = _TOML_WHERE.search(reason)
        line, column = (int(where.group(1)), int(where.group(2))) if where else (0, 0)
        detail = t("lists.file.toml", reason=clean(_TOML_WHERE.sub("", reason).strip()))
        raise ListFileError(source, [_at(source, line, detail, column=column)]) from None
    problems: list[str] = []
    out = ListFile(name=None)
    lines = text.split("\n")  # as TOML counts lines (splitlines also breaks at U+2028)
    top = _Place(0, _keys_in(lines, 0, _first_table(lines)))
    name = doc.get("name")
    if name is not None:
        if not isinstance(name, str):
            problems.append(_at(source, top.of("name"), t("lists.file.bad_name")))
        elif not short_text(name):
            problems.append(_at(source, top.of("name"), t("lists.file.name_empty")))
        else:
            out.name = short_text(name)
    for key in doc:
        if key not in TOP_KEYS:
            line = top.of(key)
            out.warnings.append(_at(source, line, t("lists.file.unknown_key", key=clean(key))))
    raw_items = doc.get("items", [])
    if not isinstance(raw_items, list):
        problems.append(_at(source, top.of("items"), t("lists.file.items_not_list")))
        raw_items = []
    if len(raw_items) > MAX_ITEMS:
        problems.append(_at(source, 0, t("lists.file.too_many", limit=MAX_ITEMS)))
        raw_items = []
    places = _item_places(lines, raw_items)
    for index, (raw, place) in enumerate(zip(raw_items, places, strict=True)):
        bad: list[tuple[int, str]] = []
        item, stripped = _entry_of(raw, place, bad, civitai_base, hub_base)
        for line, message in bad:
            problems.append(_at(source, line, message, item=index + 1))
        if isinstance(raw, dict):
            for key in raw:
                if key not in ITEM_KEYS:
                    message = t("lists.file.unknown_key", key=clean(key))
                    out.warnings.append(_at(source, place.of(key), message, item=index + 1))
        if item is not None:
            out.items.append(item)
            out.token_stripped |= stripped
    if problems:
        raise ListFileError(source, problems)
    return out


@dataclass(frozen=True)
class _Place:
    """Where an item stands in the text: its first line and the line of each of its keys (0: not
    known). A problem about one key is reported at that key's line, one about the item as a whole
    (no ref, not a table) at its first line."""

    first: int
    keys: dict[str, int] = field(default_factory=dict)

    def of(self, key: str) -> int:
        return self.keys.get(key) or self.first


def _entry_of(
    raw: Any,
    place: _Place,
    problems: list[tuple[int, str]],
    civitai_base: str | None,
    hub_base: str | None,
) -> tuple[ListEntry | None, bool]:
    """The item as kept and whether a key was dropped from its REF; (None, False) when it has a
    problem, each added to `problems` with its line, in the order of the lines."""
    if not isinstance(raw, dict):
        problems.append((place.first, t("lists.file.item_not_table")))
        return None, False
    found: list[tuple[int, str]] = []
    ref = raw.get("ref")
    canonical, stripped = "", False
    if ref is None:
        found.append((place.first, t("lists.file.ref_missing")))
    elif not isinstance(ref, str):
        found.append((place.of("ref"), t("lists.file.not_text", key="ref")))
    elif not ref.strip():
        found.append((place.of("ref"), t("lists.file.ref_empty")))
    else:
        try:
            canonical, stripped = normalise_ref(ref, civitai_base=civitai_base, hub_base=hub_base)
        except ModellaError as exc:
            found.append((place.of("ref"), exc.message))
    values: dict[str, str | None] = {}
    for key in ("file", "note", "title"):
        value = raw.get(key)
        if value is not None and not isinstance(value, str):
            found.append((place.of(key), t("lists.file.not_text", key=key)))
        else:
            values[key] = value
    glob = None
    if "file" in values:
        try:
            glob = check_glob(values["file"])
        except ModellaError as exc:
            found.append((place.of("file"), exc.message))
    if found:
        problems.extend(sorted(found, key=lambda problem: problem[0]))
        return None, False
    note, title = short_text(values["note"]), short_text(values["title"])
    return ListEntry(canonical, glob, note, title, place.of("ref")), stripped


def dump_list(name: str, items: Iterable[ListEntry]) -> str:
    """The TOML text of a list: `name`, then one `[[items]]` table per item, in order.

    Written by hand around tomli-w's string quoting: tomli-w would fold short items into one
    inline array, and a person editing the file should see one table per item.
    """
    import tomli_w

    parts = [tomli_w.dumps({"name": name})]
    for item in items:
        row = {"ref": item.ref}
        for key in ("file", "note", "title"):
            value = getattr(item, key)
            if value:
                row[key] = value
        parts.append("\n[[items]]\n" + tomli_w.dumps(row))
    return "".join(parts)


def write_list_file(path: Path, name: str, items: Iterable[ListEntry]) -> None:
    """Write a list's TOML through a temp file and a rename (a reader never sees half of it)."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise UsageError(
            "lists.file.unwritable", file=clean(str(path)), reason=t("lists.file.is_dir")
        )
    try:
        paths.write_atomic(path, dump_list(name, items).encode("utf-8"))
    except OSError as exc:
        raise UsageError(
            "lists.file.unwritable", file=clean(str(path)), reason=exc.strerror or ""
        ) from None


def _at(source: str, line: int, message: str, *, item: int = 0, column: int = 0) -> str:
    if line and column:
        return t(
            "lists.file.problem_column", file=source, line=line, column=column, message=message
        )
    if line:
        return t("lists.file.problem", file=source, line=line, message=message)
    if item:
        return t("lists.file.problem_item", file=source, item=item, message=message)
    return t("lists.file.problem_file", file=source, message=message)


def _keys_in(lines: Sequence[str], start: int, end: int) -> dict[str, int]:
    """The 1-based line of each key written as `key = …` in lines[start:end] (the first one)."""
    found: dict[str, int] = {}
    for n in range(start, end):
        match = _KEY.match(lines[n])
        if match:
            key = next(g for g in match.groups() if g is not None)
            found.setdefault(key, n + 1)
    return found


def _first_table(lines: Sequence[str], start: int = 0) -> int:
    """The index of the first table header (`[…]`, `[[…]]`) from `start`, else len(lines)."""
    return next((n for n in range(start, len(lines)) if _TABLE.match(lines[n])), len(lines))


def _item_places(lines: Sequence[str], items: list[Any]) -> list[_Place]:
    """Where each item and its keys stand: the `[[items]]` headers in order, each item's keys
    between its header and the next table; for an inline array, the first line holding the REF as
    written, for the item and all its keys (0 when it cannot be told). tomllib gives no positions,
    so they come from the text."""
    headers = [n for n, line in enumerate(lines) if _ITEMS_HEADER.match(line)]
    if len(headers) == len(items):
        return [_Place(n + 1, _keys_in(lines, n + 1, _first_table(lines, n + 1))) for n in headers]
    out = []
    for item in items:
        ref = item.get("ref") if isinstance(item, dict) else None
        number = 0
        if isinstance(ref, str) and ref:
            number = next((n for n, line in enumerate(lines, 1) if ref in line), 0)
        out.append(_Place(number))
    return out
