"""Screens as pictures: fixed data, no clocks, no spinners (update with `--snapshot-update`).

Each snapshot is an SVG under `__snapshots__/test_snapshots/`; look at the failure report that
pytest-textual-snapshot writes (`snapshot_report.html`) before accepting a change.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input
from textual.worker import WorkerCancelled

from modella_tui.core import i18n
from modella_tui.core.config import Secret, Settings
from modella_tui.core.lists import ListStore
from modella_tui.core.store.db import Database
from modella_tui.ui.app import ModellaApp, make_app
from modella_tui.ui.messages import ProgressInfo, QueueProgress
from modella_tui.ui.screens.detail import DetailScreen
from modella_tui.ui.screens.library import LibraryScreen
from modella_tui.ui.screens.lists import ListsScreen
from modella_tui.ui.screens.modals.add_to_list import AddToListScreen
from modella_tui.ui.screens.queue import QueueScreen
from modella_tui.ui.services import Services
from tests.ui.fakes import FakeEngine, FakeLibrary
from tests.ui.snapdata import (
    FixedCivitai,
    fill_lists,
    fixed_hub,
    fixed_library,
    library_snapshot,
    list_planner,
    list_queue,
    queue_items,
)

SnapCompare = Callable[..., bool]
SIZES = {"80x24": (80, 24), "120x40": (120, 40)}
SCREENS = (
    "browser", "detail", "queue", "library", "lists", "settings", "dashboard", "hub", "usage",
)  # fmt: skip
LIBRARY_SCREENS = frozenset({"dashboard", "hub", "usage"})
"""Screens shown over a models folder with files (the dashboard is then the start screen)."""
JA = i18n.locales_dir() / "ja.json"


def snapshot_app(
    tmp_path: Path,
    theme: str,
    language: str = "en",
    *,
    lists: bool = False,
    library: str = "",
) -> ModellaApp:
    """The app over fixed data; settings live only in this test's folder.

    With `lists`, a state database holds three lists, two of their files lie in a models folder
    of the test's own, and the text encoder is on its way in the queue. With `library`, the models
    folder holds files (the dashboard is then the start screen): `usage` the few files the usage
    screens chart, `library` one of each thing the Library shows.
    """
    models = tmp_path / "models" if lists else Path("/workspace/models")
    settings = Settings(
        path=tmp_path / "config.toml",
        env={},
        file_data={
            "theme": theme,
            "language": language,
            "models_dir": str(models),
            "civitai": {"api_key": Secret("snapshotkey-0000-cdef")},
        },
    )
    engine = FakeEngine()
    for item in queue_items() + (list_queue() if lists else []):
        engine.put(item)
    services = Services(settings=settings, civitai=FixedCivitai(), engine=engine)
    if lists:
        asyncio.run(fill_lists(tmp_path / "state.db", models))
        services.db = Database(tmp_path / "state.db")
        services.lists = ListStore(services.db)
        services.plan_ref = list_planner()
    if library == "usage":
        services.library = fixed_library()
        services.hub = fixed_hub()
    elif library == "library":
        services.library = FakeLibrary(library_snapshot())
    return make_app(settings, services)


def library_kind(screen: str) -> str:
    """Which models folder a screen's snapshot is drawn over."""
    if screen == "library":
        return "library"
    return "usage" if screen in LIBRARY_SCREENS else ""


