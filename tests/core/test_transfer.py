"""Unit tests of the engine's parts: ordered hashing, writer, landing, URLs, Retry-After, lease."""

from __future__ import annotations

import asyncio
import email.utils
import errno
import hashlib
import http.server
import os
import random
import socket
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import ClassVar

import httpx
import pytest

from modella_tui.core.downloads import partmeta
from modella_tui.core.downloads.job import backoff, write_all
from modella_tui.core.downloads.lease import Lease
from modella_tui.core.downloads.partmeta import Target, UnsafePathError, make_target
from modella_tui.core.downloads.threadhttp import WHOLE_BODY, ThreadTransport, thread_body
from modella_tui.core.downloads.verify import (
    InlineHasher,
    OrderedHasher,
    looks_like_web_page,
    sha256_file,
)
from modella_tui.core.http import RETRY_AFTER_CAP, parse_retry_after, same_origin
from modella_tui.core.store.db import Database
from modella_tui.core.textsafe import redact_url


def test_ordered_hasher_follows_out_of_order_writes(tmp_path: Path) -> None:
    data = random.Random(1).randbytes(3 * 1024 * 1024 + 17)
    path = tmp_path / "f"
    path.write_bytes(b"\0" * len(data))
    fd = os.open(path, os.O_RDWR)
    try:
        hasher = OrderedHasher(fd)
        step = 256 * 1024
        chunks = [(o, data[o : o + step]) for o in range(0, len(data), step)]
        random.Random(2).shuffle(chunks)
        for off, chunk in chunks:
            os.pwrite(fd, chunk, off)
            hasher.written(off, off + len(chunk), [chunk] if off % 2 == 0 else None)
        assert hasher.finish(len(data)) == hashlib.sha256(data).hexdigest()
    finally:
        os.close(fd)


def test_ordered_hasher_reports_a_gap(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 100)
    fd = os.open(path, os.O_RDONLY)
    try:
        hasher = OrderedHasher(fd)
        hasher.written(0, 40)
        hasher.written(60, 100)
        with pytest.raises(OSError, match="gap"):
            hasher.finish(100)
    finally:
        os.close(fd)


def test_write_all_reports_enospc_on_dev_full() -> None:
    fd = os.open("/dev/full", os.O_WRONLY)
    try:
        with pytest.raises(OSError) as info:
            write_all(os.pwritev, fd, memoryview(b"x" * 4096), 0)
        assert info.value.errno == errno.ENOSPC
    finally:
        os.close(fd)


def test_write_all_finishes_a_short_write(tmp_path: Path) -> None:
    path = tmp_path / "f"
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    try:
        # A pwritev that writes only the first 3 bytes, as a signal can make it do.
        write_all(lambda f, bufs, off: os.pwrite(f, bytes(bufs[0])[:3], off), fd,
                  memoryview(b"abcdefgh"), 2)  # fmt: skip
    finally:
        os.close(fd)
    assert path.read_bytes() == b"\0\0abcdefgh"


def test_land_never_clobbers(tmp_path: Path) -> None:
    target = Target(tmp_path, "m.safetensors")
    target.final.write_bytes(b"theirs")
    (tmp_path / "m (2).safetensors").write_bytes(b"theirs too")
    target.part.write_bytes(b"ours")
    final = partmeta.land(target)
    assert final.name == "m (3).safetensors" and final.read_bytes() == b"ours"
    assert target.final.read_bytes() == b"theirs" and not target.part.exists()


def test_make_target_refuses_escape_and_symlinked_part(tmp_path: Path) -> None:
    root = tmp_path / "models"
    (root / "Lora").mkdir(parents=True)
    with pytest.raises(UnsafePathError):
        make_target(tmp_path / "elsewhere", "x.safetensors", [root])
    t = make_target(root / "Lora", "../../evil.safetensors", [root])
    assert t.directory == root / "Lora" and t.name == "evil.safetensors"
    outside = tmp_path / "authorized_keys"
    outside.write_text("keep")
    os.symlink(outside, t.part)  # a planted link at the .part name
    with pytest.raises(UnsafePathError):
        partmeta.open_part(t)
    assert outside.read_text() == "keep"


