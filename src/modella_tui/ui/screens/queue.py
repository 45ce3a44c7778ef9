"""The download queue: one keyed row per item, live from engine events."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from functools import partial

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.widgets import DataTable, Label

from modella_tui.core.errors import reason_text
from modella_tui.core.i18n import t
from modella_tui.core.protocols import QueueItemView
from modella_tui.ui.columns import Column
from modella_tui.ui.commands.queue_commands import QUEUE
from modella_tui.ui.messages import QueueChanged, QueueProgress
from modella_tui.ui.screens.base import BaseScreen
from modella_tui.ui.textutil import clean, duration, human_size
from modella_tui.ui.widgets.fit_table import Cell, FitTable
from modella_tui.ui.widgets.progress_cell import percent, progress_bar

# State right after the title: at 80 columns what a download is doing must not need a scroll.
# The file keeps its end (the version part) and goes before the bar when room is short; the
# reason shows only when it fits whole, else the line under the table carries it.
COLUMNS = (
    Column("title", 14, 1, shrink=True),
    Column("state", 9, 0),
    Column("bar", 10, 3, maximum=16),
    Column("pct", 4, 0, maximum=4),
    Column("speed", 10, 4, maximum=10),
    Column("eta", 7, 5, maximum=7),
    Column("file", 24, 0, fill=True),
    Column("reason", 0, 6, whole=True),
)
WITHOUT_REASON = COLUMNS[:-1]


class QueueScreen(BaseScreen):
    """Every download with progress, speed, ETA, state and reason."""

    COMMANDS_LIST = QUEUE
    TITLE_KEY = "ui.screen.queue"
    MODE = "queue"

    def __init__(self) -> None:
        super().__init__()
        self.states: dict[int, str] = {}
        self.items: dict[int, QueueItemView] = {}

    def compose(self) -> ComposeResult:
        """The screens bar, a summary line, the table (or what to do when empty), the footer."""
        yield from self.compose_header()
        yield Label("", id="queue-summary", markup=False)
        yield FitTable(
            COLUMNS, middle_cut=frozenset({"file"}), id="queue-table", zebra_stripes=True
        )
        yield Label("", id="queue-empty", markup=False)
        # The highlighted row in full: its file and the reason of a failure, whatever the width.
        yield Label("", id="queue-current", markup=False)
        yield from self.compose_footer()

    def on_mount(self) -> None:
        """Headers, then the rows the engine has."""
        self._label_columns()
        self.table.focus()
        self._reload()

    def _label_columns(self) -> None:
        self.table.set_labels({c.key: t(f"ui.queue.col.{c.key}") for c in COLUMNS})

    def relabel(self) -> None:
        """The language changed: headers, states and reasons again (the cursor row stays)."""
        super().relabel()
        if self.is_mounted:
            self._label_columns()
            self._reload()

    @property
    def table(self) -> FitTable:
        """The queue table."""
        return self.query_one("#queue-table", FitTable)

    def on_queue_changed(self, message: QueueChanged) -> None:
        """Rebuild rows from the engine (items added, removed or changed state)."""
        if self.is_mounted:
            self._reload()

    @work(group="queue-reload", exclusive=True, exit_on_error=False)
    async def _reload(self) -> None:
        engine = self.modella.services.engine
        items: Sequence[QueueItemView] = list(await engine.items()) if engine is not None else []
        self.items = {item.id: item for item in items}
        self.states = {item.id: item.state for item in items}
        with self.app.batch_update():
            table = self.table
            # A reason column only while some row has a reason to show.
            table.specs = COLUMNS if any(i.error for i in items) else WITHOUT_REASON
            table.set_rows([(str(item.id), self._cells(item)) for item in items])
            self._show_empty(not items)
        self._show_current()
        running = sum(1 for i in items if i.state == "running")
        failed = sum(1 for i in items if i.state == "failed")
        summary = t("ui.queue.summary", total=len(items), running=running)
        if failed:
            summary += " · " + t("ui.queue.summary_failed", count=failed)
        self.query_one("#queue-summary", Label).update(summary)

    def _show_empty(self, empty: bool) -> None:
        self.table.display = not empty
        label = self.query_one("#queue-empty", Label)
        label.display = empty
        label.update(t("ui.queue.empty") if empty else "")

    def _cells(self, item: QueueItemView) -> dict[str, Cell]:
        done, total, state = item.bytes_done, item.expected_size, item.state
        return {
            "title": Text(clean(item.title), no_wrap=True, overflow="ellipsis"),
            "state": Text(t(f"ui.state.{state}") if state else "", style=_state_style(state)),
            "bar": partial(progress_bar, done, total),
            "pct": Text(percent(done, total)),
            "speed": Text(""),
            "eta": Text(""),
            "file": Text(clean(item.file_name), no_wrap=True),
            "reason": Text(clean(reason_text(item.error, item.error_params)), no_wrap=True),
        }

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
            for item_id, p in message.snapshot.items():
                speed = f"{human_size(p.speed_bps)}/s" if p.speed_bps else ""
                table.update_cells(
                    str(item_id),
                    {
                        "bar": partial(progress_bar, p.done, p.total),
                        "pct": Text(percent(p.done, p.total)),
                        "speed": Text(speed),
                        "eta": Text(duration(p.eta_s)),
                    },
                )

    # ----- actions -----------------------------------------------------------------------------
    def _selected_id(self) -> int | None:
        key = self.table.current_key if self.table.display else None
        return int(key) if key is not None and key.isdigit() else None

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


def _state_style(state: str) -> str:
    """Failed stands out by weight as well as colour."""
    return "bold" if state == "failed" else ""
