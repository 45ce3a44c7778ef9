"""Rename a file: one text field that owns the keyboard, the refusal shown in place."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from modella_tui.core.i18n import t
from modella_tui.ui.textutil import clean
from modella_tui.ui.widgets.text_input import TextInput

Apply = Callable[[str], Awaitable[str | None]]
"""Try the new name; the refusal to show, or None when it was done."""


class RenameScreen(ModalScreen[bool]):
    """`enter` renames, `escape` cancels; a refused name keeps the box open with the reason."""

    DEFAULT_CSS = """
    RenameScreen { align: center middle; }
    RenameScreen > Vertical {
        width: 90%; max-width: 90; height: auto; padding: 1 2;
        border: thick $primary; background: $surface;
    }
    RenameScreen Label { width: 100%; }
    RenameScreen #rename-error { color: $text-error; text-style: bold; height: auto; }
    RenameScreen #rename-hint { color: $text-muted; height: auto; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", show=False)]

    def __init__(self, name: str, sidecars: int, apply: Apply) -> None:
        super().__init__()
        self.current = name
        self.sidecars = sidecars
        self.apply = apply

    def compose(self) -> ComposeResult:
        """The question, the field with the current name, the hint and the error line."""
        with Vertical():
            yield Label(t("ui.library.rename_title", name=clean(self.current)), markup=False)
            # What the tree shows: a control character in a name on disk never reaches the field.
            yield TextInput(clean(self.current), id="rename-input", select_on_focus=False)
            hint = t("ui.library.rename_hint", count=self.sidecars)
            yield Label(hint, id="rename-hint", markup=False)
            yield Label("", id="rename-error", markup=False)

    def on_mount(self) -> None:
        """The field has the keyboard, the cursor before the extension."""
        field = self.query_one("#rename-input", TextInput)
        field.focus()
        dot = self.current.rfind(".")
        field.cursor_position = dot if dot > 0 else len(self.current)

    @on(Input.Submitted, "#rename-input")
    def _submitted(self, event: Input.Submitted) -> None:
        self._try(event.value)

    @on(TextInput.Left, "#rename-input")
    def _left(self) -> None:
        self.dismiss(False)

    @work(group="rename", exclusive=True, exit_on_error=False)
    async def _try(self, name: str) -> None:
        refused = await self.apply(name)
        if refused is None:
            self.dismiss(True)
        else:
            self.query_one("#rename-error", Label).update(clean(refused))

    def action_cancel(self) -> None:
        """Leave without renaming."""
        self.dismiss(False)
