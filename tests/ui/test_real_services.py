"""The app over its real services — engine, database, Civitai client — against the fake hub.

The fast UI tests use fakes that implement the same protocols; this one proves the real parts fit
together along the path a user takes: search → detail → `d` → queue "done" → file on disk.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from modella_tui.core import config
from modella_tui.ui.app import make_app
from modella_tui.ui.screens.browser import BrowserScreen
from modella_tui.ui.screens.detail import DetailScreen
from modella_tui.ui.screens.queue import QueueScreen
from modella_tui.ui.wiring import build_services
from tests.fakes.fakehub import FakeHub


async def until(pilot: Pilot[Any], done: Callable[[], bool], seconds: float = 60) -> None:
    """Let the app (and its engine's threads) work until `done()`."""
    async with asyncio.timeout(seconds):
        while not done():
            await pilot.pause(0.05)


async def test_search_detail_download_done_with_the_real_services(
    fakehub: FakeHub, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MODELLA_CIVITAI_URL", fakehub.civitai_url)
    monkeypatch.setenv("HF_ENDPOINT", fakehub.hub_url)
    settings = config.load()
    app = make_app(settings, build_services(settings))
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, app.ready.is_set)
        screen = app.screen
        assert isinstance(screen, BrowserScreen)
        await pilot.press("slash", *"Ink Wash LoRA", "enter")
        await until(pilot, lambda: any(m.name == "Ink Wash LoRA" for m in screen.grid.cards))
        while screen.grid.current is None or screen.grid.current.name != "Ink Wash LoRA":
            await pilot.press("right")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DetailScreen))
        detail = app.screen
        assert isinstance(detail, DetailScreen)
        await until(pilot, lambda: not detail.workers)
        assert detail.version is not None and detail.version.name == "v2.0"
        await pilot.press("d")
        await pilot.press("4")
        await until(pilot, lambda: isinstance(app.screen, QueueScreen))
        queue = app.screen
        assert isinstance(queue, QueueScreen)
        await until(pilot, lambda: [i.state for i in queue.items.values()] == ["done"])
        library = app.services.library
        assert library is not None
        for _ in range(100):  # the index takes the landed file in as the engine reports it
            indexed = {os.path.basename(f.path) for f in (await library.snapshot()).files}
            if "inkWashLora_v20.safetensors" in indexed:
                break
            await pilot.pause(0.05)
        assert "inkWashLora_v20.safetensors" in indexed
    landed = Path(settings.models_dir) / "Lora" / "inkWashLora_v20.safetensors"
    model = fakehub.catalog.find_model("Ink Wash LoRA")
    published = model.versions[0].files[0].blob.sha256
    assert hashlib.sha256(landed.read_bytes()).hexdigest() == published
    assert (landed.parent / "inkWashLora_v20.civitai.info").is_file()
