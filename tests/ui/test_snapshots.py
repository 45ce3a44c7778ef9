"""Screens as pictures: fixed data, no clocks, no spinners (update with `--snapshot-update`).

Each snapshot is an SVG under `__snapshots__/test_snapshots/`; look at the failure report that
pytest-textual-snapshot writes (`snapshot_report.html`) before accepting a change.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from modella_tui.core import i18n
from modella_tui.core.config import Secret, Settings
from modella_tui.ui.app import ModellaApp, make_app
from modella_tui.ui.messages import ProgressInfo, QueueProgress
from modella_tui.ui.screens.detail import DetailScreen
from modella_tui.ui.screens.library import LibraryScreen
from modella_tui.ui.screens.queue import QueueScreen
from modella_tui.ui.services import Services
from tests.ui.fakes import FakeEngine, FakeLibrary
from tests.ui.snapdata import FixedCivitai, library_snapshot, queue_items

SnapCompare = Callable[..., bool]
SIZES = {"80x24": (80, 24), "120x40": (120, 40)}
SCREENS = ("browser", "detail", "queue", "library", "settings")
JA = i18n.locales_dir() / "ja.json"


def snapshot_app(tmp_path: Path, theme: str, language: str = "en") -> ModellaApp:
    """The app over fixed data; settings live only in this test's folder."""
    settings = Settings(
        path=tmp_path / "config.toml",
        env={},
        file_data={
            "theme": theme,
            "language": language,
            "models_dir": "/workspace/models",
            "civitai": {"api_key": Secret("snapshotkey-0000-cdef")},
        },
    )
    engine = FakeEngine()
    for item in queue_items():
        engine.put(item)
    library = FakeLibrary(library_snapshot())
    services = Services(settings=settings, civitai=FixedCivitai(), engine=engine, library=library)
    return make_app(settings, services)


async def settle(pilot: Pilot[Any]) -> None:
    """Every worker done, every message handled, no toast, no blinking cursor."""
    app = pilot.app
    for _ in range(3):
        await app.workers.wait_for_complete()
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

    return run


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("theme", ["dark", "light"])
@pytest.mark.parametrize("screen", SCREENS)
def test_screen(
    snap_compare: SnapCompare, tmp_path: Path, screen: str, theme: str, size: str
) -> None:
    """Each main screen in the dark and light themes, small and large."""
    app = snapshot_app(tmp_path, theme)
    assert snap_compare(app, terminal_size=SIZES[size], run_before=go_to(screen))


@pytest.mark.skipif(not JA.exists(), reason="locales/ja.json is not there yet")
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("screen", ["browser", "detail", "library"])
def test_japanese(snap_compare: SnapCompare, tmp_path: Path, screen: str, size: str) -> None:
    """Japanese labels with Japanese model names: wide text must not break the borders."""
    app = snapshot_app(tmp_path, "dark", language="ja")
    assert snap_compare(app, terminal_size=SIZES[size], run_before=go_to(screen))
