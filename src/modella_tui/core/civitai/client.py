"""The Civitai REST client: search, model, version, by-hash; cached, retried, key kept on its host."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import random
import re
import sqlite3
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import httpx

from modella_tui.core.civitai.parse import (
    VersionInfo,
    is_mature,
    parse_model,
    parse_page,
    parse_version_info,
)
from modella_tui.core.civitai.query import SearchIntent
from modella_tui.core.config import Secret
from modella_tui.core.errors import (
    AuthError,
    BadResponseError,
    ModellaError,
    NetworkError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    UsageError,
)
from modella_tui.core.http import USER_AGENT, parse_retry_after, same_origin
from modella_tui.core.models import CivitaiModel, CivitaiVersion, SearchPage
from modella_tui.core.refs import CivitaiRef
from modella_tui.core.store.cache import ResponseCache
from modella_tui.core.textsafe import clean

log = logging.getLogger(__name__)

TIMEOUT = httpx.Timeout(30.0, connect=10.0)
MAX_LIMIT = 100
MIB = 1024 * 1024
# Real answers are a few MB at most (a page of 100 models with their versions and image data):
# past this cap a body is not an API answer, and it is never parsed or cached.
MAX_BODY = 16 * MIB
ERROR_BODY = 64 * 1024
_HASH = re.compile(r"[0-9a-fA-F]{8}|[0-9a-fA-F]{10}|[0-9a-fA-F]{12}|[0-9a-fA-F]{64}")
_RESETS = (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)

Sleep = Callable[[float], Awaitable[None]]


@dataclass
class SearchParams:
    """The filters of one `/api/v1/models` request; paging is by `cursor` only (never `page`)."""

    query: str = ""
    tag: str = ""
    username: str = ""
    types: list[str] = field(default_factory=list)
    base_models: list[str] = field(default_factory=list)
    sort: str = ""  # "Highest Rated", "Most Downloaded", "Newest", …
    period: str = ""  # "AllTime", "Year", "Month", "Week", "Day"
    nsfw: bool = False
    limit: int = 20
    cursor: str | None = None

    def to_query(self) -> list[tuple[str, str]]:
        """The query string as pairs: `types`/`baseModels` repeated, never comma-joined."""
        out: list[tuple[str, str]] = [("limit", str(max(1, min(int(self.limit), MAX_LIMIT))))]
        for name, value in (
            ("query", self.query),
            ("tag", self.tag),
            ("username", self.username),
            ("sort", self.sort),
            ("period", self.period),
        ):
            if value.strip():
                out.append((name, value.strip()))
        out += [("types", t) for t in self.types if t]
        out += [("baseModels", b) for b in self.base_models if b]
        if not self.nsfw:
            # With nsfw on the parameter is left out: the server then returns everything.
            out.append(("nsfw", "false"))
        if self.cursor:
            out.append(("cursor", self.cursor))
        return out

    def with_intent(self, intent: SearchIntent) -> SearchParams:
        """These filters with the search box's words, tag and user; paging starts over."""
        return replace(
            self, query=intent.query, tag=intent.tag, username=intent.username, cursor=None
        )

    def with_cursor(self, cursor: str | None) -> SearchParams:
        """The same search at another cursor."""
        return replace(self, cursor=cursor)

    next_page = with_cursor


