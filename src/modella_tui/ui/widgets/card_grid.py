"""The Civitai card grid: one widget that renders only the visible rows (1,000 cards stay fast)."""

from __future__ import annotations

import html
import re
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from modella_tui.core.civitai.parse import is_mature
from modella_tui.core.i18n import t
from modella_tui.core.models import CivitaiModel
from modella_tui.ui.textutil import clean, compact, fit

CARD_HEIGHT = 6
# (minimum width, columns): the grid reflows as the terminal grows.
BREAKPOINTS: tuple[tuple[int, int], ...] = ((0, 1), (60, 2), (96, 3), (140, 4), (180, 5))
_BLOCK_TAG = re.compile(
    r"<(?:/?(?:p|div|li|ul|ol|h\d|tr|td|table|blockquote)\b[^>]*|br\s*/?)>", re.I
)
_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def columns_for(width: int) -> int:
    """How many card columns fit in `width` cells."""
    cols = 1
    for minimum, n in BREAKPOINTS:
        if width >= minimum:
            cols = n
    return cols


def one_line(description: str | None) -> str:
    """The first words of an HTML description as one plain line."""
    if not description:
        return ""
    text = html.unescape(_TAG.sub("", _BLOCK_TAG.sub(" ", description[:2000])))
    return _SPACE.sub(" ", clean(text)).strip()


