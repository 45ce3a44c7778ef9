"""The engine lease: only one process works the queue at a time."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import sqlite3
import time
from collections.abc import Callable

from modella_tui.core.store.db import Database

LEASE_TTL = 15.0


def make_holder() -> str:
    """A holder id naming this host and process: `<hostname>:<pid>:<random>`."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class Lease:
    """A row in `engine_lease` renewed by a heartbeat; expires when its holder dies."""

    def __init__(
        self,
        db: Database,
        *,
        holder: str | None = None,
        ttl: float = LEASE_TTL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.holder = holder or make_holder()
        self.ttl = ttl
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        self.held = False
        self.lost: asyncio.Event = asyncio.Event()

    async def acquire(self) -> bool:
        """Take the lease if it is free, expired or already ours; True when we hold it."""
        now = self._clock()

        def take(conn: sqlite3.Connection) -> bool:
            row = conn.execute(
                "SELECT holder, expires_at FROM engine_lease WHERE id = 1"
            ).fetchone()
            if (
                row is not None
                and row[0] != self.holder
                and float(row[1]) > now
                and not _dead_local_holder(str(row[0]))
            ):
                return False
            conn.execute(
                "INSERT INTO engine_lease (id, holder, expires_at) VALUES (1, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET holder = excluded.holder, "
                "expires_at = excluded.expires_at",
                (self.holder, now + self.ttl),
            )
            return True

        if not await self.db.transaction(take):
            self.held = False
            return False
        self.held = True
        self.lost.clear()
        return True

    async def holder_now(self) -> str | None:
        """Who holds an unexpired lease now, if anyone."""
        row = await self.db.fetchone("SELECT holder, expires_at FROM engine_lease WHERE id = 1")
        if row is None or float(row[1]) <= self._clock():
            return None
        return str(row[0])

    async def renew(self) -> bool:
        """Extend our lease; False (and `lost` set) when someone else took it."""
        args = (self._clock() + self.ttl, self.holder)
        ok = await self.db.transaction(
            lambda conn: (
                (
                    conn.execute(
                        "UPDATE engine_lease SET expires_at = ? WHERE id = 1 AND holder = ?", args
                    ).rowcount
                    or 0
                )
                > 0
            )
        )
        if not ok:
            self.held = False
            self.lost.set()
        return ok

    def start_heartbeat(self) -> None:
        """Renew every third of the TTL in a background task."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._beat(), name="modella-lease")

    async def _beat(self) -> None:
        while self.held:
            await asyncio.sleep(self.ttl / 3)
            try:
                if not await self.renew():
                    return
            except Exception:
                # A transient database error: try again on the next beat, the TTL leaves room.
                continue

    async def release(self) -> None:
        """Stop the heartbeat and give the lease up (only if it is still ours)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.held:
            self.held = False
            with contextlib.suppress(Exception):
                await self.db.execute(
                    "DELETE FROM engine_lease WHERE id = 1 AND holder = ?", (self.holder,)
                )


def _dead_local_holder(holder: str) -> bool:
    """True when the holder ran on this host and its process is gone (a crash or kill -9)."""
    parts = holder.rsplit(":", 2)
    if len(parts) != 3 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return False
    pid = int(parts[1])
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False
