"""`replace_bindings`, the one use of Textual's private binding map, behaves as the app needs."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer

from modella_tui.ui.bindings import replace_bindings
from modella_tui.ui.widgets.text_input import TextInput


class _Probe(App[None]):
    BINDINGS = [Binding("a", "first", "First", id="one"), Binding("b", "other", "Other")]  # noqa: RUF012

    def compose(self) -> ComposeResult:
        yield TextInput(id="box")
        yield Footer()


async def test_bindings_are_replaced_by_id_and_the_footer_shows_the_new_label() -> None:
    app = _Probe()
    async with app.run_test() as pilot:
        app.set_focus(None)
        replace_bindings(
            app, [Binding("a,c", "first", "Premier", id="one")], lambda _k, b: b.id == "one"
        )
        app.refresh_bindings()
        await pilot.pause()
        labels = {b.key: b.description for _, b in app._bindings if b.key in "abc"}
        assert labels == {"a": "Premier", "c": "Premier", "b": "Other"}
        shown = {b.binding.description for b in app.active_bindings.values()}
        assert "Premier" in shown and "First" not in shown


async def test_text_input_drops_browser_keys_and_deletes_the_left_word() -> None:
    app = _Probe()
    async with app.run_test() as pilot:
        box = app.query_one("#box", TextInput)
        keys = {key: b.action for key, b in box._bindings}
        assert "ctrl+w" not in keys
        assert keys["alt+backspace"] == keys["ctrl+backspace"] == "delete_left_word"
        box.focus()
        await pilot.press(*"one two", "alt+backspace")
        assert box.value == "one "
