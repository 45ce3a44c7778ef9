"""Hugging Face Hub metadata, with the Hub's errors turned into ours.

Repo and file metadata come from the Hub's JSON API and a HEAD on the resolve URL, over httpx:
one round trip per file, and no import of `huggingface_hub` (which costs more start-up time than
the request) on the download path. Only the Settings "test" (`whoami`) still uses huggingface_hub,
in a thread. The endpoint (`HF_ENDPOINT`) and the token (env, setting, or the file `hf auth login`
writes) are read at call time.
"""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from modella_tui import __version__
from modella_tui.core.config import Secret, Settings
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
from modella_tui.core.http import USER_AGENT, display_origin, parse_retry_after, same_origin
from modella_tui.core.models import HubFile, HubRepo

if TYPE_CHECKING:
    from huggingface_hub import HfApi

DEFAULT_ENDPOINT = "https://huggingface.co"
_SHA256 = re.compile(r"[0-9a-f]{64}")
MAX_RELATIVE_REDIRECTS = 5
MAX_TREE_PAGES = 200


def _sha(value: object) -> str | None:
    """A lower-case SHA256 hex digest, or None."""
    text = str(value or "").strip().lower()
    return text if _SHA256.fullmatch(text) else None


def _etag(value: str | None) -> str | None:
    """An ETag without its weak marker and quotes."""
    if not value:
        return None
    text = value.strip()
    if text.startswith("W/"):
        text = text[2:]
    return text.strip('"').lower() or None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _token_path_now() -> Path:
    """Where `hf auth login` keeps the token, from today's environment."""
    if os.environ.get("HF_TOKEN_PATH"):
        return Path(os.path.expandvars(os.environ["HF_TOKEN_PATH"])).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.path.expandvars(os.environ["HF_HOME"])).expanduser() / "token"
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache).expanduser() / "huggingface" / "token"


def _stored_token() -> str | None:
    """The token huggingface_hub would find by itself: its legacy variable, else the file that
    `hf auth login` writes (under today's `HF_HOME` / `HF_TOKEN_PATH`)."""
    legacy = os.environ.get("HUGGING_FACE_HUB_TOKEN", "").strip()
    if legacy:
        return legacy
    try:
        value = _token_path_now().read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return value or None