def _clean(text: str, limit: int = 200) -> str:
    """One printable line of server text, shortened (it ends up in an error sentence)."""
    flat = " ".join(clean(text, replacement=" ").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _server_message(body: bytes) -> str:
    """The short reason a 4xx body gives, if it is JSON or plain text (HTML is not shown)."""
    try:
        data: Any = json.loads(body)
    except ValueError:
        text = body[:2000].decode("utf-8", errors="replace").strip()
        return "" if text.startswith("<") else _clean(text)
    for _ in range(6):  # {"error": {"message": …}}, {"error": {"issues": [{"message": …}]}}
        if isinstance(data, str):
            return _clean(data)
        if isinstance(data, list) and data:
            data = data[0]
        elif isinstance(data, dict):
            data = next(
                (data[k] for k in ("error", "message", "issues", "detail") if data.get(k)), None
            )
        else:
            break
    return ""


class _BodyTooLarge(Exception):
    """An answer went past the body cap (turned into a BadResponseError by `_request`)."""


class CivitaiClient:
    """One shared httpx client; the key goes only to the configured origin, as `Authorization`."""

    max_body = MAX_BODY
    """The largest API answer read, in bytes (tests lower it)."""

    def __init__(
        self,
        base_url: str,
        api_key: Secret | None,
        cache: ResponseCache | None,
        http: httpx.AsyncClient | None = None,
        cache_ttl: float = 600,
        *,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.time,
        max_attempts: int = 4,
        backoff: float = 0.5,
        backoff_cap: float = 8.0,
        retry_after_cap: float = 60.0,
        rng: random.Random | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._base = httpx.URL(self.base_url)
        if self._base.scheme not in ("http", "https") or not self._base.host:
            raise UsageError("civitai.error.base_url", url=_clean(self.base_url, 80))
        self._key = api_key if api_key else None
        self.cache = cache
        self.cache_ttl = cache_ttl
        self._own_http = http is None
        self._http = http or httpx.AsyncClient(timeout=TIMEOUT)
        self._sleep = sleep
        self._clock = clock
        self._max_attempts = max(1, max_attempts)
        self._backoff = backoff
        self._backoff_cap = backoff_cap
        self._retry_after_cap = retry_after_cap
        self._rng = rng or random.Random()

    def __repr__(self) -> str:
        return f"CivitaiClient({self.host!r}, key={'set' if self._key else 'none'})"

    def configure(self, base_url: str, api_key: Secret | None) -> None:
        """Use another host or key from the next request on (the settings changed)."""
        url = httpx.URL(base_url.rstrip("/"))
        if url.scheme not in ("http", "https") or not url.host:
            raise UsageError("civitai.error.base_url", url=_clean(base_url, 80))
        self.base_url, self._base = base_url.rstrip("/"), url
        self._key = api_key if api_key else None

    @property
    def host(self) -> str:
        """Scheme, host and port of the API: the only part of a URL an error message shows."""
        port = f":{self._base.port}" if self._base.port else ""
        return f"{self._base.scheme}://{self._base.host}{port}"

    @property
    def has_key(self) -> bool:
        """Whether requests to the API host carry a key."""
        return self._key is not None

    def is_api_origin(self, url: str | httpx.URL) -> bool:
        """Same scheme, host and port as the configured base URL (nothing else gets the key)."""
        return same_origin(url, self.base_url)

    def headers_for(self, url: str | httpx.URL) -> dict[str, str]:
        """Request headers for `url`: product UA and JSON accept; the key only for the API origin."""
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if self._key is not None and self.is_api_origin(url):
            headers["Authorization"] = f"Bearer {self._key.reveal()}"
        return headers

    def download_endpoint(self, version_id: int) -> str:
        """The API download URL of a version (it answers 307 to a storage host on another origin)."""
        return f"{self.base_url}/api/download/models/{int(version_id)}"

    async def search(self, params: SearchParams) -> SearchPage:
        """One page of models; mature items are dropped here too when `nsfw` is off."""
        query = params.to_query()
        digest = hashlib.sha1(
            json.dumps([self.base_url, sorted(query)]).encode(), usedforsecurity=False
        ).hexdigest()
        data = await self._get_json("/api/v1/models", query, f"civitai:search:{digest}")
        page = parse_page(data)
        if params.nsfw:
            return page
        return SearchPage(tuple(m for m in page.items if not is_mature(m)), page.next_cursor)

    async def model(self, model_id: int) -> CivitaiModel:
        """One model with all its versions."""
        model_id = _positive(model_id)
        data = await self._get_json(
            f"/api/v1/models/{model_id}",
            None,
            f"civitai:model:{model_id}",
            not_found=("civitai.error.model_not_found", {"id": model_id}),
        )
        return parse_model(data)

    async def version(self, version_id: int) -> VersionInfo:
        """One version with its model's id, name and type."""
        version_id = _positive(version_id)
        data = await self._get_json(
            f"/api/v1/model-versions/{version_id}",
            None,
            f"civitai:version:{version_id}",
            not_found=("civitai.error.version_not_found", {"id": version_id}),
        )
        return parse_version_info(data)

    async def by_hash(self, file_hash: str) -> VersionInfo:
        """The version holding a file with this SHA256 or AutoV2 (also CRC32/AutoV1/AutoV3)."""
        text = file_hash.strip()
        if not _HASH.fullmatch(text):
            raise UsageError("civitai.error.bad_hash", hash=_clean(text, 80))
        # Civitai stores hashes upper-case; sending them so avoids relying on its matching.
        text = text.upper()
        data = await self._get_json(
            f"/api/v1/model-versions/by-hash/{text}",
            None,
            f"civitai:hash:{text.lower()}",
            not_found=("civitai.error.hash_not_found", {"hash": text.lower()}),
        )
        return parse_version_info(data)

    async def check_key(self) -> None:
        """Prove the key works (Settings' "test"): raises AuthError if missing or refused."""
        if self._key is None:
            raise AuthError("civitai.error.auth_required", host=self.host)
        # `favorites=true` needs a logged-in key, so a refused key cannot pass as anonymous.
        await self._request(
            "/api/v1/models",
            [("limit", "1"), ("favorites", "true")],
            ("civitai.error.not_found", {}),
        )

    async def resolve(self, ref: CivitaiRef) -> tuple[CivitaiModel, CivitaiVersion]:
        """The model and version a REF means: a model alone means its latest version."""
        info: VersionInfo | None = None
        model_id = ref.model_id
        if model_id is None:
            if ref.version_id is None:
                raise UsageError("refs.error.unknown", ref="civitai:")
            info = await self.version(ref.version_id)
            model_id = info.model_id
            if model_id is None:
                raise BadResponseError("civitai.error.bad_shape", what="model version")
        model = await self.model(model_id)
        if ref.version_id is None:
            if model.latest is None:
                raise NotFoundError("civitai.error.no_versions", id=model.id)
            return model, model.latest
        found = model.version(ref.version_id)
        if found is not None:
            return model, found
        # The model's list can omit some versions (early access): ask for the version itself.
        info = info or await self.version(ref.version_id)
        if info.model_id not in (None, model.id):
            raise NotFoundError(
                "civitai.error.version_not_in_model", id=ref.version_id, model=model.id
            )
        return model, info.version

    async def close(self) -> None:
        """Close the HTTP client if this object made it."""
        if self._own_http:
            await self._http.aclose()

    async def __aenter__(self) -> CivitaiClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _get_json(
        self,
        path: str,
        params: Sequence[tuple[str, str]] | None,
        cache_key: str,
        not_found: tuple[str, dict[str, Any]] = ("civitai.error.not_found", {}),
    ) -> Any:
        if self.cache is not None:
            cached = await self._cache_get(cache_key)
            if cached is not None:
                return cached
        body = await self._request(path, params, not_found)
        try:
            data = json.loads(body)
        except ValueError:
            # A 200 that is not JSON: an HTML login page, a proxy error page.
            raise BadResponseError("civitai.error.not_json", host=self.host) from None
        if self.cache is not None:
            try:
                await self.cache.put(cache_key, body.decode("utf-8"), self.cache_ttl)
            except (sqlite3.Error, ModellaError, UnicodeDecodeError) as exc:
                log.debug("response cache write failed: %s", type(exc).__name__)
        return data

    async def _cache_get(self, key: str) -> Any:
        assert self.cache is not None
        try:
            text = await self.cache.get(key)
            return None if text is None else json.loads(text)
        except (sqlite3.Error, ModellaError, ValueError) as exc:
            log.debug("response cache read failed: %s", type(exc).__name__)
            return None

    async def _request(
        self,
        path: str,
        params: Sequence[tuple[str, str]] | None,
        not_found: tuple[str, dict[str, Any]],
    ) -> bytes:
        url = self.base_url + path
        for attempt in range(1, self._max_attempts + 1):
            last = attempt == self._max_attempts
            request = self._http.build_request(
                "GET",
                url,
                params=list(params or ()),
                headers=self.headers_for(url),
                timeout=TIMEOUT,
            )
            try:
                resp = await self._http.send(request, stream=True, follow_redirects=True)
                try:
                    body = await self._read_body(resp)
                finally:
                    await resp.aclose()
            except _BodyTooLarge:
                raise BadResponseError(
                    "civitai.error.too_large", host=self.host, limit=self.max_body // MIB
                ) from None
            except httpx.TimeoutException:
                raise NetworkError("civitai.error.timeout", host=self.host) from None
            except httpx.ConnectError:
                raise NetworkError("civitai.error.unreachable", host=self.host) from None
            except httpx.TooManyRedirects:
                raise BadResponseError("civitai.error.redirects", host=self.host) from None
            except _RESETS:
                if last:
                    raise NetworkError("civitai.error.reset", host=self.host) from None
                await self._sleep(self._delay(attempt, None))
                continue
            except httpx.TransportError:
                raise NetworkError("civitai.error.unreachable", host=self.host) from None
            log.debug("GET %s%s -> %s", self.host, path, resp.status_code)
            status = resp.status_code
            if status >= 500:
                if last:
                    raise ServerError("civitai.error.server", status=status, host=self.host)
                wait = parse_retry_after(resp.headers.get("Retry-After"), self._clock())
                await self._sleep(self._delay(attempt, wait))
                continue
            if resp.history and resp.url.path.rstrip("/").endswith("/login"):
                # A browser-style redirect to the login page means "log in", not "here is data".
                raise self._auth_error()
            if 200 <= status < 300:
                return body
            raise self._status_error(resp, body, not_found)
        raise AssertionError("unreachable")  # the loop always returns or raises

    async def _read_body(self, resp: httpx.Response) -> bytes:
        """The body, read as it streams in and never past a cap: `max_body` for data (more is an
        error, before anything is parsed or cached), `ERROR_BODY` of an error page (the rest is
        dropped: only its first sentence is ever shown)."""
        if resp.status_code >= 500:
            return b""  # retried or reported by status alone
        ok = 200 <= resp.status_code < 300
        cap = self.max_body if ok else ERROR_BODY
        declared = resp.headers.get("content-length", "")
        if ok and declared.isdigit() and int(declared) > cap:
            raise _BodyTooLarge
        data = bytearray()
        async for chunk in resp.aiter_bytes():  # decoded: a gzip bomb counts at its real size
            data += chunk
            if len(data) > cap:
                if ok:
                    raise _BodyTooLarge
                return bytes(data[:cap])
        return bytes(data)

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds before the next attempt: the server's Retry-After (capped) or backoff + jitter."""
        if retry_after is not None:
            return min(retry_after, self._retry_after_cap)
        ceiling = min(self._backoff_cap, self._backoff * 2.0 ** (attempt - 1))
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)

    def _status_error(
        self, resp: httpx.Response, body: bytes, not_found: tuple[str, dict[str, Any]]
    ) -> ModellaError:
        status = resp.status_code
        if status == 401:
            return self._auth_error()
        if status == 403:
            return AuthError("civitai.error.forbidden", host=self.host)
        if status == 404:
            return NotFoundError(not_found[0], **not_found[1])
        if status == 410:
            return NotFoundError("civitai.error.gone")
        if status == 429:
            wait = parse_retry_after(resp.headers.get("Retry-After"), self._clock())
            if wait is None:
                return RateLimitedError("civitai.error.rate_limited_paging", host=self.host)
            return RateLimitedError(
                "civitai.error.rate_limited", retry_after=wait, seconds=math.ceil(wait)
            )
        if status == 400:
            reason = self._scrub(_server_message(body)) or str(status)
            return UsageError("civitai.error.bad_request", reason=reason)
        return BadResponseError("civitai.error.status", status=status, host=self.host)

    def _auth_error(self) -> AuthError:
        key = "civitai.error.auth_invalid" if self._key else "civitai.error.auth_required"
        return AuthError(key, host=self.host)

    def _scrub(self, text: str) -> str:
        """Server text with our key masked, should a server ever echo it."""
        if self._key is not None and self._key.reveal() and self._key.reveal() in text:
            text = text.replace(self._key.reveal(), self._key.masked())
        return text


def _positive(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise UsageError("civitai.error.bad_id", value=_clean(str(value), 40))
    return value
