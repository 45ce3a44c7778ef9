"""An httpx transport whose requests run on the stdlib `http.client` in threads.

httpx stays the client: the Fetcher's redirect handling, auth-only-to-the-API-host and status checks
are unchanged. Only the wire work moves: each request is sent and its headers read in a pooled thread
(`workers.REQUESTS`), and the body is a `ThreadBody` whose `readinto()` a download worker thread calls directly, so
file bytes are received into the engine's own buffers with no copy in Python and no event-loop work
per chunk (h11/anyio cost ≈ 1 s of loop CPU per GiB). Anything else reading the body (an error page,
a redirect) can still iterate it asynchronously.

Not used behind an HTTP(S) proxy (the engine keeps httpx's own transport, which honours it).
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import os
import socket
import ssl
import threading
from collections.abc import AsyncIterator
from typing import Any

import httpx

from modella_tui.core.downloads.workers import RECEIVERS, REQUESTS
from modella_tui.core.http import USER_AGENT

__all__ = [
    "RECEIVERS",
    "REQUESTS",
    "ThreadBody",
    "ThreadTransport",
    "env_proxies",
    "make_client",
    "thread_body",
]

KEEP_PER_HOST = 16
BODY_EXTENSION = "modella_thread_body"
ITER_CHUNK = 256 * 1024
WHOLE_BODY = 1024 * 1024  # a body declared this small (and not a range) is read with its headers

Key = tuple[str, str, int]


class ThreadBody(httpx.AsyncByteStream):
    """A response body read with blocking calls from a worker thread (or iterated in a thread)."""

    def __init__(
        self, transport: ThreadTransport, key: Key, conn: http.client.HTTPConnection,
        sock: socket.socket, resp: http.client.HTTPResponse,
    ) -> None:  # fmt: skip
        self._transport = transport
        self._key = key
        self._conn = conn
        self._sock = sock
        self._resp = resp
        self._fp = resp.fp
        # Content-Length bodies are read with readinto1 straight from the socket buffer; the
        # count is tracked here so a fully read connection can be reused.
        self._left: int | None = None if resp.chunked else resp.length
        self._lock = threading.Lock()
        self._closed = False
        self.aborted = False

    @property
    def complete(self) -> bool:
        """True once the whole body was read."""
        return self._left == 0 or self._resp.isclosed()

    def readinto(self, view: memoryview) -> int:
        """Read up to len(view) bytes of the body (blocking, idle timeout applies); 0 = end."""
        if self._left is None:
            return self._resp.readinto(view)
        if self._left == 0 or self._fp is None:
            return 0
        if len(view) > self._left:
            view = view[: self._left]
        n = self._fp.readinto1(view)
        self._left -= n
        return n

    def abort(self) -> None:
        """Interrupt a blocked read from any thread (pause, cancel, stop)."""
        self.aborted = True
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        """Return the connection to the pool when the body was read to the end, else close it."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        reusable = (
            not self.aborted and self._left == 0 and not self._resp.will_close
        ) and self._conn.sock is not None
        with contextlib.suppress(Exception):
            self._resp.close()
        if reusable:
            self._transport._put(self._key, self._conn)
        else:
            with contextlib.suppress(Exception):
                self._conn.close()

    def _fill(self, view: memoryview) -> tuple[int, bool]:
        """Read until `view` is full or the body ends (blocking); (bytes read, at the end)."""
        got = 0
        while got < len(view):
            n = self.readinto(view[got:])
            if not n:
                return got, True
            got += n
        return got, self.complete

    def read_all(self) -> bytes:
        """The whole (small) body, read here and now (blocking); the connection is then free."""
        parts = []
        buf = bytearray(min(ITER_CHUNK, max(1, self._left or ITER_CHUNK)))
        view = memoryview(buf)
        while True:
            n, end = self._fill(view)
            parts.append(bytes(view[:n]))
            if end:
                break
        self.close()
        return b"".join(parts)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        buf = bytearray(ITER_CHUNK)
        view = memoryview(buf)
        while True:
            try:
                # A chunk at a time, each read whole in one trip to a worker thread (a small body
                # is one trip, its end included).
                n, end = await asyncio.to_thread(self._fill, view)
            except TimeoutError:
                raise httpx.ReadTimeout("no data in time") from None
            except (OSError, http.client.HTTPException) as exc:
                raise httpx.ReadError(type(exc).__name__) from None
            if n:
                yield bytes(view[:n])
            if end:
                return

    async def aclose(self) -> None:
        """Close (see `close`)."""
        self.close()


