"""Files Forge, A1111 and Civitai Helper read next to a model: info, preview, Forge JSON."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from pathlib import Path
from typing import Any

import httpx

from modella_tui.core import paths
from modella_tui.core.thumbnails import fetch_image

PREVIEW_MAX = 20 * 1024 * 1024


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


def _write_atomic(path: Path, data: bytes) -> None:
    paths.write_atomic(path, data, mode=0o644)  # Forge and ComfyUI may run as another user


def write_text_sidecars(model_path: Path, meta: dict[str, Any], base_model: str) -> list[Path]:
    """Write `.civitai.info` and the Forge `.json`; return what was written."""
    out = sidecar_paths(model_path)
    written = []
    version = meta.get("version_json")
    if isinstance(version, dict):
        _write_atomic(out["info"], json.dumps(version, indent=2, ensure_ascii=False).encode())
        written.append(out["info"])
    # The Forge card is the user's to edit (preferred weight, notes): made once, never overwritten.
    if not os.path.lexists(out["forge"]):
        card = forge_json(meta, base_model)
        _write_atomic(out["forge"], json.dumps(card, indent=2, ensure_ascii=False).encode())
        written.append(out["forge"])
    return written


async def fetch_preview(client: httpx.AsyncClient, url: str, dest: Path, timeout: float) -> bool:
    """Download the preview image without credentials; best effort (False on any problem)."""
    try:
        async with asyncio.timeout(timeout * 2):
            body = await fetch_image(client, url, PREVIEW_MAX, timeout=timeout)
    except TimeoutError:
        return False
    if body is None:
        return False
    try:
        await asyncio.to_thread(_write_atomic, dest, body)
    except OSError:
        return False
    return True


async def write_sidecars(
    client: httpx.AsyncClient,
    model_path: Path,
    meta: dict[str, Any],
    base_model: str,
    timeout: float,
) -> None:
    """All Civitai sidecars; failures never fail the download."""
    with contextlib.suppress(OSError, TypeError, ValueError):
        await asyncio.to_thread(write_text_sidecars, model_path, meta, base_model)
    url = meta.get("preview_url")
    if isinstance(url, str) and url and not os.path.lexists(sidecar_paths(model_path)["preview"]):
        await fetch_preview(client, url, sidecar_paths(model_path)["preview"], timeout)
