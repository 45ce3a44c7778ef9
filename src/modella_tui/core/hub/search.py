"""Search the Hugging Face Hub for model repos (`GET {endpoint}/api/models?search=…`).

huggingface_hub's `list_models` pages through results with no cap on what it reads, so this is a
small httpx client of its own: one request, the body capped while it streams, the token sent only
to the Hub endpoint (the caller's `auth_headers` decides, as for every Hub request), failures
turned into `ModellaError`s. Image-generation repos are listed first: the Hub sorts by downloads,
and a repo whose task or tags say "image" moves ahead of language models with more downloads.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from modella_tui import __version__
from modella_tui.core.errors import (
    AuthError,
    BadResponseError,
    ModellaError,
    NetworkError,
    RateLimitedError,
    ServerError,
    UsageError,
)
from modella_tui.core.refs import HubRef, parse_ref

log = logging.getLogger("modella.hub")

MAX_BODY = 4 * 1024 * 1024
"""A page of 100 repos with their tags is well under 1 MB; more than this is not an answer."""
TIMEOUT = 20.0
DEFAULT_LIMIT = 50
MAX_QUERY = 200
# Asked for explicitly: the listing's default fields leave out `gated`.
EXPAND = ("downloads", "likes", "pipeline_tag", "library_name", "tags", "gated", "private")
IMAGE_TASKS = frozenset(
    {
        "text-to-image",
        "image-to-image",
        "unconditional-image-generation",
        "image-to-video",
        "text-to-video",
        "image-text-to-image",
    }
)
IMAGE_TAGS = frozenset(
    {
        "diffusers",
        "stable-diffusion",
        "stable-diffusion-xl",
        "stable-diffusion-diffusers",
        "text-to-image",
        "image-to-image",
        "lora",
        "comfyui",
        "flux",
        "gguf-diffusion",
    }
)


@dataclass(frozen=True)
class HubSearchResult:
    """One repo the search found, with what the listing says about it."""

    id: str
    downloads: int | None = None
    likes: int | None = None
    pipeline_tag: str | None = None
    library: str | None = None
    tags: tuple[str, ...] = ()
    gated: bool | str = False
    private: bool = False

    @property
    def image_score(self) -> int:
        """2 for an image or video generation task, 1 for image tags (diffusers, LoRA…), else 0."""
        if (self.pipeline_tag or "").lower() in IMAGE_TASKS:
            return 2
        tags = {t.lower() for t in self.tags}
        if (self.library or "").lower() == "diffusers" or tags & IMAGE_TAGS:
            return 1
        return 0


def rank(results: Sequence[HubSearchResult]) -> list[HubSearchResult]:
    """Image-generation repos first, each class by downloads (most first), ties in Hub order."""
    order = {r.id: i for i, r in enumerate(results)}
    return sorted(results, key=lambda r: (-r.image_score, -(r.downloads or 0), order[r.id]))


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def parse_results(data: Any) -> list[HubSearchResult]:
    """The listing as results; entries without a usable `ORG/REPO` id are skipped."""
    if not isinstance(data, list):
        raise ValueError("not a list")
    out: list[HubSearchResult] = []
    seen: set[str] = set()
    for entry in data:
        if not isinstance(entry, dict):
            continue
        repo = entry.get("id") or entry.get("modelId")
        if not isinstance(repo, str) or repo.count("/") != 1 or repo in seen:
            continue
        seen.add(repo)
        tags = entry.get("tags")
        gated = entry.get("gated", False)
        out.append(
            HubSearchResult(
                id=repo,
                downloads=_int(entry.get("downloads")),
                likes=_int(entry.get("likes")),
                pipeline_tag=entry.get("pipeline_tag")
                if isinstance(entry.get("pipeline_tag"), str)
                else None,
                library=entry.get("library_name")
                if isinstance(entry.get("library_name"), str)
                else None,
                tags=tuple(t for t in tags if isinstance(t, str)) if isinstance(tags, list) else (),
                gated=gated if isinstance(gated, (bool, str)) else False,
                private=entry.get("private") is True,
            )
        )
    return out


class _TooLarge(Exception):
    """The answer went past MAX_BODY."""


class HubSearch:
    """Finds repos on the Hub; `endpoint` and `auth_headers` are read at each call (settings are
    live), and `auth_headers(url)` returns the token only for the Hub's own origin."""

    max_body = MAX_BODY

    def __init__(
        self,
        endpoint: Callable[[], str],
        auth_headers: Callable[[str], Mapping[str, str]],
        *,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self._endpoint = endpoint
        self._auth_headers = auth_headers
        self._own_http = http is None
        self._http = http

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=TIMEOUT)
        return self._http

    async def search(self, query: str, limit: int = DEFAULT_LIMIT) -> list[HubSearchResult]:
        """Repos whose id matches `query`, image-generation ones first."""
        words = " ".join(query.split())[:MAX_QUERY]
        if not words:
            raise UsageError("hub.search.empty")
        base = self._endpoint().rstrip("/")
        url = f"{base}/api/models"
        params: list[tuple[str, str | int | float | bool | None]] = [
            ("search", words),
            ("sort", "downloads"),
            ("limit", str(max(1, min(100, limit)))),
            *(("expand", field) for field in EXPAND),
        ]
        origin = _display_origin(base)
        headers = {"User-Agent": f"modella/{__version__}", **self._auth_headers(url)}
        try:
            request = self._client().build_request("GET", url, params=params, headers=headers)
            resp = await self._client().send(request, stream=True, follow_redirects=False)
            try:
                body = await self._read(resp)
            finally:
                await resp.aclose()
        except _TooLarge:
            raise BadResponseError("hub.error.bad_response", endpoint=origin) from None
        except httpx.TimeoutException:
            raise NetworkError("hub.error.timeout", endpoint=origin) from None
        except (httpx.TransportError, httpx.InvalidURL, ValueError):
            raise NetworkError("hub.error.unreachable", endpoint=origin) from None
        log.debug("GET %s/api/models -> %s", origin, resp.status_code)
        status = resp.status_code
        if status != 200:
            raise _status_error(status, resp.headers.get("Retry-After"), origin)
        try:
            return rank(parse_results(json.loads(body)))
        except ValueError:
            raise BadResponseError("hub.error.bad_response", endpoint=origin) from None

    async def _read(self, resp: httpx.Response) -> bytes:
        if resp.status_code != 200:
            return b""  # only the status is ever shown
        declared = resp.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body:
            raise _TooLarge
        data = bytearray()
        async for chunk in resp.aiter_bytes():  # decoded bytes: a compressed bomb counts fully
            data += chunk
            if len(data) > self.max_body:
                raise _TooLarge
        return bytes(data)

    async def aclose(self) -> None:
        """Close the HTTP client this object made."""
        if self._own_http and self._http is not None:
            await self._http.aclose()
            self._http = None


def _status_error(status: int, retry_after: str | None, endpoint: str) -> ModellaError:
    if status == 401:
        return AuthError("hub.error.token_refused", endpoint=endpoint)
    if status == 429:
        wait = None
        if retry_after and retry_after.strip().isdigit():
            wait = float(retry_after.strip())
        return RateLimitedError("hub.error.rate_limited", retry_after=wait, endpoint=endpoint)
    if status >= 500:
        return ServerError("hub.error.server", endpoint=endpoint, status=status)
    return BadResponseError("hub.error.bad_response", endpoint=endpoint)


def _display_origin(url: str) -> str:
    """`scheme://host[:port]`, never user info or a path (for messages)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return ""
    host = parts.hostname or ""
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return f"{parts.scheme}://{host}" + ("" if port in (None, default) else f":{port}")


def pasted_repo(text: str, endpoint: str | None) -> HubRef | None:
    """The repo of a pasted `hf:ORG/REPO[/PATH]` or Hub link (opened, not searched for)."""
    if not (text.startswith("hf:") or "://" in text):
        return None
    try:
        ref = parse_ref(text, hub_base=endpoint)
    except ModellaError:
        return None
    return ref if isinstance(ref, HubRef) else None
