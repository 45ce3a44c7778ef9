"""Pick the list to add to, or name a new one; the list used last comes first."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from modella_tui.core.errors import UsageError
from modella_tui.core.i18n import t
from modella_tui.core.lists import list_name
from modella_tui.ui.textutil import clean
from modella_tui.ui.widgets.text_input import TextInput


class AddToListScreen(ModalScreen[str | None]):
    """Dismisses with the name of an existing list, or of a new one typed in; None cancels.

    With lists to pick from, the picker has the keyboard and the last list used is highlighted,
    so `a` then `enter` adds to it; `tab` goes to the field for a new name. With none, the field
    has the keyboard.
    """

    DEFAULT_CSS = """
    AddToListScreen { align: center middle; }
    AddToListScreen Label { width: 100%; }
    AddToListScreen > Vertical {
        width: 64; max-width: 95%; height: auto; max-height: 90%; padding: 1 2;
        border: thick $primary; background: $surface;
    }
    AddToListScreen #add-what { color: $text-muted; height: auto; }
    AddToListScreen OptionList { height: auto; max-height: 12; margin-top: 1; }
    AddToListScreen #add-new-label { margin-top: 1; }
    AddToListScreen #add-hint { color: $text-muted; height: auto; }
    AddToListScreen #add-hint.error { color: $text-error; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", show=False)]

    def __init__(self, names: Sequence[str], last: str | None, what: str) -> None:
        super().__init__()
        self.names = list(names)
        self.last = last
        self.what = what

    def compose(self) -> ComposeResult:
        """What is being added, the lists, a field for a new one."""
        with Vertical():
            yield Label(t("ui.add_to_list.title"), markup=False)
            yield Label(Text(clean(self.what), no_wrap=True, overflow="ellipsis"), id="add-what")
            if self.names:
                yield OptionList(
                    *[Option(Text(clean(n)), id=str(i)) for i, n in enumerate(self.names)],
                    id="add-lists",
                )
            yield Label(t("ui.add_to_list.new"), id="add-new-label", markup=False)
            yield TextInput(placeholder=t("ui.add_to_list.placeholder"), id="add-new")
            yield Label(t("ui.add_to_list.hint"), id="add-hint", markup=False)

    def on_mount(self) -> None:
        """The picker (on the list used last) or the field gets the keyboard."""
        if not self.names:
            self.query_one("#add-new", TextInput).focus()
            return
        picker = self.query_one("#add-lists", OptionList)
        if self.last in self.names:
            picker.highlighted = self.names.index(self.last)
        else:
            picker.highlighted = 0
        picker.focus()

    @on(OptionList.OptionSelected, "#add-lists")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        index = int(event.option.id or 0)
        self.dismiss(self.names[index])

    @on(Input.Submitted, "#add-new")
    def _typed(self, event: Input.Submitted) -> None:
        try:
            name = list_name(event.value)
        except UsageError as exc:
            hint = self.query_one("#add-hint", Label)
            hint.update(exc.message)
            hint.add_class("error")
            return
        self.dismiss(name)

    @on(TextInput.Left, "#add-new")
    def _left(self) -> None:
        self.dismiss(None)

    def action_cancel(self) -> None:
        """Add nothing."""
        self.dismiss(None)
