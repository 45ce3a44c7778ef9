"""Textual's Input without `ctrl+w`, which browsers and web terminals take."""

from __future__ import annotations

from typing import Any

from textual.binding import Binding, BindingsMap
from textual.widgets import Input

from modella_tui.ui.commands.base import FORBIDDEN_KEYS


class TextInput(Input):
    """An Input whose word-delete lives on `alt+backspace`/`ctrl+backspace` instead of `ctrl+w`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        kept = [(key, binding) for key, binding in self._bindings if key not in FORBIDDEN_KEYS]
        # Textual maps these two to "delete right word"; readline and every editor delete left.
        for key in ("ctrl+backspace", "alt+backspace"):
            kept = [(k, b) for k, b in kept if k != key]
            kept.append((key, Binding(key, "delete_left_word", show=False)))
        self._bindings = BindingsMap(binding for _, binding in kept)
