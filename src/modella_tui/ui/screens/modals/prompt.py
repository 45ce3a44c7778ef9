"""One line of text: a list's name, a file's path. The field owns the keyboard."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label

from modella_tui.core.i18n import t
from modella_tui.ui.widgets.text_input import TextInput

Check = Callable[[str], str | None]
"""Returns why a value cannot be used (shown under the field), or None when it can."""


class PromptScreen(ModalScreen[str | None]):
    """Ask for one value; `enter` (or OK) returns it, `escape` returns None."""

    DEFAULT_CSS = """
    PromptScreen { align: center middle; }
    PromptScreen Label { width: 100%; }
    PromptScreen > Vertical {
        width: 70; max-width: 95%; height: auto; padding: 1 2;
        border: thick $primary; background: $surface;
    }
    PromptScreen #prompt-error { color: $text-error; height: auto; }
    PromptScreen Horizontal { height: auto; margin-top: 1; align-horizontal: right; }
    PromptScreen Button { margin-left: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", show=False)]

    def __init__(
        self,
        question: str,
        value: str = "",
        *,
        placeholder: str = "",
        check: Check | None = None,
        ok_label: str | None = None,
    ) -> None:
        super().__init__()
        self.question = question
        self.value = value
        self.placeholder = placeholder
        self.check = check
        self.ok_label = ok_label or t("ui.prompt.ok")

    def compose(self) -> ComposeResult:
        """The question, the field, a line for what is wrong, two buttons."""
        with Vertical():
            yield Label(self.question, markup=False)
            yield TextInput(self.value, placeholder=self.placeholder, id="prompt-field")
            yield Label("", id="prompt-error", markup=False)
            with Horizontal():
                yield Button(self.ok_label, id="ok", variant="primary")
                yield Button(t("ui.prompt.cancel"), id="cancel")

    def on_mount(self) -> None:
        """The field takes the keyboard at once."""
        self.query_one("#prompt-field", TextInput).focus()

    @on(Input.Submitted, "#prompt-field")
    def _submitted(self) -> None:
        self.action_ok()

    @on(TextInput.Left, "#prompt-field")
    def _left(self) -> None:
        # Escape in the field closes the question: a second escape would be one too many.
        self.dismiss(None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """OK or cancel."""
        if event.button.id == "ok":
            self.action_ok()
        else:
            self.dismiss(None)

    def action_ok(self) -> None:
        """Return the value, unless the check says what is wrong with it."""
        value = self.query_one("#prompt-field", TextInput).value.strip()
        problem = self.check(value) if self.check else None
        if problem:
            self.query_one("#prompt-error", Label).update(problem)
            return
        self.dismiss(value)

    def action_cancel(self) -> None:
        """Keep things as they were."""
        self.dismiss(None)
