"""The queue screen: rows from the engine, live progress, keys that call the engine."""

from __future__ import annotations

from modella_tui.core.downloads.events import ItemAdded, Progress, StateChanged
from modella_tui.ui.app import ModellaApp
from modella_tui.ui.messages import QueueProgress
from modella_tui.ui.screens.queue import QueueScreen
from tests.ui.conftest import SIZE
from tests.ui.fakes import FakeEngine, FakeItem


async def test_rows_progress_and_actions(app: ModellaApp, engine: FakeEngine) -> None:
    engine.put(FakeItem(1, "[b]Model[/b]", "a.safetensors", state="running", expected_size=1000))
    engine.put(FakeItem(2, "Other", "b.safetensors", state="done", expected_size=10))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        screen = app.screen
        assert isinstance(screen, QueueScreen)
        await app.workers.wait_for_complete()
        await screen.workers.wait_for_complete()
        table = screen.table
        assert table.row_count == 2
        assert str(table.get_cell("1", "title")) == "[b]Model[/b]"  # literal, not bold markup
        engine.emit(Progress(1, 500, 1000, 2_000_000.0, 3.0))
        await pilot.pause()
        await pilot.pause()
        assert str(table.get_cell("1", "pct")) == "50%"
        assert "MB/s" in str(table.get_cell("1", "speed"))
        await pilot.press("p")
        await screen.workers.wait_for_complete()
        assert ("pause", 1) in engine.calls
        await screen.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("p")
        await screen.workers.wait_for_complete()
        assert ("resume", 1) in engine.calls
        await pilot.press("c")
        await screen.workers.wait_for_complete()
        assert ("cancel", 1) in engine.calls
        await pilot.press("r")
        await screen.workers.wait_for_complete()
        assert ("retry", 1) in engine.calls
        await pilot.press("x")
        await screen.workers.wait_for_complete()
        await pilot.pause()
        await screen.workers.wait_for_complete()
        assert table.row_count == 0


async def test_new_items_and_failures_reach_the_user(app: ModellaApp, engine: FakeEngine) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        screen = app.screen
        assert isinstance(screen, QueueScreen)
        engine.put(FakeItem(7, "New", "n.safetensors"))
        engine.emit(ItemAdded(7, "New", "n.safetensors"))
        await pilot.pause()
        await screen.workers.wait_for_complete()
        assert screen.table.row_count == 1
        engine.emit(StateChanged(7, "failed", "error.download"))
        await pilot.pause()
        await pilot.pause()
        assert any("New" in n.message for n in app._notifications)


def test_progress_messages_replace_each_other() -> None:
    a, b = QueueProgress({}), QueueProgress({})
    assert b.can_replace(a)
