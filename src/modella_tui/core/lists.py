"""Named lists of models ("Wishlist", "Flux pod kit") in the `lists` and `list_models` tables.

Names are one clean line, unique whatever their case; an item is a REF in its short form
(`civitai:4384@128713`, `hf:org/repo/file`), optionally a file glob, a note and a title. Adding an
item that is already there (same REF and glob) adds nothing, so importing a file twice is harmless.
See docs/lists.md.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modella_tui.core.errors import NotFoundError, UsageError
from modella_tui.core.listfile import ListEntry, check_glob, short_text
from modella_tui.core.refs import parse_ref
from modella_tui.core.store.db import Database
from modella_tui.core.textsafe import clean

MAX_NAME = 80


@dataclass(frozen=True)
class ListInfo:
    """One list with its item count."""

    id: int
    name: str
    created_at: float
    count: int = 0


@dataclass(frozen=True)
class ListItem:
    """One stored item of a list."""

    id: int
    list_id: int
    ref: str
    file: str | None = None
    note: str | None = None
    title: str | None = None
    added_at: float = 0.0

    def entry(self) -> ListEntry:
        """The item as a file entry (for export and provisioning)."""
        return ListEntry(self.ref, self.file, self.note, self.title)


@dataclass(frozen=True)
class AddReport:
    """What adding items did: how many were new, how many were there already."""

    list: ListInfo
    added: int
    already: int
    created: bool = False


@dataclass(frozen=True)
class LandedFile:
    """A file a download recorded (`downloaded_models`), as list statuses read it."""

    source: str
    model_id: str | None
    version_id: str | None
    file_id: str | None
    path: str
    size: int
    sha256: str | None
    verified: bool
    mtime: float | None = None
    """Set for a file a scan hashed (no download recorded it): its hash holds while its size and
    mtime do."""

    @property
    def file_name(self) -> str:
        """The base name on disk."""
        return os.path.basename(self.path)


def list_name(raw: str) -> str:
    """A list name as kept: one clean line; UsageError when empty or too long."""
    name = " ".join(clean(raw or "", replacement=" ").split())
    if not name:
        raise UsageError("lists.error.empty_name")
    if len(name) > MAX_NAME:
        raise UsageError("lists.error.name_too_long", max=MAX_NAME)
    return name


class ListStore:
    """The lists and their items; every write is one transaction."""

    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self._clock = clock

    # ----- lists ------------------------------------------------------------------------------
    async def lists(self) -> list[ListInfo]:
        """Every list with its item count, by name."""
        rows = await self.db.fetchall(
            "SELECT l.id, l.name, l.created_at, COUNT(m.id) AS n FROM lists l "
            "LEFT JOIN list_models m ON m.list_id = l.id GROUP BY l.id ORDER BY l.name COLLATE NOCASE"
        )
        return [ListInfo(r["id"], r["name"], r["created_at"], r["n"]) for r in rows]

    async def find(self, name: str) -> ListInfo | None:
        """The list of that name: the exact name first, else the one that differs only in case."""
        wanted = " ".join(clean(name or "", replacement=" ").split())
        found = [info for info in await self.lists() if info.name.casefold() == wanted.casefold()]
        exact = [info for info in found if info.name == wanted]
        if exact:
            return exact[0]
        return found[0] if len(found) == 1 else None

    async def get(self, name: str) -> ListInfo:
        """The list of that name; NotFoundError saying which lists exist when there is none."""
        info = await self.find(name)
        if info is None:
            names = ", ".join(i.name for i in await self.lists())
            if names:
                raise NotFoundError("lists.error.no_such_list", name=clean(name), names=names)
            raise NotFoundError("lists.error.no_lists_yet", name=clean(name))
        return info

    async def create(self, name: str) -> ListInfo:
        """A new, empty list; UsageError when the name is taken (in any case)."""
        name = list_name(name)
        async with self.db.write() as conn:
            rows = await (await conn.execute("SELECT name FROM lists")).fetchall()
            _refuse_taken(name, [str(r[0]) for r in rows])
            now = self._clock()
            cur = await conn.execute(
                "INSERT INTO lists (name, created_at) VALUES (?, ?)", (name, now)
            )
            return ListInfo(cur.lastrowid or 0, name, now, 0)

    async def rename(self, old: str, new: str) -> ListInfo:
        """Give a list another name (a change of case alone is allowed)."""
        info = await self.get(old)
        name = list_name(new)
        async with self.db.write() as conn:
            rows = await (
                await conn.execute("SELECT name FROM lists WHERE id != ?", (info.id,))
            ).fetchall()
            _refuse_taken(name, [str(r[0]) for r in rows])
            await conn.execute("UPDATE lists SET name = ? WHERE id = ?", (name, info.id))
        return ListInfo(info.id, name, info.created_at, info.count)

    async def delete(self, name: str) -> ListInfo:
        """Delete a list and its items (never a file on disk)."""
        info = await self.get(name)
        async with self.db.write() as conn:
            await conn.execute("DELETE FROM list_models WHERE list_id = ?", (info.id,))
            await conn.execute("DELETE FROM lists WHERE id = ?", (info.id,))
        return info

    async def last_used(self) -> str | None:
        """The list something was last added to (else the newest list), for the "Add to list" pick."""
        row = await self.db.fetchone(
            "SELECT l.name, MAX(COALESCE((SELECT MAX(added_at) FROM list_models m "
            "WHERE m.list_id = l.id), 0), l.created_at) AS used FROM lists l "
            "GROUP BY l.id ORDER BY used DESC, l.id DESC LIMIT 1"
        )
        return str(row[0]) if row else None

    # ----- items ------------------------------------------------------------------------------
    async def items(self, name: str) -> list[ListItem]:
        """The items of a list, in the order they were added."""
        info = await self.get(name)
        return await self.items_of(info.id)

    async def items_of(self, list_id: int) -> list[ListItem]:
        """The items of the list with this id, in the order they were added."""
        rows = await self.db.fetchall(
            "SELECT id, list_id, ref, file, note, title, added_at FROM list_models "
            "WHERE list_id = ? ORDER BY id",
            (list_id,),
        )
        return [
            ListItem(
                r["id"], r["list_id"], r["ref"], r["file"], r["note"], r["title"], r["added_at"]
            )
            for r in rows
        ]

    async def all_items(self) -> dict[str, list[ListItem]]:
        """Every list's items, by list name (to tell which files other lists hold)."""
        out: dict[str, list[ListItem]] = {}
        for info in await self.lists():
            out[info.name] = await self.items_of(info.id)
        return out

    async def add_items(
        self, name: str, entries: Sequence[ListEntry], *, create: bool = False
    ) -> AddReport:
        """Add entries (each checked again); with `create` a missing list is made first.

        All or nothing: one bad entry raises before any is stored.
        """
        checked = [_checked(e) for e in entries]
        info = await self.find(name)
        created = False
        if info is None:
            if not create:
                await self.get(name)  # raises the sentence that names the lists there are
            info = await self.create(name)
            created = True
        added = already = 0
        async with self.db.write() as conn:
            for item in checked:
                # `IS` compares NULL globs too, which the table's UNIQUE constraint does not.
                cur = await conn.execute(
                    "SELECT id, note, title FROM list_models "
                    "WHERE list_id = ? AND ref = ? AND file IS ?",
                    (info.id, item.ref, item.file),
                )
                row = await cur.fetchone()
                if row is not None:
                    already += 1
                    if (item.note and not row["note"]) or (item.title and not row["title"]):
                        await conn.execute(
                            "UPDATE list_models SET note = COALESCE(note, ?), "
                            "title = COALESCE(title, ?) WHERE id = ?",
                            (item.note, item.title, row["id"]),
                        )
                    continue
                await conn.execute(
                    "INSERT INTO list_models (list_id, ref, file, note, title, added_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (info.id, item.ref, item.file, item.note, item.title, self._clock()),
                )
                added += 1
        count = info.count + added
        return AddReport(
            ListInfo(info.id, info.name, info.created_at, count), added, already, created
        )

    async def remove_item(self, item_id: int) -> None:
        """Take one item off its list."""
        await self.db.execute("DELETE FROM list_models WHERE id = ?", (item_id,))

    # ----- what landed ------------------------------------------------------------------------
    async def landed(self) -> list[LandedFile]:
        """Every file downloads recorded, then every other file a scan hashed (copied in by hand,
        or by another tool), with what the scan identified it as. Whether each is still on disk
        is the caller's question."""

        def work(conn: sqlite3.Connection) -> tuple[list[Any], list[Any]]:
            recorded = conn.execute(
                "SELECT source, model_id, version_id, file_id, path, size, sha256, verified "
                "FROM downloaded_models ORDER BY id"
            ).fetchall()
            scanned = conn.execute(
                "SELECT source, model_id, version_id, file_id, path, size, sha256, mtime "
                "FROM local_files WHERE sha256 IS NOT NULL AND path NOT IN "
                "(SELECT path FROM downloaded_models) ORDER BY path"
            ).fetchall()
            return recorded, scanned

        recorded, scanned = await self.db.read(work)
        out = [
            LandedFile(
                r["source"], r["model_id"], r["version_id"], r["file_id"], r["path"],
                r["size"], r["sha256"], bool(r["verified"]),
            )
            for r in recorded
        ]  # fmt: skip
        # A hash this machine computed from the file's own bytes: as good as a verified download.
        out += [
            LandedFile(
                r["source"] or "", r["model_id"], r["version_id"], r["file_id"], r["path"],
                r["size"], r["sha256"], True, r["mtime"],
            )
            for r in scanned
        ]  # fmt: skip
        return out

    async def forget_landed(self, paths: Iterable[Path]) -> None:
        """Drop the download records of files that were removed."""
        rows = [(str(p),) for p in paths]
        if not rows:
            return
        async with self.db.write() as conn:
            await conn.executemany("DELETE FROM downloaded_models WHERE path = ?", rows)


def same_name(name: str, taken: Iterable[str]) -> str | None:
    """The list name of `taken` that `name` is, in any case (as it is spelled), or None."""
    return next((n for n in taken if n.casefold() == name.casefold()), None)


def _refuse_taken(name: str, taken: list[str]) -> None:
    """UsageError naming the existing list (as it is spelled) when `name` is one in any case."""
    same = same_name(name, taken)
    if same is not None:
        raise UsageError("lists.error.exists", name=same)


def _checked(item: ListEntry) -> ListEntry:
    """The entry as stored: a short-form REF, a usable glob, clean texts."""
    ref = parse_ref(item.ref).canonical()
    return ListEntry(ref, check_glob(item.file), short_text(item.note), short_text(item.title))
