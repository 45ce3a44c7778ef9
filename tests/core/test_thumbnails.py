"""Thumbnails: a small rendition from the CDN, no key sent, cached once, hostile files refused."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from modella_tui.core import thumbnails
from modella_tui.core.thumbnails import (
    cache_path,
    decode,
    decode_async,
    fetch_thumbnail,
    is_video,
    small_url,
)
from tests.fakes.fakehub import FakeHub
from tests.fakes.resolver import fake_resolver

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def image_requests(hub: FakeHub) -> list[str]:
    """Paths the fake CDN was asked for under /images/."""
    return [r.path for r in hub.log if r.server == "cdn" and r.path.startswith("/images/")]


# ----- URL shape --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://image.civitai.com/xG1nkq/3f2a-uuid/width=1024/123.jpeg",
            "https://image.civitai.com/xG1nkq/3f2a-uuid/width=450/123.jpeg",
        ),
        (
            "https://image.civitai.com/xG1nkq/3f2a-uuid/original=true/123.jpeg",
            "https://image.civitai.com/xG1nkq/3f2a-uuid/width=450/123.jpeg",
        ),
        (
            "https://image.civitai.com/xG1nkq/3f2a-uuid/anim=false,width=832/123.jpeg?x=1",
            "https://image.civitai.com/xG1nkq/3f2a-uuid/width=450,anim=false/123.jpeg?x=1",
        ),
        (  # no options segment: inserted on Civitai's hosts (either domain)
            "https://image.civitai.red/xG1nkq/3f2a-uuid/123.jpeg",
            "https://image.civitai.red/xG1nkq/3f2a-uuid/width=450/123.jpeg",
        ),
        ("https://img.example/a/b/c.png", "https://img.example/a/b/c.png"),
        ("https://img.example/c.png", "https://img.example/c.png"),
        ("https://image.civitai.com/", "https://image.civitai.com/"),
    ],
)
def test_small_url(url: str, expected: str) -> None:
    assert small_url(url) == expected


def test_videos_are_recognised() -> None:
    assert is_video("https://x/y/clip.mp4")
    assert is_video("https://x/y/clip.WEBM")
    assert is_video("https://x/y/still.jpeg", "video")
    assert not is_video("https://x/y/still.jpeg", "image")


# ----- fetch ------------------------------------------------------------------------------------


async def test_fetch_asks_for_small_rendition_without_key_and_caches(
    fakehub: FakeHub, tmp_path: Path
) -> None:
    url = f"{fakehub.cdn_url}/images/xG1nkq/000001-0/original=true/10.png"
    cache = tmp_path / "thumbs"
    # A client that carries a key by default: the thumbnail request must still go without it.
    async with httpx.AsyncClient(
        headers={"Authorization": "Bearer sekrit-key"}, auth=httpx.BasicAuth("u", "p")
    ) as http:
        path = await fetch_thumbnail(http, url, cache)
        again = await fetch_thumbnail(http, url, cache)
    assert path is not None and path == again
    assert path.parent == cache
    assert path.read_bytes().startswith(PNG_MAGIC)
    assert image_requests(fakehub) == ["/images/xG1nkq/000001-0/width=450/10.png"]  # once
    records = [r for r in fakehub.log if r.server == "cdn"]
    assert records and all(r.authorization is None for r in records)
    assert all("sekrit" not in str(r.headers) for r in records)
    assert records[0].headers.get("user-agent", "").startswith("modella/")
    assert [p.name for p in cache.iterdir()] == [path.name]  # no temp file left


async def test_thumbnails_service_remembers_failures(fakehub: FakeHub, tmp_path: Path) -> None:
    service = thumbnails.Thumbnails(tmp_path / "t")
    url = f"{fakehub.cdn_url}/images/a/b/width=450/1.png"
    fakehub.fail_next("cdn", "/images/", 503)
    try:
        assert await service.fetch(url) is None
        assert await service.fetch(url) is None  # not asked again this session
        assert len(image_requests(fakehub)) == 1
        service.forget_failures()
        assert await service.fetch(url) is not None
        assert len(image_requests(fakehub)) == 2
    finally:
        await service.aclose()


@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [
        (200, b"<!DOCTYPE html><html><body>Log in</body></html>", "text/html"),
        (200, b"this is not a picture at all", "image/png"),
        (200, PNG_MAGIC + b"\x00" * 5000, "image/png"),  # over the 1000-byte cap below
        (200, b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml"),
        (404, b"<Error><Code>NoSuchKey</Code></Error>", "application/xml"),
    ],
    ids=["html", "garbage", "oversized", "svg", "404"],
)
async def test_refused_answers_give_none_and_no_cache_entry(
    fakehub: FakeHub, tmp_path: Path, status: int, body: bytes, content_type: str
) -> None:
    fakehub.fail_next("cdn", "/images/", status, body=body, content_type=content_type)
    cache = tmp_path / "thumbs"
    async with httpx.AsyncClient() as http:
        got = await fetch_thumbnail(
            http, f"{fakehub.cdn_url}/images/a/b/width=450/1.png", cache, max_bytes=1000
        )
    assert got is None
    assert not cache.exists() or list(cache.iterdir()) == []
    assert len(image_requests(fakehub)) == 1


async def test_size_cap_holds_without_content_length(tmp_path: Path) -> None:
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        yield PNG_MAGIC
        for _ in range(100):
            sent += 1
            yield b"\x00" * 1024

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "image/png"}, content=body())

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        got = await fetch_thumbnail(http, "http://127.0.0.1:1/x/y/1.png", tmp_path, max_bytes=4096)
    assert got is None
    assert sent < 10  # stopped reading soon after the cap, not at the end of the body


async def test_no_request_for_videos_or_odd_urls(tmp_path: Path) -> None:
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        return httpx.Response(404)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        for url in (
            "http://127.0.0.1:1/a/b/clip.mp4",
            "file:///etc/passwd",
            "http://user:pw@127.0.0.1:1/a/b/c.png",
        ):
            assert await fetch_thumbnail(http, url, tmp_path) is None
    assert asked == []


async def test_previews_never_reach_link_local_or_metadata_addresses(tmp_path: Path) -> None:
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        return httpx.Response(200, headers={"content-type": "image/png"}, content=PNG_MAGIC)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        for url in (
            "http://169.254.169.254/latest/meta-data/iam/a.png",
            "http://[fe80::1]/a/b/c.png",
            "http://[fd00:ec2::254]/a/b/c.png",
            "http://2852039166/a/b/c.png",
            "http://[::ffff:169.254.169.254]/a/b/c.png",
            "javascript:alert(1)",
            "data:image/png;base64,iVBORw0KGgo=",
        ):
            assert await thumbnails.fetch_image(http, url) is None, url
    assert asked == []


async def test_a_redirect_to_the_metadata_address_is_not_followed(
    fakehub: FakeHub, tmp_path: Path
) -> None:
    fakehub.fail_next(
        "cdn", "/images/", 302, headers={"Location": "http://169.254.169.254/latest/x.png"}
    )
    followed: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        followed.append(str(request.url))
        return httpx.Response(200, headers={"content-type": "image/png"}, content=PNG_MAGIC)

    mounts = {"http://169.254.169.254": httpx.MockTransport(handler)}
    async with httpx.AsyncClient(mounts=mounts) as http:
        got = await fetch_thumbnail(http, f"{fakehub.cdn_url}/images/a/b/width=450/1.png", tmp_path)
    assert got is None
    assert len(image_requests(fakehub)) == 1 and followed == []


async def test_a_redirect_to_another_allowed_host_is_followed(
    fakehub: FakeHub, tmp_path: Path
) -> None:
    target = f"{fakehub.cdn_url}/images/a/b/width=450/2.png"
    fakehub.fail_next("cdn", "/images/a/b/width=450/1.png", 302, headers={"Location": target})
    async with httpx.AsyncClient() as http:
        got = await fetch_thumbnail(http, f"{fakehub.cdn_url}/images/a/b/width=450/1.png", tmp_path)
    assert got is not None and got.read_bytes().startswith(PNG_MAGIC)
    assert image_requests(fakehub) == ["/images/a/b/width=450/1.png", "/images/a/b/width=450/2.png"]


async def test_a_name_that_resolves_to_the_metadata_address_is_not_fetched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_resolver(monkeypatch, {"metadata.test": ["169.254.169.254"]})
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        return httpx.Response(200, headers={"content-type": "image/png"}, content=PNG_MAGIC)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        assert await fetch_thumbnail(http, "http://metadata.test/a/b/1.png", tmp_path) is None
    assert asked == []


async def test_the_fetch_connects_to_the_address_that_was_checked(
    fakehub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A rebinding DNS server: the first answer passes the check, any later one is the metadata
    # address. The request must go to the first answer, keeping the name in its Host header.
    answers = iter([["127.0.0.1"]])
    asked = fake_resolver(monkeypatch, {"images.test": lambda: next(answers, ["169.254.169.254"])})
    port = fakehub.cdn_url.rsplit(":", 1)[1]
    async with httpx.AsyncClient(timeout=5) as http:
        got = await fetch_thumbnail(http, f"http://images.test:{port}/images/a/b/c/1.png", tmp_path)
    assert got is not None and got.read_bytes().startswith(PNG_MAGIC)
    assert asked == ["images.test"]
    (record,) = [r for r in fakehub.log if r.server == "cdn"]
    assert record.headers.get("host") == f"images.test:{port}"


# ----- decode -----------------------------------------------------------------------------------


def save_rows(path: Path, rows: list[tuple[int, int, int]], width: int) -> Path:
    """A PNG whose row y is all `rows[y]`."""
    img = Image.new("RGB", (width, len(rows)))
    for y, colour in enumerate(rows):
        for x in range(width):
            img.putpixel((x, y), colour)
    img.save(path, "PNG")
    return path


def test_decode_pairs_top_and_bottom_pixels(tmp_path: Path) -> None:
    png = save_rows(tmp_path / "a.png", [RED, GREEN, BLUE, WHITE], width=3)
    assert decode(png, cols=3, rows=2) == [[(RED, GREEN)] * 3, [(BLUE, WHITE)] * 3]


def test_decode_odd_height_leaves_last_bottom_empty(tmp_path: Path) -> None:
    png = save_rows(tmp_path / "a.png", [RED, GREEN, BLUE], width=2)
    assert decode(png, cols=2, rows=2) == [[(RED, GREEN)] * 2, [(BLUE, None)] * 2]


async def test_decode_fits_the_box_keeping_aspect(tmp_path: Path) -> None:
    img = Image.new("RGB", (400, 100), GREEN)  # 4:1
    img.save(tmp_path / "wide.jpg", "JPEG")
    pixels = await decode_async(tmp_path / "wide.jpg", cols=24, rows=8)  # box 24×16 pixels
    assert pixels is not None
    assert len(pixels) == 3 and {len(r) for r in pixels} == {24}  # 24×6 pixels → 3 cell rows
    top, bottom = pixels[0][0]
    assert bottom is not None and abs(top[1] - 255) < 8 and top[0] < 8  # still green after JPEG


def test_decode_refuses_garbage_truncated_and_bombs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    garbage = tmp_path / "garbage"
    garbage.write_bytes(b"not an image")
    good = save_rows(tmp_path / "good.png", [RED] * 64, width=64)
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(good.read_bytes()[:60])
    assert decode(garbage, 10, 5) is None
    assert decode(truncated, 10, 5) is None
    assert decode(tmp_path / "missing.png", 10, 5) is None
    assert decode(good, 0, 5) is None
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 64×64 is now over the guard
    assert decode(good, 10, 5) is None
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # over twice the guard: Pillow raises
    assert decode(good, 10, 5) is None


def test_cache_names_are_hashes(tmp_path: Path) -> None:
    name = cache_path("https://x/../../etc/passwd", tmp_path).name
    assert len(name) == 64 and all(c in "0123456789abcdef" for c in name)


def test_decode_enlarges_tiny_images_to_the_box(tmp_path: Path) -> None:
    png = save_rows(tmp_path / "tiny.png", [RED, BLUE], width=2)  # 2×2
    pixels = decode(png, cols=8, rows=4)  # box 8×8 pixels
    assert pixels is not None and len(pixels) == 4 and {len(r) for r in pixels} == {8}
    assert pixels[0][0] == (RED, RED) and pixels[-1][-1] == (BLUE, BLUE)


def test_prune_keeps_the_newest(tmp_path: Path) -> None:
    for i in range(5):
        f = tmp_path / f"f{i}"
        f.write_bytes(b"x")
        os.utime(f, (1000 + i, 1000 + i))
    assert thumbnails.prune(tmp_path, keep=2) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f3", "f4"]
    assert thumbnails.prune(tmp_path / "missing") == 0


def test_decode_refuses_images_over_the_pixel_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = save_rows(tmp_path / "good.png", [RED] * 64, width=64)
    assert decode(good, 10, 5) is not None
    monkeypatch.setattr(thumbnails, "MAX_PIXELS", 64 * 64 - 1)
    assert decode(good, 10, 5) is None


def header_only_png(path: Path, width: int, height: int) -> Path:
    """A PNG that claims `width` × `height` pixels and holds almost none (a decompression bomb's
    header)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        PNG_MAGIC
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )
    return path


def test_the_pixel_budget_is_checked_before_anything_is_decoded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 8000 × 8000 is under Pillow's own guard, over the preview budget: refused from the header.
    bomb = header_only_png(tmp_path / "bomb.png", 8000, 8000)
    decoded: list[str] = []
    real_load = Image.Image.load

    def spy_load(self: Image.Image) -> Any:
        decoded.append(self.mode)
        return real_load(self)

    monkeypatch.setattr(Image.Image, "load", spy_load)
    assert decode(bomb, 40, 20) is None
    assert decoded == []


def test_only_the_shrunk_image_is_converted_to_rgb(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Image.new("L", (1200, 900), 128).save(tmp_path / "grey.png", "PNG")
    converted: list[tuple[int, int]] = []
    real_convert = Image.Image.convert

    def spy_convert(self: Image.Image, *args: Any, **kwargs: Any) -> Image.Image:
        converted.append(self.size)
        return real_convert(self, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "convert", spy_convert)
    pixels = decode(tmp_path / "grey.png", cols=40, rows=15)
    assert pixels is not None and len(pixels[0]) == 40
    assert converted and all(w <= 40 and h <= 30 for w, h in converted), converted
