"""Hugging Face Hub metadata through `huggingface_hub`, with its errors turned into ours.

`HfApi` is synchronous, so every call runs in a thread. The endpoint (`HF_ENDPOINT`) and the token
are read at call time and passed explicitly: huggingface_hub fixes both at import time otherwise.
"""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

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
from modella_tui.core.http import display_origin, parse_retry_after, same_origin
from modella_tui.core.models import HubFile, HubRepo

if TYPE_CHECKING:
    from huggingface_hub import HfApi

DEFAULT_ENDPOINT = "https://huggingface.co"
_SHA256 = re.compile(r"[0-9a-f]{64}")


def _token_path_now() -> Path:
    """Where `hf auth login` keeps the token, from today's environment."""
    if os.environ.get("HF_TOKEN_PATH"):
        return Path(os.path.expandvars(os.environ["HF_TOKEN_PATH"])).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.path.expandvars(os.environ["HF_HOME"])).expanduser() / "token"
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache).expanduser() / "huggingface" / "token"


def _stored_token() -> str | None:
    """The token saved by `hf auth login`, looked up under the current `HF_HOME`."""
    from huggingface_hub import constants, get_token

    expected = _token_path_now()
    # huggingface_hub computes its token path once, at import; if HF_HOME changed since (tests,
    # a shell that exported it later) read today's file rather than some other home's token.
    if Path(constants.HF_TOKEN_PATH).expanduser().absolute() != expected.absolute():
        try:
            value = expected.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            return None
        return value or None
    try:
        return get_token() or None
    except Exception:  # an OIDC or Colab lookup failing means: no stored token
        return None


class HubClient:
    """Reads repo and file metadata from the Hub; knows where the token may be sent."""

    def __init__(self, settings: Settings | None = None, *, timeout: float = 30.0) -> None:
        self._settings = settings
        self.timeout = timeout

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
        return await asyncio.to_thread(self._call, self._repo_info, repo, revision)

    async def file_info(self, repo: str, path: str, revision: str = "main") -> HubFile:
        """One file's size and SHA256 (LFS) from a HEAD on its resolve URL; checks access too."""
        return await asyncio.to_thread(self._call, self._file_info, repo, revision, path)

    async def check_access(self, repo: str) -> None:
        """Raise `AuthError` when the token in use may not download this (gated) repo."""
        await asyncio.to_thread(self._call, self._check_access, repo, "main")

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

    def _call(self, fn: Any, repo: str, revision: str, *args: Any) -> Any:
        try:
            return fn(repo, revision, *args)
        except ModellaError:
            raise
        except Exception as exc:
            path = args[0] if args else None
            mapped = self._map_error(exc, repo, revision, path)
            if mapped is None:
                raise  # a bug of ours, not the server's: let the error funnel log it
            # `from None`: huggingface_hub's own text names URLs and must not reach the user.
            raise mapped from None

    def _repo_info(self, repo: str, revision: str) -> HubRepo:
        api = self._api()
        info = api.model_info(repo, revision=revision, files_metadata=True, timeout=self.timeout)
        siblings = info.siblings
        files: list[HubFile] = []
        if siblings is not None and all(s.size is not None for s in siblings):
            for s in siblings:
                sha = s.lfs.sha256 if s.lfs else None
                size = s.lfs.size if s.lfs else s.size
                files.append(HubFile(repo, s.rfilename, size=size, sha256=sha, revision=revision))
        else:
            from huggingface_hub.hf_api import RepoFile

            for entry in api.list_repo_tree(repo, revision=revision, recursive=True):
                if isinstance(entry, RepoFile):
                    sha = entry.lfs.sha256 if entry.lfs else None
                    files.append(
                        HubFile(repo, entry.path, size=entry.size, sha256=sha, revision=revision)
                    )
        gated = info.gated if isinstance(info.gated, str) else bool(info.gated)
        return HubRepo(id=info.id or repo, sha=info.sha, gated=gated, files=tuple(files))

    def _file_info(self, repo: str, revision: str, path: str) -> HubFile:
        from huggingface_hub import get_hf_file_metadata

        token = self.token()
        meta = get_hf_file_metadata(
            self.resolve_url(repo, path, revision),
            token=token.reveal() if token else False,
            timeout=self.timeout,
            library_name="modella",
            library_version=__version__,
            endpoint=self.endpoint,
        )
        if meta.etag is None and meta.commit_hash is None:
            # Not the Hub speaking (a proxy page, a captive portal): no ETag, no commit.
            raise BadResponseError("hub.error.bad_response", endpoint=display_origin(self.endpoint))
        etag = (meta.etag or "").lower()
        sha = etag if _SHA256.fullmatch(etag) else None
        return HubFile(repo, path, size=meta.size, sha256=sha, revision=revision)

    def _check_access(self, repo: str, revision: str) -> None:
        api = self._api()
        api.auth_check(repo)

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
