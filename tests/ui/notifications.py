"""Every notification an app shows in a test, kept after its toast has expired."""

from __future__ import annotations

from typing import Any

import pytest

from modella_tui.ui.app import ModellaApp


def record_notifications(app: ModellaApp, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep each message `app.notify` shows (toasts expire; on a loaded machine a check may come
    after one has gone)."""
    said: list[str] = []
    show = app.notify

    def record(message: str, **kwargs: Any) -> None:
        said.append(message)
        show(message, **kwargs)

    monkeypatch.setattr(app, "notify", record)
    monkeypatch.setattr(app, "said", said, raising=False)


def notes(app: ModellaApp) -> list[str]:
    """Every notification so far, expired ones included."""
    said: list[str] = app.said  # type: ignore[attr-defined]
    return said