@pytest.fixture(autouse=True)
def fixed_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 2 TB volume with 613 GB free, whatever machine draws the snapshot."""
    gib = 1024**3
    usage = shutil._ntuple_diskusage(2048 * gib, 1435 * gib, 613 * gib)
    monkeypatch.setattr("modella_tui.core.usage.shutil.disk_usage", lambda _path: usage)


async def settle(pilot: Pilot[Any]) -> None:
    """Every worker done, every message handled, no toast, no blinking cursor."""
    app = pilot.app
    for _ in range(3):
        while True:
            try:
                await app.workers.wait_for_complete()
            except WorkerCancelled:  # an exclusive reload replaced another one
                continue
            break
        await pilot.pause()
    for box in app.screen.query(Input):
        box.cursor_blink = False
    app.clear_notifications()
    await pilot.pause()


def go_to(screen: str) -> Callable[[Pilot[Any]], Awaitable[None]]:
    """A `run_before` that opens `screen` and waits until it is still."""

    async def run(pilot: Pilot[Any]) -> None:
        app = pilot.app
        await settle(pilot)
        if screen == "detail":
            await pilot.press("right", "enter")  # the second card: a long name, CJK tags
            await settle(pilot)
            assert isinstance(app.screen, DetailScreen)
        elif screen == "queue":
            await pilot.press("4")
            await settle(pilot)
            assert isinstance(app.screen, QueueScreen)
            # Progress goes to the screen directly: the bridge's 10 Hz throttle depends on time.
            app.screen.post_message(
                QueueProgress(
                    {
                        1: ProgressInfo(
                            done=61_000_000, total=152_000_000, speed_bps=48_500_000.0, eta_s=2.0
                        )
                    }
                )
            )
            await pilot.pause()
        elif screen == "library":
            await pilot.press("5")
            await settle(pilot)
            assert isinstance(app.screen, LibraryScreen)
            # Into Civitai → LORA → the ink model, cursor on its file: badges and the info pane.
            await pilot.press(*["down"] * 6, "right", "down", "right", "down")
            await settle(pilot)
        elif screen == "settings":
            await pilot.press("8")
            await settle(pilot)
        elif screen == "lists":
            await pilot.press("6")
            await settle(pilot)
            assert isinstance(app.screen, ListsScreen)
        elif screen == "add-to-list":
            await pilot.press("a")
            await settle(pilot)
            assert isinstance(app.screen, AddToListScreen)
        elif screen == "hub":
            await pilot.press("3")
            await settle(pilot)
            # The SDXL base package open and marked: file lines with their folders and sizes.
            await pilot.press("down", "down", "right", "space")
            await settle(pilot)
        elif screen in ("dashboard", "usage"):
            await pilot.press("1" if screen == "dashboard" else "7")
            await settle(pilot)
            progress = ProgressInfo(
                done=61_000_000, total=152_000_000, speed_bps=48_500_000.0, eta_s=2.0
            )
            app.screen.post_message(QueueProgress({1: progress}))
            await pilot.pause()

    return run


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("theme", ["dark", "light"])
@pytest.mark.parametrize("screen", SCREENS)
def test_screen(
    snap_compare: SnapCompare, tmp_path: Path, screen: str, theme: str, size: str
) -> None:
    """Each main screen in the dark and light themes, small and large."""
    app = snapshot_app(tmp_path, theme, lists=screen == "lists", library=library_kind(screen))
    assert snap_compare(app, terminal_size=SIZES[size], run_before=go_to(screen))


@pytest.mark.parametrize("size", SIZES)
def test_add_to_list(snap_compare: SnapCompare, tmp_path: Path, size: str) -> None:
    """`a` on a card: the lists to pick from, the one used last highlighted, a field for a new one."""
    app = snapshot_app(tmp_path, "dark", lists=True)
    assert snap_compare(app, terminal_size=SIZES[size], run_before=go_to("add-to-list"))


@pytest.mark.skipif(not JA.exists(), reason="locales/ja.json is not there yet")
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("screen", ["browser", "detail", "library", "lists", "hub", "usage"])
def test_japanese(snap_compare: SnapCompare, tmp_path: Path, screen: str, size: str) -> None:
    """Japanese labels with Japanese model names: wide text must not break the borders."""
    app = snapshot_app(
        tmp_path,
        "dark",
        language="ja",
        lists=screen == "lists",
        library=library_kind(screen),
    )
    assert snap_compare(app, terminal_size=SIZES[size], run_before=go_to(screen))
