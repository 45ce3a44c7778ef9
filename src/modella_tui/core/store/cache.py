"""The `model_cache` table: API responses kept for a while."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Awaitable, Callable

from modella_tui.core.store.db import Database

_PUT_SQL = (
    "INSERT INTO model_cache(key, value, fetched_at, expires_at) VALUES (?, ?, ?, ?) "
    "ON CONFLICT(key) DO UPDATE SET value = excluded.value, "
    "fetched_at = excluded.fetched_at, expires_at = excluded.expires_at"
)


class ResponseCache:
    """Key → JSON text with an expiry; `clock` is injectable for tests.

    With `batch`, `put()` only keeps the entry in memory (where `get()` finds it) and `flush()`
    writes everything kept in one transaction: a command that looks up thirty models writes once,
    not thirty times while its downloads are starting. While the database is still opening,
    `get()` waits for it when `opening` is given (an existing database: a hit saves a round trip
    to the server, the open takes milliseconds) and otherwise finds nothing but what was kept (a
    new one holds no answers yet, so look-ups need not wait for it).
    """

    def __init__(
        self,
        db: Database,
        clock: Callable[[], float] = time.time,
        *,
        batch: bool = False,
        opening: Awaitable[object] | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.batch = batch
        self._opening = opening
        self._kept: dict[str, tuple[str, float, float]] = {}  # key -> (value, fetched, expires)

    async def get(self, key: str) -> str | None:
        """The cached text if still fresh."""
        kept = self._kept.get(key)
        if kept is not None and kept[2] > self.clock():
            return kept[0]
        if self.batch and not self.db.is_open:
            if self._opening is None:
                return None
            await asyncio.shield(self._opening)  # a cancelled look-up leaves the open alone
        row = await self.db.fetchone(
            "SELECT value FROM model_cache WHERE key = ? AND expires_at > ?", (key, self.clock())
        )
        return None if row is None else str(row["value"])

    async def get_stale(self, key: str) -> str | None:
        """The cached text even if expired (shown when offline)."""
        kept = self._kept.get(key)
        if kept is not None:
            return kept[0]
        row = await self.db.fetchone("SELECT value FROM model_cache WHERE key = ?", (key,))
        return None if row is None else str(row["value"])

    async def put(self, key: str, value: str, ttl: float) -> None:
        """Store or replace an entry (kept until `flush()` in batch mode)."""
        now = self.clock()
        if self.batch:
            self._kept[key] = (value, now, now + ttl)
            return
        await self.db.execute(_PUT_SQL, (key, value, now, now + ttl))

    async def flush(self) -> None:
        """Write the entries kept in batch mode, in one transaction (nothing while it is closed)."""
        if not self._kept or not self.db.is_open:
            return
        rows = [(k, v, fetched, expires) for k, (v, fetched, expires) in self._kept.items()]

        def work(conn: sqlite3.Connection) -> None:
            conn.executemany(_PUT_SQL, rows)

        await self.db.transaction(work)
        for key, value, fetched, expires in rows:
            if self._kept.get(key) == (value, fetched, expires):  # not replaced meanwhile
                del self._kept[key]

    async def prune(self, older_than: float = 7 * 86400) -> None:
        """Drop entries expired for a long time."""
        await self.db.execute(
            "DELETE FROM model_cache WHERE expires_at < ?", (self.clock() - older_than,)
        )
