"""A DataTable whose columns fit its width by priority (`ui.columns`), names cut in the middle."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rich.text import Text
from textual import events
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, RowDoesNotExist

from modella_tui.ui.columns import Column, fit_columns, middle, natural_widths

SCROLLBAR = 2
"""Room kept for the vertical scrollbar, so a growing table does not reflow its columns."""

Cell = Text | Callable[[int], Text]
"""A cell's content, or a function drawing it at a width (a progress bar fills its column)."""
Cells = Mapping[str, Cell]


class FitTable(DataTable[Text]):
    """Rows are given whole (every column); the table shows the columns that fit, cut to size."""

    def __init__(
        self,
        columns: Sequence[Column],
        *,
        middle_cut: frozenset[str] = frozenset(),
        id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(id=id, cursor_type="row", **kwargs)
        self.specs = tuple(columns)
        self.middle_cut = middle_cut
        self.labels: dict[str, str] = {c.key: c.key for c in columns}
        self.full: dict[str, dict[str, Cell]] = {}
        self.fitted: dict[str, int] = {}

    # ----- data --------------------------------------------------------------------------------
    def set_labels(self, labels: Mapping[str, str]) -> None:
        """Column headers (translated); the next `set_rows` lays the table out again."""
        self.labels.update(labels)
        self.fitted = {}

    def set_rows(self, rows: Sequence[tuple[str, Cells]]) -> None:
        """Show exactly these rows, in this order; unchanged cells are left alone."""
        self.full = {key: dict(cells) for key, cells in rows}
        layout = self._fit()
        order = [key for key, _ in rows]
        current = [str(k.value) for k in self.rows]
        if layout != self.fitted or current != order[: len(current)]:
            self._rebuild(layout, order)
            return
        for key in order:
            if key in self.rows:
                self._update_row(key)
            else:
                self.add_row(*self._cells(key), key=key)

    def update_cells(self, key: str, cells: Cells) -> None:
        """Change some cells of one row (progress ticks); unknown rows are ignored."""
        row = self.full.get(key)
        if row is None:
            return
        row.update(cells)
        for column in cells:
            if column in self.fitted:
                try:
                    self.update_cell(key, column, self._cut(column, row[column]))
                except (CellDoesNotExist, RowDoesNotExist):
                    return

    @property
    def current_key(self) -> str | None:
        """The key of the highlighted row."""
        if not self.row_count:
            return None
        try:
            return str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)
        except CellDoesNotExist:
            return None

    # ----- layout ------------------------------------------------------------------------------
    def on_resize(self, event: events.Resize) -> None:
        """A new width may keep or drop columns."""
        if self.full and self._fit() != self.fitted:
            self._rebuild(self._fit(), list(self.full))

    def _fit(self) -> dict[str, int]:
        natural = natural_widths(
            self.labels,
            (
                {k: v.plain for k, v in cells.items() if isinstance(v, Text)}
                for cells in self.full.values()
            ),
        )
        for spec in self.specs:
            if spec.maximum is not None and any(
                callable(cells.get(spec.key)) for cells in self.full.values()
            ):
                natural[spec.key] = spec.maximum
        width = max(10, (self.size.width or self.app.size.width) - SCROLLBAR)
        return fit_columns(self.specs, width, natural)

    def _rebuild(self, layout: dict[str, int], order: Sequence[str]) -> None:
        keep = self.current_key
        self.clear(columns=True)
        self.fitted = layout
        for key, width in layout.items():
            self.add_column(self.labels.get(key, key), key=key, width=width)
        for key in order:
            self.add_row(*self._cells(key), key=key)
        if keep is not None and keep in self.rows:
            self.move_cursor(row=self.get_row_index(keep))

    def _update_row(self, key: str) -> None:
        row = self.full[key]
        for column in self.fitted:
            value = self._cut(column, row.get(column, Text("")))
            if self.get_cell(key, column) != value:
                self.update_cell(key, column, value)

    def _cells(self, key: str) -> list[Text]:
        row = self.full[key]
        return [self._cut(column, row.get(column, Text(""))) for column in self.fitted]

    def _cut(self, column: str, value: Cell) -> Text:
        width = self.fitted.get(column, 0)
        if callable(value):
            return value(width)
        if column in self.middle_cut and value.cell_len > width:
            return Text(middle(value.plain, width), style=value.style, no_wrap=True)
        return value
