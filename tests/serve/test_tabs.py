"""Two browser tabs on one `modella serve`: two app processes share one queue, one works it."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import aiohttp

from tests.fakes.catalog import INK_WASH, SUMI_INK
from tests.fakes.fakehub import FakeHub
from tests.serve.conftest import ServeProcess, StartServe, stop_serve
from tests.serve.test_browser import visible_text

APP = [sys.executable, "-m", "modella_tui"]


class Tab:
    """One tab's WebSocket: what the app drew so far, and a way to type."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.data = bytearray()
        self.changed = asyncio.Event()
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for msg in self.ws:
            if msg.type == aiohttp.WSMsgType.BINARY:
                self.data += msg.data
                self.changed.set()

    def text(self) -> str:
        return visible_text(self.data.decode("utf-8", "replace"))

    async def press(self, keys: str) -> None:
        await self.ws.send_json(["stdin", keys])

    async def wait_for(self, seen: Callable[[str], bool], timeout: float, what: str) -> None:
        try:
            async with asyncio.timeout(timeout):
                while not seen(self.text()):
                    self.changed.clear()
                    if self.reader.done():
                        raise AssertionError(f"the tab closed before showing {what}")
                    await self.changed.wait()
        except TimeoutError:
            shown = " ".join(self.text().split())[-1500:]
            raise AssertionError(f"the tab never showed {what}; it shows …{shown}") from None


async def open_tab(session: aiohttp.ClientSession, server: ServeProcess) -> Tab:
    ws = await session.ws_connect(f"{server.base}/ws?width=140&height=40", origin=server.base)
    return Tab(ws)


def app_processes(home: Path) -> list[int]:
    """Pids of `python -m modella_tui` (the app, no subcommand) running with this test's home."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")[:-1]
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if [a.decode() for a in argv[1:]] == APP[1:] and (
            f"MODELLA_HOME={home}".encode() in environ
        ):
            found.append(int(entry.name))
    return found


def lease_holder(db: Path) -> int | None:
    """The pid in the engine lease row, if any."""
    if not db.exists():
        return None
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
        row = conn.execute("SELECT holder FROM engine_lease WHERE id = 1").fetchone()
    return int(str(row[0]).rsplit(":", 2)[1]) if row else None


async def until(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll a file-system or process condition (no event to wait on across processes)."""
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.1)
    assert check(), what


async def test_two_tabs_share_one_queue_and_each_file_is_fetched_once(
    serve_process: StartServe, fakehub: FakeHub, isolated_home: Path, tmp_path: Path
) -> None:
    fakehub.rate_per_connection = 400_000.0  # ~1-5 s a file: the tabs watch it happen
    env = {"MODELLA_CIVITAI_URL": fakehub.civitai_url, "HF_ENDPOINT": fakehub.hub_url}
    server = serve_process(command=" ".join(APP), env=env)
    files = [fakehub.version(1012).files[0], fakehub.version(1021).files[0]]
    db = isolated_home / "modella.db"
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        async with session.get(server.url) as resp:
            assert resp.status == 200
        tabs = [await open_tab(session, server), await open_tab(session, server)]
        try:
            for tab in tabs:
                await tab.wait_for(lambda text: "Search Civitai" in text, 60, "the browser screen")
            await until(lambda: len(app_processes(isolated_home)) == 2, 30, "two app processes")
            await until(lambda: lease_holder(db) is not None, 30, "an engine lease")
            apps = app_processes(isolated_home)
            assert lease_holder(db) in apps  # one of the tabs works the queue
            for tab in tabs:
                await tab.press("4")  # the queue screen
            # A third process adds two files; it waits while the tab holding the lease works.
            download = await asyncio.create_subprocess_exec(
                *APP,
                "download",
                f"civitai:{INK_WASH}@1012",
                f"civitai:{SUMI_INK}",
                env={**os.environ, **env},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            async with asyncio.timeout(120):
                _, err = await download.communicate()
            assert download.returncode == 0, err.decode()
            stems = [f.name.removesuffix(".safetensors") for f in files]
            for tab in tabs:
                await tab.wait_for(lambda text: all(s in text for s in stems), 60, str(stems))
            # The holder did the work; nothing was fetched twice.
            assert lease_holder(db) in apps and len(app_processes(isolated_home)) == 2
            for f in files:
                assert fakehub.bytes_served(f.blob.id) == f.blob.size, f.name
            landed = sorted(p.name for p in (tmp_path / "models").rglob("*.safetensors"))
            assert landed == sorted(f.name for f in files)
        finally:
            for tab in tabs:
                await tab.ws.close()
                tab.reader.cancel()
    code, _, err_text = await asyncio.to_thread(stop_serve, server)
    assert code == 0, err_text