class CardGrid(ScrollView, can_focus=True):
    """A virtual grid of model cards; `cursor` is the index of the highlighted card."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "card-grid--border",
        "card-grid--cursor",
        "card-grid--meta",
        "card-grid--name",
        "card-grid--desc",
        "card-grid--stats",
        "card-grid--local",
        "card-grid--queued",
        "card-grid--empty",
    }
    DEFAULT_CSS = """
    CardGrid { height: 1fr; background: $background; overflow-x: hidden; }
    CardGrid > .card-grid--border { color: $card-border; }
    CardGrid > .card-grid--cursor { color: $card-cursor; text-style: bold; }
    CardGrid > .card-grid--meta { color: $text-muted; }
    CardGrid > .card-grid--name { text-style: bold; }
    CardGrid > .card-grid--desc { color: $text-muted; }
    CardGrid > .card-grid--stats { color: $text-secondary; }
    CardGrid > .card-grid--local { color: $badge-local; text-style: bold; }
    CardGrid > .card-grid--queued { color: $badge-queued; text-style: bold; }
    CardGrid > .card-grid--empty { color: $text-muted; }
    CardGrid:focus .card-grid--cursor { text-style: bold reverse; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move(0, -1)", show=False),
        Binding("down", "move(0, 1)", show=False),
        Binding("left", "move(-1, 0)", show=False),
        Binding("right", "move(1, 0)", show=False),
        Binding("pageup", "page(-1)", show=False),
        Binding("pagedown", "page(1)", show=False),
        Binding("home,g", "first", show=False),
        Binding("end,G", "last", show=False),
        Binding("enter", "select", show=False),
    ]

    # repaint=False: `watch_cursor` repaints only the two rows that changed.
    cursor: reactive[int] = reactive(0, always_update=True, repaint=False)

    class Selected(Message):
        """`enter` on a card."""

        def __init__(self, model: CivitaiModel) -> None:
            super().__init__()
            self.model = model

    class NearEnd(Message):
        """The cursor or the view is near the last loaded row: time to fetch the next page."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.cards: list[CivitaiModel] = []
        self.local_ids: set[int] = set()
        self.queued_ids: set[int] = set()
        self.empty_text = ""
        self.stale = False
        """A new search is in flight: these cards belong to the previous one and cannot be used."""
        self._desc: dict[int, str] = {}
        self._lines: LRUCache[tuple[int, int, int, int, int, bool, bool], Strip] = LRUCache(2000)

    # ----- data ----------------------------------------------------------------------------
    @property
    def current(self) -> CivitaiModel | None:
        """The model under the cursor (none while the cards are stale)."""
        if self.stale:
            return None
        return self.cards[self.cursor] if 0 <= self.cursor < len(self.cards) else None

    def set_stale(self, stale: bool) -> None:
        """Dim the cards and refuse to act on them while another search is in flight."""
        if stale != self.stale:
            self.stale = stale
            self._invalidate()

    @property
    def columns(self) -> int:
        """Columns at the current width."""
        return columns_for(self.scrollable_content_region.width or self.size.width)

    @property
    def rows(self) -> int:
        """Rows of loaded cards."""
        return -(-len(self.cards) // self.columns)

    def set_cards(self, cards: list[CivitaiModel]) -> None:
        """Replace every card (a new search) and go back to the top."""
        self.stale = False
        self.cards = list(cards)
        self._desc.clear()
        self._invalidate()
        self.cursor = 0
        self.scroll_to(0, 0, animate=False)

    def extend(self, cards: list[CivitaiModel]) -> None:
        """Append a page of cards; the cursor stays where it is."""
        self.cards.extend(cards)
        self._invalidate()

    def set_badges(self, local: set[int], queued: set[int]) -> None:
        """Which model ids are local or queued."""
        self.local_ids, self.queued_ids = local, queued
        self._invalidate()

    def set_empty_text(self, text: str) -> None:
        """What to show when there are no cards (loading, no results, an error)."""
        self.empty_text = text
        self._invalidate()

    def refresh_text(self) -> None:
        """Translated words on the cards (badges) changed: draw again."""
        self._invalidate()

    def _invalidate(self) -> None:
        self._lines.clear()
        self._update_virtual_size()
        self.refresh()

    def _update_virtual_size(self) -> None:
        width = self.scrollable_content_region.width or self.size.width
        self.virtual_size = Size(width, max(1, self.rows) * CARD_HEIGHT)

    # ----- events --------------------------------------------------------------------------
    def on_resize(self, event: events.Resize) -> None:
        """Reflow: the column count follows the width."""
        self._lines.clear()
        self._update_virtual_size()
        self.call_after_refresh(self._show_cursor)

    def notify_style_update(self) -> None:
        """Theme changed: cached lines carry old colours."""
        super().notify_style_update()
        self._lines.clear()

    def watch_cursor(self, old: int, new: int) -> None:
        """Redraw the two rows whose look changed, and keep the cursor in view."""
        # Only the old and new cursor rows: a full refresh re-renders all ~50 lines a key
        # (a key must take < 20 ms with 1,000 cards); scrolling, when needed, repaints the rest anyway.
        cols = self.columns
        width = self.size.width
        for index in {old, new}:
            y = (index // cols) * CARD_HEIGHT - round(self.scroll_y)
            self.refresh(Region(0, y, width, CARD_HEIGHT))
        self._show_cursor()
        if self.cards and new // self.columns >= self.rows - 2:
            self.post_message(self.NearEnd())

    def watch_scroll_y(self, old: float, new: float) -> None:
        """Scrolling (wheel) near the end also asks for more."""
        super().watch_scroll_y(old, new)
        if self.cards and new + self.size.height >= self.virtual_size.height - 2 * CARD_HEIGHT:
            self.post_message(self.NearEnd())

    def _show_cursor(self) -> None:
        if not self.cards:
            return
        row = self.cursor // self.columns
        self.scroll_to_region(
            Region(0, row * CARD_HEIGHT, 1, CARD_HEIGHT), animate=False, immediate=True
        )

    def on_focus(self) -> None:
        """The cursor card looks different with focus."""
        self.refresh()

    def on_blur(self) -> None:
        """The cursor card looks different without focus."""
        self.refresh()

    def on_click(self, event: events.Click) -> None:
        """Click moves the cursor; a click on the cursor card opens it."""
        offset = event.get_content_offset(self)
        if offset is None or not self.cards:
            return
        width = self.scrollable_content_region.width
        col = min(offset.x * self.columns // max(1, width), self.columns - 1)
        row = (offset.y + int(self.scroll_y)) // CARD_HEIGHT
        index = row * self.columns + col
        if 0 <= index < len(self.cards):
            if index == self.cursor:
                self.action_select()
            self.cursor = index

    # ----- actions -------------------------------------------------------------------------
    def action_move(self, dx: int, dy: int) -> None:
        """Arrow keys: one card sideways or one row up/down."""
        if not self.cards:
            return
        target = self.cursor + dx + dy * self.columns
        if dy > 0 and target >= len(self.cards):
            # From the row above a short last row, land on its last card.
            target = (
                len(self.cards) - 1 if self.cursor // self.columns < self.rows - 1 else self.cursor
            )
        self.cursor = max(0, min(len(self.cards) - 1, target))

    def action_page(self, direction: int) -> None:
        """A screenful of rows."""
        rows = max(1, self.size.height // CARD_HEIGHT)
        self.action_move(0, direction * rows)

    def action_first(self) -> None:
        """Back to the top."""
        self.cursor = 0
        self.scroll_to(0, 0, animate=False)

    def action_last(self) -> None:
        """The last loaded card."""
        if self.cards:
            self.cursor = len(self.cards) - 1

    def action_select(self) -> None:
        """Open the card under the cursor."""
        if self.current is not None:
            self.post_message(self.Selected(self.current))

    # ----- rendering -----------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        """One terminal line: the `y`-th visible line of the grid."""
        width = self.scrollable_content_region.width
        vy = y + int(self.scroll_y)
        if not self.cards:
            return self._empty_line(y, width)
        row, line = divmod(vy, CARD_HEIGHT)
        cols = self.columns
        cursor_col = self.cursor - row * cols if self.cursor // cols == row else -1
        key = (row, line, width, cols, cursor_col, self.has_focus, self.stale)
        strip = self._lines.get(key)
        if strip is None:
            strip = self._render_row_line(row, line, width, cols)
            if self.stale:
                strip = strip.apply_style(Style(dim=True))
            self._lines[key] = strip
        return strip

    def _empty_line(self, y: int, width: int) -> Strip:
        base = self.rich_style
        text = fit(f"  {self.empty_text}" if y == 1 else "", width)
        style = base + self.get_component_rich_style("card-grid--empty")
        return Strip([Segment(text, style)], width)

    def _render_row_line(self, row: int, line: int, width: int, cols: int) -> Strip:
        base = self.rich_style
        card_w = width // cols
        segments: list[Segment] = []
        for col in range(cols):
            index = row * cols + col
            if index >= len(self.cards):
                segments.append(Segment(" " * card_w, base))
                continue
            segments.extend(self._card_line(index, line, card_w, base))
        rest = width - card_w * cols
        if rest > 0:
            segments.append(Segment(" " * rest, base))
        return Strip(segments, width)

    def _card_line(self, index: int, line: int, card_w: int, base: Style) -> list[Segment]:
        model = self.cards[index]
        selected = index == self.cursor
        border = base + self.get_component_rich_style(
            "card-grid--cursor" if selected else "card-grid--border", partial=True
        )
        # Heavy lines mark the cursor card without relying on colour.
        tl, tr, bl, br, h, v = "┏┓┗┛━┃" if selected else "╭╮╰╯─│"
        inner = max(1, card_w - 3)  # two borders and one cell of gap
        gap = Segment(" ", base)
        if line == 0:
            return [Segment(tl + h * inner + tr, border), gap]
        if line == CARD_HEIGHT - 1:
            return [Segment(bl + h * inner + br, border), gap]
        content = self._card_content(model, line, inner, base, selected)
        return [Segment(v, border), *content, Segment(v, border), gap]

    def _card_content(
        self, model: CivitaiModel, line: int, inner: int, base: Style, selected: bool
    ) -> list[Segment]:
        style = self.get_component_rich_style
        if line == 1:
            kind = clean(model.type)
            left_w = max(0, inner - cell_len(kind) - 1)
            left = fit(clean(model.base_model) or "—", left_w)
            meta = base + style("card-grid--meta")
            return [Segment(left + " ", meta), Segment(fit(kind, inner - left_w - 1), meta)]
        if line == 2:
            name_style = base + style("card-grid--name")
            if selected and self.has_focus:
                name_style += Style(reverse=True)
            return [Segment(fit(clean(model.name), inner), name_style)]
        if line == 3:
            desc = self._desc.get(model.id)
            if desc is None:
                desc = self._desc[model.id] = one_line(model.description)
            return [Segment(fit(desc, inner), base + style("card-grid--desc"))]
        # Stats line, with badges on the right; badges are words, not colours only.
        s = model.stats
        # Civitai stopped collecting ratings: a rating nobody gave is not shown as ★0.0.
        rated = bool(s.rating) and s.rating_count != 0
        rating = f"★{s.rating:.1f} " if rated and s.rating is not None else ""
        stats = f"{rating}♥{compact(s.likes)} ↓{compact(s.downloads)}"
        badges: list[str] = []
        badge_class = "card-grid--local"
        if is_mature(model):
            badges.append(t("ui.card.nsfw"))
        if model.id in self.local_ids:
            badges.append(t("ui.card.local"))
        elif model.id in self.queued_ids:
            badges.append(t("ui.card.queued"))
            badge_class = "card-grid--queued"
        badge = " ".join(badges)
        badge_w = min(cell_len(badge), max(0, inner - 8))
        badge = fit(badge, badge_w) if badge else ""
        left = fit(stats, inner - badge_w)
        return [
            Segment(left, base + style("card-grid--stats")),
            Segment(badge, base + style(badge_class)),
        ]
