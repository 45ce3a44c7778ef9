"""The Civitai browser: search box, filter bar, the card grid, infinite scroll."""

from __future__ import annotations

import asyncio

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Input, Label

from modella_tui.core.civitai.client import SearchParams
from modella_tui.core.civitai.lookup import open_intent
from modella_tui.core.civitai.parse import is_mature
from modella_tui.core.civitai.query import SearchIntent, parse_query
from modella_tui.core.errors import AuthError, ModellaError, NetworkError, RateLimitedError
from modella_tui.core.i18n import t
from modella_tui.core.models import CivitaiModel, CivitaiVersion, SearchPage
from modella_tui.core.refs import HubRef
from modella_tui.ui.add_to_list import add_to_list, version_title
from modella_tui.ui.commands.browser_commands import BROWSER
from modella_tui.ui.filters import FilterState
from modella_tui.ui.messages import QueueChanged
from modella_tui.ui.queueing import queue_civitai
from modella_tui.ui.screens.base import BaseScreen
from modella_tui.ui.screens.modals.filters import FilterScreen
from modella_tui.ui.widgets.card_grid import CARD_HEIGHT, CardGrid
from modella_tui.ui.widgets.text_input import TextInput

DEBOUNCE_S = 0.3
PAGE_SIZE = 30
# Civitai filters after paging, so a page can be empty while more exist: this many empty pages in
# a row, then we wait for the user to scroll.
MAX_EMPTY_PAGES = 5
FINISHED = frozenset({"done", "cancelled", "failed"})


