"""The `model_cache` table: API responses kept for a while."""

from __future__ import annotations

import time
from collections.abc import Callable

from modella_tui.core.store.db import Database


class ResponseCache:
    """Key → JSON text with an expiry; `clock` is injectable for tests."""

    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.clock = clock

    async def get(self, key: str) -> str | None:
        """The cached text if still fresh."""
        row = await self.db.fetchone(
            "SELECT value FROM model_cache WHERE key = ? AND expires_at > ?", (key, self.clock())
        )
        return None if row is None else str(row["value"])

    async def get_stale(self, key: str) -> str | None:
        """The cached text even if expired (shown when offline)."""
        row = await self.db.fetchone("SELECT value FROM model_cache WHERE key = ?", (key,))
        return None if row is None else str(row["value"])

    async def put(self, key: str, value: str, ttl: float) -> None:
        """Store or replace an entry."""
        now = self.clock()
        await self.db.execute(
            "INSERT INTO model_cache(key, value, fetched_at, expires_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value, "
            "fetched_at = excluded.fetched_at, expires_at = excluded.expires_at",
            (key, value, now, now + ttl),
        )

    async def prune(self, older_than: float = 7 * 86400) -> None:
        """Drop entries expired for a long time."""
        await self.db.execute(
            "DELETE FROM model_cache WHERE expires_at < ?", (self.clock() - older_than,)
        )
