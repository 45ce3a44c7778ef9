"""The Hugging Face screen: the curated catalogue as a tree, and any Hub repo through search.

Category → package → files, each file with its size from the Hub and the folder it lands in;
packs below. Sizes arrive in the background, a few repos at a time, and fill the lines as they
come. `space` marks, `d` queues; gated repos are checked for access before anything is queued,
and the line under the tree says what to do. `/` searches the Hub; a repo found there opens like
a package, its types guessed from names and sizes. See docs/screens.md.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.widgets import Input, Label, Tree
from textual.widgets.tree import TreeNode

from modella_tui.core import paths
from modella_tui.core.downloads.placement import LAYOUTS, TYPE_FOLDERS
from modella_tui.core.downloads.resolve import placement_for
from modella_tui.core.errors import AuthError, ModellaError
from modella_tui.core.hub.browse import CachedHub, HubPick
from modella_tui.core.hub.packages import Catalogue, load_catalogue
from modella_tui.core.hub.search import HubSearchResult, pasted_repo
from modella_tui.core.i18n import t
from modella_tui.core.protocols import HubAPI
from modella_tui.core.store.cache import ResponseCache
from modella_tui.core.units import human_size
from modella_tui.ui.add_to_list import add_to_list
from modella_tui.ui.commands.hub_commands import HUB
from modella_tui.ui.hub_lines import FOLDER_MAX, LineContext, describe, folder_text, line
from modella_tui.ui.hub_queueing import queue_hub
from modella_tui.ui.hub_state import (
    FileNode,
    HubState,
    LocalFacts,
    NodeData,
    NoteNode,
    PackageNode,
    RepoNode,
    planned_name,
    title_of,
)
from modella_tui.ui.messages import LibraryChanged, QueueChanged, SettingChanged
from modella_tui.ui.screens.base import BaseScreen
from modella_tui.ui.textutil import clean
from modella_tui.ui.widgets.hub_tree import HubTree
from modella_tui.ui.widgets.text_input import TextInput

CONCURRENCY = 4
"""Repos asked at once: enough to fill the tree quickly, few enough to stay polite."""
DEBOUNCE_S = 0.4
MIN_QUERY = 2
UNFINISHED = frozenset({"pending", "running", "verifying", "paused"})
Node = TreeNode[NodeData]


class HubScreen(BaseScreen):
    """Browse and queue Hugging Face files."""

    COMMANDS_LIST = HUB
    TITLE_KEY = "ui.screen.hub"
    MODE = "hub"

    def __init__(self, catalogue: Catalogue | None = None) -> None:
        super().__init__()
        self.catalogue_error: ModellaError | None = None
        if catalogue is None:
            try:
                catalogue = load_catalogue()
            except ModellaError as exc:
                self.catalogue_error = exc
                catalogue = Catalogue(1, (), (), ())
        self.catalogue = catalogue
        self.state = HubState(catalogue)
        self.repo_nodes: dict[str, list[Node]] = {}
        self.found_nodes: dict[str, list[Node]] = {}
        """Lines of the last search's repos (dropped with it)."""
        self.search_node: Node | None = None
        self.search_error: str | None = None
        self.pending_marks: set[str] = set()
        self.loaded_repos: set[tuple[str, str]] = set()
        self.found = LocalFacts()
        self._hub: CachedHub | None = None
        self._gate_round = 0
        """Counts token changes: an answer about access asked with an older token is not kept."""

    def compose(self) -> ComposeResult:
        """Search box, status line, the tree, the line that explains the highlighted one."""
        yield from self.compose_header()
        yield TextInput(placeholder=t("ui.hub.search_placeholder"), id="hub-search")
        yield Label("", id="hub-status", markup=False)
        yield HubTree(self._line, id="hub-tree")
        yield Label("", id="hub-detail", markup=False)
        yield from self.compose_footer()

    def on_mount(self) -> None:
        """The catalogue at once, then sizes, access and local files in the background."""
        self._build()
        self.hub_tree.focus()
        self._show_status()
        if self.catalogue_error is not None:
            self._set_detail(self.catalogue_error.message, error=True)
        self._load_sizes()
        self._load_local(reindex=True)

    @property
    def hub(self) -> HubAPI | None:
        """The Hub client, with repo metadata kept a day (memory, then `model_cache`)."""
        services = self.modella.services
        if services.hub is None:
            return None
        if self._hub is None or self._hub.hub is not services.hub:
            cache = ResponseCache(services.db) if services.db is not None else None
            self._hub = CachedHub(services.hub, cache)
        return self._hub

    @property
    def hub_tree(self) -> HubTree:
        """The tree."""
        return self.query_one("#hub-tree", HubTree)

    # ----- building -------------------------------------------------------------------------
    def _register(self, repo: str, node: Node) -> None:
        self.found_nodes.setdefault(repo, []).append(node)

    def _build(self) -> None:
        for repo, nodes in self.hub_tree.build(self.state).items():
            self.repo_nodes.setdefault(repo, []).extend(nodes)

    def _line(self, data: NodeData, width: int) -> Text:
        return line(self.state, data, width, LineContext(self._folder, self._folder_width()))

    def _folder(self, kind: str, repo: str) -> str:
        return folder_text(self.modella.settings.models_dir, self._target_folder(kind, repo))

    def _folder_width(self) -> int:
        layout = str(self.modella.settings.get("layout"))
        if layout not in LAYOUTS[:2]:
            return FOLDER_MAX
        column = 1 if layout == "comfyui" else 0
        return min(FOLDER_MAX, max(len(f[column]) for f in TYPE_FOLDERS.values()) + 1)

    # ----- sizes and access -----------------------------------------------------------------
    def _repos(self) -> list[tuple[str, str]]:
        """Every (repo, revision) the catalogue names, each once, in tree order."""
        seen: dict[tuple[str, str], None] = {}
        for package in self.catalogue.packages:
            seen[(package.repo, package.revision)] = None
        return list(seen)

    @work(group="hub-sizes", exclusive=True, exit_on_error=False)
    async def _load_sizes(self) -> None:
        hub = self.hub
        if hub is None:
            self._set_detail(t("ui.hub.no_client"), error=True)
            return
        await self.modella.ready.wait()
        limit = asyncio.Semaphore(CONCURRENCY)

        async def one(repo: str, revision: str) -> None:
            async with limit:
                await self._fetch_repo(repo, revision)

        async with asyncio.TaskGroup() as group:
            for repo, revision in self._repos():
                group.create_task(one(repo, revision))
        # Hashes are known now: a local file of the same name is this one only if they match.
        self._load_local(reindex=False)
        gated = [r for r in dict.fromkeys(r for r, _ in self._repos()) if self.state.is_gated(r)]
        async with asyncio.TaskGroup() as group:
            for repo in gated:
                group.create_task(self._check_gate(repo))

    async def _fetch_repo(self, repo: str, revision: str) -> None:
        """One repo's metadata into the state; its lines follow."""
        hub = self.hub
        if hub is None:
            return
        key = (repo, revision)
        try:
            info = await hub.repo_info(repo, revision)
        except ModellaError as exc:
            self.state.errors[key] = exc
        else:
            self.state.infos[key] = info
            self.state.errors.pop(key, None)
        self.loaded_repos.add(key)
        self._repo_changed(repo)
        self._show_status()

    async def _check_gate(self, repo: str) -> ModellaError | None:
        """Ask whether the token may download a gated repo; the answer goes on its lines."""
        hub = self.hub
        if hub is None:
            return None
        asked = self._gate_round
        self.state.checking.add(repo)
        self._repo_changed(repo)
        try:
            await hub.check_access(repo)
        except AuthError as exc:
            if asked == self._gate_round:
                self.state.gates[repo] = exc
            return exc
        except ModellaError as exc:
            return exc  # not an answer about access (network, not found): asked again later
        else:
            if asked == self._gate_round:
                self.state.gates[repo] = None
            return None
        finally:
            self.state.checking.discard(repo)
            self._repo_changed(repo)

    def on_setting_changed(self, message: SettingChanged) -> None:
        """A token saved or removed in Settings: gated repos are asked again (no ctrl+r)."""
        if message.key == "hf.token" and self.is_mounted:
            self._gate_round += 1
            if self.state.errors:  # answers the old token was refused: ask for everything again
                self.action_reload()
            else:
                self._recheck_gates()

    @work(group="hub-gates", exclusive=True, exit_on_error=False)
    async def _recheck_gates(self) -> None:
        catalogue = (repo for repo, _ in self._repos())
        repos = [
            r for r in dict.fromkeys((*catalogue, *self.state.gates)) if self.state.is_gated(r)
        ]
        self.state.gates.clear()
        async with asyncio.TaskGroup() as group:
            for repo in repos:
                group.create_task(self._check_gate(repo))

    def _repo_changed(self, repo: str) -> None:
        for node in (*self.repo_nodes.get(repo, ()), *self.found_nodes.get(repo, ())):
            node.refresh()
        self._show_detail()

    # ----- local and queued files -------------------------------------------------------------
    def on_queue_changed(self, message: QueueChanged) -> None:
        """Queued, running and landed files change their lines."""
        if self.is_mounted:
            self._load_local(reindex=False)

    def on_library_changed(self, message: LibraryChanged) -> None:
        """Files were deleted or renamed elsewhere in the app: local marks follow."""
        if self.is_mounted:
            self._load_local(reindex=True)

    def on_screen_resume(self) -> None:
        """Back on this screen: settings (layout, folder) or the library may have changed."""
        super().on_screen_resume()
        if self.is_mounted:
            self.hub_tree.refresh_all()
            self._load_local(reindex=True)

    @work(group="hub-local", exclusive=True, exit_on_error=False)
    async def _load_local(self, reindex: bool) -> None:
        services = self.modella.services
        await self.modella.ready.wait()
        found = self.found
        if reindex and services.library is not None:
            snapshot = await services.library.snapshot()
            found.paths = {f.path: f.sha256 for f in snapshot.files if f.kind == "model"}
            hub_files = [f for f in snapshot.files if f.source == "huggingface" and f.model_id]
            found.ids = {(str(f.model_id), planned_name(f.file_name)) for f in hub_files}
            found.owners = {f.path: str(f.model_id) for f in hub_files}
        found.queued = {}
        done: list[tuple[tuple[str, str], str]] = []  # (repo, planned name), where it landed
        models_dir = self.modella.settings.models_dir
        if services.engine is not None:
            for item in await services.engine.items():
                if item.source != "huggingface" or not item.model_id:
                    continue
                if item.state in UNFINISHED:
                    found.queued[(item.model_id, item.file_name)] = item.state
                elif item.state == "done" and item.final_path:
                    # The index takes a landed file in on its own, this line need not wait;
                    # by its planned name, as it may have landed as `name (2).ext`.
                    done.append(((item.model_id, item.file_name), item.final_path))

        def still_there() -> set[tuple[str, str]]:
            # Not one left under an earlier models folder, nor one deleted since it landed.
            return {
                key
                for key, path in done
                if paths.is_within(models_dir, Path(path)) and os.path.isfile(path)
            }

        landed = await asyncio.to_thread(still_there) if done else set()
        facts = LocalFacts(found.paths, found.ids | landed, found.queued, found.owners)
        self.state.apply_local(self._target_folder, facts)
        self.hub_tree.refresh_all()
        self._show_detail()

    def _target_folder(self, kind: str, repo: str) -> Path:
        settings = self.modella.settings
        place = placement_for(settings.models_dir, str(settings.get("layout")), None)
        return place.folder(kind, source="huggingface", repo=repo)

    # ----- status and detail ---------------------------------------------------------------
    def _show_status(self) -> None:
        total = len(self._repos())
        text = t(
            "ui.hub.status",
            packages=len(self.catalogue.packages),
            packs=len(self.catalogue.packs),
            loaded=len(self.loaded_repos & set(self._repos())),
            total=total,
        )
        marked = self.state.marked()
        if marked:
            size = sum(s for p in marked if (s := self.state.size_of(p)) is not None)
            text += " · " + t("ui.hub.marked", count=len(marked), size=human_size(size))
        status = self.query_one("#hub-status", Label)
        status.update(text)

    def _set_detail(self, text: str, *, error: bool = False) -> None:
        label = self.query_one("#hub-detail", Label)
        label.update(Text(clean(text)))
        label.set_class(error, "error")

    def _show_detail(self) -> None:
        """What the highlighted line is, and what to do about a gated or unreadable repo."""
        if self.search_error is not None:
            self._set_detail(self.search_error, error=True)
            return
        node = self.hub_tree.cursor_node
        data = node.data if node is not None else None
        hub = self.hub
        page = hub.model_page_url if hub is not None else str
        text, error = describe(self.state, data, self._folder, page)
        self._set_detail(text, error=error)

    @on(Tree.NodeHighlighted, "#hub-tree")
    def _highlighted(self) -> None:
        self._show_detail()

    # ----- search ---------------------------------------------------------------------------
    def action_focus_search(self) -> None:
        """`/`: into the search box."""
        self.query_one("#hub-search", TextInput).focus()

    @on(TextInput.Left, "#hub-search")
    def _left_search(self) -> None:
        self.hub_tree.focus()

    @on(Input.Changed, "#hub-search")
    def _typed(self, event: Input.Changed) -> None:
        if len(event.value.strip()) >= MIN_QUERY:
            self._search(event.value, DEBOUNCE_S)

    @on(Input.Submitted, "#hub-search")
    def _submitted(self, event: Input.Submitted) -> None:
        self._search(event.value, 0)
        self.hub_tree.focus()

    @work(group="hub-search", exclusive=True, exit_on_error=False)
    async def _search(self, text: str, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        await self.modella.ready.wait()
        query = " ".join(text.split())
        if not query:
            return
        services = self.modella.services
        hub = self.hub
        ref = pasted_repo(query, hub.endpoint if hub is not None else None)
        self.search_error = None
        if ref is not None:
            results = [HubSearchResult(ref.repo)]
        elif services.hub_search is None:
            self.search_error = t("ui.hub.no_client")
            self._show_detail()
            return
        else:
            self._set_detail(t("ui.hub.searching", query=query))
            try:
                results = await services.hub_search.search(query)
            except ModellaError as exc:
                self.search_error = exc.message
                self._show_detail()
                return
        self._show_results(query, results, open_first=ref is not None)

    def _show_results(
        self, query: str, results: Sequence[HubSearchResult], *, open_first: bool
    ) -> None:
        tree = self.hub_tree
        self.state.found = {r.id: r for r in results}
        node = tree.show_results(self.search_node, query, results)
        self.search_node = node
        self.found_nodes = {}
        for child in node.children:
            if isinstance(child.data, RepoNode):
                self._register(child.data.result.id, child)
        target = node.children[0] if node.children else node
        if open_first and results:
            target.expand()

        def land() -> None:
            # Once the tree has laid out the new lines: the cursor on the first result.
            tree.move_cursor(target)
            tree.scroll_to_node(node, animate=False)
            self._show_detail()

        self.call_after_refresh(land)

    @on(Tree.NodeExpanded, "#hub-tree")
    def _expanded(self, event: Tree.NodeExpanded[NodeData]) -> None:
        data = event.node.data
        if isinstance(data, RepoNode) and not any(
            isinstance(c.data, FileNode) for c in event.node.children
        ):
            self._open_repo(event.node)

    def _open_repo(self, node: Node) -> None:
        """List a searched repo's weight files under its line (asked once)."""
        data = node.data
        if not isinstance(data, RepoNode):
            return
        repo = data.result.id

        async def load() -> None:
            node.remove_children()
            node.add_leaf(Text(), NoteNode(t("ui.hub.loading_files")))
            await self._fetch_repo(repo, "main")
            picks = self.state.repo_picks(repo)
            error = self.state.repo_error(repo)
            for child in self.hub_tree.show_files(node, picks, error):
                self._register(repo, child)
            if repo in self.pending_marks:
                self.pending_marks.discard(repo)
                self.state.marks |= {p.key for p in picks or ()}
                self._show_status()
            self._load_local(reindex=False)
            if self.state.is_gated(repo) and repo not in self.state.gates:
                await self._check_gate(repo)
            self._show_detail()

        self.run_worker(load(), group=f"hub-repo-{repo}", exclusive=True, exit_on_error=False)

    # ----- marks and queueing ---------------------------------------------------------------
    def action_mark(self) -> None:
        """Mark or unmark what is under the cursor (a package or pack marks all its files)."""
        node = self.hub_tree.cursor_node
        data = node.data if node is not None else None
        if node is None or data is None:
            return
        if isinstance(data, RepoNode) and self.state.repo_picks(data.result.id) is None:
            self.pending_marks.add(data.result.id)
            node.expand()
            return
        keys = {p.key for p in self.state.picks_of(data)}
        if not keys:
            return
        if keys <= self.state.marks:
            self.state.marks -= keys
        else:
            self.state.marks |= keys
        self.hub_tree.refresh_all()
        self._show_status()
        if isinstance(data, FileNode):
            self.hub_tree.action_cursor_down()

    def action_queue_marked(self) -> None:
        """Queue the marked files, else the files of the line under the cursor."""
        picks = self.state.marked()
        title = ""
        if not picks:
            node = self.hub_tree.cursor_node
            data = node.data if node is not None else None
            if data is None:
                return
            picks = self.state.picks_of(data)
            title = title_of(data)
        if not picks:
            self.notify(t("ui.hub.nothing_to_queue"), severity="warning", markup=False)
            return
        self._queue(picks, title)

    @work(group="hub-queue", exclusive=True, exit_on_error=False)
    async def _queue(self, picks: list[HubPick], title: str) -> None:
        queued = await queue_hub(
            self.modella,
            picks,
            title,
            gated=self.state.is_gated,
            check_gate=self._check_gate,
            refused=self._focus_repo,
        )
        if queued:
            self.state.marks -= {p.key for p in picks}
            self.hub_tree.refresh_all()
            self._show_status()

    def _focus_repo(self, repo: str) -> None:
        """Show the gated repo's explanation: the cursor goes to a line of it when off it."""
        node = self.hub_tree.cursor_node
        picks = self.state.picks_of(node.data) if node is not None and node.data else []
        if not any(p.repo == repo for p in picks):
            for candidate in self.repo_nodes.get(repo, ()):
                if isinstance(candidate.data, PackageNode):
                    self.hub_tree.move_cursor(candidate)
                    break
        self._show_detail()

    def action_reload(self) -> None:
        """Ask the Hub again: sizes of repos that failed, and access to gated repos."""
        self.state.gates.clear()
        self.state.errors.clear()
        self.loaded_repos.clear()
        self.search_error = None
        self.hub_tree.refresh_all()
        self._show_status()
        self._load_sizes()
        self._load_local(reindex=True)

    def selected_refs(self) -> list[tuple[str, str | None]]:
        """(REF, file glob or None) of the marked files, else of the line under the cursor."""
        node = self.hub_tree.cursor_node
        return self.state.refs_of(node.data if node is not None else None)

    def action_add_to_list(self) -> None:
        """Add the marked files, else the package or file under the cursor, to a list."""
        refs = self.selected_refs()
        if not refs:
            self.notify(t("ui.hub.nothing_to_queue"), severity="warning", markup=False)
            return
        node = self.hub_tree.cursor_node
        marked = bool(self.state.marked())
        title = "" if marked or node is None or node.data is None else title_of(node.data)
        add_to_list(self.modella, refs, title or refs[0][0])

    # ----- language ---------------------------------------------------------------------------
    def relabel(self) -> None:
        """The language changed: placeholder, status, every line and the explanation."""
        super().relabel()
        if not self.is_mounted:
            return
        self.query_one("#hub-search", TextInput).placeholder = t("ui.hub.search_placeholder")
        self.hub_tree.refresh_all()
        self._show_status()
        self._show_detail()