class BrowserScreen(BaseScreen):
    """Search Civitai and browse the results as cards."""

    COMMANDS_LIST = BROWSER
    TITLE_KEY = "ui.screen.browser"
    MODE = "browser"

    def __init__(self) -> None:
        super().__init__()
        self.filters = FilterState()
        self.query_text = ""
        self.params = SearchParams(limit=PAGE_SIZE)
        self.next_cursor: str | None = None
        self.generation = 0
        self.loading = False
        self.empty_in_row = 0
        self.error: str | None = None

    def compose(self) -> ComposeResult:
        """Search box and filter summary, status line, grid, footer."""
        yield from self.compose_header()
        yield TextInput(placeholder=t("ui.browser.search_placeholder"), id="search")
        with Horizontal(id="browser-bar"):
            yield Label("", id="browser-filters", markup=False)
            # Text, not a LoadingIndicator: toggling a widget in the search row moved the focus.
            yield Label("", id="browser-loading", markup=False)
        yield Label("", id="browser-status", markup=False)
        yield CardGrid(id="grid")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        """First listing: the default sort, no words."""
        self.filters = FilterState.from_settings(self.modella.settings)
        self._show_filters()
        self.grid.set_empty_text(t("ui.browser.loading"))
        self.grid.focus()
        self.run_search("", delay=0)

    @property
    def grid(self) -> CardGrid:
        """The card grid."""
        return self.query_one(CardGrid)

    @property
    def search_box(self) -> Input:
        """The search input."""
        return self.query_one("#search", Input)

    # ----- search ----------------------------------------------------------------------------
    @on(Input.Changed, "#search")
    def _typed(self, event: Input.Changed) -> None:
        self.run_search(event.value, delay=DEBOUNCE_S)

    @on(Input.Submitted, "#search")
    def _submitted(self, event: Input.Submitted) -> None:
        self.run_search(event.value, delay=0)
        self.grid.focus()

    def action_focus_search(self) -> None:
        """`/`: into the search box."""
        self.search_box.focus()

    @on(TextInput.Left, "#search")
    def _left_search(self) -> None:
        """`escape` in the search box goes back to the cards."""
        self.grid.focus()

    def action_reload(self) -> None:
        """Search again with the same words."""
        self.run_search(self.query_text, delay=0, force=True)

    def run_search(self, text: str, delay: float, force: bool = False) -> None:
        """Start (or restart) the debounced search; the newest burst wins."""
        if delay == 0 and text == self.query_text and self.generation and not force:
            return  # enter after the debounce already ran: nothing new to ask
        if delay == 0:
            # At once, before the worker runs: a key pressed next must not act on old cards.
            self.grid.set_stale(True)
        self._search(text, delay)

    @work(exclusive=True, group="search", exit_on_error=False)
    async def _search(self, text: str, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        await self.modella.ready.wait()
        self.query_text = text
        intent = parse_query(text, civitai_base=self.modella.settings.civitai_url)
        # From here until the answer, the cards on screen belong to the previous query.
        self.grid.set_stale(True)
        if intent.kind != "search":
            try:
                await self._open_intent(intent)
            finally:
                self.grid.set_stale(False)
            return
        self.workers.cancel_group(self, "page")
        self.generation += 1
        self.params = SearchParams(
            sort=self.filters.sort,
            period=self.filters.period,
            types=list(self.filters.types),
            base_models=list(self.filters.base_models),
            nsfw=self.filters.nsfw,
            limit=PAGE_SIZE,
        ).with_intent(intent)
        self.next_cursor = None
        self.empty_in_row = 0
        try:
            page = await self._fetch(self.params)
        except Exception:
            self.grid.set_stale(False)
            raise
        if page is None:
            self.grid.set_stale(False)
            return
        self.grid.set_cards(self._visible(page))
        self._after_page(page)

    async def _open_intent(self, intent: SearchIntent) -> None:
        civitai = self.modella.services.civitai
        if civitai is None:
            return
        if isinstance(intent.ref, HubRef):
            self.notify(t("ui.browser.hub_link"), severity="warning", markup=False)
            return
        self._set_loading(True)
        try:
            model, version = await open_intent(civitai, intent)
        except ModellaError as exc:
            self._show_error(exc)
            return
        finally:
            self._set_loading(False)
        if intent.token_stripped:
            self.notify(t("refs.warn.token_stripped"), severity="warning", markup=False)
        self.open_model(model, version)

    async def _fetch(self, params: SearchParams) -> SearchPage | None:
        """One page; errors are shown in the status line and answered with None."""
        civitai = self.modella.services.civitai
        if civitai is None:
            self._show_error(None)
            return None
        self._set_loading(True)
        try:
            page = await civitai.search(params)
        except ModellaError as exc:
            self._show_error(exc)
            return None
        finally:
            self._set_loading(False)
        self.error = None
        return page

    def _visible(self, page: SearchPage) -> list[CivitaiModel]:
        """Mature items are dropped here as well: `nsfw=false` lets some through."""
        if self.filters.nsfw:
            return list(page.items)
        return [m for m in page.items if not is_mature(m)]

    def _after_page(self, page: SearchPage) -> None:
        self.next_cursor = page.next_cursor
        self.empty_in_row = self.empty_in_row + 1 if not page.items else 0
        if not self.grid.cards:
            self.grid.set_empty_text(
                t("ui.browser.searching_more") if self.next_cursor else t("ui.browser.no_results")
            )
        self._show_status()
        self._refresh_badges()
        self.call_after_refresh(self._maybe_fill)

    def _maybe_fill(self) -> None:
        """Keep fetching while the screen is not full; an empty page is not the end."""
        if self.next_cursor is None or self.loading or self.empty_in_row >= MAX_EMPTY_PAGES:
            return
        if not self.is_attached:
            return  # called after a refresh that came once the screen was gone (the app quit)
        grid = self.grid
        filled = grid.rows * CARD_HEIGHT
        if filled < grid.size.height + CARD_HEIGHT or grid.cursor // grid.columns >= grid.rows - 2:
            self._fetch_more(self.generation)

    @on(CardGrid.NearEnd)
    def _near_end(self) -> None:
        self.empty_in_row = 0
        if self.next_cursor is not None and not self.loading:
            self._fetch_more(self.generation)

    @work(exclusive=True, group="page", exit_on_error=False)
    async def _fetch_more(self, generation: int) -> None:
        if self.next_cursor is None:
            return
        page = await self._fetch(self.params.next_page(self.next_cursor))
        if page is None or generation != self.generation:
            return
        self.grid.extend(self._visible(page))
        self._after_page(page)

    # ----- status ----------------------------------------------------------------------------
    def _set_loading(self, loading: bool) -> None:
        self.loading = loading
        self.query_one("#browser-loading", Label).update(t("ui.browser.busy") if loading else "")

    def _show_filters(self) -> None:
        self.query_one("#browser-filters", Label).update(
            t("ui.browser.filters", summary=self.filters.summary())
        )

    def _show_status(self) -> None:
        more = t("ui.browser.more") if self.next_cursor else t("ui.browser.end")
        self.query_one("#browser-status", Label).update(
            t("ui.browser.count", count=len(self.grid.cards)) + " · " + more
        )
        self.query_one("#browser-status").remove_class("error")

    def _show_error(self, exc: ModellaError | None) -> None:
        """Inline, with what to do: a key, a wait, a connection."""
        if exc is None:
            text = t("ui.browser.no_client")
        elif isinstance(exc, AuthError):
            text = exc.message + " " + t("ui.browser.hint_key")
        elif isinstance(exc, RateLimitedError):
            text = exc.message + " " + t("ui.browser.hint_rate")
        elif isinstance(exc, NetworkError):
            text = exc.message + " " + t("ui.browser.hint_offline")
        else:
            text = exc.message + " " + t("ui.browser.hint_retry")
        self.error = text
        status = self.query_one("#browser-status", Label)
        status.update(text)
        status.add_class("error")
        if not self.grid.cards:
            self.grid.set_empty_text(text)

    def relabel(self) -> None:
        """The language changed: placeholder, filter summary, status line and card badges."""
        super().relabel()
        if not self.is_mounted:
            return
        self.search_box.placeholder = t("ui.browser.search_placeholder")
        self._show_filters()
        self._set_loading(self.loading)
        if self.error is None and self.generation and not self.loading:
            self._show_status()
        if not self.grid.cards and self.error is None:
            self.grid.set_empty_text(
                t("ui.browser.loading") if self.loading or not self.generation else ""
            )
        self.grid.refresh_text()

    # ----- badges ------------------------------------------------------------------------------
    def on_queue_changed(self, message: QueueChanged) -> None:
        """The queue changed: refresh the local/queued badges."""
        self._refresh_badges()

    def _refresh_badges(self) -> None:
        self._badges()

    @work(group="badges", exclusive=True, exit_on_error=False)
    async def _badges(self) -> None:
        services = self.modella.services
        local: set[int] = set()
        queued: set[int] = set()
        if services.library is not None:
            ids = await services.library.local_model_ids("civitai")
            local = {int(i) for i in ids if i.isdigit()}
        if services.engine is not None:
            for item in await services.engine.items():
                model_id = item.model_id or ""
                if item.state not in FINISHED and item.source == "civitai" and model_id.isdigit():
                    queued.add(int(model_id))
        self.grid.set_badges(local, queued)

    # ----- actions on cards -------------------------------------------------------------------
    @on(CardGrid.Selected)
    def _selected(self, event: CardGrid.Selected) -> None:
        self.open_model(event.model)

    def action_open_detail(self) -> None:
        """Open the card under the cursor."""
        if self.grid.current is not None:
            self.open_model(self.grid.current)

    def open_model(self, model: CivitaiModel, version: CivitaiVersion | None = None) -> None:
        """Push the detail pane for a model, with `version` (else the latest) selected."""
        from modella_tui.ui.screens.detail import DetailScreen

        self.app.push_screen(DetailScreen(model, version))

    def action_download(self) -> None:
        """Queue the primary file of the latest version of the card under the cursor."""
        model = self.grid.current
        if model is None:
            return
        self._download(model)

    @work(group="enqueue", exit_on_error=False)
    async def _download(self, model: CivitaiModel) -> None:
        if model.latest is None or not model.latest.files:
            civitai = self.modella.services.civitai
            if civitai is None:
                return
            model = await civitai.model(model.id)
        version = model.latest
        primary = version.primary_file if version else None
        if version is None or primary is None:
            self.notify(t("ui.queue.no_files"), severity="warning", markup=False)
            return
        queue_civitai(self.modella, model, [(version, [primary])])

    def action_add_to_list(self) -> None:
        """Add the latest version of the card under the cursor to a list."""
        model = self.grid.current
        if model is not None:
            self._add_to_list(model)

    @work(group="add-to-list", exit_on_error=False)
    async def _add_to_list(self, model: CivitaiModel) -> None:
        if model.latest is None:
            civitai = self.modella.services.civitai
            if civitai is None:
                return
            model = await civitai.model(model.id)
        version = model.latest
        if version is None:
            self.notify(t("ui.queue.no_files"), severity="warning", markup=False)
            return
        add_to_list(
            self.modella,
            [(f"civitai:{model.id}@{version.id}", None)],
            version_title(model, version),
        )

    def action_filters(self) -> None:
        """Open the filter modal; a change searches again."""

        def done(state: FilterState | None) -> None:
            if state is not None and state != self.filters:
                self.filters = state
                try:
                    state.save(self.modella.settings)
                except (ModellaError, OSError) as exc:
                    self.modella.report_error(exc)
                self._show_filters()
                self.run_search(self.query_text, delay=0, force=True)

        self.app.push_screen(FilterScreen(self.filters), done)

    def action_top(self) -> None:
        """Back to the first card."""
        self.grid.action_first()
        self.grid.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Card actions need a card."""
        if action in ("download", "open_detail", "add_to_list"):
            grids = self.query(CardGrid)
            return True if grids and grids.first().current is not None else None
        return True
