"""Turns the engine's plain events into Textual messages, progress at most 10 times a second."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from textual.app import App

from modella_tui.core.downloads.events import Event, ItemAdded, Progress, StateChanged
from modella_tui.core.errors import reason_text
from modella_tui.core.protocols import DownloadQueue
from modella_tui.ui.messages import DownloadFinished, ProgressInfo, QueueChanged, QueueProgress

MAX_HZ = 10.0


class EngineBridge:
    """Listens to the engine; `detach()` stops listening. The clock is injectable for tests."""

    def __init__(self, app: App[Any], clock: Callable[[], float] = time.monotonic) -> None:
        self.app = app
        self.clock = clock
        self.snapshot: dict[int, ProgressInfo] = {}
        self._last_post = float("-inf")
        self._pending: asyncio.TimerHandle | None = None
        self._engine: DownloadQueue | None = None
        self.titles: dict[int, str] = {}
        self.finished: dict[int, str] = {}
        """The last done/failed state announced per item: a state is announced once."""

    def attach(self, engine: DownloadQueue) -> None:
        """Listen to `engine`'s events from now on."""
        self.detach()
        self._engine = engine
        engine.add_listener(self.on_event)

    def detach(self) -> None:
        """Stop listening and drop a pending flush."""
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        if self._engine is not None:
            self._engine.remove_listener(self.on_event)
            self._engine = None

    def on_event(self, event: Event) -> None:
        """The engine's listener: progress is coalesced, everything else posted at once."""
        if isinstance(event, Progress):
            self.snapshot[event.item_id] = ProgressInfo(
                done=event.done, total=event.total, speed_bps=event.speed_bps, eta_s=event.eta_s
            )
            self._schedule()
            return
        if isinstance(event, ItemAdded):
            name = event.file_name
            self.titles[event.item_id] = f"{event.title} · {name}" if name else event.title
        elif isinstance(event, StateChanged):
            # The engine may report one change twice (its own write, then its poll of the row).
            if (
                event.state in ("done", "failed")
                and self.finished.get(event.item_id) != event.state
            ):
                self.finished[event.item_id] = event.state
                self.app.post_message(
                    DownloadFinished(
                        event.item_id,
                        event.state,
                        self.titles.get(event.item_id, ""),
                        reason_text(event.error_key, event.error_params) or None,
                    )
                )
            if event.state not in ("done", "failed"):
                self.finished.pop(event.item_id, None)  # retried: its next end is news again
            if event.state != "running":
                self.snapshot.pop(event.item_id, None)
        self.app.post_message(QueueChanged(event.item_id))

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
