"""A small picture in half-cell blocks: works in any colour terminal and under `textual serve`."""

from __future__ import annotations

from pathlib import Path

from rich.color import Color
from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events, work
from textual.app import RenderResult as WidgetRenderResult
from textual.widget import Widget

from modella_tui.core.thumbnails import Pixels, decode_async

HALF = "▀"  # upper half block: foreground paints the top pixel, background the bottom one


class HalfBlocks:
    """A Rich renderable of (top, bottom) pixel pairs, one cell each."""

    def __init__(self, pixels: Pixels) -> None:
        self.pixels = pixels

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        """One line of `▀` cells per pair row, cut to the width offered."""
        width = options.max_width
        for row in self.pixels:
            for top, bottom in row[:width]:
                bg = Color.from_rgb(*bottom) if bottom is not None else None
                yield Segment(HALF, Style(color=Color.from_rgb(*top), bgcolor=bg))
            yield Segment.line()


class ImagePreview(Widget):
    """The decoded picture of `path` sized to the widget, or a plain-text message in its place."""

    DEFAULT_CSS = """
    ImagePreview {
        width: 24;
        height: 8;
        color: $text-muted;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.path: Path | None = None
        self.pixels: Pixels | None = None
        self.message = ""
        self.failed_text = ""
        """Shown when the file cannot be decoded; the screen sets it (translated)."""
        self._decoded_for: tuple[Path, int, int] | None = None

    def show_message(self, text: str) -> None:
        """Text instead of a picture (loading, video, no preview); never markup."""
        self.path = None
        self.pixels = None
        self._decoded_for = None
        self.message = text
        self.workers.cancel_group(self, "preview-decode")
        self.refresh()

    def show_path(self, path: Path, loading: str = "") -> None:
        """Decode `path` for the current size (again on each resize); `loading` shows meanwhile."""
        if path == self.path and self.pixels is not None:
            return
        self.path = path
        self.pixels = None
        self._decoded_for = None
        self.message = loading
        self.refresh()
        self._decode_if_needed()

    @property
    def has_picture(self) -> bool:
        """Pixels are on screen (not a message)."""
        return self.pixels is not None

    def on_resize(self, event: events.Resize) -> None:
        """Another box size: decode again to fit it."""
        self._decode_if_needed()

    def _decode_if_needed(self) -> None:
        cols, rows = self.content_region.width, self.content_region.height
        if self.path is None or cols < 1 or rows < 1:
            return  # not laid out yet (or hidden): the first resize brings the size
        if self._decoded_for == (self.path, cols, rows):
            return
        self._decoded_for = (self.path, cols, rows)
        self._decode(self.path, cols, rows)

    @work(group="preview-decode", exclusive=True, exit_on_error=False)
    async def _decode(self, path: Path, cols: int, rows: int) -> None:
        pixels = await decode_async(path, cols, rows)
        if self._decoded_for != (path, cols, rows):
            return  # another image or size was asked for meanwhile
        if pixels is None:
            self.path = None
            self._decoded_for = None
            self.message = self.failed_text
        self.pixels = pixels
        self.refresh()

    def render(self) -> WidgetRenderResult:
        """The blocks, else the message as plain text."""
        if self.pixels is not None:
            return HalfBlocks(self.pixels)
        return Text(self.message, overflow="fold")