class HubClient:
    """Reads repo and file metadata from the Hub; knows where the token may be sent."""

    def __init__(self, settings: Settings | None = None, *, timeout: float = 30.0) -> None:
        self._settings = settings
        self.timeout = timeout
        self._http: httpx.AsyncClient | None = None

    @property
    def endpoint(self) -> str:
        """`HF_ENDPOINT` as it is now, else the public Hub; no trailing slash."""
        value = os.environ.get("HF_ENDPOINT", "").strip() or DEFAULT_ENDPOINT
        return value.rstrip("/")

    def token(self) -> Secret | None:
        """The token: env `HF_TOKEN`, else setting `hf.token`, else huggingface_hub's stored login."""
        env = os.environ.get("HF_TOKEN", "").strip()
        if env:
            return Secret(env)
        if self._settings is not None:
            configured = self._settings.hf_token
            if configured:
                return configured
        stored = _stored_token()
        return Secret(stored) if stored else None

    def model_page_url(self, repo: str) -> str:
        """The repo's page on the Hub, where a gated licence is accepted."""
        return f"{self.endpoint}/{repo}"

    def resolve_url(self, repo: str, path: str, revision: str = "main") -> str:
        """`{endpoint}/{repo}/resolve/{revision}/{path}` with the path and revision quoted."""
        return f"{self.endpoint}/{repo}/resolve/{quote(revision, safe='')}/{quote(path)}"

    def auth_headers(self, url: str) -> dict[str, str]:
        """`Authorization` for `url` only when it is on the endpoint's own origin (never the CDN)."""
        token = self.token()
        if not token or not same_origin(url, self.endpoint):
            return {}
        return {"Authorization": f"Bearer {token.reveal()}"}

    async def repo_info(self, repo: str, revision: str = "main") -> HubRepo:
        """The repo's commit, gating and files with size and LFS SHA256."""
        rev = quote(revision, safe="")
        data = await self._json(f"/api/models/{repo}/revision/{rev}", repo, revision, blobs="true")
        if not isinstance(data, dict):
            raise BadResponseError("hub.error.bad_response", endpoint=self._origin())
        siblings = data.get("siblings")
        files: list[HubFile] = []
        if isinstance(siblings, list) and all(
            isinstance(s, dict) and isinstance(s.get("size"), int) for s in siblings
        ):
            for sib in siblings:
                lfs = sib.get("lfs") if isinstance(sib.get("lfs"), dict) else None
                sha = _sha(lfs.get("sha256")) if lfs else None
                size = lfs.get("size") if lfs and isinstance(lfs.get("size"), int) else sib["size"]
                files.append(
                    HubFile(
                        repo, str(sib.get("rfilename")), size=size, sha256=sha, revision=revision
                    )
                )
        else:
            files = await self._tree(repo, revision)
        gated = data.get("gated")
        gated_v: bool | str = gated if isinstance(gated, str) else bool(gated)
        sha_v = data.get("sha") if isinstance(data.get("sha"), str) else None
        return HubRepo(id=str(data.get("id") or repo), sha=sha_v, gated=gated_v, files=tuple(files))

    async def file_info(self, repo: str, path: str, revision: str = "main") -> HubFile:
        """One file's size and SHA256 (LFS) from a HEAD on its resolve URL; checks access too."""
        url = self.resolve_url(repo, path, revision)
        response = await self._send("HEAD", url, repo, revision, path)
        headers = response.headers
        etag = _etag(headers.get("x-linked-etag") or headers.get("etag"))
        commit = headers.get("x-repo-commit")
        if etag is None and commit is None:
            # Not the Hub speaking (a proxy page, a captive portal): no ETag, no commit.
            raise BadResponseError("hub.error.bad_response", endpoint=self._origin())
        size = _int(headers.get("x-linked-size")) or _int(headers.get("content-length"))
        sha = etag if etag and _SHA256.fullmatch(etag) else None
        return HubFile(repo, path, size=size, sha256=sha, revision=revision)

    async def check_access(self, repo: str) -> None:
        """Raise `AuthError` when the token in use may not download this (gated) repo."""
        await self._json(f"/api/models/{repo}/auth-check", repo, "main")

    async def close(self) -> None:
        """Close the HTTP client (made on first use); the app's services call it at exit."""
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    aclose = close

    # ------------------------------------------------------------- HTTP side

    def _origin(self) -> str:
        return display_origin(self.endpoint)

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(
                timeout=httpx.Timeout(self.timeout),
                follow_redirects=False,
                headers={"User-Agent": USER_AGENT},
            )
        return self._http

    async def _send(
        self, method: str, url: str, repo: str, revision: str, path: str | None = None,
        params: dict[str, str] | None = None,
    ) -> httpx.Response:  # fmt: skip
        """One request with the token (endpoint origin only); the Hub's errors become ours."""
        for _hop in range(MAX_RELATIVE_REDIRECTS + 1):
            headers = {"Accept-Encoding": "identity", **self.auth_headers(url)}
            try:
                response = await self._client().request(method, url, headers=headers, params=params)
            except httpx.TimeoutException:
                raise NetworkError("hub.error.timeout", endpoint=self._origin()) from None
            except httpx.HTTPError:
                raise NetworkError("hub.error.unreachable", endpoint=self._origin()) from None
            location = response.headers.get("location", "")
            if response.status_code in (301, 302, 307, 308) and location.startswith("/"):
                # A renamed repo: the Hub points to the new name on its own host. A redirect to
                # another host (an LFS file's storage) is not followed: its headers say enough.
                url = f"{self.endpoint}{location}"
                params = None
                continue
            if response.status_code >= 400:
                raise self._status_error(response, repo, revision, path)
            return response
        raise BadResponseError("hub.error.bad_response", endpoint=self._origin())

    async def _json(self, api_path: str, repo: str, revision: str, **params: str) -> Any:
        response = await self._send("GET", f"{self.endpoint}{api_path}", repo, revision,
                                    params=params or None)  # fmt: skip
        try:
            return response.json()
        except ValueError:  # an HTML page, a proxy error
            raise BadResponseError("hub.error.bad_response", endpoint=self._origin()) from None

    async def _tree(self, repo: str, revision: str) -> list[HubFile]:
        """Every file of the repo from the tree listing (paged by its `Link` header)."""
        rev = quote(revision, safe="")
        url: str | None = f"{self.endpoint}/api/models/{repo}/tree/{rev}"
        params: dict[str, str] | None = {"recursive": "true", "expand": "false"}
        files: list[HubFile] = []
        for _page in range(MAX_TREE_PAGES):
            if url is None:
                break
            response = await self._send("GET", url, repo, revision, params=params)
            try:
                entries = response.json()
            except ValueError:
                raise BadResponseError("hub.error.bad_response", endpoint=self._origin()) from None
            if not isinstance(entries, list):
                raise BadResponseError("hub.error.bad_response", endpoint=self._origin())
            for e in entries:
                if isinstance(e, dict) and e.get("type") == "file":
                    lfs = e.get("lfs") if isinstance(e.get("lfs"), dict) else None
                    sha = _sha((lfs or {}).get("oid") or (lfs or {}).get("sha256"))
                    size = e.get("size") if isinstance(e.get("size"), int) else None
                    files.append(HubFile(repo, str(e.get("path")), size=size, sha256=sha,
                                         revision=revision))  # fmt: skip
            nxt = response.links.get("next", {}).get("url")
            url = nxt if nxt and same_origin(nxt, self.endpoint) else None
            params = None
        return files

    def _status_error(
        self, response: httpx.Response, repo: str, revision: str, path: str | None
    ) -> ModellaError:
        code = response.headers.get("x-error-code", "")
        status = response.status_code
        if code == "GatedRepo":
            url = self.model_page_url(repo)
            if self.token():  # a token was sent, but its account has not accepted the licence
                return AuthError("hub.error.gated_denied", repo=repo, url=url)
            return AuthError("hub.error.gated", repo=repo, url=url)
        if code == "RevisionNotFound":
            return NotFoundError("hub.error.revision_not_found", repo=repo, revision=revision)
        if code == "EntryNotFound":
            return NotFoundError("hub.error.file_not_found", repo=repo, path=path or "")
        if code in ("RepoNotFound", "DisabledRepo"):
            return NotFoundError("hub.error.repo_not_found", repo=repo, endpoint=self._origin())
        return self._map_status(status, response.headers, repo, self._origin())

    async def check_token(self) -> None:
        """Settings' "test": `whoami` with the token in use; AuthError when missing or refused."""
        if not self.token():
            raise AuthError("ui.settings.test_no_token_hf")
        await asyncio.to_thread(self._whoami)

    # ------------------------------------------------------------- thread side

    def _whoami(self) -> None:
        try:
            self._api().whoami()
        except Exception as exc:
            mapped = self._map_error(exc, "", "main", None)
            if mapped is None:
                raise
            if isinstance(mapped, NotFoundError):  # no whoami there: not a Hub endpoint
                raise BadResponseError(
                    "hub.error.bad_response", endpoint=display_origin(self.endpoint)
                ) from None
            raise mapped from None

    def _api(self) -> HfApi:
        from huggingface_hub import HfApi

        token = self.token()
        # token=False stops huggingface_hub from looking one up itself (we already did, in order).
        return HfApi(
            endpoint=self.endpoint,
            token=token.reveal() if token else False,
            library_name="modella",
            library_version=__version__,
        )

    def _map_error(
        self, exc: BaseException, repo: str, revision: str, path: str | None
    ) -> ModellaError | None:
        """Our error for whatever huggingface_hub or its HTTP stack raised (never its text)."""
        import httpx2
        from huggingface_hub import errors as hfe

        endpoint = display_origin(self.endpoint)
        if isinstance(exc, hfe.HFValidationError):
            return UsageError("hub.error.bad_repo_id", repo=repo)
        if isinstance(exc, hfe.GatedRepoError):
            url = self.model_page_url(repo)
            if self.token():  # a token was sent, but its account has not accepted the licence
                return AuthError("hub.error.gated_denied", repo=repo, url=url)
            return AuthError("hub.error.gated", repo=repo, url=url)
        if isinstance(exc, hfe.RevisionNotFoundError):
            return NotFoundError("hub.error.revision_not_found", repo=repo, revision=revision)
        if isinstance(exc, hfe.EntryNotFoundError):
            return NotFoundError("hub.error.file_not_found", repo=repo, path=path or "")
        if isinstance(exc, (hfe.RepositoryNotFoundError, hfe.DisabledRepoError)):
            return NotFoundError("hub.error.repo_not_found", repo=repo, endpoint=endpoint)
        if isinstance(exc, hfe.OfflineModeIsEnabled):
            return NetworkError("hub.error.offline")
        if isinstance(exc, hfe.HfHubHTTPError) and exc.response is not None:
            return self._map_status(exc.response.status_code, exc.response.headers, repo, endpoint)
        if isinstance(exc, httpx2.HTTPStatusError):
            return self._map_status(exc.response.status_code, exc.response.headers, repo, endpoint)
        if isinstance(exc, httpx2.TimeoutException):
            return NetworkError("hub.error.timeout", endpoint=endpoint)
        if isinstance(exc, (httpx2.TransportError, ConnectionError)):
            return NetworkError("hub.error.unreachable", endpoint=endpoint)
        # JSON that does not parse (an HTML page), parses into the wrong shape, or a broken stream.
        if isinstance(
            exc, (ValueError, KeyError, TypeError, AttributeError, OSError, httpx2.HTTPError)
        ):
            return BadResponseError("hub.error.bad_response", endpoint=endpoint)
        return None

    def _map_status(self, status: int, headers: Any, repo: str, endpoint: str) -> ModellaError:
        if status == 401:
            return AuthError("hub.error.token_refused", endpoint=endpoint)
        if status == 403:
            return AuthError("hub.error.forbidden", repo=repo, url=self.model_page_url(repo))
        if status in (404, 410):
            return NotFoundError("hub.error.repo_not_found", repo=repo, endpoint=endpoint)
        if status == 429:
            retry = parse_retry_after(headers.get("Retry-After"))
            return RateLimitedError("hub.error.rate_limited", retry_after=retry, endpoint=endpoint)
        if status >= 500:
            return ServerError("hub.error.server", endpoint=endpoint, status=status)
        return BadResponseError("hub.error.bad_response", endpoint=endpoint)
