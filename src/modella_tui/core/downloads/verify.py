"""SHA256 off the event loop, in file order even when several connections write; body sniffing."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from modella_tui.core.downloads.workers import HASHERS

Buffer = bytes | bytearray | memoryview

READ_BLOCK = 8 * 1024 * 1024

SNIFF_BYTES = 512
_HTML_STARTS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<!--")
_PAGE_NAMES = (".html", ".htm", ".xhtml")  # a file that is a web page may arrive as one
_JSON_TYPES = ("application/json", "text/json", "application/problem+json")


def looks_like_web_page(head: bytes, content_type: str | None, file_name: str = "") -> bool:
    """True when the first bytes of a body are a web page or an API error, not the expected file.

    Judged by the content, not the label: storage hosts send model files as `text/plain`,
    `binary/octet-stream` or without a type, and the SHA256 decides those. An HTML start is a
    page (a login or error page) unless an HTML file was asked for; a JSON body labelled as JSON
    is an API error unless a JSON file was asked for.
    """
    name = file_name.lower()
    text = head[:SNIFF_BYTES].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    html = text.startswith(_HTML_STARTS) or (text.startswith(b"<?xml") and b"<html" in text)
    if html and not name.endswith(_PAGE_NAMES):
        return True
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    return kind in _JSON_TYPES and text[:1] in (b"{", b"[") and not name.endswith(".json")


def sha256_file(path: Path, *, stop: threading.Event | None = None) -> str:
    """The SHA256 of a file in big blocks (call it in a thread; hashlib releases the GIL)."""
    h = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        buf = bytearray(READ_BLOCK)
        view = memoryview(buf)
        while True:
            if stop is not None and stop.is_set():
                raise InterruptedError("hash cancelled")
            n = os.readv(fd, [buf])
            if not n:
                break
            h.update(view[:n])
    finally:
        os.close(fd)
    return h.hexdigest()


class BufferPool:
    """Reusable receive buffers for one file: bounded memory, no allocation per chunk.

    `get()` blocks while every buffer is in use (a worker waiting here is back-pressure from the
    hasher or the disk); `stop` makes it give up so a cancelled worker ends promptly.
    """

    def __init__(self, size: int, count: int) -> None:
        self.size = size
        self.count = count
        self._free: list[bytearray] = []
        self._made = 0
        self._cond = threading.Condition()

    def get(self, stop: threading.Event | None = None) -> bytearray | None:
        """A free buffer (made lazily), or None once `stop` is set."""
        with self._cond:
            while True:
                if stop is not None and stop.is_set():
                    return None
                if self._free:
                    return self._free.pop()
                if self._made < self.count:
                    self._made += 1
                    return bytearray(self.size)
                self._cond.wait(0.1)

    def put(self, buf: bytearray) -> None:
        """Give a buffer back."""
        with self._cond:
            self._free.append(buf)
            self._cond.notify()


Release = Callable[[], None]


class OrderedHasher:
    """Hashes a file's bytes strictly in order in its own thread, following what has been written.

    Writers report each written range with `written()`, passing the buffer when they have it: a
    buffer that continues exactly where the hash (plus the buffers already waiting for it) stands is
    kept and hashed from memory, then handed back through `release`; any other range is released at
    once and read back from the file (page cache) when the contiguous prefix reaches it. So with one
    connection nothing is read twice, and with several the memory held stays bounded.
    """

    def __init__(self, read_fd: int, *, max_kept: int = 6) -> None:
        self._fd = read_fd
        self._h = hashlib.sha256()
        self.hashed = 0
        self._present: list[list[int]] = []  # merged, sorted [start, end) ranges on disk
        # start -> (end, buffers, release); always contiguous from `hashed` (see `_frontier`)
        self._kept: dict[int, tuple[int, Sequence[Buffer], Release | None]] = {}
        self._frontier = 0  # where the next kept buffer must start
        self._max_kept = max_kept
        self._scratch: bytearray | None = None
        self._cond = threading.Condition()
        self._target: int | None = None  # set by finish(): hash up to here, then stop
        self._stopped = False
        self._error: BaseException | None = None
        self._ended = threading.Event()
        HASHERS.submit(self._run)  # a reused thread: starting one per file costs the loop time

    def written(
        self,
        start: int,
        end: int,
        bufs: Sequence[Buffer] | None = None,
        release: Release | None = None,
    ) -> None:
        """Record that [start, end) is on disk; keep `bufs` when the hash will need them next.

        `release()` is called (maybe at once, in this thread) when the buffers are no longer needed.
        """
        kept = False
        if end > start:
            with self._cond:
                _add_range(self._present, start, end)
                if self._frontier < self.hashed:
                    self._frontier = self.hashed
                if (
                    bufs is not None
                    and not self._stopped
                    and start == self._frontier
                    and len(self._kept) < self._max_kept
                ):
                    self._kept[start] = (end, bufs, release)
                    self._frontier = end
                    kept = True
                self._cond.notify()
        if not kept and release is not None:
            release()

    def finish(self, total: int) -> str:
        """Block until the first `total` bytes are hashed; return the hex digest (call in a thread)."""
        with self._cond:
            self._target = total
            self._cond.notify()
        self._ended.wait()
        if self._error is not None:
            raise self._error
        if self.hashed != total:
            raise OSError(f"hashed {self.hashed} of {total} bytes")
        return self._h.hexdigest()

    def stop(self) -> None:
        """Abandon hashing (pause, cancel, restart); the thread ends soon."""
        with self._cond:
            self._stopped = True
            kept = list(self._kept.values())
            self._kept.clear()
            self._cond.notify()
        for _end, _bufs, release in kept:
            if release is not None:
                release()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the hashing to end (after `stop` or `finish`)."""
        self._ended.wait(timeout)

    def digest_if_done(self, total: int) -> str | None:
        """None: the hash thread's `finish` says when it is done."""
        return None

    @property
    def ended(self) -> bool:
        """True once the hashing has ended (nothing left to wait for)."""
        return self._ended.is_set()

    def _contiguous_end(self) -> int:
        for start, end in self._present:
            if start <= self.hashed < end:
                return end
        return self.hashed

    def _run(self) -> None:
        lower_thread_priority()
        try:
            self._loop()
        except BaseException as exc:  # reported by finish()
            self._error = exc
        finally:
            with self._cond:
                left = list(self._kept.values())
                self._kept.clear()
            try:
                for _end, _bufs, release in left:
                    if release is not None:
                        release()
            finally:
                self._ended.set()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while True:
                    if self._stopped:
                        return
                    if self._target is not None and self.hashed >= self._target:
                        return
                    limit = self._contiguous_end()
                    if limit > self.hashed:
                        break
                    if self._target is not None:
                        # Finishing but a gap remains: the caller's ranges are wrong.
                        raise OSError(f"gap at byte {self.hashed}")
                    self._cond.wait()
                kept = self._kept.pop(self.hashed, None)
                start = self.hashed
                if self._target is not None:
                    limit = min(limit, self._target)
                nxt = min((s for s in self._kept if s > start), default=limit)
            if kept is not None:
                end, bufs, release = kept
                try:
                    for b in bufs:
                        self._h.update(b)
                finally:
                    if release is not None:
                        release()
                self.hashed = end
                continue
            # Read back up to the next kept buffer (or the end of what is on disk), into one
            # reused buffer: no allocation per block.
            stop = min(limit, nxt, start + READ_BLOCK)
            if self._scratch is None:
                self._scratch = bytearray(READ_BLOCK)
            view = memoryview(self._scratch)[: stop - start]
            got = 0
            while got < len(view):
                n = os.preadv(self._fd, [view[got:]], start + got)
                if n <= 0:
                    raise OSError(f"short read at byte {start + got}")
                got += n
            self._h.update(view)
            self.hashed = stop


