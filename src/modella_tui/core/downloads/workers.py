"""Reused daemon threads for the engine's blocking work (requests, body reads, hashing).

Starting a thread waits for it to get the GIL (about a millisecond under load, and the event loop
waits with it); a download of many small files would start several per file. These threads are
kept and reused. Being daemons, one blocked at exit never keeps the process alive (a
ThreadPoolExecutor joins its threads at exit).
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable

IDLE_THREAD_S = 30.0  # a pooled thread with no work for this long ends


class DaemonPool:
    """Reused daemon threads: each job runs in an idle thread, or a new one when none is idle."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0
        self.started = 0  # threads started so far (for tests and measurements)

    def submit(self, fn: Callable[[], None]) -> None:
        """Run `fn` in a pooled thread (it must handle its own errors)."""
        with self._lock:
            spawn = self._idle == 0
            if spawn:
                self.started += 1
            else:
                self._idle -= 1
        self._jobs.put(fn)
        if spawn:
            threading.Thread(target=self._run, name=self._name, daemon=True).start()

    def _run(self) -> None:
        while True:
            try:
                fn = self._jobs.get(timeout=IDLE_THREAD_S)
            except queue.Empty:
                with self._lock:
                    if self._idle > 0:
                        self._idle -= 1
                        return
                continue
            with contextlib.suppress(BaseException):
                fn()
            with self._lock:
                self._idle += 1


REQUESTS = DaemonPool("modella-http")
RECEIVERS = DaemonPool("modella-recv")
HASHERS = DaemonPool("modella-hash")
