"""A Civitai- and Hub-shaped metadata server on 127.0.0.1 whose downloads redirect to nginx.

It answers what `modella download` asks before the first byte, as the real services do:
- Civitai: `GET /api/v1/models/<id>` (one version, one file with its SHA256, one preview image)
  and `GET /api/download/models/<version>` → 307 to the file on nginx (another origin).
- Hub: `GET /api/models/<org>/<repo>[/revision/<rev>]` and `HEAD|GET /<org>/<repo>/resolve/<rev>/
  <file>` → 302 to nginx with `X-Linked-Etag` (the SHA256), `X-Linked-Size` and `X-Repo-Commit`.

Repos `bench/fast` and `bench/slow` send files to nginx's unlimited and capped ports. It records
when the first download redirect was asked for, so start-up time can be told from transfer time.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

COMMIT = "0" * 40


@dataclass(frozen=True)
class Served:
    """A file nginx serves: its name there, size and SHA256."""

    name: str
    size: int
    sha256: str


@dataclass
class Api:
    """The running server: its URL, what it serves, when the first download was asked for."""

    url: str = ""
    fast: str = ""  # nginx base URLs
    slow: str = ""
    civitai: dict[int, Served] = field(default_factory=dict)  # model id -> file
    hub: dict[str, Served] = field(default_factory=dict)  # file name -> file (both repos)
    preview: str = "preview.png"
    first_download: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def mark_download(self) -> None:
        """Note the first redirect to a file (the moment the transfer can start)."""
        with self.lock:
            if self.first_download is None:
                self.first_download = time.perf_counter()

    def model_json(self, model_id: int) -> dict[str, Any] | None:
        """A model in Civitai's shape."""
        f = self.civitai.get(model_id)
        if f is None:
            return None
        version_id = 100000 + model_id
        return {
            "id": model_id,
            "name": f"Bench LoRA {model_id}",
            "type": "LORA",
            "nsfw": False,
            "nsfwLevel": 1,
            "description": "<p>benchmark</p>",
            "tags": ["bench"],
            "creator": {"username": "bench"},
            "stats": {"downloadCount": 1, "thumbsUpCount": 1},
            "modelVersions": [
                {
                    "id": version_id,
                    "modelId": model_id,
                    "name": "v1",
                    "baseModel": "SDXL 1.0",
                    "trainedWords": [f"bench{model_id}"],
                    "availability": "Public",
                    "publishedAt": "2026-01-01T00:00:00.000Z",
                    "downloadUrl": f"{self.url}/api/download/models/{version_id}",
                    "files": [
                        {
                            "id": 200000 + model_id,
                            "name": f.name,
                            "type": "Model",
                            "sizeKB": f.size / 1024,
                            "primary": True,
                            "metadata": {"format": "SafeTensor", "fp": "fp16", "size": "pruned"},
                            "pickleScanResult": "Success",
                            "virusScanResult": "Success",
                            "hashes": {"SHA256": f.sha256.upper()},
                            "downloadUrl": f"{self.url}/api/download/models/{version_id}",
                        }
                    ],
                    "images": [
                        {
                            "url": f"{self.fast}/{self.preview}",
                            "nsfwLevel": 1,
                            "width": 8,
                            "height": 8,
                            "type": "image",
                        }
                    ],
                }
            ],
        }


class _Server(ThreadingHTTPServer):
    # The stdlib's listen backlog is 5: a burst of look-ups overflows it and the kernel drops
    # SYNs, which the client retries only after a second. A real API server has a deep backlog.
    request_queue_size = 128


def _handler(api: Api) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes; with Nagle's algorithm on, the body of every
        # answer after a connection's first waits for the client's delayed ACK (~40 ms). Real API
        # servers (nginx, Cloudflare) set TCP_NODELAY.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None,
                  ctype: str = "application/json") -> None:  # fmt: skip
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            if body:
                self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _json(self, data: Any, status: int = 200) -> None:
            self._send(status, json.dumps(data).encode())

        def do_HEAD(self) -> None:
            self.do_GET()

        def do_GET(self) -> None:
            path = unquote(urlsplit(self.path).path)
            parts = path.strip("/").split("/")
            if path.startswith("/api/v1/models/"):
                data = api.model_json(int(parts[3]))
                self._json(data or {"error": "not found"}, 200 if data else 404)
            elif path.startswith("/api/download/models/"):
                f = api.civitai.get(int(parts[3]) - 100000)
                if f is None:
                    self._json({"error": "not found"}, 404)
                    return
                api.mark_download()
                self._send(307, headers={"Location": f"{api.fast}/{f.name}"})
            elif path.startswith("/api/models/"):
                repo = "/".join(parts[2:4])
                siblings = [
                    {"rfilename": f.name, "size": f.size,
                     "lfs": {"sha256": f.sha256, "size": f.size, "pointerSize": 134}}
                    for f in api.hub.values()
                ]  # fmt: skip
                self._json({"id": repo, "sha": COMMIT, "gated": False, "siblings": siblings})
            elif len(parts) >= 5 and parts[2] == "resolve":
                f = api.hub.get("/".join(parts[4:]))
                if f is None:
                    self._send(404, headers={"X-Error-Code": "EntryNotFound"})
                    return
                base = api.slow if parts[1] == "slow" else api.fast
                if self.command == "GET":
                    api.mark_download()
                self._send(302, headers={
                    "Location": f"{base}/{f.name}", "X-Linked-Etag": f'"{f.sha256}"',
                    "X-Linked-Size": str(f.size), "X-Repo-Commit": COMMIT,
                    "ETag": f'"{f.sha256}"',
                })  # fmt: skip
            else:
                self._json({"error": "not found"}, 404)

    return Handler


@contextmanager
def serve(api: Api) -> Iterator[Api]:
    """Run the server in a thread while the block runs."""
    server = _Server(("127.0.0.1", 0), _handler(api))
    server.daemon_threads = True
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="bench-api", daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
