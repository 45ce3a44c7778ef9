"""REF parsing for both sources: Civitai/Hub URLs, `civitai:ID@VERSION`, `hf:ORG/REPO/PATH`."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from modella_tui.core.errors import UsageError
from modella_tui.core.i18n import t

CIVITAI_HOSTS = frozenset({"civitai.com", "www.civitai.com", "civitai.red", "www.civitai.red"})
HUB_HOSTS = frozenset({"huggingface.co", "www.huggingface.co", "hf.co"})
MAX_ID = 10**12  # far above any real id; keeps absurd digit strings out of SQLite integers
MAX_REF_CHARS = 4096

_ID = re.compile(r"[0-9]{1,13}")
_REPO_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}")
_HF_TOKEN = re.compile(r"hf_[A-Za-z0-9]{8,}")
_SECRET_QUERY = re.compile(r"(?i)([?&](?:token|api_key|apikey|key)=)[^&#\s]*")
_DRIVE = re.compile(r"[A-Za-z]:")
_SECRET_PARAMS = frozenset({"token", "api_key", "apikey", "key"})


@dataclass(frozen=True)
class CivitaiRef:
    """A Civitai model and/or version; a model without a version means its latest."""

    model_id: int | None
    version_id: int | None = None
    token_stripped: bool = False  # a pasted URL carried a key; it was dropped, never kept

    def canonical(self) -> str:
        """`civitai:4384`, `civitai:4384@128713`, or `civitai:@128713` when only the version is known."""
        model = "" if self.model_id is None else str(self.model_id)
        return f"civitai:{model}" + ("" if self.version_id is None else f"@{self.version_id}")

    @property
    def warnings(self) -> tuple[str, ...]:
        """User-facing notes about what the parser dropped."""
        return (t("refs.warn.token_stripped"),) if self.token_stripped else ()


@dataclass(frozen=True)
class HubRef:
    """A Hub repo, optionally one file (or folder, with `folder`) in it, at a revision."""

    repo: str
    path: str | None = None
    revision: str = "main"
    folder: bool = False  # from a `/tree/<rev>/<dir>` URL: every file below `path`
    token_stripped: bool = False

    def canonical(self) -> str:
        """`hf:org/repo`, `hf:org/repo/path`, `hf:org/repo@rev/path` for another revision."""
        out = f"hf:{self.repo}"
        if self.revision != "main":
            out += "@" + quote(self.revision, safe="")
        if self.path:
            out += "/" + "/".join(quote(p, safe=" !$&'()*+,;=:@[]~") for p in self.path.split("/"))
            if self.folder:
                out += "/"
        return out

    @property
    def warnings(self) -> tuple[str, ...]:
        """User-facing notes about what the parser dropped."""
        return (t("refs.warn.token_stripped"),) if self.token_stripped else ()


Ref = CivitaiRef | HubRef


def has_secret(text: str) -> bool:
    """The text carries a key-like query parameter or a Hub token (never send or store it)."""
    return bool(_SECRET_QUERY.search(text) or _HF_TOKEN.search(text))


def redact(text: str) -> str:
    """The text with key-like query values and Hub tokens masked, shortened, controls removed."""
    text = _SECRET_QUERY.sub(r"\1***", text)
    text = _HF_TOKEN.sub("hf_***", text)
    text = "".join(ch for ch in text if not unicodedata.category(ch).startswith("C"))
    return text if len(text) <= 120 else text[:117] + "…"


def _usage(key: str = "refs.error.unknown", text: str = "", **params: str) -> UsageError:
    return UsageError(key, ref=redact(text), **params)


def _ident(value: str, text: str) -> int:
    if not _ID.fullmatch(value) or not 0 < int(value) < MAX_ID:
        raise _usage("refs.error.bad_id", text, value=redact(value))
    return int(value)


def _decode_once(raw: str, text: str) -> str:
    """Percent-decode exactly once (`%252F` stays `%2F`); bytes that are not UTF-8 are refused."""
    if "%" not in raw:
        return raw
    try:
        return unquote(raw, errors="strict")
    except UnicodeDecodeError:
        raise _usage("refs.error.unsafe_path", text) from None


def _segment(raw: str, text: str) -> str:
    """One path segment, percent-decoded exactly once and refused if it could escape a folder."""
    part = _decode_once(raw, text)
    bad = (
        part in ("", ".", "..")
        or "/" in part
        or "\\" in part
        or "\x00" in part
        or _DRIVE.match(part) is not None
        or any(unicodedata.category(ch).startswith("C") for ch in part)
    )
    if bad:
        raise _usage("refs.error.unsafe_path", text)
    return part


def _path(parts: list[str], text: str) -> str | None:
    if any("\\" in p for p in parts):
        raise _usage("refs.error.unsafe_path", text)
    clean = [_segment(p, text) for p in parts]
    return "/".join(clean) or None


def _repo(org: str, name: str, text: str) -> str:
    for part in (org, name):
        if not _REPO_PART.fullmatch(part) or ".." in part or part.endswith("."):
            raise _usage("refs.error.bad_repo", text)
    return f"{org}/{name}"


def _civitai_short(body: str, text: str) -> CivitaiRef:
    model, at, version = body.strip().partition("@")
    if not model and not version:
        raise _usage(text=text)
    model_id = _ident(model, text) if model else None
    version_id = _ident(version, text) if at else None
    if at and not version:
        raise _usage(text=text)
    return CivitaiRef(model_id, version_id)


def _hub_short(body: str, text: str) -> HubRef:
    if body.startswith("/") or "\\" in body:
        raise _usage("refs.error.unsafe_path", text)
    trailing = body.endswith("/")
    parts = body.rstrip("/").split("/")
    if len(parts) < 2:
        raise _usage("refs.error.bad_repo", text)
    org, name = parts[0], parts[1]
    revision = "main"
    if "@" in name:
        name, _, rev = name.partition("@")
        revision = _revision(rev, text)
    path = _path(parts[2:], text)
    return HubRef(_repo(org, name, text), path, revision, folder=trailing and path is not None)


def _revision(raw: str, text: str) -> str:
    rev = _decode_once(raw, text)
    # Branch names like refs/pr/1 hold slashes; nothing may climb out or hide controls.
    if not rev or ".." in rev or rev.startswith("/") or "\\" in rev:
        raise _usage("refs.error.bad_revision", text)
    if any(unicodedata.category(ch).startswith("C") or ch.isspace() for ch in rev):
        raise _usage("refs.error.bad_revision", text)
    return rev


def _strip_secrets(query: str) -> tuple[list[tuple[str, str]], bool]:
    pairs = parse_qsl(query, keep_blank_values=True)
    kept = [(k, v) for k, v in pairs if k.lower() not in _SECRET_PARAMS]
    return kept, len(kept) != len(pairs)


def _civitai_url(path: str, query: list[tuple[str, str]], text: str, stripped: bool) -> CivitaiRef:
    parts = [p for p in path.split("/") if p]
    params = dict(query)
    version_param = params.get("modelVersionId")
    version = _ident(version_param, text) if version_param else None
    if len(parts) >= 2 and parts[0] == "models":
        return CivitaiRef(_ident(parts[1], text), version, stripped)
    if parts == ["models"] and version is not None:  # `/models?modelVersionId=…`
        return CivitaiRef(None, version, stripped)
    if parts[:3] == ["api", "download", "models"] and len(parts) == 4:
        return CivitaiRef(None, _ident(parts[3], text), stripped)
    if parts[:3] == ["api", "v1", "models"] and len(parts) == 4:
        return CivitaiRef(_ident(parts[3], text), version, stripped)
    if parts[:3] == ["api", "v1", "model-versions"] and len(parts) == 4:
        return CivitaiRef(None, _ident(parts[3], text), stripped)
    if parts[:1] == ["model-versions"] and len(parts) == 2:
        return CivitaiRef(None, _ident(parts[1], text), stripped)
    raise _usage("refs.error.civitai_url", text)


def _hub_url(path: str, text: str, stripped: bool) -> HubRef:
    raw_parts = path.split("/")[1:] if path.startswith("/") else path.split("/")
    while raw_parts and raw_parts[-1] == "":
        raw_parts.pop()
    if raw_parts[:1] in (["datasets"], ["spaces"]):
        raise _usage("refs.error.hub_kind", text)
    if len(raw_parts) < 2:
        raise _usage("refs.error.bad_repo", text)
    repo = _repo(raw_parts[0], raw_parts[1], text)
    rest = raw_parts[2:]
    if not rest:
        return HubRef(repo, token_stripped=stripped)
    kind = rest[0]
    if kind not in ("blob", "resolve", "tree") or len(rest) < 2:
        raise _usage("refs.error.hub_url", text)
    revision = _revision(rest[1], text)
    file_path = _path(rest[2:], text)
    if kind != "tree" and file_path is None:
        raise _usage("refs.error.hub_url", text)
    return HubRef(repo, file_path, revision, kind == "tree" and file_path is not None, stripped)


def _host(netloc_host: str | None) -> str:
    return (netloc_host or "").lower().rstrip(".")


def _url(text: str, civitai_hosts: frozenset[str], hub_hosts: frozenset[str]) -> Ref:
    if "\\" in text:
        raise _usage("refs.error.unsafe_path", text)
    candidate = text if "://" in text else "https://" + text
    try:
        parts = urlsplit(candidate)
        host = _host(parts.hostname)
        port = parts.port
    except ValueError:
        raise _usage(text=text) from None
    if parts.scheme.lower() not in ("http", "https"):
        raise _usage(text=text)
    query, stripped = _strip_secrets(parts.query)
    hostport = f"{host}:{port}" if port else host
    if host in civitai_hosts or hostport in civitai_hosts:
        return _civitai_url(parts.path, query, text, stripped)
    if host in hub_hosts or hostport in hub_hosts:
        return _hub_url(parts.path, text, stripped)
    raise _usage(text=text)


def _hosts_of(base: str | None, defaults: frozenset[str]) -> frozenset[str]:
    if not base:
        return defaults
    try:
        parts = urlsplit(base)
        extra = _host(parts.hostname)
        port = parts.port
    except ValueError:
        return defaults
    return defaults | {f"{extra}:{port}" if port else extra}


def parse_ref(text: str, *, civitai_base: str | None = None, hub_base: str | None = None) -> Ref:
    """Parse any REF (README, "Command line"); `*_base` adds the configured hosts (a test hub, a mirror)."""
    if not isinstance(text, str):
        raise _usage()
    text = text.strip()
    if not text or len(text) > MAX_REF_CHARS or "\x00" in text:
        raise _usage(text=text[:200])
    scheme, colon, body = text.partition(":")
    lowered = scheme.lower()
    if colon and lowered == "civitai":
        return _civitai_short(body, text)
    if colon and lowered == "hf":
        return _hub_short(body, text)
    civitai_hosts = _hosts_of(civitai_base, CIVITAI_HOSTS)
    hub_hosts = _hosts_of(hub_base, HUB_HOSTS)
    first = text.split("/", 1)[0].lower()
    if "://" in text or first in civitai_hosts or first in hub_hosts:
        return _url(text, civitai_hosts, hub_hosts)
    if _ID.fullmatch(text):
        raise _usage("refs.error.bare_id", text, suggestion=f"civitai:{text}")
    pieces = text.split("/")
    if len(pieces) >= 2 and all(_REPO_PART.fullmatch(p) for p in pieces[:2]):
        raise _usage("refs.error.bare_repo", text, suggestion=f"hf:{text}")
    raise _usage(text=text)
