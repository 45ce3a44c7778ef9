"""The state database: migrations, modes, corruption, concurrency."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import stat
import subprocess
import sys
import textwrap
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from modella_tui.core.errors import StateError
from modella_tui.core.store import db as dbmod
from modella_tui.core.store.cache import ResponseCache
from modella_tui.core.store.db import Database


async def test_fresh_database_is_migrated_with_wal_and_foreign_keys(tmp_path: Path) -> None:
    async with Database(tmp_path / "m.db") as db:
        version = await db.fetchone("PRAGMA user_version")
        assert version is not None and version[0] == dbmod.migrations()[-1][0]
        mode = await db.fetchone("PRAGMA journal_mode")
        assert mode is not None and mode[0] == "wal"
        fk = await db.fetchone("PRAGMA foreign_keys")
        assert fk is not None and fk[0] == 1
        tables = {
            r[0] for r in await db.fetchall("SELECT name FROM sqlite_master WHERE type='table'")
        }
        for name in ("model_cache", "downloaded_models", "lists", "list_models", "queue_items",
                     "queue_segments", "local_files", "engine_lease"):  # fmt: skip
            assert name in tables
        list_id = await db.execute("INSERT INTO lists(name, created_at) VALUES ('Wishlist', 0)")
        await db.execute(
            "INSERT INTO list_models(list_id, ref, added_at) VALUES (?, 'civitai:1', 0)", (list_id,)
        )
        await db.execute("DELETE FROM lists WHERE id = ?", (list_id,))
        assert await db.fetchall("SELECT * FROM list_models") == []  # cascade: FKs are on


async def test_network_fs_uses_rollback_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dbmod, "is_network_fs", lambda path: True)
    async with Database(tmp_path / "m.db") as db:
        mode = await db.fetchone("PRAGMA journal_mode")
        assert mode is not None and mode[0] == "delete"


def test_filesystem_type_reads_longest_mount(tmp_path: Path) -> None:
    mounts = tmp_path / "mounts"
    mounts.write_text("overlay / overlay rw 0 0\nmfs#host /workspace fuse.mfs rw 0 0\n")
    assert dbmod.filesystem_type(Path("/workspace/.modella"), str(mounts)) == "fuse.mfs"
    assert dbmod.filesystem_type(Path("/root"), str(mounts)) == "overlay"


@pytest.mark.parametrize("damage", ["garbage", "truncate"])
async def test_corrupt_database_is_set_aside(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "m.db"
    async with Database(path) as db:
        for i in range(300):
            await db.execute("INSERT INTO model_cache VALUES (?, ?, 0, 1)", (f"k{i}", "x" * 500))
        assert db.journal_mode == "wal" and Path(str(path) + "-wal").exists()
    # Closing checkpoints the log into the file and removes it: the damage below hits all the data.
    assert not Path(str(path) + "-wal").exists()
    if damage == "garbage":
        path.write_bytes(b"this is not a database at all" * 100)
    else:
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    db = Database(path)
    await db.open()
    try:
        assert db.notes and ".bad-" in db.notes[0]
        backups = list(tmp_path.glob("m.db.bad-*"))
        assert backups
        assert await db.fetchall("SELECT * FROM model_cache") == []
    finally:
        await db.close()


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    con = sqlite3.connect(path)
    con.execute("PRAGMA user_version = 999")
    con.close()
    with pytest.raises(StateError) as info:
        await Database(path).open()
    assert "newer version" in info.value.message
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == 999
    con.close()


def test_crash_during_migration_rolls_back(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    script = textwrap.dedent(
        f"""
        import asyncio, os, sys
        from pathlib import Path
        from modella_tui.core.store.db import Database
        def crash(step):
            if sys.argv[1:] == [f"crash-in-{{step}}"]:
                os._exit(137)
        async def main():
            db = Database(Path({str(path)!r}), after_migration_step=crash)
            await db.open()
            await db.close()
        asyncio.run(main())
        """
    )
    crashed = subprocess.run([sys.executable, "-c", script, "crash-in-1"], timeout=60, check=False)
    assert crashed.returncode == 137
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM sqlite_master WHERE type='table'").fetchone()[0] == 0
    con.close()
    subprocess.run([sys.executable, "-c", script], timeout=60, check=True)
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA user_version").fetchone()[0] >= 1
    con.close()


def test_two_processes_write_without_locked_errors(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    script = textwrap.dedent(
        f"""
        import asyncio, sys
        from pathlib import Path
        from modella_tui.core.store.db import Database
        async def main(tag):
            db = Database(Path({str(path)!r}))
            await db.open()
            try:
                for i in range(300):
                    async with db.write() as conn:
                        await conn.execute(
                            "INSERT INTO model_cache VALUES (?, 'v', 0, 1)", (f"{{tag}}-{{i}}",))
            finally:
                await db.close()
        asyncio.run(main(sys.argv[1]))
        """
    )
    # Create the schema first so both processes only write rows.
    subprocess.run([sys.executable, "-c", script, "warm"], timeout=60, check=True)
    procs = [
        subprocess.Popen([sys.executable, "-c", script, tag], stderr=subprocess.PIPE)
        for tag in ("a", "b")
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
    con = sqlite3.connect(path)
    assert con.execute("SELECT count(*) FROM model_cache").fetchone()[0] == 900
    con.close()


async def test_response_cache_expires(tmp_path: Path) -> None:
    now = [1000.0]
    async with Database(tmp_path / "m.db") as db:
        cache = ResponseCache(db, clock=lambda: now[0])
        await cache.put("k", '{"a": 1}', ttl=60)
        assert await cache.get("k") == '{"a": 1}'
        now[0] += 61
        assert await cache.get("k") is None
        assert await cache.get_stale("k") == '{"a": 1}'


def test_processes_opening_a_new_database_at_once_all_succeed(tmp_path: Path) -> None:
    # Every browser tab of `modella serve` is a process that opens the same new database at
    # start: only one may run a migration step, the others must find it done.
    code = (
        "import asyncio, sys\n"
        "from pathlib import Path\n"
        "from modella_tui.core.store.db import Database\n"
        "async def main():\n"
        "    db = await Database(Path(sys.argv[1])).open()\n"
        "    await db.close()\n"
        "asyncio.run(main())\n"
    )
    for round_ in range(3):
        path = tmp_path / f"r{round_}" / "modella.db"
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", code, str(path)],
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(6)
        ]
        errors = [p.communicate(timeout=60)[1] for p in procs]
        assert all(p.returncode == 0 for p in procs), [e for e in errors if e][:1]


async def test_the_state_folders_it_creates_are_private_and_an_existing_one_keeps_its_mode(
    tmp_path: Path,
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    async with Database(shared / "new" / "state" / "m.db"):
        pass
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777
    for folder in (shared / "new", shared / "new" / "state"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder


def _count_trips(db: Database, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the calls queued on the database's thread (each is a round trip)."""
    assert db.conn is not None
    trips = [0]
    queue: Callable[..., Awaitable[Any]] = db.conn._execute

    async def counted(fn: Any, *args: Any, **kwargs: Any) -> Any:
        trips[0] += 1
        return await queue(fn, *args, **kwargs)

    monkeypatch.setattr(db.conn, "_execute", counted)
    return trips


