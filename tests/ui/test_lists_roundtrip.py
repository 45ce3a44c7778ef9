"""A list made in the app provisions another pod: export, import on a clean state folder, sync.

The app runs over its real services against the fake hub; the rest is the command line a pod
start script would run, each step in a state folder (`MODELLA_HOME`) of its own.
"""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from modella_tui.core import config
from modella_tui.ui.add_to_list import add_to_list
from modella_tui.ui.app import make_app
from modella_tui.ui.screens.browser import BrowserScreen
from modella_tui.ui.screens.detail import DetailScreen
from modella_tui.ui.screens.modals.add_to_list import AddToListScreen
from modella_tui.ui.wiring import build_services
from tests.conftest import RunCli
from tests.fakes.fakehub import FakeHub

CLIP_REPO = "comfyanonymous/flux_text_encoders"
CLIP = f"hf:{CLIP_REPO}/clip_l.safetensors"


async def until(pilot: Pilot[Any], done: Callable[[], bool], seconds: float = 60) -> None:
    async with asyncio.timeout(seconds):
        while not done():
            await pilot.pause(0.05)


def rows(home: Path, sql: str) -> list[tuple[Any, ...]]:
    con = sqlite3.connect(home / "modella.db")
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def state(tmp_path: Path, name: str) -> dict[str, str]:
    """The environment of a fresh pod: its own state folder and models folder."""
    return {
        "MODELLA_HOME": str(tmp_path / name / "state"),
        "MODELLA_MODELS_DIR": str(tmp_path / name / "models"),
    }


async def make_the_list_in_the_app(fakehub: FakeHub) -> None:
    """`a` in the Civitai detail pane, then the Hub screen's way in (`add_to_list`)."""
    settings = config.load()
    app = make_app(settings, build_services(settings))
    lists = app.services.lists
    assert lists is not None
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, app.ready.is_set)
        browser = app.screen
        assert isinstance(browser, BrowserScreen)
        await pilot.press("slash", *"Ink Wash LoRA", "enter")
        await until(pilot, lambda: any(m.name == "Ink Wash LoRA" for m in browser.grid.cards))
        while browser.grid.current is None or browser.grid.current.name != "Ink Wash LoRA":
            await pilot.press("right")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DetailScreen))
        detail = app.screen
        assert isinstance(detail, DetailScreen)
        await until(pilot, lambda: not detail.workers)
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, AddToListScreen))
        await pilot.press(*"Pod kit", "enter")
        await until(pilot, lambda: not app.workers)
        add_to_list(app, [(CLIP, None)], "Flux text encoders")
        await until(pilot, lambda: isinstance(app.screen, AddToListScreen))
        await pilot.press("enter")  # the list used last
        await until(pilot, lambda: not app.workers)
        items = await lists.items("Pod kit")
        assert [i.ref for i in items] == ["civitai:101@1012", CLIP]


async def test_a_list_made_in_the_app_provisions_a_fresh_pod_in_one_line(
    fakehub: FakeHub, run_cli: RunCli, tmp_path: Path
) -> None:
    await make_the_list_in_the_app(fakehub)
    kit = tmp_path / "kit.toml"
    exported = run_cli("lists", "export", "Pod kit", "--output", str(kit))
    assert exported.returncode == 0, exported.stderr

    pod = state(tmp_path, "pod")
    imported = run_cli("lists", "import", str(kit), env=pod)
    assert imported.returncode == 0, imported.stderr
    synced = run_cli("sync", "Pod kit", env=pod)
    assert synced.returncode == 0, synced.stderr
    models = Path(pod["MODELLA_MODELS_DIR"])
    ink = models / "Lora" / "inkWashLora_v20.safetensors"
    clip = models / "text_encoder" / "clip_l.safetensors"
    assert sha256_of(ink) == fakehub.version(1012).files[0].blob.sha256
    entry = fakehub.catalog.repos[CLIP_REPO].entry("clip_l.safetensors")
    assert entry is not None and sha256_of(clip) == entry.blob.sha256
    home = Path(pod["MODELLA_HOME"])
    assert sorted(rows(home, "SELECT path, verified FROM downloaded_models")) == sorted(
        [(str(ink), 1), (str(clip), 1)]
    )

    served = sum(r.bytes_sent for r in fakehub.log if r.blob_id)
    again = run_cli("sync", "Pod kit", env=pod)
    assert again.returncode == 0, again.stderr
    assert sum(r.bytes_sent for r in fakehub.log if r.blob_id) == served  # no byte moved

    # Another fresh pod: the file alone, no import.
    other = state(tmp_path, "other")
    direct = run_cli("sync", str(kit), env=other)
    assert direct.returncode == 0, direct.stderr
    other_models = Path(other["MODELLA_MODELS_DIR"])
    assert sha256_of(other_models / "Lora" / ink.name) == sha256_of(ink)
    assert (other_models / "text_encoder" / clip.name).is_file()
    assert rows(Path(other["MODELLA_HOME"]), "SELECT count(*) FROM lists") == [(0,)]