def test_redact_url_drops_secrets() -> None:
    url = "https://u:p@civitai.com/api/download/models/1?type=Model&token=SECRET&X-Amz-Signature=S"
    assert redact_url(url) == "https://civitai.com/api/download/models/1?type=Model"


def test_web_pages_are_judged_by_their_content() -> None:
    page = b"\n  <!DOCTYPE html><html><body>Log in</body></html>"
    assert looks_like_web_page(page, "text/html; charset=utf-8", "m.safetensors")
    assert looks_like_web_page(page, "text/plain", "m.safetensors")  # mislabelled: still a page
    assert looks_like_web_page(page, None, "m.safetensors")
    assert looks_like_web_page(b"\xef\xbb\xbf<html lang=en>", "binary/octet-stream", "m.ckpt")
    assert not looks_like_web_page(page, "text/html", "index.html")  # a page was asked for
    assert looks_like_web_page(b'{"error": "nope"}', "application/json", "m.safetensors")
    assert not looks_like_web_page(b'{"a": 1}', "application/json", "config.json")
    # A safetensors file: an 8-byte header length, then its JSON header; any label is fine.
    weights = (123).to_bytes(8, "little") + b'{"__metadata__": {}}'
    for label in ("text/plain", "binary/octet-stream", None, "application/octet-stream"):
        assert not looks_like_web_page(weights, label, "m.safetensors")
    assert not looks_like_web_page(b"model: x\n", "text/plain", "model.yaml")


def test_retry_after_and_backoff() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("999999") == 999999.0
    assert parse_retry_after("999999", cap=RETRY_AFTER_CAP) == 600.0
    now = 1_800_000_000.0
    date = email.utils.formatdate(now + 42, usegmt=True)
    assert parse_retry_after(date, now) == pytest.approx(42, abs=1)
    assert parse_retry_after("garbage") is None
    delays = [backoff(n) for n in range(1, 10)]
    assert 1.0 <= delays[0] <= 1.25 and all(d <= 60 for d in delays) and delays[-1] >= 48


def test_sha256_file(tmp_path: Path) -> None:
    p = tmp_path / "f"
    p.write_bytes(b"abc" * 1000)
    assert sha256_file(p) == hashlib.sha256(b"abc" * 1000).hexdigest()


async def test_lease_dead_local_holder_is_taken_over(tmp_path: Path) -> None:
    async with Database(tmp_path / "db.sqlite") as db:
        proc = await asyncio.create_subprocess_exec("true")
        await proc.wait()  # a pid that is gone
        await db.execute(
            "INSERT INTO engine_lease (id, holder, expires_at) VALUES (1, ?, 9e18)",
            (f"{socket.gethostname()}:{proc.pid}:abcd",),
        )
        assert await Lease(db).acquire() is True
        await db.execute("UPDATE engine_lease SET holder = 'otherhost:1:x', expires_at = 9e18")
        assert await Lease(db).acquire() is False


def test_same_origin_fills_default_ports_and_ignores_case() -> None:
    assert same_origin("https://Civitai.com/api", "https://civitai.com:443/x")
    assert same_origin("http://127.0.0.1:80/a", "http://127.0.0.1/b")
    assert not same_origin("https://civitai.com", "http://civitai.com")
    assert not same_origin("http://127.0.0.1:8000", "http://127.0.0.1:8001")
    assert not same_origin("http://[::1", "http://[::1]")  # unparsable: never the same


