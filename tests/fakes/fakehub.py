"""A fake Civitai + Hugging Face Hub + storage CDN on three loopback ports, with scriptable faults.

Real sockets (stdlib `ThreadingHTTPServer`, HTTP/1.1 keep-alive) in background threads, so sync
tests, async tests and CLI subprocesses all talk to it the same way.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import select
import socket
import struct
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

from tests.fakes.catalog import (
    Blob,
    Catalog,
    CModel,
    CVersion,
    HRepo,
    default_catalog,
    model_json,
    repo_json,
    tree_json,
    version_json,
)

__all__ = ["Attempt", "Blob", "Catalog", "FakeHub", "RequestRecord", "default_catalog"]

SERVERS = ("civitai", "hub", "cdn")
_CHUNK = 64 * 1024
_EXPIRED_XML = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
    b"<Message>Request has expired</Message></Error>"
)
_BAD_SIG_XML = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SignatureDoesNotMatch</Code>'
    b"<Message>The request signature we calculated does not match the signature you provided."
    b"</Message></Error>"
)
_LOGIN_HTML = (
    b"<!DOCTYPE html><html><head><title>Sign in | Civitai</title></head><body>Log in</body></html>"
)
_SORTS: dict[str, Callable[[CModel], Any]] = {
    "Highest Rated": lambda m: ((m.stats or {}).get("rating") or 0, (m.stats or {}).get("thumbsUpCount") or 0),
    "Most Downloaded": lambda m: (m.stats or {}).get("downloadCount") or 0,
    "Most Liked": lambda m: (m.stats or {}).get("thumbsUpCount") or 0,
    "Most Discussed": lambda m: (m.stats or {}).get("commentCount") or 0,
    "Most Collected": lambda m: (m.stats or {}).get("favoriteCount") or 0,
    "Newest": lambda m: m.published_at,
}  # fmt: skip
_PERIODS = {"Day": 1, "Week": 7, "Month": 30, "Year": 365}


@dataclass
class Attempt:
    """How the next request for a blob's bytes misbehaves (see FakeHub.script)."""

    status: int | None = None
    retry_after: str | None = None
    drop_after: int | None = None
    ignore_range: bool = False
    wrong_content_range: bool = False
    corrupt_at: int | None = None
    rate: float | None = None
    no_content_length: bool = False
    header_delay: float = 0.0
    stall_after: int | None = None
    body: bytes | None = None
    content_type: str | None = None
    etag: str | None = None


@dataclass
class RequestRecord:
    """One request as the fake saw it; `status` and `bytes_sent` fill in while it is answered."""

    server: str
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    status: int = 0
    bytes_sent: int = 0
    blob_id: str | None = None

    @property
    def authorization(self) -> str | None:
        """The Authorization header, if the client sent one."""
        return self.headers.get("authorization")


@dataclass
class _Fault:
    server: str
    prefix: str
    status: int
    times: int
    headers: dict[str, str]
    body: bytes | None
    content_type: str


@dataclass
class _Range:
    start: int
    end: int  # exclusive
    partial: bool


class _Unsatisfiable(Exception):
    pass


def _parse_range(header: str | None, size: int) -> _Range:
    """One `bytes=` range (multi-ranges and garbage are ignored, as many servers do)."""
    full = _Range(0, size, False)
    if not header:
        return full
    m = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", header)
    if not m or (not m.group(1) and not m.group(2)):
        return full
    if not m.group(1):
        suffix = int(m.group(2))
        if suffix == 0 or size == 0:
            raise _Unsatisfiable
        return _Range(max(0, size - suffix), size, True)
    start = int(m.group(1))
    if start >= size:
        raise _Unsatisfiable
    end = size - 1 if not m.group(2) else min(int(m.group(2)), size - 1)
    if end < start:
        return full
    return _Range(start, end + 1, True)


