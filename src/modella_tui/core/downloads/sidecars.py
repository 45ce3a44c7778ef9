"""Files Forge, A1111 and Civitai Helper read next to a model: info, preview, Forge JSON."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import os
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import httpx

from modella_tui.core.downloads.partmeta import WEIGHT_SUFFIXES, umask_hides
from modella_tui.core.thumbnails import fetch_image

PREVIEW_MAX = 20 * 1024 * 1024
SIDECAR_MODE = 0o644


def sidecar_paths(model_path: Path) -> dict[str, Path]:
    """The sidecars of a model file, by kind."""
    stem = model_path.name.rsplit(".", 1)[0] if "." in model_path.name else model_path.name
    folder = model_path.parent
    return {
        "info": folder / f"{stem}.civitai.info",
        "preview": folder / f"{stem}.preview.png",
        "forge": folder / f"{stem}.json",
    }


def forge_json(meta: dict[str, Any], base_model: str) -> dict[str, Any]:
    """The Forge/A1111 Extra Networks card data."""
    words = [str(w).strip() for w in meta.get("trained_words") or [] if str(w).strip()]
    return {
        "description": str(meta.get("description") or ""),
        "sd version": base_model,
        "activation text": ", ".join(words),
        "preferred weight": 0,
        "notes": "",
    }


def write_new(path: Path, data: bytes) -> bool:
    """Write a file only if its name is free (like a model file, never over another); True if so.

    Written whole into a file without a name, then linked to it: `link` fails on an existing
    name, so nothing is ever replaced, and a reader never sees half a file. One change to the
    folder instead of three (create, link, remove a temporary name): the folder is busy with the
    other downloads' files. Where nameless files are not supported, a temporary name is used.
    """
    folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        try:
            flags = os.O_TMPFILE | os.O_WRONLY | os.O_CLOEXEC
            fd = os.open(".", flags, SIDECAR_MODE, dir_fd=folder)
        except AttributeError:  # not Linux
            return _write_new_named(path, data)
        except OSError as exc:
            if exc.errno in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
                return _write_new_named(path, data)
            raise
        try:
            _write_all(fd, data)
            if umask_hides(SIDECAR_MODE):
                os.fchmod(fd, SIDECAR_MODE)  # Forge and ComfyUI may run as another user
            try:
                # linkat(AT_SYMLINK_FOLLOW) on /proc/self/fd/N gives the nameless file its name.
                os.link(f"/proc/self/fd/{fd}", path.name, dst_dir_fd=folder, follow_symlinks=True)
            except FileExistsError:
                return False
            except OSError as exc:
                if exc.errno not in (errno.ENOENT, errno.EXDEV, errno.EPERM, errno.EACCES):
                    raise
                return _write_new_named(path, data)  # no usable /proc here
            return True
        finally:
            os.close(fd)
    finally:
        os.close(folder)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _write_new_named(path: Path, data: bytes) -> bool:
    """`write_new` with a temporary name, linked into place, then removed."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    try:
        try:
            _write_all(fd, data)
            os.fchmod(fd, SIDECAR_MODE)  # Forge and ComfyUI may run as another user
        finally:
            os.close(fd)
        try:
            os.link(tmp, path, follow_symlinks=False)
        except FileExistsError:
            return False
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def stem_shared(model_path: Path) -> bool:
    """True when another model file shares this one's stem: its sidecars would be ambiguous."""
    stem = model_path.name.rsplit(".", 1)[0] if "." in model_path.name else model_path.name
    for ext in WEIGHT_SUFFIXES:
        other = model_path.with_name(stem + ext)
        if other != model_path and os.path.lexists(other):
            return True
    return False


def write_text_sidecars(model_path: Path, meta: dict[str, Any], base_model: str) -> list[Path]:
    """Write `.civitai.info` and the Forge `.json` where their names are free; return what was."""
    if stem_shared(model_path):
        return []  # `foo.ckpt` beside `foo.safetensors`: the sidecars are the other file's
    return _write_text(model_path, meta, base_model)


def _write_text(model_path: Path, meta: dict[str, Any], base_model: str) -> list[Path]:
    out = sidecar_paths(model_path)
    written = []
    version = meta.get("version_json")
    if isinstance(version, dict):
        body = json.dumps(version, indent=2, ensure_ascii=False).encode()
        if write_new(out["info"], body):
            written.append(out["info"])
    # The Forge card is the user's to edit (preferred weight, notes): made once, never overwritten.
    card = json.dumps(forge_json(meta, base_model), indent=2, ensure_ascii=False).encode()
    if write_new(out["forge"], card):
        written.append(out["forge"])
    return written


async def fetch_preview_bytes(client: httpx.AsyncClient, url: str, timeout: float) -> bytes | None:
    """The preview image, fetched without credentials; None on any problem (best effort)."""
    try:
        async with asyncio.timeout(timeout * 2):
            return await fetch_image(client, url, PREVIEW_MAX, timeout=timeout)
    except TimeoutError:
        return None


async def fetch_preview(client: httpx.AsyncClient, url: str, dest: Path, timeout: float) -> bool:
    """Download the preview image without credentials; best effort (False on any problem)."""
    body = await fetch_preview_bytes(client, url, timeout)
    if body is None:
        return False
    try:
        return await asyncio.to_thread(write_new, dest, body)
    except OSError:
        return False


def preview_url(meta: dict[str, Any]) -> str | None:
    """The preview image's URL in a file's sidecar metadata, if any."""
    url = meta.get("preview_url")
    return url if isinstance(url, str) and url else None


async def write_sidecars(
    client: httpx.AsyncClient,
    model_path: Path,
    meta: dict[str, Any],
    base_model: str,
    timeout: float,
    preview: Awaitable[bytes | None] | None = None,
) -> None:
    """All Civitai sidecars; failures never fail the download.

    `preview` is the preview image when it was fetched while the file downloaded (the engine
    does); else it is fetched here. All three files are then written in one worker-thread trip.
    """
    url = preview_url(meta)
    if preview is None and url is not None:
        preview = fetch_preview_bytes(client, url, timeout)
    body = None
    if preview is not None:
        with contextlib.suppress(Exception):
            body = await preview
    with contextlib.suppress(OSError, TypeError, ValueError):
        await asyncio.to_thread(_write_all_sidecars, model_path, meta, base_model, body)


def _write_all_sidecars(
    model_path: Path, meta: dict[str, Any], base_model: str, preview: bytes | None
) -> None:
    """The text sidecars and the preview (in a worker thread: looking names up in a folder other
    downloads are writing to is slow on the event loop)."""
    if stem_shared(model_path):
        return  # `foo.ckpt` beside `foo.safetensors`: the sidecars are the other file's
    with contextlib.suppress(OSError, TypeError, ValueError):
        _write_text(model_path, meta, base_model)
    dest = sidecar_paths(model_path)["preview"]
    if preview is not None and not os.path.lexists(dest):
        write_new(dest, preview)
