"""What the headless commands share: opening state and clients, printing safely, logging failures."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import sys
import traceback
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from modella_tui.core import paths
from modella_tui.core.config import Settings
from modella_tui.core.textsafe import redact

if TYPE_CHECKING:
    import httpx

    from modella_tui.core.civitai.client import CivitaiClient
    from modella_tui.core.hub.client import HubClient
    from modella_tui.core.store.db import Database


def log_exception(settings: Settings) -> Path:
    """Append the current traceback, secrets masked, to the log; return the log path."""
    path = paths.log_path()
    try:
        paths.ensure_private_dir(path.parent)
        stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        text = redact(traceback.format_exc(), settings.secret_values())
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as fh:
            fh.write(f"--- {stamp}\n{text}\n")
    except OSError:
        pass
    return path


def is_tty() -> bool:
    """Whether stdout is a terminal (tables and progress bars) or a pipe (plain lines, JSON)."""
    return sys.stdout.isatty()


@dataclass
class Clients:
    """The opened state and network clients of one command run."""

    db: Database
    civitai: CivitaiClient
    hub: HubClient
    http: httpx.AsyncClient | None = None  # the engine's client, shared with the look-ups
    opening: asyncio.Future[Database] | None = None  # the database being opened already

    async def open_db(self) -> None:
        """Open the state database (once); its notices go to stderr."""
        if self.db.is_open:
            return
        opening, self.opening = self.opening, None
        await (opening or self.db.open())
        for note in self.db.notes:
            sys.stderr.write(note + "\n")


@asynccontextmanager
async def open_clients(settings: Settings, *, for_download: bool = False) -> AsyncIterator[Clients]:
    """Open the database and both clients; always close them (an open aiosqlite hangs exit).

    `for_download` builds the engine's HTTP client and lets the Civitai look-ups share it (one
    connection pool for look-ups, downloads and previews); their answers are cached in one
    transaction (see `ResponseCache`), and the database opens in its own thread from the start
    while the caller starts the look-ups (it waits for it with `open_db`).
    """
    from modella_tui.core.store.db import Database

    db = Database(paths.db_path())
    opening = None
    existed = db.path.exists()
    if for_download:
        # The database opens in its own thread while the clients' modules are imported.
        opening = asyncio.ensure_future(db.open())
        await asyncio.sleep(0)
    clients: Clients | None = None
    http = None
    try:
        from modella_tui.core.civitai.client import CivitaiClient
        from modella_tui.core.hub.client import HubClient
        from modella_tui.core.store.cache import ResponseCache

        if for_download:
            from modella_tui.core.downloads.threadhttp import make_client

            http = make_client()
        # Look-ups wait for an existing database (its answers may spare a request), never for a
        # new one (it has none).
        cache = ResponseCache(db, batch=for_download, opening=opening if existed else None)
        civitai = CivitaiClient(
            settings.civitai_url,
            settings.civitai_key,
            cache,
            http=http,
            cache_ttl=60.0 * int(settings.get("cache_minutes")),
        )
        clients = Clients(
            db=db, civitai=civitai, hub=HubClient(settings), http=http, opening=opening
        )
        if not for_download:
            await clients.open_db()
        yield clients
    finally:
        if opening is not None and (clients is None or clients.opening is not None):
            with contextlib.suppress(BaseException):  # never awaited: the command failed first
                await opening
        try:
            if clients is not None:
                with contextlib.suppress(Exception):
                    await cache.flush()
                await clients.civitai.close()
                await clients.hub.close()
            if http is not None:
                await http.aclose()
        finally:
            await db.close()
