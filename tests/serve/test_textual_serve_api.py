"""The private parts of textual-serve that `modella serve` relies on are still there, as used.

textual-serve has no extension API; `serve/server.py` names the three private members it uses.
This test fails first when an upgrade moves one of them.
"""

from __future__ import annotations

import inspect

from textual_serve.app_service import AppService
from textual_serve.download_manager import DownloadManager
from textual_serve.server import Server

from modella_tui.serve.server import _tab_process


def test_server_builds_its_app_and_runs_one_socket_loop_through_private_methods() -> None:
    assert inspect.iscoroutinefunction(Server._make_app)
    assert list(inspect.signature(Server._make_app).parameters) == ["self"]
    assert inspect.iscoroutinefunction(Server._process_messages)
    assert list(inspect.signature(Server._process_messages).parameters) == [
        "self",
        "websocket",
        "app_service",
    ]


async def test_app_service_keeps_its_process_until_started() -> None:
    async def write(_data: object) -> None:
        return None

    async def close() -> None:
        return None

    service = AppService(
        "true",
        write_bytes=write,
        write_str=write,
        close=close,
        download_manager=DownloadManager(),
    )
    assert _tab_process(service) is None