async def test_a_transaction_is_one_trip_and_all_or_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with Database(tmp_path / "m.db") as db:
        trips = _count_trips(db, monkeypatch)

        def two_rows(conn: sqlite3.Connection) -> int:
            conn.execute("INSERT INTO model_cache VALUES ('a', 'v', 0, 1)")
            conn.execute("INSERT INTO model_cache VALUES ('b', 'v', 0, 1)")
            return 2

        assert await db.transaction(two_rows) == 2
        assert trips[0] == 1  # BEGIN, both statements and COMMIT in one trip

        def half_then_fail(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT INTO model_cache VALUES ('c', 'v', 0, 1)")
            raise ValueError("stop")

        with pytest.raises(ValueError):
            await db.transaction(half_then_fail)
        rows = await db.read(lambda conn: conn.execute("SELECT key FROM model_cache").fetchall())
        assert sorted(r[0] for r in rows) == ["a", "b"]  # 'c' was rolled back
        assert await db.execute("INSERT INTO model_cache VALUES ('d', 'v', 0, 1)") > 0


@pytest.mark.parametrize("yields", [0, 1, 2, 3])
async def test_a_write_cancelled_at_any_step_leaves_no_transaction_open(
    tmp_path: Path, yields: int
) -> None:
    async with Database(tmp_path / "db.sqlite") as db:
        for _ in range(20):

            async def write() -> None:
                async with db.write() as conn:
                    await conn.execute("INSERT INTO lists (name, created_at) VALUES ('x', 0)")

            task = asyncio.create_task(write())
            for _ in range(yields):  # cancelled before, during or after its BEGIN
                await asyncio.sleep(0)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            assert db.conn is not None
            await db.read(lambda raw: None)  # whatever the cancel left queued has run
            assert not db.conn._conn.in_transaction
            # and the next write works (it failed with "cannot start a transaction within a
            # transaction" for the rest of the session)
            await db.execute("DELETE FROM lists")


async def test_batched_cache_keeps_answers_and_writes_them_in_one_transaction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1000.0]
    async with Database(tmp_path / "m.db") as db:
        cache = ResponseCache(db, clock=lambda: now[0], batch=True)
        for key in ("k1", "k2", "k3"):
            await cache.put(key, f'{{"{key}": 1}}', ttl=60)
        assert await db.fetchall("SELECT * FROM model_cache") == []  # nothing written yet
        assert await cache.get("k2") == '{"k2": 1}'  # found where it is kept
        trips = _count_trips(db, monkeypatch)
        await cache.flush()
        assert trips[0] == 1
        rows = await db.fetchall("SELECT key, expires_at FROM model_cache ORDER BY key")
        assert [(r[0], r[1]) for r in rows] == [("k1", 1060.0), ("k2", 1060.0), ("k3", 1060.0)]
        now[0] += 61
        assert await cache.get("k1") is None  # expired, kept or written alike


async def test_batched_cache_answers_before_the_database_is_open(tmp_path: Path) -> None:
    db = Database(tmp_path / "m.db")
    cache = ResponseCache(db, batch=True)
    assert await cache.get("k") is None  # no database yet: a miss, not an error
    await cache.put("k", "v", ttl=60)
    assert await cache.get("k") == "v"
    await cache.flush()  # still closed: kept for later
    await db.open()
    try:
        await cache.flush()
        assert [tuple(r) for r in await db.fetchall("SELECT key, value FROM model_cache")] == [
            ("k", "v")
        ]
    finally:
        await db.close()


def test_switching_to_wal_waits_while_another_process_switches(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    busy = sqlite3.OperationalError("database is locked")
    busy.sqlite_errorcode = sqlite3.SQLITE_BUSY

    class Racing:
        calls = 0

        def execute(self, sql: str) -> Any:
            self.calls += 1
            if self.calls < 3:
                raise busy
            return sqlite3.connect(":memory:").execute("SELECT 1")

    monkeypatch.setattr("modella_tui.core.store.db.time.sleep", lambda s: None)
    raw = Racing()
    dbmod._set_journal_mode(raw, "wal")  # type: ignore[arg-type]
    assert raw.calls == 3
