"""The server as a real process: refusal with exit 2, the link printed once, no token in logs or in
the app processes, and a clean stop on Ctrl-C."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import aiohttp
import pytest

from modella_tui.serve.auth import TOKEN_ENV
from tests.serve.conftest import FAKE_APP, TOKEN, StartServe, stop_serve


def run_module(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "modella_tui.serve", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **(env or {})},
    )


def test_a_public_bind_without_a_token_exits_2_with_one_sentence() -> None:
    done = run_module("--host", "0.0.0.0", "--port", "8123")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_modella_serve_cli_refuses_a_public_bind_without_a_token() -> None:
    """The same through the main CLI."""
    done = subprocess.run(
        [sys.executable, "-m", "modella_tui", "serve", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_a_busy_port_is_one_sentence_not_a_traceback(
    serve_process: StartServe,
) -> None:
    first = serve_process(command=FAKE_APP)
    done = run_module("--port", str(first.port), "--command", FAKE_APP)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


async def test_link_once_no_token_in_logs_or_children_and_ctrl_c_stops_cleanly(
    serve_process: StartServe,
) -> None:
    server = serve_process(command=FAKE_APP, env={TOKEN_ENV: TOKEN})
    assert server.url == f"http://127.0.0.1:{server.port}/?token={TOKEN}"
    base = server.base
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        # A bad token and a probe without one: refused, and nothing of the token leaks.
        async with session.get(f"{base}/?token=wrong-{TOKEN[:8]}") as resp:
            assert resp.status == 401
        async with session.get(f"{base}/", headers={"Host": "evil.example"}) as resp:
            assert resp.status == 403
        async with session.get(server.url) as resp:  # follows the redirect with the cookie
            assert resp.status == 200
            assert str(resp.url) == f"{base}/"
        ws = await session.ws_connect(f"{base}/ws", origin=base)
        msg = await ws.receive(timeout=30)
        report = json.loads(msg.data)
        child = int(report["pid"])
        assert report["has_token_env"] is False
        assert not any(TOKEN in value for value in report["env_values"])
        os.kill(child, 0)  # the tab's process is alive while the tab is open

        code, out, err = await asyncio.to_thread(stop_serve, server)
        await ws.close()
    assert code == 0, err
    everything = "".join(server.head) + out + err
    assert everything.count(TOKEN) == 1  # only the printed link
    assert "Traceback" not in err
    # The tab's process was told to quit and reaped before the server exited.
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)
