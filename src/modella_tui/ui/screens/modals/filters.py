"""The browser's filters: sort, period, types and base models (multi-select), NSFW."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Label, Select, SelectionList

from modella_tui.core.i18n import t
from modella_tui.ui.filters import (
    BASE_MODELS,
    PERIODS,
    SORTS,
    TYPES,
    FilterState,
    period_label,
    sort_label,
)


class FilterScreen(ModalScreen[FilterState | None]):
    """Edit the filters; `ctrl+s` or Apply returns them, `escape` keeps the old ones."""

    DEFAULT_CSS = """
    FilterScreen { align: center middle; }
    FilterScreen > Vertical {
        width: 90%; max-width: 110; height: 90%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    FilterScreen Horizontal.lists { height: 1fr; }
    FilterScreen SelectionList { width: 1fr; height: 1fr; }
    FilterScreen Horizontal.row { height: auto; }
    FilterScreen Select { width: 1fr; }
    FilterScreen Horizontal.buttons { height: auto; align-horizontal: right; }
    FilterScreen Button { margin-left: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", show=False),
        Binding("ctrl+s", "apply", show=False),
    ]

    def __init__(self, state: FilterState) -> None:
        super().__init__()
        self.state = state

    def compose(self) -> ComposeResult:
        """Two selects, two multi-select lists, a checkbox, two buttons."""
        s = self.state
        with Vertical():
            yield Label(t("ui.filters.title"))
            with Horizontal(classes="row"):
                yield Select(
                    [(sort_label(v), v) for v in SORTS], value=s.sort, allow_blank=False, id="sort"
                )
                yield Select(
                    [(period_label(v), v) for v in PERIODS],
                    value=s.period,
                    allow_blank=False,
                    id="period",
                )
            with Horizontal(classes="lists"):
                types = SelectionList[str](*[(v, v, v in s.types) for v in TYPES], id="types")
                types.border_title = t("ui.filters.types")
                yield types
                bases = SelectionList[str](
                    *[(v, v, v in s.base_models) for v in BASE_MODELS], id="bases"
                )
                bases.border_title = t("ui.filters.base_models")
                yield bases
            yield Checkbox(t("ui.filters.nsfw"), value=s.nsfw, id="nsfw")
            with Horizontal(classes="buttons"):
                yield Button(t("ui.filters.apply"), id="apply", variant="primary")
                yield Button(t("ui.filters.cancel"), id="cancel")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Apply or cancel."""
        if event.button.id == "apply":
            self.action_apply()
        else:
            self.action_cancel()

    def action_apply(self) -> None:
        """Return the edited filters."""
        sort = self.query_one("#sort", Select).value
        period = self.query_one("#period", Select).value
        self.dismiss(
            FilterState(
                sort=str(sort),
                period=str(period),
                types=tuple(self.query_one("#types", SelectionList).selected),
                base_models=tuple(self.query_one("#bases", SelectionList).selected),
                nsfw=self.query_one("#nsfw", Checkbox).value,
            )
        )

    def action_cancel(self) -> None:
        """Keep the filters as they were."""
        self.dismiss(None)