def test_importing_the_engine_patches_no_private_http_attribute() -> None:
    import subprocess
    import sys

    code = (
        "import asyncio.selector_events as se, httpcore\n"
        "before = (httpcore._async.http11.AsyncHTTP11Connection.READ_NUM_BYTES,"
        " se._SelectorSocketTransport.max_size)\n"
        "import modella_tui.core.downloads.engine\n"
        "after = (httpcore._async.http11.AsyncHTTP11Connection.READ_NUM_BYTES,"
        " se._SelectorSocketTransport.max_size)\n"
        "assert before == after, (before, after)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_inline_hasher_hashes_in_order_writes_where_they_happen(tmp_path: Path) -> None:
    data = random.Random(3).randbytes(1024 * 1024 + 5)
    path = tmp_path / "f"
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    try:
        hasher = InlineHasher(fd)
        released: list[int] = []
        step = 200 * 1024
        for off in range(0, len(data), step):
            chunk = data[off : off + step]
            hasher.written(off, off + len(chunk), [chunk], partial(released.append, off))
            assert hasher.hashed == off + len(chunk)  # at once, in the writer's thread
        assert len(released) == len(range(0, len(data), step))  # every buffer handed back
        assert hasher.digest_if_done(len(data)) == hashlib.sha256(data).hexdigest()
        assert hasher.finish(len(data)) == hashlib.sha256(data).hexdigest()
    finally:
        os.close(fd)


def test_inline_hasher_reads_back_what_came_out_of_order(tmp_path: Path) -> None:
    data = random.Random(4).randbytes(900 * 1024)
    path = tmp_path / "f"
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    try:
        hasher = InlineHasher(fd)
        third = len(data) // 3
        hasher.written(third, 2 * third, [data[third : 2 * third]])  # a second connection's range
        assert hasher.hashed == 0 and hasher.digest_if_done(len(data)) is None
        hasher.written(0, third, [data[:third]])  # the gap closes: the rest is read back
        assert hasher.hashed == 2 * third
        hasher.written(2 * third, len(data))  # written without a buffer: read back by finish
        assert hasher.finish(len(data)) == hashlib.sha256(data).hexdigest()
    finally:
        os.close(fd)


def test_inline_hasher_reports_a_gap(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 100)
    fd = os.open(path, os.O_RDONLY)
    try:
        hasher = InlineHasher(fd)
        hasher.written(0, 40, [b"x" * 40])
        hasher.written(60, 100, [b"x" * 40])
        with pytest.raises(OSError, match="hashed 40 of 100"):
            hasher.finish(100)
    finally:
        os.close(fd)


class _Files(http.server.BaseHTTPRequestHandler):
    """A tiny server: /small (a few bytes) and /big (just past what is read with the headers)."""

    protocol_version = "HTTP/1.1"
    bodies: ClassVar[dict[str, bytes]] = {"/small": b"tiny body", "/big": b"b" * (WHOLE_BODY + 1)}

    def log_message(self, format: str, *args: object) -> None:
        return

    def do_GET(self) -> None:
        body = self.bodies[self.path]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def files_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Files)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


async def test_a_small_answer_is_read_with_its_headers(files_server: str) -> None:
    transport = ThreadTransport()
    async with httpx.AsyncClient(transport=transport) as client:
        small = await client.send(client.build_request("GET", f"{files_server}/small"), stream=True)
        assert thread_body(small) is None  # read already, in the request's thread
        assert sum(len(c) for c in transport._idle.values()) == 1  # its connection is free
        assert await small.aread() == b"tiny body"
        big = await client.send(client.build_request("GET", f"{files_server}/big"), stream=True)
        assert thread_body(big) is not None  # streamed, as a file body is
        assert len(await big.aread()) == WHOLE_BODY + 1
        ranged = client.build_request("GET", f"{files_server}/small", headers={"Range": "bytes=0-"})
        transfer = await client.send(ranged, stream=True)
        assert thread_body(transfer) is not None  # a range is a file transfer: left to its reader
        await transfer.aclose()


def test_part_json_is_written_whole_signed_and_replaced(tmp_path: Path) -> None:
    target = Target(tmp_path, "m.safetensors")
    key = b"k" * 32
    partmeta.write_meta(target, {"url": "https://a/x", "ranges": [[0, 10, 5, 0]]}, key)
    first = partmeta.read_meta(target.meta)
    assert first is not None and partmeta.is_signed(first, key)
    partmeta.write_meta(target, {"url": "https://a/x", "ranges": [[0, 10, 9, 9]]}, key)
    second = partmeta.read_meta(target.meta)
    assert second is not None and partmeta.is_signed(second, key)
    assert second["ranges"] == [[0, 10, 9, 9]]
    assert not partmeta.is_signed({**second, "url": "https://evil/x"}, key)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors.part.json"]
