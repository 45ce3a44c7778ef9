"""Helpers for the `modella serve` tests: free ports, a guarded app under aiohttp's test client, and
the server as a subprocess."""

from __future__ import annotations

import os
import selectors
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from modella_tui.serve.server import ModellaServer, build_config

HERE = Path(__file__).resolve().parent
TOKEN = "test-token-0123456789-abcdefghijklmnop"
FAKE_APP = shlex.join([sys.executable, str(HERE / "fake_app.py")])
TINY_APP = shlex.join([sys.executable, str(HERE / "tiny_app.py")])


def free_port() -> int:
    """A port nothing listens on right now (the OS picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# aiohttp's test client over a real web.Application (what ModellaServer.make_app builds).
Client = TestClient[web.Request, web.Application]


class MakeClient(Protocol):
    """The `make_client` fixture: options in, a started test client out."""

    def __call__(
        self,
        host: str = ...,
        public_url: str | None = ...,
        token: str | None = ...,
        env: Mapping[str, str] | None = ...,
        command: str = ...,
    ) -> Awaitable[Client]: ...


@pytest.fixture
async def make_client() -> AsyncIterator[MakeClient]:
    """Build the guarded app for given options and serve it on 127.0.0.1 at the configured port."""
    clients: list[Client] = []

    async def make(
        host: str = "127.0.0.1",
        public_url: str | None = None,
        token: str | None = TOKEN,
        env: Mapping[str, str] | None = None,
        command: str = FAKE_APP,
    ) -> Client:
        port = free_port()
        config = build_config(host, port, public_url, token, command=command, env=env or {})
        app = await ModellaServer(config).make_app()
        client = TestClient(TestServer(app, host="127.0.0.1", port=port))
        await client.start_server()
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


@dataclass
class ServeProcess:
    """A running `python -m modella_tui.serve` and what it printed first."""

    proc: subprocess.Popen[bytes]
    port: int
    url: str  # the tokened link it printed
    head: list[str]  # the lines up to and including the link

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def read_line(proc: subprocess.Popen[bytes], deadline: float) -> str:
    """One stdout line of `proc`, failing the test if none comes before `deadline`."""
    assert proc.stdout is not None
    buf = b""
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while not buf.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                pytest.fail(f"the server printed no full line in time (got {buf!r})")
            chunk = os.read(proc.stdout.fileno(), 1)
            if not chunk:
                pytest.fail(f"the server exited early (got {buf!r})")
            buf += chunk
    return buf.decode()


def start_serve(
    *args: str, env: Mapping[str, str] | None = None, command: str | None = TINY_APP
) -> ServeProcess:
    """Start the server on a free port and wait for the line holding its link."""
    port = free_port()
    argv = [sys.executable, "-m", "modella_tui.serve", "--port", str(port), *args]
    if command is not None:
        argv += ["--command", command]
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    deadline = time.monotonic() + 30
    head: list[str] = []
    while True:
        line = read_line(proc, deadline)
        head.append(line)
        if line.startswith("http"):
            return ServeProcess(proc, port, line.strip(), head)


def stop_serve(server: ServeProcess) -> tuple[int, str, str]:
    """Ctrl-C the server; its exit code and the rest of its stdout and stderr."""
    if server.proc.poll() is None:
        server.proc.send_signal(signal.SIGINT)
    try:
        out, err = server.proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        out, err = server.proc.communicate(timeout=10)
        pytest.fail("the server did not stop within 20 s of Ctrl-C")
    return server.proc.returncode, out.decode(), err.decode()


class StartServe(Protocol):
    """The `serve_process` fixture: `start_serve` whose servers are stopped after the test."""

    def __call__(
        self, *args: str, env: Mapping[str, str] | None = ..., command: str | None = ...
    ) -> ServeProcess: ...


@pytest.fixture
def serve_process() -> Iterator[StartServe]:
    """Start servers as subprocesses; each one left running is stopped at the end."""
    started: list[ServeProcess] = []

    def start(
        *args: str, env: Mapping[str, str] | None = None, command: str | None = TINY_APP
    ) -> ServeProcess:
        server = start_serve(*args, env=env, command=command)
        started.append(server)
        return server

    yield start
    for server in started:
        if server.proc.poll() is None:
            server.proc.kill()
            server.proc.communicate(timeout=10)
