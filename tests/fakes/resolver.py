"""A scripted name resolver: chosen host names answer chosen addresses, the rest resolve as usual."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import pytest


def fake_resolver(
    monkeypatch: pytest.MonkeyPatch, answers: dict[str, list[str] | Callable[[], list[str]]]
) -> list[str]:
    """Names in `answers` resolve to those addresses (a callable answers anew on each lookup, as a
    rebinding DNS server would); returns the names looked up, in order."""
    real = socket.getaddrinfo
    asked: list[str] = []

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in answers:
            return real(host, port, *args, **kwargs)
        asked.append(host)
        answer = answers[host]
        addresses = answer() if callable(answer) else answer
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (a, port, 0, 0))
            if ":" in a
            else (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (a, port))
            for a in addresses
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked
