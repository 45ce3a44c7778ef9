"""SHA256 off the event loop, in file order even when several connections write (SPEC §6)."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence
from pathlib import Path

READ_BLOCK = 8 * 1024 * 1024
# Buffers kept for the hasher beyond its position; past this they are dropped and read back later.
KEEP_LIMIT = 64 * 1024 * 1024

_TEXT_OK = {
    "text/html": (".html", ".htm"),
    "application/xhtml+xml": (".html", ".htm"),
    "application/json": (".json",),
    "text/plain": (".txt", ".md", ".yaml", ".yml", ".json", ".py", ".cfg", ".toml", ".csv"),
}


def refused_content_type(content_type: str | None, file_name: str = "") -> bool:
    """True for an error page or API error where a model file was expected (T-16).

    A Hub config (`.json`, `.yaml`, `.txt`) legitimately arrives as text; a weights file never does.
    """
    if not content_type:
        return False
    kind = content_type.split(";", 1)[0].strip().lower()
    allowed = _TEXT_OK.get(kind)
    return allowed is not None and not file_name.lower().endswith(allowed)


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


class OrderedHasher:
    """Hashes a file's bytes strictly in order in its own thread, following what has been written.

    Writers report each flushed range with `written()`, passing the buffers when they have them: a
    buffer that starts exactly where the hash stands is hashed from memory; any other range is read
    back from the file (page cache) once the contiguous prefix reaches it.
    """

    def __init__(self, read_fd: int) -> None:
        self._fd = read_fd
        self._h = hashlib.sha256()
        self.hashed = 0
        self._present: list[list[int]] = []  # merged, sorted [start, end) ranges on disk
        self._kept: dict[int, tuple[int, Sequence[bytes]]] = {}  # start -> (end, buffers)
        self._kept_bytes = 0
        self._cond = threading.Condition()
        self._target: int | None = None  # set by finish(): hash up to here, then stop
        self._stopped = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="modella-hash", daemon=True)
        self._thread.start()

    def written(self, start: int, end: int, bufs: Sequence[bytes] | None = None) -> None:
        """Record that [start, end) is on disk; keep `bufs` if they will be needed soon."""
        if end <= start:
            return
        with self._cond:
            _add_range(self._present, start, end)
            if (
                bufs is not None
                and start >= self.hashed
                and self._kept_bytes + (end - start) <= KEEP_LIMIT
                and start - self.hashed <= KEEP_LIMIT
            ):
                self._kept[start] = (end, bufs)
                self._kept_bytes += end - start
            self._cond.notify()

    def finish(self, total: int) -> str:
        """Block until the first `total` bytes are hashed; return the hex digest (call in a thread)."""
        with self._cond:
            self._target = total
            self._cond.notify()
        self._thread.join()
        if self._error is not None:
            raise self._error
        if self.hashed != total:
            raise OSError(f"hashed {self.hashed} of {total} bytes")
        return self._h.hexdigest()

    def stop(self) -> None:
        """Abandon hashing (pause, cancel, restart); the thread ends soon."""
        with self._cond:
            self._stopped = True
            self._kept.clear()
            self._kept_bytes = 0
            self._cond.notify()

    def _contiguous_end(self) -> int:
        for start, end in self._present:
            if start <= self.hashed < end:
                return end
        return self.hashed

    def _run(self) -> None:
        try:
            self._loop()
        except BaseException as exc:  # reported by finish()
            self._error = exc

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
                # Drop buffers the hash has already passed.
                for s in [s for s in self._kept if s < self.hashed]:
                    self._kept_bytes -= self._kept[s][0] - s
                    del self._kept[s]
                kept = self._kept.pop(self.hashed, None)
                if kept is not None:
                    self._kept_bytes -= kept[0] - self.hashed
                start = self.hashed
                if self._target is not None:
                    limit = min(limit, self._target)
                nxt = min((s for s in self._kept if s > start), default=limit)
            if kept is not None:
                end, bufs = kept
                for b in bufs:
                    self._h.update(b)
                self.hashed = end
                continue
            # Read back up to the next kept buffer (or the end of what is on disk).
            stop = min(limit, nxt, start + READ_BLOCK)
            data = os.pread(self._fd, stop - start, start)
            if len(data) != stop - start:
                raise OSError(f"short read at byte {start}")
            self._h.update(data)
            self.hashed = stop


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
