"""The state database: one aiosqlite connection, migrations by `PRAGMA user_version`."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from modella_tui.core import paths
from modella_tui.core.errors import StateError

T = TypeVar("T")
BUSY_TIMEOUT_MS = 10_000
NETWORK_FS = {
    "nfs", "nfs4", "cifs", "smb", "smb2", "smb3", "9p", "ceph", "glusterfs", "lustre",
    "afs", "beegfs", "gpfs", "virtiofs", "ncpfs", "davfs",
}  # fmt: skip


def migrations() -> list[tuple[int, str]]:
    """The numbered migration scripts, in order."""
    # Installed as files (the usual case), the folder is read directly: importlib.resources'
    # readers cost ~7 ms of imports at every start. A zipped install goes through them.
    folder: Any = Path(__file__).with_name("migrations")
    if not folder.is_dir():
        from importlib import resources

        folder = resources.files("modella_tui.core.store") / "migrations"
    out = []
    for entry in folder.iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            out.append((int(name[:4]), entry.read_text(encoding="utf-8")))
    return sorted(out)


def filesystem_type(path: Path, mounts_file: str = "/proc/mounts") -> str:
    """The type of the file system holding `path` (longest mount-point prefix), or ''."""
    target = os.path.abspath(path)
    best, fstype = "", ""
    try:
        with open(mounts_file, encoding="utf-8") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) < 3:
                    continue
                mnt = parts[1].replace("\\040", " ")
                if (target == mnt or target.startswith(mnt.rstrip("/") + "/")) and len(mnt) > len(
                    best
                ):
                    best, fstype = mnt, parts[2]
    except OSError:
        return ""
    return fstype


def is_network_fs(path: Path) -> bool:
    """True where WAL must not be used (NFS, SMB, FUSE network volumes such as Runpod's)."""
    fstype = filesystem_type(path)
    return fstype in NETWORK_FS or fstype.startswith("fuse.") or fstype == "fuse"


class Database:
    """One connection; write transactions are serialised in-process and start with BEGIN IMMEDIATE."""

    def __init__(
        self, path: Path, *, after_migration_step: Callable[[int], None] | None = None
    ) -> None:
        self.path = path
        self._after_step = after_migration_step
        """Called inside each migration's transaction (tests crash the process there)."""
        self.conn: aiosqlite.Connection | None = None
        self.notes: list[str] = []  # user-facing notices (backup made, network FS)
        self._write_lock = asyncio.Lock()
        self.journal_mode = "wal"
        self._ready = False  # open() finished: migrated and usable

    async def open(self) -> Database:
        """Connect, set pragmas, migrate; a corrupt file is set aside and a fresh one made."""
        from modella_tui.core.i18n import t

        paths.ensure_private_dir(self.path.parent)  # new folders 0700; an existing one as it is
        try:
            try:
                await self._connect_and_migrate()
            except sqlite3.DatabaseError as exc:
                if not _is_corruption(exc):
                    raise StateError(
                        "error.state_open", path=str(self.path), reason=str(exc)
                    ) from None
                await self.close()
                backup = self.set_aside()
                self.notes.append(t("warn.db_corrupt", path=str(self.path), backup=str(backup)))
                await self._connect_and_migrate()
        except BaseException:
            await self.close()  # a connection left open (a newer schema, say) hangs exit
            raise
        self._ready = True
        return self

    @property
    def is_open(self) -> bool:
        """True between a finished `open()` and `close()`."""
        return self._ready and self.conn is not None

    async def _connect_and_migrate(self) -> None:
        if is_network_fs(self.path.parent):
            self.journal_mode = "delete"

        failed: list[BaseException] = []

        def connect() -> sqlite3.Connection:
            raw = sqlite3.connect(self.path, isolation_level=None)
            raw.row_factory = sqlite3.Row
            try:
                self._prepare(raw)
            except BaseException as exc:
                # Raised once connected, so that closing it stops the thread cleanly.
                failed.append(exc)
            return raw

        # Connecting, the pragmas, the check and every migration step in one trip to the
        # database's thread (what `aiosqlite.connect` builds, with more done there): it all runs
        # from the moment the thread starts, even while this loop is busy.
        self.conn = aiosqlite.Connection(connect, 64)
        await self.conn
        if failed:
            raise failed[0]

    def _prepare(self, raw: sqlite3.Connection) -> None:
        """Set the pragmas, check the file and migrate it (on the database's thread)."""
        raw.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        raw.execute("PRAGMA foreign_keys = ON")
        _set_journal_mode(raw, self.journal_mode)
        if self.journal_mode == "wal":
            # In WAL mode NORMAL never corrupts the database; a power cut may only undo the last
            # commits, which the queue rebuilds (ranges trusted after a reboot are those written
            # after a sync, and the `.part.json` files). FULL would wait for the disk at every
            # commit, a dozen times for each small file.
            raw.execute("PRAGMA synchronous = NORMAL")
        # A quick structural check catches "file is not a database" and most truncation.
        raw.execute("PRAGMA quick_check").fetchall()
        self._migrate(raw)

    def _migrate(self, raw: sqlite3.Connection) -> None:
        (version,) = raw.execute("PRAGMA user_version").fetchone() or (0,)
        steps = migrations()
        known = steps[-1][0] if steps else 0
        if version > known:
            raise StateError("error.state_newer", path=str(self.path), found=version, known=known)
        for number, script in steps:
            if number <= version:
                continue
            # One transaction per step: a crash mid-way leaves user_version unchanged.
            raw.execute("BEGIN IMMEDIATE")
            try:
                # Another process (a second tab, a CLI) may have applied it while we waited for
                # the write lock: the version is read again under the lock.
                (now,) = raw.execute("PRAGMA user_version").fetchone() or (0,)
                if now >= number:
                    raw.execute("COMMIT")
                    continue
                for statement in _split_sql(script):
                    raw.execute(statement)
                if self._after_step is not None:
                    self._after_step(number)
                raw.execute(f"PRAGMA user_version = {number}")
                raw.execute("COMMIT")
            except BaseException:
                if raw.in_transaction:
                    raw.execute("ROLLBACK")
                raise

    def set_aside(self) -> Path:
        """Move the database and its -wal/-shm aside together as `.bad-<time>`; return the new name."""
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        backup = self.path.with_name(f"{self.path.name}.bad-{stamp}")
        for suffix in ("", "-wal", "-shm", "-journal"):
            src = Path(str(self.path) + suffix)
            if src.exists():
                os.replace(src, Path(str(backup) + suffix))
        return backup

    async def close(self) -> None:
        """Always called: an unclosed aiosqlite connection hangs interpreter exit."""
        self._ready = False
        if self.conn is not None:
            conn, self.conn = self.conn, None
            with contextlib.suppress(Exception):
                await conn.close()

    async def __aenter__(self) -> Database:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _c(self) -> aiosqlite.Connection:
        if self.conn is None:
            raise StateError("error.state_closed")
        return self.conn

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[aiosqlite.Connection]:
        """A write transaction (BEGIN IMMEDIATE, so a second process waits instead of failing)."""
        async with self._write_lock:
            conn = self._c()
            try:
                # Inside the try: a caller cancelled while BEGIN is on its way still gets it run
                # on the connection's thread, and must not leave that transaction open.
                await conn.execute("BEGIN IMMEDIATE")
                yield conn
            except BaseException:
                await self._end_open_transaction()
                raise
            try:
                await conn.execute("COMMIT")
            except BaseException:
                await self._end_open_transaction()  # a failed (busy) or cancelled COMMIT
                raise

    async def _end_open_transaction(self) -> None:
        """Roll back whatever transaction is open on the connection, after the statements already
        queued on its thread (a later cancel cannot stop it from running)."""
        with contextlib.suppress(sqlite3.Error):
            await asyncio.shield(self._on_thread(_rollback_open))

    async def transaction(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """`work(connection)` as one write transaction (BEGIN IMMEDIATE … COMMIT), run whole on
        the database's thread; its result is returned.

        `write()` goes to that thread and back for BEGIN, for each statement and fetch and for
        COMMIT, each trip a thread switch both ways; this goes once. `work` gets the plain
        `sqlite3` connection and must do nothing but database calls. On an error the transaction
        is rolled back. A cancelled caller does not stop it: it commits or rolls back whole.
        """
        async with self._write_lock:
            return await self._on_thread(partial(in_transaction, work))

    async def exclusive(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """`work(connection)` in one trip to the database's thread, holding the write lock: it
        may run several transactions (`in_transaction`) with other work between them."""
        async with self._write_lock:
            return await self._on_thread(work)

    async def read(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """`work(connection)` for several reads in one trip to the database's thread."""
        return await self._on_thread(work)

    async def _on_thread(self, work: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._c()
        # aiosqlite runs every call of a connection in order on its one thread; `_execute` is how
        # its own methods queue a function there.
        run: Callable[..., Awaitable[T]] = conn._execute
        return await run(lambda: work(conn._conn))

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run one write statement in its own transaction; return lastrowid."""
        args = tuple(params)
        return await self.transaction(lambda raw: raw.execute(sql, args).lastrowid or 0)

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        """All rows of a query.

        Executed and fetched in one step on the connection's thread: with two steps, another
        task's statement in between (a COMMIT, a ROLLBACK) could reset the query and lose rows.
        """
        return list(await self._c().execute_fetchall(sql, tuple(params)))

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Row | None:
        """The first row of a query, if any (see fetchall)."""
        rows = list(await self._c().execute_fetchall(sql, tuple(params)))
        return rows[0] if rows else None


def _set_journal_mode(raw: sqlite3.Connection, mode: str) -> None:
    """Switch the journal mode, waiting while another process does the same.

    Processes opening a new database at once (the tabs of `modella serve`) race to switch it to
    WAL; the losers get "database is locked" at once, without the busy timeout, so they retry.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            raw.execute(f"PRAGMA journal_mode = {mode}").fetchone()
            return
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


def _rollback_open(raw: sqlite3.Connection) -> None:
    if raw.in_transaction:
        raw.execute("ROLLBACK")


def in_transaction(work: Callable[[sqlite3.Connection], T], raw: sqlite3.Connection) -> T:
    """`work(raw)` between BEGIN IMMEDIATE and COMMIT (ROLLBACK on an error), on the database's
    thread (see `Database.transaction` and `Database.exclusive`)."""
    raw.execute("BEGIN IMMEDIATE")
    try:
        result = work(raw)
        raw.execute("COMMIT")
    except BaseException:
        if raw.in_transaction:
            raw.execute("ROLLBACK")
        raise
    return result


def _is_corruption(exc: sqlite3.DatabaseError) -> bool:
    text = str(exc).lower()
    return "malformed" in text or "not a database" in text or "corrupt" in text


def _split_sql(script: str) -> list[str]:
    # Our migrations put no "--" inside string literals, so a comment runs to the end of its line.
    lines = [ln.split("--", 1)[0] for ln in script.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
