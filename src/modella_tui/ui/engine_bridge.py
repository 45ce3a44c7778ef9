"""Turns the engine's plain events into Textual messages, progress at most 10 times a second."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any

from textual.app import App
from textual.message import Message

from modella_tui.ui.messages import ProgressInfo, QueueChanged, QueueProgress

MAX_HZ = 10.0


class DownloadFinished(Message):
    """One download ended (done or failed): the app notifies wherever the user is."""

    def __init__(self, item_id: int, state: str, title: str, reason: str | None) -> None:
        super().__init__()
        self.item_id = item_id
        self.state = state
        self.title = title
        self.reason = reason


class EngineBridge:
    """Subscribes to the engine; `detach()` unsubscribes. The clock is injectable for tests."""

    def __init__(self, app: App[Any], clock: Callable[[], float] = time.monotonic) -> None:
        self.app = app
        self.clock = clock
        self.snapshot: dict[int, ProgressInfo] = {}
        self._last_post = float("-inf")
        self._pending: asyncio.TimerHandle | None = None
        self._unsubscribe: Callable[[], object] | None = None
        self.titles: dict[int, str] = {}
        self._attached = False

    def attach(self, engine: Any) -> None:
        """Listen to `engine`: `add_listener(cb)` (the engine's), else `subscribe(cb)` → unsubscribe."""
        self._attached = True
        add = getattr(engine, "add_listener", None)
        if add is not None:
            add(self.on_event)
            remove = getattr(engine, "remove_listener", None)
            if remove is not None:
                self._unsubscribe = lambda: remove(self.on_event)
            return
        subscribe = getattr(engine, "subscribe", None)
        if subscribe is not None and not inspect.isasyncgenfunction(subscribe):
            result = subscribe(self.on_event)
            if callable(result):
                self._unsubscribe = result

    def detach(self) -> None:
        """Stop listening and drop a pending flush."""
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        self._attached = False  # the engine may have no way to remove a listener
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def on_event(self, event: object) -> None:
        """The engine's listener: classify by event type name so either events module fits."""
        if not self._attached:
            return
        kind = type(event).__name__
        item_id = getattr(event, "item_id", None)
        if kind == "Progress" and item_id is not None:
            self.snapshot[int(item_id)] = ProgressInfo(
                done=int(getattr(event, "done", 0) or 0),
                total=getattr(event, "total", None),
                speed_bps=getattr(event, "speed_bps", None),
                eta_s=getattr(event, "eta_s", None),
            )
            self._schedule()
            return
        if kind == "ItemAdded" and item_id is not None:
            title = str(getattr(event, "title", "") or "")
            name = str(getattr(event, "file_name", "") or "")
            self.titles[int(item_id)] = f"{title} · {name}" if name else title
        if kind == "StateChanged" and item_id is not None:
            raw = getattr(event, "state", "")
            state = str(getattr(raw, "value", raw) or "")
            if state in ("done", "failed"):
                self.app.post_message(
                    DownloadFinished(
                        int(item_id), state, self.titles.get(int(item_id), ""), _reason(event)
                    )
                )
            if state not in ("running",):
                self.snapshot.pop(int(item_id), None)
        self.app.post_message(QueueChanged(None if item_id is None else int(item_id)))

    def _schedule(self) -> None:
        now = self.clock()
        wait = 1.0 / MAX_HZ - (now - self._last_post)
        if wait <= 0:
            self._flush()
            return
        if self._pending is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                self._flush()
                return
            self._pending = loop.call_later(wait, self._flush)

    def _flush(self) -> None:
        self._pending = None
        self._last_post = self.clock()
        self.app.post_message(QueueProgress(dict(self.snapshot)))


def _reason(event: object) -> str | None:
    """The failure text of an event: a translated key with params, else a plain reason."""
    from modella_tui.core.i18n import t

    key = getattr(event, "error_key", None) or getattr(event, "error", None)
    if not key:
        return None
    params = getattr(event, "error_params", None) or {}
    return t(str(key), **params) if isinstance(params, dict) else str(key)
