"""The download queue: one keyed DataTable row per item, live from engine events."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.widgets import DataTable, Label
from textual.widgets.data_table import CellDoesNotExist, RowDoesNotExist

from modella_tui.core.errors import reason_text
from modella_tui.core.i18n import t
from modella_tui.core.protocols import QueueItemView
from modella_tui.ui.commands.queue_commands import QUEUE
from modella_tui.ui.messages import QueueChanged, QueueProgress
from modella_tui.ui.screens.base import NARROW, BaseScreen
from modella_tui.ui.textutil import clean, duration, human_size
from modella_tui.ui.widgets.progress_cell import percent, progress_bar

# State right after the title: at 80 columns what a download is doing must not need a scroll.
COLUMNS = ("title", "state", "bar", "pct", "speed", "eta", "file", "reason")
# Fixed widths for the cells that change with every tick (auto width would follow the first value).
WIDTHS = {"bar": 16, "pct": 4, "speed": 11, "eta": 8, "state": 10}
NARROW_WIDTHS = {**WIDTHS, "title": 18, "bar": 10}
FINISHED = frozenset({"done", "failed", "cancelled"})


class QueueScreen(BaseScreen):
    """Every download with progress, speed, ETA, state and reason."""

    COMMANDS_LIST = QUEUE
    TITLE_KEY = "ui.screen.queue"

    def __init__(self) -> None:
        super().__init__()
        self.states: dict[int, str] = {}
        self.items: dict[int, QueueItemView] = {}
        self.narrow = False

    def compose(self) -> ComposeResult:
        """A summary line, the table, the footer."""
        yield Label("", id="queue-summary", markup=False)
        yield DataTable(id="queue-table", cursor_type="row", zebra_stripes=True)
        # The highlighted row in full: its file and the reason of a failure, whatever the width.
        yield Label("", id="queue-current", markup=False)
        yield from self.compose_footer()

    def on_mount(self) -> None:
        """Columns, then the rows the engine has."""
        self._add_columns()
        self.table.focus()
        self._reload()

    def _add_columns(self) -> None:
        self.narrow = self.app.size.width < NARROW
        widths = NARROW_WIDTHS if self.narrow else WIDTHS
        for key in COLUMNS:
            self.table.add_column(t(f"ui.queue.col.{key}"), key=key, width=widths.get(key))

    def on_resize(self, event: events.Resize) -> None:
        """Crossing the narrow width: narrower title and bar columns so the state shows."""
        super().on_resize(event)
        if self.is_mounted and (event.size.width < NARROW) != self.narrow:
            self._rebuild_table()

    def relabel(self) -> None:
        """The language changed: headers, states and reasons again (the cursor row stays)."""
        super().relabel()
        if self.is_mounted:
            self._rebuild_table()

    def _rebuild_table(self) -> None:
        row = self.table.cursor_row
        self.table.clear(columns=True)
        self._add_columns()
        self._reload(cursor_row=row)

    @property
    def table(self) -> DataTable[Any]:
        """The queue table."""
        return self.query_one("#queue-table", DataTable)

    def on_queue_changed(self, message: QueueChanged) -> None:
        """Rebuild rows from the engine (items added, removed or changed state)."""
        if self.is_mounted:
            self._reload()

    @work(group="queue-reload", exclusive=True, exit_on_error=False)
    async def _reload(self, cursor_row: int | None = None) -> None:
        engine = self.modella.services.engine
        items = list(await engine.items()) if engine is not None else []
        table = self.table
        seen: set[str] = set()
        with self.app.batch_update():
            for item in items:
                key = str(item.id)
                seen.add(key)
                self.states[item.id] = item.state
                self.items[item.id] = item
                cells = self._cells(item)
                if key in table.rows:
                    for column, value in zip(COLUMNS, cells, strict=True):
                        table.update_cell(key, column, value, update_width=column == "reason")
                else:
                    table.add_row(*cells, key=key)
            for row_key in list(table.rows):
                if row_key.value not in seen:
                    table.remove_row(row_key)
                    if str(row_key.value).isdigit():
                        self.items.pop(int(str(row_key.value)), None)
        if cursor_row is not None and table.row_count:
            table.move_cursor(row=min(cursor_row, table.row_count - 1))
        self._show_current()
        running = sum(1 for i in items if i.state == "running")
        self.query_one("#queue-summary", Label).update(
            t("ui.queue.summary", total=len(items), running=running)
        )

    def _cells(self, item: QueueItemView) -> tuple[Text, ...]:
        done, total, state = item.bytes_done, item.expected_size, item.state
        cells = {
            "title": Text(clean(item.title), no_wrap=True, overflow="ellipsis"),
            "state": Text(t(f"ui.state.{state}") if state else ""),
            "bar": progress_bar(done, total),
            "pct": Text(percent(done, total)),
            "speed": Text(""),
            "eta": Text(""),
            "file": Text(clean(item.file_name), no_wrap=True, overflow="ellipsis"),
            "reason": Text(
                clean(reason_text(item.error, item.error_params)),
                style="bold" if state == "failed" else "",
            ),
        }
        return tuple(cells[key] for key in COLUMNS)

    def _show_current(self) -> None:
        """The line under the table: file, state and reason of the highlighted row."""
        item_id = self._selected_id()
        item = self.items.get(item_id) if item_id is not None else None
        text = ""
        if item is not None:
            state = item.state
            parts = [clean(item.file_name), t(f"ui.state.{state}") if state else ""]
            reason = clean(reason_text(item.error, item.error_params))
            text = " · ".join(p for p in (*parts, reason) if p)
        self.query_one("#queue-current", Label).update(text)

    @on(DataTable.RowHighlighted, "#queue-table")
    def _highlighted(self) -> None:
        self._show_current()

    def on_queue_progress(self, message: QueueProgress) -> None:
        """Keyed cell updates from the newest snapshot, in one frame."""
        if not self.is_mounted:
            return
        table = self.table
        with self.app.batch_update():
            self._apply_progress(table, message)

    def _apply_progress(self, table: DataTable[Any], message: QueueProgress) -> None:
        for item_id, p in message.snapshot.items():
            key = str(item_id)
            speed = f"{human_size(p.speed_bps)}/s" if p.speed_bps else ""
            try:
                table.update_cell(key, "bar", progress_bar(p.done, p.total))
                table.update_cell(key, "pct", Text(percent(p.done, p.total)))
                table.update_cell(key, "speed", Text(speed))
                table.update_cell(key, "eta", Text(duration(p.eta_s)))
            except (CellDoesNotExist, RowDoesNotExist):
                continue  # the row arrives with the next reload

    # ----- actions -----------------------------------------------------------------------------
    def _selected_id(self) -> int | None:
        table = self.table
        if not table.row_count:
            return None
        try:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        except CellDoesNotExist:
            return None
        return int(str(key.value)) if key.value and str(key.value).isdigit() else None

    def _call(self, action: Callable[[], Awaitable[None]]) -> None:
        async def run() -> None:
            await action()
            self._reload()

        self.run_worker(run(), group="queue-action", exit_on_error=False)

    def _on_selected(self, act: Callable[[int], Awaitable[None]]) -> None:
        item_id = self._selected_id()
        if item_id is not None:
            self._call(lambda: act(item_id))

    def action_cancel_item(self) -> None:
        """Cancel the selected download."""
        if (engine := self.modella.services.engine) is not None:
            self._on_selected(engine.cancel)

    def action_pause_resume(self) -> None:
        """Pause a running/pending download, resume a paused one."""
        engine = self.modella.services.engine
        item_id = self._selected_id()
        if engine is None or item_id is None:
            return
        act = engine.resume if self.states.get(item_id) == "paused" else engine.pause
        self._call(lambda: act(item_id))

    def action_retry_item(self) -> None:
        """Retry the selected download."""
        if (engine := self.modella.services.engine) is not None:
            self._on_selected(engine.retry)

    def action_clear_finished(self) -> None:
        """Remove done, failed and cancelled rows."""
        if (engine := self.modella.services.engine) is not None:
            self._call(engine.clear_finished)
