"""A tiny Textual app for the serve tests: shows a known line and echoes the last key pressed."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.events import Key
from textual.widgets import Static

BANNER = "Tiny serve test app is running"


class TinyApp(App[None]):
    """One label and one line that reports keys."""

    def compose(self) -> ComposeResult:
        yield Static(BANNER, id="banner")
        yield Static("no key yet", id="keys")

    def on_key(self, event: Key) -> None:
        self.query_one("#keys", Static).update(f"pressed key {event.key}")


if __name__ == "__main__":
    TinyApp().run()
