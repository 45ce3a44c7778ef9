"""Textual's Input without `ctrl+w` (browsers and web terminals take it), and with `escape` to leave.

While a field has focus every printable key types into it — digits and `q` included — because the
screen and app keys are not priority bindings. `escape` leaves the field (focus goes back to the
screen, whose keys work again) and says so with `TextInput.Left`, so a screen can move focus
somewhere useful (the browser goes back to its cards).
"""

from __future__ import annotations

from typing import Any

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input

from modella_tui.core.i18n import t
from modella_tui.ui.bindings import replace_bindings
from modella_tui.ui.commands.base import FORBIDDEN_KEYS


class TextInput(Input):
    """An Input whose word-delete lives on `alt+backspace`/`ctrl+backspace` instead of `ctrl+w`."""

    class Left(Message):
        """The user left the field with `escape`."""

        def __init__(self, field: TextInput) -> None:
            super().__init__()
            self.field = field

        @property
        def control(self) -> TextInput:
            """The field that was left (for `@on(TextInput.Left, "#id")`)."""
            return self.field

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.relabel()

    def relabel(self) -> None:
        """Install our keys, the footer's label for `escape` in the current language."""
        # Textual maps these two to "delete right word"; readline and every editor delete left.
        left = ("ctrl+backspace", "alt+backspace")
        ours = ("escape", *left)
        replace_bindings(
            self,
            [
                Binding("escape", "leave", t("ui.cmd.leave_field"), key_display="esc"),
                *(Binding(key, "delete_left_word", show=False) for key in left),
            ],
            lambda key, _b: key in FORBIDDEN_KEYS or key in ours,
        )

    def action_leave(self) -> None:
        """Give the keyboard back to the screen."""
        self.post_message(self.Left(self))
        self.screen.set_focus(None)