class InlineHasher:
    """`OrderedHasher` for a small fresh file: hashed in the writers' own threads, no thread of
    its own.

    A write that continues the hashed prefix is hashed from its buffer at once; one that does not
    (several connections) is read back from the file by whichever write or `finish` makes the
    prefix reach it. Handing each buffer to a hash thread and waking it costs more than hashing
    a small file's few buffers where they are.
    """

    def __init__(self, read_fd: int) -> None:
        self._fd = read_fd
        self._h = hashlib.sha256()
        self.hashed = 0
        self._present: list[list[int]] = []
        self._lock = threading.Lock()
        self._stopped = False

    def written(
        self,
        start: int,
        end: int,
        bufs: Sequence[Buffer] | None = None,
        release: Release | None = None,
    ) -> None:
        """Record that [start, end) is on disk, hashing what continues the prefix now."""
        try:
            if end > start:
                with self._lock:
                    if self._stopped:
                        return
                    _add_range(self._present, start, end)
                    if bufs is not None and start == self.hashed:
                        for b in bufs:
                            self._h.update(b)
                        self.hashed = end
                    self._catch_up(None)
        finally:
            if release is not None:
                release()

    def digest_if_done(self, total: int) -> str | None:
        """The hex digest when the first `total` bytes are hashed already (it never waits)."""
        with self._lock:
            return self._h.hexdigest() if self.hashed == total else None

    def finish(self, total: int) -> str:
        """Hash what is left up to `total` (read back) and return the hex digest (in a thread)."""
        with self._lock:
            self._catch_up(total)
            if self.hashed != total:
                raise OSError(f"hashed {self.hashed} of {total} bytes")
            return self._h.hexdigest()

    def stop(self) -> None:
        """Abandon hashing (pause, cancel, restart)."""
        with self._lock:
            self._stopped = True

    def join(self, timeout: float | None = None) -> None:
        """Nothing to wait for (no thread)."""

    @property
    def ended(self) -> bool:
        """Always: there is no thread to wait for."""
        return True

    def _catch_up(self, limit: int | None) -> None:
        """Hash, from the file, whatever is on disk right after the prefix (the lock is held)."""
        while True:
            end = next((e for s, e in self._present if s <= self.hashed < e), self.hashed)
            if limit is not None:
                end = min(end, limit)
            if end <= self.hashed:
                return
            buf = bytearray(min(READ_BLOCK, end - self.hashed))
            view = memoryview(buf)
            got = 0
            while got < len(view):
                n = os.preadv(self._fd, [view[got:]], self.hashed + got)
                if n <= 0:
                    raise OSError(f"short read at byte {self.hashed + got}")
                got += n
            self._h.update(view)
            self.hashed += got


def _add_range(ranges: list[list[int]], start: int, end: int) -> None:
    ranges.append([start, end])
    ranges.sort()
    merged: list[list[int]] = []
    for s, e in ranges:
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    ranges[:] = merged


WORKER_NICE = 5  # transfer and hash threads yield the CPU to the event loop (the UI) first


def lower_thread_priority() -> None:
    """Give the calling thread a lower CPU priority (Linux: per thread), so the event loop wins.

    On a 2-core pod, four full-speed downloads keep both cores busy; without this the loop (and so
    the UI) waits for a time slice. Best effort: elsewhere it does nothing.
    """
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), WORKER_NICE)
    except (AttributeError, OSError):
        pass