class _Call:
    """One request in its own thread; `abort()` makes a blocked connect/read return promptly."""

    def __init__(self) -> None:
        self.sock: socket.socket | None = None
        self.aborted = False
        self.lock = threading.Lock()

    def abort(self) -> None:
        with self.lock:
            self.aborted = True
            sock = self.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class ThreadTransport(httpx.AsyncBaseTransport):
    """Sends requests with `http.client` in threads; keeps finished connections per host."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self._ssl = ssl_context
        self._idle: dict[Key, list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()

    def _ctx(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = httpx.create_ssl_context()
        return self._ssl

    def _put(self, key: Key, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            conns = self._idle.setdefault(key, [])
            if len(conns) < KEEP_PER_HOST:
                conns.append(conn)
                return
        conn.close()

    def _take(self, key: Key) -> http.client.HTTPConnection | None:
        with self._lock:
            conns = self._idle.get(key)
            return conns.pop() if conns else None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Run the request in a thread; cancellation aborts it."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[httpx.Response] = loop.create_future()
        call = _Call()
        body = await request.aread()

        def deliver(result: httpx.Response | None, exc: BaseException | None) -> None:
            if fut.done():  # cancelled meanwhile: nobody will read this response
                body = thread_body(result) if result is not None else None
                if body is not None:
                    body.close()
                return
            if exc is not None:
                fut.set_exception(exc)
            else:
                assert result is not None
                fut.set_result(result)

        def work() -> None:
            try:
                result = self._roundtrip(request, body, call)
            except BaseException as exc:
                loop.call_soon_threadsafe(deliver, None, exc)
            else:
                loop.call_soon_threadsafe(deliver, result, None)

        REQUESTS.submit(work)
        try:
            return await fut
        except asyncio.CancelledError:
            call.abort()
            raise

    def _roundtrip(self, request: httpx.Request, body: bytes, call: _Call) -> httpx.Response:
        url = request.url
        scheme = url.scheme
        port = url.port or (443 if scheme == "https" else 80)
        key: Key = (scheme, url.host, port)
        timeout: dict[str, Any] = request.extensions.get("timeout") or {}
        connect = timeout.get("connect") or 30.0
        read = timeout.get("read")
        target = url.raw_path.decode("ascii")
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw]
        for attempt in (0, 1):
            pooled = self._take(key) if attempt == 0 else None
            conn = pooled or self._new(scheme, url.host, port, connect)
            try:
                with call.lock:
                    if call.aborted:
                        raise httpx.ConnectError("cancelled", request=request)
                if conn.sock is None:
                    try:
                        conn.connect()
                    except TimeoutError:
                        raise httpx.ConnectTimeout("connect timed out", request=request) from None
                    except OSError as exc:
                        raise httpx.ConnectError(type(exc).__name__, request=request) from None
                sock = conn.sock
                assert sock is not None
                with call.lock:
                    call.sock = sock
                    aborted = call.aborted
                if aborted:
                    raise httpx.ConnectError("cancelled", request=request)
                # As with httpx, the read timeout bounds the wait for the headers (the Fetcher
                # also bounds the whole exchange by its headers limit).
                sock.settimeout(read if read is not None else connect)
                conn.putrequest(request.method, target, skip_host=True, skip_accept_encoding=True)
                for k, v in headers:
                    conn.putheader(k, v)
                conn.endheaders(body or None)
                resp = conn.getresponse()
            except httpx.HTTPError:
                conn.close()
                raise
            except TimeoutError:
                conn.close()
                raise httpx.ReadTimeout("no response headers in time", request=request) from None
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                if pooled is not None and not call.aborted:
                    continue  # a kept-alive connection the server had closed: once more, fresh
                raise httpx.ReadError(type(exc).__name__, request=request) from None
            # Body reads: the idle timeout (None = block).
            sock.settimeout(read)
            stream = ThreadBody(self, key, conn, sock, resp)
            if (
                "range" not in request.headers
                and resp.length is not None
                and (resp.length <= WHOLE_BODY)
            ):
                # A small answer (an API's JSON, a redirect, a preview image) is read here, in
                # this thread: no further trips for its body, and its connection is free at once.
                # Ranged requests are file transfers: their bodies stay for the receive threads.
                try:
                    data = stream.read_all()
                except TimeoutError:
                    stream.abort()
                    stream.close()
                    raise httpx.ReadTimeout("no data in time", request=request) from None
                except (OSError, http.client.HTTPException) as exc:
                    stream.abort()
                    stream.close()
                    raise httpx.ReadError(type(exc).__name__, request=request) from None
                return httpx.Response(
                    resp.status,
                    headers=resp.getheaders(),
                    stream=httpx.ByteStream(data),  # read (and decoded) as any body would be
                    extensions={
                        "http_version": b"HTTP/1.1",
                        "reason_phrase": resp.reason.encode(),
                    },
                )
            return httpx.Response(
                resp.status,
                headers=resp.getheaders(),
                stream=stream,
                extensions={
                    "http_version": b"HTTP/1.1",
                    "reason_phrase": resp.reason.encode(),
                    BODY_EXTENSION: stream,  # httpx wraps `stream`; this keeps it reachable
                },
            )
        raise httpx.ReadError("no connection", request=request)  # pragma: no cover

    def _new(self, scheme: str, host: str, port: int, timeout: float) -> http.client.HTTPConnection:
        if scheme == "https":
            return http.client.HTTPSConnection(host, port, timeout=timeout, context=self._ctx())
        return http.client.HTTPConnection(host, port, timeout=timeout)

    async def aclose(self) -> None:
        """Close every kept connection."""
        with self._lock:
            conns = [c for cs in self._idle.values() for c in cs]
            self._idle.clear()
        for conn in conns:
            with contextlib.suppress(Exception):
                conn.close()


def thread_body(response: httpx.Response) -> ThreadBody | None:
    """The response's ThreadBody when its body can be read from a worker thread."""
    stream = response.extensions.get(BODY_EXTENSION)
    return stream if isinstance(stream, ThreadBody) else None


def make_client() -> httpx.AsyncClient:
    """The engine's HTTP client: requests and bodies on `http.client` in pooled threads, redirects
    left to the caller; httpx's own transport behind a proxy from the environment (it honours it).

    TLS settings are made on the first https connection, in a worker thread: a command that only
    talks plain HTTP (or has not reached its first request yet) does not wait for them.
    """
    transport = None if env_proxies() else ThreadTransport()
    return httpx.AsyncClient(
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT},
        limits=httpx.Limits(max_connections=64, max_keepalive_connections=16),
        transport=transport,
    )


def env_proxies() -> bool:
    """True when the environment names an HTTP(S) proxy (httpx would use it)."""
    for name, value in os.environ.items():
        scheme, _, rest = name.lower().rpartition("_")
        if rest == "proxy" and scheme in ("http", "https", "all") and value:
            return True
    return False
