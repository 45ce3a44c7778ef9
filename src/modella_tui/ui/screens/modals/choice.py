"""A question with a few answers, each on a button and a key (the last one is the safe way out)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label
from textual.widgets.button import ButtonVariant


@dataclass(frozen=True)
class Choice:
    """One answer: what it returns, its button text, its key."""

    value: str
    label: str
    key: str
    variant: ButtonVariant = "default"


class ChoiceScreen(ModalScreen[str | None]):
    """Dismisses with the chosen value; `escape` (and the last, safe, button) with None."""

    DEFAULT_CSS = """
    ChoiceScreen { align: center middle; }
    ChoiceScreen Label { width: 100%; }
    ChoiceScreen > Vertical {
        width: 76; max-width: 95%; height: auto; padding: 1 2;
        border: thick $primary; background: $surface;
    }
    ChoiceScreen Button { width: 100%; margin-top: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", show=False)]

    def __init__(self, question: str, choices: Sequence[Choice], cancel: Choice) -> None:
        super().__init__()
        self.question = question
        self.choices = tuple(choices)
        self.cancel = cancel

    def compose(self) -> ComposeResult:
        """The question, then one button an answer, the safe one last."""
        with Vertical():
            yield Label(self.question, markup=False)
            for choice in (*self.choices, self.cancel):
                yield Button(
                    f"{choice.label}  ({choice.key})",
                    id=f"choice-{choice.value}",
                    variant=choice.variant,
                )

    def on_mount(self) -> None:
        """Focus the safe answer."""
        self.query_one(f"#choice-{self.cancel.value}", Button).focus()

    def on_key(self, event: events.Key) -> None:
        """Each answer's key answers."""
        for choice in self.choices:
            if event.key == choice.key:
                event.stop()
                self.dismiss(choice.value)
                return
        if event.key == self.cancel.key:
            event.stop()
            self.dismiss(None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Answer with the button."""
        value = (event.button.id or "").removeprefix("choice-")
        self.dismiss(None if value == self.cancel.value else value)

    def action_cancel(self) -> None:
        """The safe way out."""
        self.dismiss(None)
