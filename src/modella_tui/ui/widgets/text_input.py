"""Textual's Input without `ctrl+w`, which browsers and web terminals take."""

from __future__ import annotations

from typing import Any

from textual.binding import Binding
from textual.widgets import Input

from modella_tui.ui.bindings import replace_bindings
from modella_tui.ui.commands.base import FORBIDDEN_KEYS


class TextInput(Input):
    """An Input whose word-delete lives on `alt+backspace`/`ctrl+backspace` instead of `ctrl+w`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Textual maps these two to "delete right word"; readline and every editor delete left.
        left = ("ctrl+backspace", "alt+backspace")
        replace_bindings(
            self,
            [Binding(key, "delete_left_word", show=False) for key in left],
            lambda key, _b: key in FORBIDDEN_KEYS or key in left,
        )
