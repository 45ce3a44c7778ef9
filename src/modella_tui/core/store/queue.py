"""Repository for the download queue: `queue_items`, `queue_segments`, `downloaded_models`."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modella_tui.core.store.db import Database, in_transaction
from modella_tui.core.store.queue_rows import (
    ItemBrief,
    Landed,
    QueueItem,
    Segment,
)

__all__ = [
    "ACTIVE_STATES",
    "FINISHED_STATES",
    "STATES",
    "Copy",
    "ItemBrief",
    "Landed",
    "QueueItem",
    "QueueStore",
    "Segment",
]

ACTIVE_STATES = ("pending", "running", "verifying")
FINISHED_STATES = ("done", "failed", "cancelled")
STATES = ("pending", "running", "verifying", "done", "failed", "cancelled", "paused")

_ITEM_COLUMNS = (
    "source", "dedupe_key", "model_id", "version_id", "file_id", "title", "file_name", "type",
    "base_model", "url", "target_dir", "expected_size", "sha256", "etag", "state", "meta",
)  # fmt: skip


_BRIEF_COLUMNS = "id, state, dedupe_key, target_dir, file_name, sha256, bytes_done"
_MAX_PARAMS = 500  # host parameters in one statement (SQLite's bound is 999 on old builds)


def _chunks(values: list[str]) -> list[list[str]]:
    return [values[at : at + _MAX_PARAMS] for at in range(0, len(values), _MAX_PARAMS)]


def _marks(values: list[str]) -> str:
    return ", ".join("?" for _ in values)


@dataclass(frozen=True)
class Copy:
    """A file this machine has hashed: a verified download (`mtime` None) or a scanned file (its
    hash holds while its size and mtime do)."""

    path: str
    size: int
    mtime: float | None


_LANDED_SQL = (
    "INSERT INTO downloaded_models (source, model_id, version_id, file_id, name, type, "
    "base_model, path, size, sha256, verified, downloaded_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT(path) DO UPDATE SET source = excluded.source, "
    "model_id = excluded.model_id, version_id = excluded.version_id, "
    "file_id = excluded.file_id, name = excluded.name, type = excluded.type, "
    "base_model = excluded.base_model, size = excluded.size, sha256 = excluded.sha256, "
    "verified = excluded.verified, downloaded_at = excluded.downloaded_at"
)


def _trusted_segments(conn: sqlite3.Connection, item_id: int, boot_id: str) -> list[Segment]:
    row = conn.execute("SELECT boot_id FROM queue_items WHERE id = ?", (item_id,)).fetchone()
    same_boot = bool(boot_id) and row is not None and row["boot_id"] == boot_id
    rows = conn.execute(
        "SELECT start, end, done, synced FROM queue_segments WHERE item_id = ? ORDER BY start",
        (item_id,),
    ).fetchall()
    out = []
    for r in rows:
        synced = min(r["synced"], r["done"])
        done = r["done"] if same_boot else synced
        out.append(Segment(r["start"], None if r["end"] < 0 else r["end"], done, synced))
    return out


def _claimed_item(
    claimed: tuple[Any, list[Segment]] | None,
) -> tuple[QueueItem, list[Segment]] | None:
    if claimed is None:
        return None
    item = QueueItem.from_row(claimed[0])
    item.state = "running"
    return item, claimed[1]


class QueueStore:
    """Reads and writes of the queue tables; each write is one short BEGIN IMMEDIATE transaction."""

    def __init__(self, db: Database, clock: Any = time.time) -> None:
        self.db = db
        self._now = clock

    async def insert(self, values: dict[str, Any]) -> int:
        """Insert a new pending item; return its id."""
        now = self._now()
        cols = [c for c in _ITEM_COLUMNS if c in values]
        row = [json.dumps(values[c]) if c == "meta" else values[c] for c in cols]
        sql = (
            f"INSERT INTO queue_items ({', '.join(cols)}, created_at, updated_at) "
            f"VALUES ({', '.join('?' for _ in cols)}, ?, ?)"
        )
        return await self.db.execute(sql, [*row, now, now])

    async def insert_many(self, rows: list[dict[str, Any]]) -> list[int]:
        """Insert new pending items in one transaction; return their ids in order."""
        now = self._now()
        statements = []
        for values in rows:
            cols = [c for c in _ITEM_COLUMNS if c in values]
            args = [json.dumps(values[c]) if c == "meta" else values[c] for c in cols]
            sql = (
                f"INSERT INTO queue_items ({', '.join(cols)}, created_at, updated_at) "
                f"VALUES ({', '.join('?' for _ in cols)}, ?, ?)"
            )
            statements.append((sql, [*args, now, now]))

        def work(conn: sqlite3.Connection) -> list[int]:
            return [int(conn.execute(sql, args).lastrowid or 0) for sql, args in statements]

        return await self.db.transaction(work) if statements else []

    async def admission_view(
        self, keys: list[str], states: tuple[str, ...], shas: list[str] | None = None
    ) -> tuple[dict[str, QueueItem], list[ItemBrief], dict[str, list[Copy]]]:
        """The rows holding any of these dedupe keys, every item in `states` in brief, and the
        files known to hold any of these SHA256s (see `Copy`), read in one trip to the database."""
        wanted = list(dict.fromkeys(shas or ()))

        def work(conn: sqlite3.Connection) -> tuple[list[Any], list[Any], list[Any]]:
            found: list[Any] = []
            for part in _chunks(keys):
                found += conn.execute(
                    f"SELECT * FROM queue_items WHERE dedupe_key IN ({_marks(part)})", part
                ).fetchall()
            marks = ", ".join("?" for _ in states)
            active = conn.execute(
                f"SELECT {_BRIEF_COLUMNS} FROM queue_items WHERE state IN ({marks}) ORDER BY id",
                states,
            ).fetchall()
            copies: list[Any] = []
            for part in _chunks(wanted):
                copies += conn.execute(
                    "SELECT sha256, path, size, NULL FROM downloaded_models "
                    f"WHERE verified = 1 AND sha256 IN ({_marks(part)})",
                    part,
                ).fetchall()
                copies += conn.execute(
                    "SELECT sha256, path, size, mtime FROM local_files "
                    f"WHERE sha256 IN ({_marks(part)})",
                    part,
                ).fetchall()
            return found, active, copies

        rows, active, copies = await self.db.read(work)
        by_key = {str(r["dedupe_key"]): QueueItem.from_row(r) for r in rows}
        by_sha: dict[str, list[Copy]] = {}
        for sha, path, size, mtime in copies:
            by_sha.setdefault(str(sha), []).append(Copy(str(path), int(size), mtime))
        return by_key, [ItemBrief(*tuple(r)) for r in active], by_sha

    async def get(self, item_id: int) -> QueueItem | None:
        """One item by id."""
        row = await self.db.fetchone("SELECT * FROM queue_items WHERE id = ?", (item_id,))
        return QueueItem.from_row(row) if row else None

    async def by_dedupe_key(self, key: str) -> QueueItem | None:
        """The item with this dedupe key, if any."""
        row = await self.db.fetchone("SELECT * FROM queue_items WHERE dedupe_key = ?", (key,))
        return QueueItem.from_row(row) if row else None

    async def all(self) -> list[QueueItem]:
        """Every item, oldest first."""
        rows = await self.db.fetchall("SELECT * FROM queue_items ORDER BY id")
        return [QueueItem.from_row(r) for r in rows]

    async def in_states(self, *states: str, limit: int | None = None) -> list[QueueItem]:
        """Items in any of `states`, by priority then age (the first `limit` of them)."""
        marks = ", ".join("?" for _ in states)
        sql = f"SELECT * FROM queue_items WHERE state IN ({marks}) ORDER BY priority DESC, id"
        args: list[Any] = list(states)
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        rows = await self.db.fetchall(sql, args)
        return [QueueItem.from_row(r) for r in rows]

    async def briefs(self, *states: str) -> list[ItemBrief]:
        """Every item (or those in `states`) in brief, oldest first: a long history of rows with
        their sidecar metadata is cheap to go through this way."""
        sql = f"SELECT {_BRIEF_COLUMNS} FROM queue_items"
        if states:
            sql += f" WHERE state IN ({', '.join('?' for _ in states)})"
        rows = await self.db.fetchall(sql + " ORDER BY id", states)
        return [ItemBrief(*tuple(r)) for r in rows]

    async def count_active(self) -> int:
        """How many items still have work (pending, running, verifying)."""
        row = await self.db.fetchone(
            "SELECT COUNT(*) FROM queue_items WHERE state IN ('pending','running','verifying')"
        )
        return int(row[0]) if row else 0

    async def states(self, ids: set[int] | None = None) -> dict[int, str]:
        """The state of each item (of `ids`, or all): a light query for polling."""
        rows = await self.db.fetchall("SELECT id, state FROM queue_items")
        return {int(r[0]): str(r[1]) for r in rows if ids is None or int(r[0]) in ids}

    async def finish(self, item_id: int, landed: Landed, **extra: Any) -> bool:
        """Record a landed file, forget its ranges and mark the item done, in one transaction."""
        moved, _ = await self.db.transaction(self._finish_work(item_id, landed, extra, None))
        return moved

    async def finish_and_claim(
        self, item_id: int, landed: Landed, boot_id: str = "", **extra: Any
    ) -> tuple[bool, tuple[QueueItem, list[Segment]] | None]:
        """`finish`, and in the same transaction the next pending item moved to running with its
        trusted ranges (None when nothing is pending): a freed download slot is taken again in
        the same trip to the database."""
        moved, claimed = await self.db.transaction(
            self._finish_work(item_id, landed, extra, boot_id)
        )
        return moved, _claimed_item(claimed)

    async def land(
        self,
        item_id: int,
        segments: list[Segment],
        etag: str | None,
        boot_id: str,
        rename: Callable[[], Path],
        landed: Callable[[Path], tuple[Landed, dict[str, Any]]],
        *,
        claim_next: bool,
    ) -> tuple[Path, bool, tuple[QueueItem, list[Segment]] | None]:
        """A verified file's landing in one trip to the database's thread: its ranges recorded
        whole (state verifying, committed: a crash before the rename fetches nothing again), the
        `rename()` into place, then `finish` (and the next item claimed with `claim_next`).

        Returns the final path, whether the item moved to done, and the claimed item.
        """
        progress = self._progress_work(item_id, segments, etag, boot_id, "verifying")

        def work(conn: sqlite3.Connection) -> tuple[Path, bool, Any]:
            in_transaction(progress, conn)
            final = rename()
            record, extra = landed(final)
            finish = self._finish_work(item_id, record, extra, boot_id if claim_next else None)
            return (final, *in_transaction(finish, conn))

        final, moved, claimed = await self.db.exclusive(work)
        return final, moved, _claimed_item(claimed)

    def _finish_work(
        self, item_id: int, landed: Landed, extra: dict[str, Any], claim_for: str | None
    ) -> Callable[[sqlite3.Connection], tuple[bool, tuple[Any, list[Segment]] | None]]:
        """The statements of `finish` (and, with the boot id `claim_for`, of the claim)."""
        sql, args = self._state_sql(item_id, "done", None, None, None, extra)
        landed_args = self._landed_args(landed)

        def work(conn: sqlite3.Connection) -> tuple[bool, tuple[Any, list[Segment]] | None]:
            conn.execute(_LANDED_SQL, landed_args)
            conn.execute("DELETE FROM queue_segments WHERE item_id = ?", (item_id,))
            moved = (conn.execute(sql, args).rowcount or 0) > 0
            if claim_for is None:
                return moved, None
            row = conn.execute(
                "SELECT * FROM queue_items WHERE state = 'pending' "
                "ORDER BY priority DESC, id LIMIT 1"
            ).fetchone()
            if row is None:
                return moved, None
            claim_sql, claim_args = self._state_sql(row["id"], "running", None, None,
                                                    ("pending",), {})  # fmt: skip
            if not conn.execute(claim_sql, claim_args).rowcount:
                return moved, None
            return moved, (row, _trusted_segments(conn, row["id"], claim_for))

        return work

    async def set_state(
        self,
        item_id: int,
        state: str,
        error: str | None = None,
        params: dict[str, Any] | None = None,
        *,
        only_from: tuple[str, ...] | None = None,
        **extra: Any,
    ) -> bool:
        """Move an item to `state` (optionally only from some states); return whether it moved."""
        sql, args = self._state_sql(item_id, state, error, params, only_from, extra)
        return await self.db.transaction(lambda conn: (conn.execute(sql, args).rowcount or 0) > 0)

    def _state_sql(
        self,
        item_id: int,
        state: str,
        error: str | None,
        params: dict[str, Any] | None,
        only_from: tuple[str, ...] | None,
        extra: dict[str, Any],
    ) -> tuple[str, list[Any]]:
        now = self._now()
        sets = ["state = ?", "error = ?", "error_params = ?", "updated_at = ?"]
        args: list[Any] = [state, error, json.dumps(params) if params else None, now]
        if state in FINISHED_STATES:
            sets.append("finished_at = ?")
            args.append(now)
        for col, value in extra.items():
            sets.append(f"{col} = ?")
            args.append(value)
        sql = f"UPDATE queue_items SET {', '.join(sets)} WHERE id = ?"
        args.append(item_id)
        if only_from:
            sql += f" AND state IN ({', '.join('?' for _ in only_from)})"
            args.extend(only_from)
        return sql, args

    async def update(self, item_id: int, **values: Any) -> None:
        """Set some columns of one item."""
        if not values:
            return
        cols = list(values)
        args = [json.dumps(values[c]) if c == "meta" else values[c] for c in cols]
        sets = ", ".join(f"{c} = ?" for c in cols)
        await self.db.execute(
            f"UPDATE queue_items SET {sets}, updated_at = ? WHERE id = ?",
            [*args, self._now(), item_id],
        )

    async def segments(self, item_id: int, boot_id: str = "") -> list[Segment]:
        """The ranges of one item a resume may trust (empty when it has none).

        Written bytes count while this is the boot that recorded them (a killed process leaves
        them in the page cache); after a reboot only the synced ones do.
        """
        return await self.db.read(lambda conn: _trusted_segments(conn, item_id, boot_id))

    async def claim(self, item_id: int, boot_id: str = "") -> list[Segment] | None:
        """Move a pending item to running and read its trusted ranges, in one transaction;
        None when it was no longer pending."""
        sql, args = self._state_sql(item_id, "running", None, None, ("pending",), {})

        def work(conn: sqlite3.Connection) -> list[Segment] | None:
            if not conn.execute(sql, args).rowcount:
                return None
            return _trusted_segments(conn, item_id, boot_id)

        return await self.db.transaction(work)

    async def save_progress(
        self,
        item_id: int,
        segments: list[Segment],
        etag: str | None,
        boot_id: str = "",
        *,
        state: str | None = None,
    ) -> None:
        """Replace the ranges of one item, its byte count and the boot that wrote them, at once.

        With `state`, the item moves to it in the same transaction.
        """
        await self.db.transaction(self._progress_work(item_id, segments, etag, boot_id, state))

    def _progress_work(
        self,
        item_id: int,
        segments: list[Segment],
        etag: str | None,
        boot_id: str,
        state: str | None,
    ) -> Callable[[sqlite3.Connection], None]:
        """The statements of `save_progress`."""
        done = sum(s.done for s in segments)
        moved = self._state_sql(item_id, state, None, None, None, {}) if state else None
        rows = [
            (item_id, s.start, -1 if s.end is None else s.end, s.done, min(s.synced, s.done))
            for s in segments
        ]
        now = self._now()

        def work(conn: sqlite3.Connection) -> None:
            if moved is not None:
                conn.execute(*moved)
            conn.execute("DELETE FROM queue_segments WHERE item_id = ?", (item_id,))
            conn.executemany(
                "INSERT INTO queue_segments (item_id, start, end, done, synced) "
                "VALUES (?, ?, ?, ?, ?)",
                rows,
            )
            conn.execute(
                "UPDATE queue_items SET bytes_done = ?, etag = ?, boot_id = ?, updated_at = ? "
                "WHERE id = ?",
                (done, etag, boot_id or None, now, item_id),
            )

        return work

    async def clear_segments(self, item_id: int) -> None:
        """Forget the ranges of one item (restart from zero)."""
        now = self._now()

        def work(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM queue_segments WHERE item_id = ?", (item_id,))
            conn.execute(
                "UPDATE queue_items SET bytes_done = 0, etag = NULL, updated_at = ? WHERE id = ?",
                (now, item_id),
            )

        await self.db.transaction(work)

    async def delete_finished(self) -> list[int]:
        """Remove done/failed/cancelled rows; return their ids."""

        def work(conn: sqlite3.Connection) -> list[int]:
            cur = conn.execute(
                "SELECT id FROM queue_items WHERE state IN ('done','failed','cancelled')"
            )
            ids = [int(r[0]) for r in cur.fetchall()]
            conn.execute("DELETE FROM queue_items WHERE state IN ('done','failed','cancelled')")
            return ids

        return await self.db.transaction(work)

    async def record_landed(self, landed: Landed) -> None:
        """Insert (or refresh) the library row of a landed file."""
        await self.db.execute(_LANDED_SQL, self._landed_args(landed))

    def _landed_args(self, landed: Landed) -> tuple[Any, ...]:
        return (
            landed.source, landed.model_id, landed.version_id, landed.file_id, landed.name,
            landed.type, landed.base_model, landed.path, landed.size, landed.sha256,
            int(landed.verified), self._now(),
        )  # fmt: skip

    async def known_hash(self, path: str, size: int, mtime: float) -> str | None:
        """A SHA256 already known for this exact file (library or scan cache), without hashing."""

        def work(conn: sqlite3.Connection) -> str | None:
            row = conn.execute(
                "SELECT sha256 FROM downloaded_models WHERE path = ? AND size = ? AND verified = 1",
                (path, size),
            ).fetchone()
            if row and row[0]:
                return str(row[0])
            row = conn.execute(
                "SELECT sha256 FROM local_files WHERE path = ? AND size = ? AND mtime = ?",
                (path, size, mtime),
            ).fetchone()
            return str(row[0]) if row and row[0] else None

        return await self.db.read(work)
