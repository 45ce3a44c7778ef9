"""Example-image previews: ask the CDN for a small rendition, cache it, decode it to pixel pairs."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit, urlunsplit

import httpx

from modella_tui import __version__
from modella_tui.core import paths, urlsafe

log = logging.getLogger("modella.thumbnails")

RGB = tuple[int, int, int]
Pair = tuple[RGB, RGB | None]
"""One terminal cell: the top pixel and the bottom one (None below an odd last row)."""
Pixels = list[list[Pair]]

THUMB_WIDTH = 450
MAX_BYTES = 8 * 1024 * 1024
MAX_REDIRECTS = 5
# Pixels a preview may decode, read from the header before any decoding: 8K UHD (33 Mpx) fits,
# a decompression bomb does not. Decoding that much costs ~130 MB at most, briefly.
MAX_PIXELS = 40_000_000
MAX_CACHED = 2000  # ~50 KB each at width 450: about 100 MB at most
USER_AGENT = f"modella/{__version__}"
TIMEOUT = httpx.Timeout(20.0, connect=10.0)
VIDEO_SUFFIXES = frozenset({".mp4", ".webm", ".mov", ".m4v", ".mkv"})
# A Civitai image URL: /<account>/<uuid>/[<options>/]<file>; options look like `width=450,anim=false`.
_OPTIONS = re.compile(r"^[a-z]+=[^/,=]+(?:,[a-z]+=[^/,=]+)*$")
_CIVITAI_HOST = re.compile(r"(^|\.)civitai\.(com|red)$")


def is_video(url: str, kind: str = "image") -> bool:
    """A video (by the API's `type` or the file name): no still to preview."""
    if kind.lower() == "video":
        return True
    return PurePosixPath(urlsplit(url).path).suffix.lower() in VIDEO_SUFFIXES


def small_url(url: str, width: int = THUMB_WIDTH) -> str:
    """The URL of a `width`-pixel rendition when `url` has Civitai's image shape; else `url`."""
    parts = urlsplit(url)
    segments = parts.path.split("/")
    if len(segments) < 3 or not segments[-1]:
        return url
    options = segments[-2]
    if _OPTIONS.match(options):
        # Keep the other options (e.g. anim=false); `original=true` would defeat the point.
        kept = [
            o for o in options.split(",") if not o.startswith(("width=", "height=", "original="))
        ]
        segments[-2] = ",".join([f"width={width}", *kept])
    elif _CIVITAI_HOST.search(parts.hostname or "") and len(segments) >= 4:
        segments.insert(-1, f"width={width}")
    else:
        return url
    return urlunsplit(parts._replace(path="/".join(segments)))


def cache_path(url: str, cache_dir: Path) -> Path:
    """Where the rendition of `url` is cached: a hash of the URL, so no remote text names a file."""
    return cache_dir / hashlib.sha256(url.encode("utf-8")).hexdigest()


def thumbnails_dir() -> Path:
    """The default cache folder, `<cache>/thumbnails`."""
    return paths.cache_dir() / "thumbnails"


def looks_like_image(data: bytes) -> bool:
    """The first bytes are a JPEG, PNG, GIF, WebP or AVIF signature (what an image CDN sends)."""
    return (
        data.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a"))
        or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")
        or data[4:12] in (b"ftypavif", b"ftypavis")
    )


def _acceptable_type(content_type: str | None) -> bool:
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    # SVG is a document, not pixels, and Pillow cannot read it anyway.
    return kind.startswith("image/") and kind != "image/svg+xml"


async def fetch_image(
    http: httpx.AsyncClient, url: str, max_bytes: int = MAX_BYTES, timeout: float | None = None
) -> bytes | None:
    """The bytes of public image `url`, or None (not http, refused, too big, not an image).

    Never sends credentials: no Authorization header (even a client default), no user info, no
    cookies. Only http(s) URLs whose host is not link-local or a metadata address are fetched, on
    every redirect hop too, and the connection goes to the address that was checked.
    """
    target = url
    for _ in range(MAX_REDIRECTS + 1):
        resp = await _send_pinned(http, target, timeout)
        if resp is None:
            return None
        try:
            if resp.is_redirect:
                location = resp.headers.get("location", "")
                target = str(httpx.URL(target).join(location)) if location else ""
                if not target:
                    return None
                continue
            return await _read_image(resp, max_bytes)
        except (httpx.HTTPError, OSError, ValueError) as exc:
            log.debug("image fetch failed: %s", type(exc).__name__)
            return None
        finally:
            await resp.aclose()
    return None  # too many redirects


async def _send_pinned(
    http: httpx.AsyncClient, url: str, timeout: float | None
) -> httpx.Response | None:
    """Send GET `url` to an address of its host that passed the check (no redirect followed).

    The name is resolved once here and the request goes to that address (the Host header and the
    TLS server name keep the name), so a second, different DNS answer cannot redirect it.
    """
    where = urlsafe.host_and_port(url)
    if where is None:
        return None
    host, port = where
    addresses = await urlsafe.resolve_fetchable(host, port)
    original = httpx.URL(url)
    for address in addresses:
        headers = {"User-Agent": USER_AGENT, "Accept": "image/webp,image/png,image/jpeg,image/*"}
        extensions: dict[str, object] = {}
        pinned = original
        if urlsafe.parse_address(host) is None:  # a name: connect to the checked address
            pinned = original.copy_with(host=address)
            headers["Host"] = original.netloc.decode("ascii")
            if original.scheme == "https":
                extensions["sni_hostname"] = host
        request = http.build_request(
            "GET",
            pinned,
            headers=headers,
            timeout=timeout if timeout is not None else http.timeout,
            extensions=extensions,
        )
        request.headers.pop("Authorization", None)  # even from a client built with a default one
        request.headers.pop("Cookie", None)
        try:
            return await http.send(request, stream=True, auth=None, follow_redirects=False)
        except httpx.ConnectError:
            continue  # this address is unreachable (say IPv6 without a route): try the next
        except (httpx.HTTPError, OSError) as exc:
            log.debug("image fetch failed: %s", type(exc).__name__)
            return None
    return None


async def _read_image(resp: httpx.Response, max_bytes: int) -> bytes | None:
    """The body of an image answer, read up to `max_bytes`; None for anything else."""
    if resp.status_code != 200 or not _acceptable_type(resp.headers.get("content-type")):
        return None
    declared = resp.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        return None
    data = bytearray()
    async for chunk in resp.aiter_bytes():
        data += chunk
        if len(data) > max_bytes:
            return None
    if not looks_like_image(bytes(data[:16])):
        return None  # an error page or garbage labelled as an image
    return bytes(data)


async def fetch_thumbnail(
    http: httpx.AsyncClient,
    url: str,
    cache_dir: Path,
    max_bytes: int = MAX_BYTES,
    width: int = THUMB_WIDTH,
) -> Path | None:
    """A cached small rendition of image `url`, or None (not http, refused, too big, not an image)."""
    if is_video(url):
        return None
    target = small_url(url, width)
    path = cache_path(target, cache_dir)
    if path.is_file():
        return path
    data = await fetch_image(http, target, max_bytes)
    if data is None:
        return None  # not worth a cache entry
    return await asyncio.to_thread(_write_atomic, path, data)


def _write_atomic(path: Path, data: bytes) -> Path | None:
    try:
        paths.ensure_private_dir(path.parent)  # which images were looked at is the user's business
        paths.write_atomic(path, data, mode=0o600)
    except OSError as exc:  # a full or read-only cache only costs the preview
        log.debug("thumbnail cache write failed: %s", exc)
        return None
    return path


def within_budget(size: tuple[int, int], pillow_limit: int | None = None) -> bool:
    """Whether an image of `size` (from its header) may be decoded: at most `MAX_PIXELS` pixels,
    and under Pillow's own guard when one is set."""
    width, height = size
    limit = MAX_PIXELS if pillow_limit is None else min(MAX_PIXELS, pillow_limit)
    return width > 0 and height > 0 and width * height <= limit


def decode(path: Path, cols: int, rows: int) -> Pixels | None:
    """The image fitted into `cols` × 2·`rows` pixels as rows of (top, bottom) pairs, or None."""
    if cols < 1 or rows < 1:
        return None
    from PIL import Image, ImageOps  # deferred: the first frame must not wait for Pillow

    box = (cols, rows * 2)
    try:
        with Image.open(path) as img:  # reads the header only: nothing is decoded yet
            if not within_budget(img.size, Image.MAX_IMAGE_PIXELS):
                return None
            img.draft("RGB", box)  # JPEG decodes at a reduced scale: much faster
            if img.mode not in ("1", "P"):  # palette images resize badly: converted first
                img.thumbnail(box)  # shrink in the source mode, so the RGB copy is small
            small = img.convert("RGB")
            small.thumbnail(box)
            if small.width < cols and small.height < rows * 2:
                # `thumbnail` only shrinks: an icon-sized image would sit in a corner of the box.
                small = ImageOps.contain(small, box, Image.Resampling.NEAREST)
            width, height = small.size
            raw = small.tobytes()  # RGB, row by row: 3 bytes a pixel
    except Exception as exc:  # Pillow raises many types on hostile files; a preview never crashes
        log.debug("thumbnail decode failed: %s", type(exc).__name__)
        return None

    def pixel(x: int, y: int) -> RGB:
        i = 3 * (y * width + x)
        return (raw[i], raw[i + 1], raw[i + 2])

    return [
        [(pixel(x, y), pixel(x, y + 1) if y + 1 < height else None) for x in range(width)]
        for y in range(0, height, 2)
    ]


def prune(cache_dir: Path, keep: int = MAX_CACHED) -> int:
    """Delete all but the `keep` most recently written files of the cache; returns how many went."""
    try:
        files = [(p.stat().st_mtime, p) for p in cache_dir.iterdir() if p.is_file()]
    except OSError:
        return 0
    files.sort(reverse=True)
    removed = 0
    for _, path in files[keep:]:
        with contextlib.suppress(OSError):
            path.unlink()
            removed += 1
    return removed


async def decode_async(path: Path, cols: int, rows: int) -> Pixels | None:
    """`decode` in a thread: decoding a JPEG can take tens of milliseconds."""
    return await asyncio.to_thread(decode, path, cols, rows)


class Thumbnails:
    """The app's preview source: a plain client (no auth, ever) and the cache folder."""

    def __init__(
        self,
        cache_dir: Path | None = None,
        http: httpx.AsyncClient | None = None,
        max_bytes: int = MAX_BYTES,
    ) -> None:
        self.cache_dir = cache_dir if cache_dir is not None else thumbnails_dir()
        self.max_bytes = max_bytes
        self._http = http
        self._own_http = http is None
        self._failed: set[str] = set()  # URLs that failed this session: arrows don't re-ask
        self._pruned = False

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=True)
        return self._http

    async def fetch(self, url: str) -> Path | None:
        """The cached small rendition of `url`, fetching it once; None when there is none."""
        if url in self._failed:
            return None
        if not self._pruned:  # once a session, in a thread: the folder may hold thousands
            self._pruned = True
            await asyncio.to_thread(prune, self.cache_dir)
        path = await fetch_thumbnail(self._client(), url, self.cache_dir, self.max_bytes)
        if path is None:
            self._failed.add(url)
        return path

    def forget_failures(self) -> None:
        """Ask again for URLs that failed (the user switched previews back on)."""
        self._failed.clear()

    async def aclose(self) -> None:
        """Close the client if this object made it."""
        if self._http is not None and self._own_http:
            await self._http.aclose()
        self._http = None