def _png(seed: str, side: int = 8) -> bytes:
    """A tiny valid PNG of one colour derived from `seed`."""
    r, g, b = hashlib.sha1(seed.encode()).digest()[:3]
    row = b"\x00" + bytes((r, g, b)) * side
    raw = zlib.compress(row * side)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def _disposition(filename: str) -> str:
    """`attachment; filename=…` that any HTTP stack can carry (control and non-ASCII via filename*)."""
    plain = "".join(ch if 32 <= ord(ch) < 127 and ch != '"' else "_" for ch in filename)
    if plain == filename:
        return f'attachment; filename="{filename}"'
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # Keep-alive handler threads may sit in readline: never join them on close.
    block_on_close = False
    allow_reuse_address = True
    # The stdlib's listen backlog of 5 drops SYNs under a burst of parallel requests, and the
    # client then waits a second before it tries again.
    request_queue_size = 128

    def __init__(self, port: int, hub: FakeHub, name: str) -> None:
        self.hub = hub
        self.name = name
        self.connections: set[socket.socket] = set()
        self.conn_lock = threading.Lock()
        super().__init__(("127.0.0.1", port), _Handler)

    def handle_error(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: object
    ) -> None:
        """Clients hanging up mid-response are normal here; anything else is printed."""
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, OSError)):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60  # idle keep-alive connections end eventually
    server: _HTTPServer
    rec: RequestRecord

    # ------------------------------------------------------------- plumbing

    def setup(self) -> None:
        super().setup()
        with self.server.conn_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.conn_lock:
            self.server.connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the request log is `FakeHub.log`."""

    def send_response(self, code: int, message: str | None = None) -> None:
        self.rec.status = code
        super().send_response(code, message)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    @property
    def hub(self) -> FakeHub:
        return self.server.hub

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        self.url_path = url.path
        self.query = parse_qs(url.query, keep_blank_values=True)
        self.method = method
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.rec = RequestRecord(self.server.name, method, url.path, self.query, headers)
        self.hub._add_record(self.rec)
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        for prefix, gate in list(self.hub.holds.items()):
            if url.path.startswith(prefix):
                gate.wait(30)
        try:
            fault = self.hub._take_fault(self.server.name, url.path)
            if fault is not None:
                ctype = fault.content_type
                body = fault.body if fault.body is not None else self._default_body(fault.status)
                self._send(fault.status, body, ctype, fault.headers)
            elif self.server.name == "civitai":
                self._civitai()
            elif self.server.name == "hub":
                self._hub()
            else:
                self._cdn()
        except (ConnectionError, TimeoutError, OSError):
            self.close_connection = True
        finally:
            self.hub._changed()

    def _default_body(self, status: int) -> bytes:
        return json.dumps({"error": f"fake error {status}"}).encode()

    def _q(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def _send(
        self,
        status: int,
        body: bytes = b"",
        content_type: str | None = "application/json; charset=utf-8",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        if content_type and body:
            self.send_header("Content-Type", content_type)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.method != "HEAD" and body:
            self._write(body)

    def _json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(data).encode(), headers=headers)

    def _write(self, data: bytes, blob_id: str | None = None) -> None:
        self.wfile.write(data)
        self.rec.bytes_sent += len(data)
        if blob_id is not None:
            self.hub._count(blob_id, len(data))

    def _bearer(self) -> str | None:
        auth = self.headers.get("Authorization") or ""
        if auth.lower().startswith("bearer "):
            return auth[7:].strip() or None
        return None

    def _browser(self) -> bool:
        ua = (self.headers.get("User-Agent") or "").lower()
        return any(word in ua for word in ("mozilla", "chrome", "safari"))

    # ------------------------------------------------------------- Civitai

    def _civitai(self) -> None:
        path = self.url_path.rstrip("/")
        key = self.hub.civitai_key
        token = self._bearer()
        if key is not None and token is not None and token != key:
            self._json(401, {"error": "Unauthorized", "message": "Invalid API key"})
            return
        if path == "/api/v1/models":
            self._civitai_list()
        elif m := re.fullmatch(r"/api/v1/models/(\d+)", path):
            model = self.hub.catalog.models.get(int(m.group(1)))
            if model is None:
                self._json(404, {"error": f"No model with id {m.group(1)}"})
            else:
                self._json(200, model_json(model, self.hub))
        elif m := re.fullmatch(r"/api/v1/model-versions/by-hash/([^/]+)", path):
            found = self.hub.catalog.by_hash(unquote(m.group(1)))
            if found is None:
                self._json(404, {"error": f"Model not found with hash {unquote(m.group(1))}"})
            else:
                self._json(200, version_json(found[0], self.hub, with_model=True))
        elif m := re.fullmatch(r"/api/v1/model-versions/(\d+)", path):
            version = self.hub.catalog.versions.get(int(m.group(1)))
            if version is None:
                self._json(404, {"error": f"Version not found: {m.group(1)}"})
            else:
                self._json(200, version_json(version, self.hub, with_model=True))
        elif m := re.fullmatch(r"/api/download/models/(\d+)", path):
            self._civitai_download(int(m.group(1)))
        elif path == "/login":
            self._send(200, _LOGIN_HTML, "text/html; charset=utf-8")
        else:
            self._json(404, {"error": "Not found"})

    def _civitai_list(self) -> None:
        catalog = self.hub.catalog
        try:
            limit = int(self._q("limit", "100") or "100")
            page = int(self._q("page") or 0)
        except ValueError:
            self._json(400, {"error": "Invalid number"})
            return
        if not 0 <= limit <= 100:
            self._json(
                400, {"error": "Number must be less than or equal to 100", "path": ["limit"]}
            )
            return
        limit = limit or 100
        query = (self._q("query") or "").strip().lower()
        if page and query:
            self._json(
                400,
                {"error": "Cannot use page param with query search. Use cursor-based pagination."},
            )
            return
        sort = self._q("sort") or "Highest Rated"
        if sort not in _SORTS:
            self._json(400, {"error": f"Invalid enum value '{sort}'", "path": ["sort"]})
            return
        models = list(catalog.models.values())
        if query:
            models = [m for m in models if query in m.name.lower() or query in m.description.lower()
                      or any(query in t.lower() for t in m.tags)]  # fmt: skip
        if tag := (self._q("tag") or "").strip().lower():
            models = [m for m in models if tag in (t.lower() for t in m.tags)]
        if user := (self._q("username") or "").strip().lower():
            models = [m for m in models if m.creator.lower() == user]
        # Repeated values only: a comma-joined value matches no type, like the real API.
        if types := self.query.get("types"):
            models = [m for m in models if m.type in types]
        if bases := self.query.get("baseModels"):
            models = [m for m in models if any(v.base_model in bases for v in m.versions)]
        if ids := self.query.get("ids"):
            wanted = {int(x) for raw in ids for x in raw.split(",") if x.strip().isdigit()}
            models = [m for m in models if m.id in wanted]
        if (period := self._q("period")) in _PERIODS:
            since = catalog.epoch - dt.timedelta(days=_PERIODS[period])
            models = [m for m in models if m.published_at >= since]
        models.sort(key=lambda m: m.id, reverse=True)
        models.sort(key=_SORTS[sort], reverse=True)
        cursor = self._q("cursor")
        if cursor:
            try:
                offset = int(cursor.split("|")[0])
            except ValueError:
                self._json(400, {"error": "Invalid cursor"})
                return
        elif page:
            if page * limit > 1000:
                self._json(429, {"error": "Too many requests: use cursor-based pagination"})
                return
            offset = (page - 1) * limit
        else:
            offset = 0
        window = models[offset : offset + limit]
        more = offset + limit < len(models)
        # The nsfw filter runs after paging, like the real API: a page may come back empty.
        if (self._q("nsfw") or "").lower() == "false":
            window = [m for m in window if not m.mature or m.leak_nsfw]
        primary_only = (self._q("primaryFileOnly") or "").lower() == "true"
        items = [model_json(m, self.hub, primary_only=primary_only) for m in window]
        metadata: dict[str, Any] = {}
        if page:
            total_pages = (len(models) + limit - 1) // limit
            metadata = {"totalItems": len(models), "currentPage": page, "pageSize": limit,
                        "totalPages": total_pages}  # fmt: skip
            if more:
                metadata["nextPage"] = self._next_url(page=str(page + 1))
        elif more:
            next_cursor = f"{offset + limit}|{models[offset + limit].id}"
            metadata = {"nextCursor": next_cursor, "nextPage": self._next_url(cursor=next_cursor)}
        self._json(200, {"items": items, "metadata": metadata})

    def _next_url(self, **changes: str) -> str:
        params = [(k, v) for k, vs in self.query.items() if k not in changes for v in vs]
        params += list(changes.items())
        return f"{self.hub.civitai_url}{self.url_path}?{urlencode(params)}"

    def _civitai_download(self, version_id: int) -> None:
        version = self.hub.catalog.versions.get(version_id)
        if version is None:
            self._json(404, {"error": "Model version not found"})
            return
        files = version.files
        if kind := self._q("type"):
            files = [f for f in files if f.type.lower() == kind.lower()]
        if fmt := self._q("format"):
            files = [f for f in files if f.format.lower() == fmt.lower()]
        if not self.query.get("type") and not self.query.get("format"):
            files = [f for f in files if f.primary] or files[:1]
        if not files:
            self._json(404, {"error": "File not found"})
            return
        cfile = files[0]
        if version.login_required:
            token, key = self._bearer(), self.hub.civitai_key
            if token is None or (key is not None and token != key):
                if self._browser():
                    self._send(307, headers={"Location": "/login?reason=download-auth&returnUrl="
                                             f"/api/download/models/{version_id}"})  # fmt: skip
                else:
                    self._json(401, {"error": "Unauthorized", "message": "The creator of this asset "
                                     "requires you to be logged in to download it"})  # fmt: skip
                return
        if version.early_access:
            self._json(403, {"error": "Forbidden", "message": "This asset is in Early Access. "
                             "You can purchase access or wait until it is public."})  # fmt: skip
            return
        self._send(307, headers={"Location": self.hub.signed_url(cfile.blob, cfile.name)})

    # ------------------------------------------------------------- Hub

    def _hub_error(self, status: int, code: str | None, message: str) -> None:
        headers = {"X-Error-Message": message}
        if code:
            headers["X-Error-Code"] = code
        self._json(status, {"error": message}, headers)

    def _hub_repo(self, repo_id: str, *, gated_check: bool) -> HRepo | None:
        """The repo if this request may see it, else None after answering the error."""
        repo = self.hub.catalog.repos.get(repo_id)
        token = self._bearer()
        accepted = self.hub.hf_token
        if repo is None:
            self._hub_error(404 if token else 401, "RepoNotFound", "Repository not found")
            return None
        if repo.private and (token is None or token != accepted):
            self._hub_error(401, "RepoNotFound", "Repository not found")
            return None
        if gated_check and repo.gated:
            if token is None:
                self._hub_error(
                    401,
                    "GatedRepo",
                    f"Access to model {repo.id} is restricted. You must "
                    "have access to it and be authenticated to access it. Please log in.",
                )
                return None  # fmt: skip
            if token != accepted:
                self._hub_error(403, "GatedRepo", f"Access to model {repo.id} is restricted and you "
                                "are not in the authorized list. Visit "
                                f"{self.hub.hub_url}/{repo.id} to ask for access.")  # fmt: skip
                return None
        if token is not None and accepted is not None and token != accepted:
            self._hub_error(401, None, "Invalid credentials in Authorization header")
            return None
        return repo

    def _hub_revision(self, repo: HRepo, rev: str) -> bool:
        if rev in ("main", repo.sha):
            return True
        self._hub_error(404, "RevisionNotFound", f"Invalid rev id: {rev}")
        return False

    def _hub(self) -> None:
        path = self.url_path
        if path.rstrip("/") == "/api/models":
            self._hub_search()
            return
        if path.startswith("/api/models/"):
            self._hub_api(path[len("/api/models/") :])
            return
        parts = path.lstrip("/").split("/")
        if len(parts) >= 5 and parts[2] == "resolve":
            repo = self._hub_repo(f"{parts[0]}/{parts[1]}", gated_check=True)
            if repo is None or not self._hub_revision(repo, unquote(parts[3])):
                return
            self._hub_resolve(repo, unquote("/".join(parts[4:])))
        elif len(parts) == 2 and f"{parts[0]}/{parts[1]}" in self.hub.catalog.repos:
            page = f"<html><body><h1>{parts[0]}/{parts[1]}</h1>Accept the licence</body></html>"
            self._send(200, page.encode(), "text/html; charset=utf-8")
        else:
            self._hub_error(404, None, "Not Found")

    def _hub_api(self, rest: str) -> None:
        blobs = (self._q("blobs") or "").lower() in ("true", "1")
        if rest.endswith("/auth-check"):
            repo = self._hub_repo(rest[: -len("/auth-check")], gated_check=True)
            if repo is not None:
                self._json(200, {"access": True})
            return
        if "/tree/" in rest:
            repo_id, _, after = rest.partition("/tree/")
            rev, _, sub = after.partition("/")
            repo = self._hub_repo(repo_id, gated_check=False)
            if repo is None or not self._hub_revision(repo, unquote(rev)):
                return
            recursive = (self._q("recursive") or "").lower() in ("true", "1")
            tree = tree_json(repo, unquote(sub), recursive)
            if tree is None:
                self._hub_error(404, "EntryNotFound", f'{unquote(sub)} does not exist on "{rev}"')
            else:
                self._json(200, tree)
            return
        repo_id, _, rev = rest.partition("/revision/")
        repo = self._hub_repo(repo_id, gated_check=False)
        if repo is None or not self._hub_revision(repo, unquote(rev) if rev else "main"):
            return
        self._json(200, repo_json(repo, blobs=blobs))

    def _hub_resolve(self, repo: HRepo, file_path: str) -> None:
        entry = repo.entry(file_path)
        if entry is None:
            self._hub_error(404, "EntryNotFound", "Entry not found")
            return
        blob = entry.blob
        common = {"X-Repo-Commit": repo.sha, "Accept-Ranges": "bytes"}
        if entry.lfs:
            linked = f'"{blob.sha256}"'
            location = self.hub.signed_url(blob, entry.path.rsplit("/", 1)[-1], expires=3600)
            headers = {**common, "X-Linked-Etag": linked, "X-Linked-Size": str(blob.size),
                       "ETag": linked, "Location": location}  # fmt: skip
            self._send(302, headers=headers)
            return
        self._serve_blob(blob, f'"{blob.git_sha1}"', common, "text/plain; charset=utf-8")

    # ------------------------------------------------------------- Hub search

    def _hub_search(self) -> None:
        """`/api/models?search=…&sort=downloads&limit=…`: the catalog's repos whose id holds the
        words (case-insensitive), as the Hub lists them; private repos only with the token."""
        words = (self._q("search") or "").lower()
        limit = int(self._q("limit") or "50")
        may_see_private = self.hub.hf_token is not None and self._bearer() == self.hub.hf_token
        found = [
            self._search_entry(repo)
            for repo in self.hub.catalog.repos.values()
            if words in repo.id.lower() and (may_see_private or not repo.private)
        ]
        if self._q("sort") == "downloads":
            found.sort(key=lambda e: -int(e["downloads"]))
        self._json(200, found[:limit])

    @staticmethod
    def _search_entry(repo: HRepo) -> dict[str, Any]:
        """One repo of the Hub's `/api/models` listing: test repos (`modella-test/…`) look like a
        language model, so ranking image-generation repos first can be seen."""
        image = not repo.id.startswith("modella-test/")
        return {
            "_id": hashlib.sha1(repo.id.encode()).hexdigest()[:24],
            "id": repo.id,
            "modelId": repo.id,
            "likes": 56,
            # Deterministic and different per repo, so the downloads order is a real order.
            "downloads": 1000 + int(hashlib.sha1(repo.id.encode()).hexdigest()[:4], 16),
            "tags": ["diffusers", "safetensors", "text-to-image"] if image else ["transformers"],
            "pipeline_tag": "text-to-image" if image else "text-generation",
            "library_name": "diffusers" if image else "transformers",
            "private": repo.private,
            "gated": repo.gated,
            "createdAt": "2024-08-01T10:00:00.000Z",
        }

    # ------------------------------------------------------------- CDN

    def _cdn(self) -> None:
        path = self.url_path
        if path.startswith("/images/"):
            self._send(200, _png(path), "image/png", {"Cache-Control": "max-age=3600"})
            return
        if not path.startswith("/files/"):
            self._send(404, b"<Error><Code>NoSuchKey</Code></Error>", "application/xml")
            return
        blob = self.hub.catalog.blobs.get(unquote(path[len("/files/") :]))
        date, expires = self._q("X-Amz-Date") or "", self._q("X-Amz-Expires") or ""
        disposition = self._q("response-content-disposition") or ""
        if blob is None or not hmac.compare_digest(
            self._q("sig") or "", self.hub._signature(blob.id, date, expires, disposition)
        ):
            self._send(403, _BAD_SIG_XML, "application/xml")
            return
        try:
            issued = dt.datetime.strptime(date, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
            expiry = issued.timestamp() + int(expires)
        except ValueError:
            self._send(403, _BAD_SIG_XML, "application/xml")
            return
        if self.hub.now > expiry:
            self._send(403, _EXPIRED_XML, "application/xml")
            return
        headers = {"Content-Disposition": disposition} if disposition else {}
        self._serve_blob(blob, f'"{blob.sha256[:32]}"', headers)

    # ------------------------------------------------------------- blob bodies

    def _serve_blob(
        self,
        blob: Blob,
        etag: str,
        headers: dict[str, str],
        content_type: str = "application/octet-stream",
    ) -> None:
        self.rec.blob_id = blob.id
        attempt = self.hub._take_attempt(blob.id) if self.method == "GET" else None
        a = attempt or Attempt()
        if a.header_delay:
            self.hub._stopping.wait(a.header_delay)
        if a.status is not None and a.status >= 300:
            extra = {"Retry-After": a.retry_after} if a.retry_after else {}
            if a.body is not None:
                self._send(a.status, a.body, a.content_type or "text/plain", extra)
            elif a.status == 403 and self.server.name == "cdn":
                self._send(a.status, _EXPIRED_XML, "application/xml", extra)
            else:
                self._json(a.status, {"error": f"fake error {a.status}"}, extra)
            return
        if a.body is not None:
            self._send(a.status or 200, a.body, a.content_type or "text/html; charset=utf-8")
            return
        etag = a.etag or etag
        range_header = self.headers.get("Range")
        if_range = self.headers.get("If-Range")
        if if_range is not None and if_range != etag:
            range_header = None  # the file changed: RFC 9110 says send it whole
        try:
            rng = _parse_range(range_header, blob.size)
        except _Unsatisfiable:
            self._send(416, headers={"Content-Range": f"bytes */{blob.size}", "ETag": etag})
            return
        if a.ignore_range:
            rng = _Range(0, blob.size, False)
        body_start, body_end = rng.start, rng.end
        self.send_response(206 if rng.partial else 200)
        ctype = a.content_type if a.content_type is not None else content_type
        if ctype:  # "" sends no Content-Type at all, as some storage hosts do
            self.send_header("Content-Type", ctype)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", "Sat, 01 Feb 2025 10:00:00 GMT")
        for k, v in headers.items():
            self.send_header(k, v)
        if rng.partial:
            if a.wrong_content_range:
                body_start, body_end = 0, rng.end - rng.start
            self.send_header("Content-Range", f"bytes {body_start}-{body_end - 1}/{blob.size}")
        if a.no_content_length:
            self.send_header("Connection", "close")
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(body_end - body_start))
        self.end_headers()
        if self.method == "HEAD":
            return
        self._stream(blob, body_start, body_end, a)
        if a.no_content_length:
            self.connection.shutdown(socket.SHUT_WR)

    def _stream(self, blob: Blob, start: int, end: int, a: Attempt) -> None:
        rate = a.rate if a.rate is not None else self.hub.rate_per_connection
        chunk_size = _CHUNK if not rate else max(1024, min(_CHUNK, int(rate / 20)))
        cut = min(x for x in (a.drop_after, a.stall_after, end - start) if x is not None)
        began = time.monotonic()
        sent = 0
        pos = start
        while sent < cut:
            if self.hub._stopping.is_set():
                break
            # Stay on 64 KiB boundaries so each generated block is built once, not twice.
            want = min(chunk_size, cut - sent, _CHUNK - pos % _CHUNK)
            chunk = blob.read(pos, want)
            if a.corrupt_at is not None and pos <= a.corrupt_at < pos + len(chunk):
                i = a.corrupt_at - pos
                chunk = chunk[:i] + bytes([chunk[i] ^ 0xFF]) + chunk[i + 1 :]
            self._write(chunk, blob.id)
            sent += len(chunk)
            pos += len(chunk)
            if rate:
                ahead = began + sent / rate - time.monotonic()
                if ahead > 0:
                    self.hub._stopping.wait(ahead)
        if sent >= end - start:
            return
        if a.drop_after is not None and sent >= a.drop_after:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        elif a.stall_after is not None and sent >= a.stall_after:
            self._stall()

    def _stall(self) -> None:
        """Hold the response open, sending nothing, until the client hangs up or the hub stops."""
        self.close_connection = True
        sock = self.connection
        while not self.hub._stopping.is_set():
            readable, _, _ = select.select([sock], [], [], 0.05)
            if readable:
                # EOF (client gone) or an unexpected new request: either way the stall is over.
                return


class FakeHub:
    """Civitai, the Hub and a storage CDN on three loopback ports; see the module docstring."""

    def __init__(
        self,
        catalog: Catalog | None = None,
        *,
        civitai_port: int = 0,
        hub_port: int = 0,
        cdn_port: int = 0,
    ) -> None:
        self.catalog = catalog if catalog is not None else default_catalog()
        self.log: list[RequestRecord] = []
        self.rate_per_connection: float | None = None
        self.civitai_key: str | None = None
        self.hf_token: str | None = None
        self.now: float = time.time()
        self.civitai_url = self.hub_url = self.cdn_url = ""
        self._ports = {"civitai": civitai_port, "hub": hub_port, "cdn": cdn_port}
        self._servers: dict[str, _HTTPServer] = {}
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._served: dict[str, int] = {}
        self._scripts: dict[str, list[Attempt]] = {}
        self._faults: list[_Fault] = []
        self._stopping = threading.Event()
        # path prefix -> an Event: requests there wait until it is set (a slow look-up)
        self.holds: dict[str, threading.Event] = {}
        self._secret = hashlib.sha256(str(id(self)).encode() + str(time.time()).encode()).digest()

    # ------------------------------------------------------------- lifecycle

    def start(self) -> FakeHub:
        """Bind the three ports and serve in daemon threads."""
        self._stopping.clear()
        for name in SERVERS:
            server = _HTTPServer(self._ports[name], self, name)
            self._servers[name] = server
            thread = threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.05},
                name=f"fakehub-{name}", daemon=True,
            )  # fmt: skip
            thread.start()
            self._threads.append(thread)
        self.civitai_url = self._url("civitai")
        self.hub_url = self._url("hub")
        self.cdn_url = self._url("cdn")
        return self

    def _url(self, name: str) -> str:
        return f"http://127.0.0.1:{self._servers[name].server_address[1]}"

    def stop(self) -> None:
        """Stop serving, end stalled and keep-alive connections, free the ports."""
        self._stopping.set()
        for server in self._servers.values():
            server.shutdown()
            with server.conn_lock:
                conns = list(server.connections)
            for conn in conns:
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers.clear()
        self._threads.clear()

    def __enter__(self) -> FakeHub:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ------------------------------------------------------------- test controls

    def script(self, blob_id: str, attempts: list[Attempt]) -> None:
        """The next GETs of this blob's bytes (CDN or direct Hub resolve) behave as `attempts`."""
        with self._lock:
            self._scripts.setdefault(blob_id, []).extend(attempts)

    def fail_next(
        self,
        server: str,
        path_prefix: str,
        status: int,
        *,
        times: int = 1,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        content_type: str = "application/json",
    ) -> None:
        """The next `times` requests to `server` whose path starts with `path_prefix` get this answer."""
        if server not in SERVERS:
            raise ValueError(f"server must be one of {SERVERS}")
        with self._lock:
            self._faults.append(
                _Fault(server, path_prefix, status, times, dict(headers or {}), body, content_type)
            )

    def bytes_served(self, blob_id: str) -> int:
        """Body bytes of that blob sent so far, over all connections."""
        with self._lock:
            return self._served.get(blob_id, 0)

    def requests(self, server: str | None = None, path_prefix: str = "") -> list[RequestRecord]:
        """The logged requests of one server (or all) whose path starts with `path_prefix`."""
        return [r for r in list(self.log)
                if (server is None or r.server == server) and r.path.startswith(path_prefix)]  # fmt: skip

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
        """Block until `predicate()` holds (checked on every request and body write) or time runs out."""
        with self._cond:
            return self._cond.wait_for(predicate, timeout)

    def wait_served(self, blob_id: str, at_least: int, timeout: float = 10.0) -> bool:
        """Block until at least `at_least` bytes of that blob were sent."""
        return self.wait_for(lambda: self._served.get(blob_id, 0) >= at_least, timeout)

    def signed_url(self, blob: Blob, filename: str, expires: int = 86400) -> str:
        """A storage URL for `blob`, signed and valid for `expires` seconds from `now`."""
        date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(self.now))
        disposition = _disposition(filename)
        params = {
            "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
            "X-Amz-Expires": str(expires),
            "X-Amz-Date": date,
            "response-content-disposition": disposition,
            "sig": self._signature(blob.id, date, str(expires), disposition),
        }
        return f"{self.cdn_url}/files/{quote(blob.id, safe='')}?{urlencode(params)}"

    def civitai_file_url(self, version_id: int) -> str:
        """The Civitai download URL of a version's primary file."""
        return f"{self.civitai_url}/api/download/models/{version_id}"

    def version(self, version_id: int) -> CVersion:
        """A catalog version by id."""
        return self.catalog.versions[version_id]

    # ------------------------------------------------------------- internals used by handlers

    def _signature(self, blob_id: str, date: str, expires: str, disposition: str) -> str:
        message = "\n".join((blob_id, date, expires, disposition)).encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()[:40]

    def _add_record(self, rec: RequestRecord) -> None:
        with self._cond:
            self.log.append(rec)
            self._cond.notify_all()

    def _changed(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def _count(self, blob_id: str, n: int) -> None:
        with self._cond:
            self._served[blob_id] = self._served.get(blob_id, 0) + n
            self._cond.notify_all()

    def _take_attempt(self, blob_id: str) -> Attempt | None:
        with self._lock:
            queue = self._scripts.get(blob_id)
            return queue.pop(0) if queue else None

    def _take_fault(self, server: str, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.server == server and path.startswith(fault.prefix) and fault.times > 0:
                    fault.times -= 1
                    if fault.times == 0:
                        self._faults.remove(fault)
                    return fault
        return None
