"""HTTP for one file: redirects without leaking auth, status classification, ranged reads."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from modella_tui.core.http import RETRY_AFTER_CAP, USER_AGENT, parse_retry_after, same_origin

MAX_REDIRECTS = 10
_EXPIRED_MARKERS = ("request has expired", "expiredrequest", "accessdenied", "expired")
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)", re.I)
REDIRECTS = (301, 302, 303, 307, 308)


@dataclass(frozen=True)
class Timeouts:
    """Seconds to the response headers and between two reads of the body."""

    headers: float = 30.0
    idle: float = 60.0


class TransferError(Exception):
    """A failed attempt; `key`/`params` name the locale text, `retryable` says what to do next."""

    retryable = True

    def __init__(self, key: str, /, *, retry_after: float | None = None, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params
        self.retry_after = retry_after


class FatalTransferError(TransferError):
    """Retrying cannot help (401, 403, 404, a web page instead of a file, a redirect loop)."""

    retryable = False


class UrlExpired(TransferError):
    """The storage host refused a signed URL we cached: ask the API for a fresh redirect."""


class RangeIgnored(TransferError):
    """The server answered 200 (whole body) to a range request, or the file changed (If-Range)."""

    def __init__(self, opened: Opened) -> None:
        super().__init__("engine.resume_unsupported")
        self.opened = opened


class RangeMismatch(TransferError):
    """A 206 that does not start where we asked, or a total/ETag that changed: discard it."""


class RangeNotSatisfiable(TransferError):
    """416: the server says our offset is past the end (the `.part` is larger than the file)."""


@dataclass
class Opened:
    """A response whose headers passed the checks; the body is still to be read."""

    response: httpx.Response
    status: int
    start: int
    total: int | None
    etag: str | None
    content_length: int | None

    @property
    def content_type(self) -> str | None:
        """The label the server put on the body (only a hint: the body is sniffed)."""
        value: str | None = self.response.headers.get("content-type")
        return value

    async def aclose(self) -> None:
        """Close the response (and its connection when the body was not read to the end)."""
        with contextlib.suppress(Exception):
            await self.response.aclose()


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


class Fetcher:
    """Opens ranges of one queue item's URL; follows redirects itself so auth never leaves the API host.

    The signed storage URL a redirect leads to is kept in memory only (it is a secret for 24 h): never
    logged, stored or put in an error.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        api_url: str,
        *,
        source: str,
        auth_headers: Callable[[str], dict[str, str]],
        timeouts: Timeouts,
        max_redirects: int = MAX_REDIRECTS,
        wall_clock: Callable[[], float] = time.time,
        file_name: str = "",
    ) -> None:
        self.file_name = file_name
        self.client = client
        self.api_url = api_url
        self.source = source
        self.auth_headers = auth_headers
        self.timeouts = timeouts
        self.max_redirects = max_redirects
        self._wall = wall_clock
        self._storage_url: str | None = None
        self._resolve_lock = asyncio.Lock()
        self.api_hits = 0

    def forget_storage_url(self) -> None:
        """Drop the cached signed URL (expired, or the file changed)."""
        self._storage_url = None

    async def open(
        self, start: int, end: int | None, if_range: str | None, *, probe: bool = False
    ) -> Opened:
        """GET bytes [start, end) (end None = to the end); raise a TransferError on anything odd.

        `probe` asks for `bytes=0-` so a server that supports ranges says so with a 206.
        """
        headers = {"Accept-Encoding": "identity", "User-Agent": USER_AGENT}
        if probe:
            headers["Range"] = "bytes=0-"
        elif start > 0 or end is not None:
            headers["Range"] = f"bytes={start}-{'' if end is None else end - 1}"
            if if_range:
                headers["If-Range"] = if_range
        cached = self._storage_url
        if cached is not None:
            response = await self._send(cached, headers, api=False)
            if response.status_code in (400, 401, 403, 404, 410):
                await response.aclose()
                # Most likely the signature expired: go back to the API for a new one.
                self._storage_url = None
                raise UrlExpired("engine.url_expired")
            return await self._accept(response, start, end)
        async with self._resolve_lock:
            if self._storage_url is not None:
                return await self.open(start, end, if_range, probe=probe)
            response = await self._follow(headers)
        return await self._accept(response, start, end)

    async def _send(self, url: str, headers: dict[str, str], *, api: bool) -> httpx.Response:
        hdrs = dict(headers)
        if api and same_origin(url, self.api_url):
            hdrs.update(self.auth_headers(url))
        if api:
            self.api_hits += 1
        request = self.client.build_request(
            "GET",
            url,
            headers=hdrs,
            timeout=httpx.Timeout(
                connect=self.timeouts.headers,
                read=self.timeouts.idle,
                write=self.timeouts.headers,
                pool=self.timeouts.headers,
            ),
        )
        try:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that
            # races its timeout, and a pause or stop must always get through.
            async with asyncio.timeout(self.timeouts.headers):
                return await self.client.send(request, stream=True, follow_redirects=False)
        except TimeoutError:
            raise TransferError("engine.timeout") from None
        except httpx.TimeoutException:
            raise TransferError("engine.timeout") from None
        except httpx.HTTPError as exc:
            raise TransferError("engine.network", reason=type(exc).__name__) from None

    async def _follow(self, headers: dict[str, str]) -> httpx.Response:
        """Request the API URL and follow redirects by hand; auth only on the API origin."""
        url = self.api_url
        for hop in range(self.max_redirects + 1):
            on_api = same_origin(url, self.api_url)
            response = await self._send(url, headers, api=on_api)
            if response.status_code in REDIRECTS and "location" in response.headers:
                location = response.headers["location"]
                await response.aclose()
                nxt = urljoin(url, location)
                if urlsplit(nxt).path.rstrip("/").endswith("/login") or "/login?" in nxt:
                    raise FatalTransferError("engine.auth_login")
                if urlsplit(url).scheme == "https" and urlsplit(nxt).scheme != "https":
                    raise FatalTransferError("engine.insecure_redirect")
                url = nxt
                continue
            if response.status_code < 300 and hop > 0:
                self._storage_url = url
            if response.status_code >= 400:
                await self._raise_for(response, api=on_api)
            return response
        raise FatalTransferError("engine.too_many_redirects")

    async def _raise_for(self, response: httpx.Response, *, api: bool) -> None:
        status = response.status_code
        body = b""
        with contextlib.suppress(Exception):
            async for chunk in response.aiter_raw():
                body += chunk
                if len(body) > 4096:
                    break
        await response.aclose()
        text = body[:4096].decode("utf-8", "replace").lower()
        code = response.headers.get("x-error-code", "")
        if status == 429 or status >= 500:
            after = parse_retry_after(
                response.headers.get("retry-after"), self._wall(), cap=RETRY_AFTER_CAP
            )
            key = "engine.rate_limited" if status == 429 else "engine.server_error"
            raise TransferError(key, retry_after=after, status=status)
        if not api and status in (400, 401, 403) and any(m in text for m in _EXPIRED_MARKERS):
            raise UrlExpired("engine.url_expired")
        if code == "GatedRepo":
            page = self.api_url.split("/resolve/", 1)[0]
            raise FatalTransferError("engine.gated", url=page)
        if code in ("RepoNotFound", "EntryNotFound", "RevisionNotFound") or status in (404, 410):
            raise FatalTransferError("engine.not_found", status=status)
        if status == 401:
            key = "engine.auth_hf" if self.source == "huggingface" else "engine.auth_login"
            raise FatalTransferError(key)
        if status == 403:
            if self.source == "civitai" and api:
                # Civitai answers 403 both for early access and for a creator who switched
                # downloads off; the body says which.
                if "disabled" in text:
                    raise FatalTransferError("engine.downloads_disabled")
                raise FatalTransferError("engine.early_access")
            raise FatalTransferError("engine.forbidden")
        if status == 416:
            raise RangeNotSatisfiable("engine.range_not_satisfiable")
        raise FatalTransferError("engine.http_status", status=status)

    async def _accept(self, response: httpx.Response, start: int, end: int | None) -> Opened:
        status = response.status_code
        if status >= 400:
            await self._raise_for(response, api=self._storage_url is None)
        if status not in (200, 206):
            await response.aclose()
            raise FatalTransferError("engine.http_status", status=status)
        etag = response.headers.get("etag")
        length = _int(response.headers.get("content-length"))
        if status == 200:
            opened = Opened(response, 200, 0, length, etag, length)
            if start > 0 or end is not None:
                raise RangeIgnored(opened)
            return opened
        match = _CONTENT_RANGE.match(response.headers.get("content-range", ""))
        if match is None or int(match.group(1)) != start:
            await response.aclose()
            raise RangeMismatch("engine.range_mismatch")
        total = None if match.group(3) == "*" else int(match.group(3))
        last = int(match.group(2))
        if end is not None and last != end - 1:
            await response.aclose()
            raise RangeMismatch("engine.range_mismatch")
        return Opened(response, 206, start, total, etag, length)
