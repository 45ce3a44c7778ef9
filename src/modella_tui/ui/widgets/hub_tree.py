"""The Hugging Face tree: Textual's Tree whose lines are drawn from the screen's state at the
width they have, so sizes, marks and status words line up in columns and follow every change."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets.tree import TreeNode

from modella_tui.core.errors import ModellaError
from modella_tui.core.hub.browse import HubPick
from modella_tui.core.hub.search import HubSearchResult
from modella_tui.core.i18n import t
from modella_tui.ui.bindings import replace_bindings
from modella_tui.ui.hub_state import (
    CategoryNode,
    FileNode,
    HubState,
    NodeData,
    NoteNode,
    PackageNode,
    PackNode,
    RepoNode,
)
from modella_tui.ui.widgets.folding_tree import FoldingTree

LineMaker = Callable[[NodeData, int], Text]
"""(node data, width in cells) → the line's text."""


class HubTree(FoldingTree[NodeData]):
    """`space` is the screen's (marking), not the tree's; left and right fold and unfold."""

    DEFAULT_CSS = """
    HubTree { scrollbar-gutter: stable; overflow-x: hidden; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left", "fold", show=False),
        Binding("right", "unfold", show=False),
    ]
    ICON_NODE = "▸ "
    ICON_NODE_EXPANDED = "▾ "

    def __init__(self, make_line: LineMaker, **kwargs: Any) -> None:
        super().__init__("hub", **kwargs)
        self.make_line = make_line
        self.show_root = False
        self.guide_depth = 3
        # The tree's own space toggles a branch; here space marks (a screen key).
        replace_bindings(self, [], lambda key, _b: key == "space")

    def depth(self, node: TreeNode[NodeData]) -> int:
        """How many levels below the top a node is (top-level lines are 0)."""
        depth = 0
        parent = node.parent
        while parent is not None and parent is not self.root:
            depth += 1
            parent = parent.parent
        return depth

    def render_label(self, node: TreeNode[NodeData], base_style: Style, style: Style) -> Text:
        """The line from the state, sized to what is left of the width after guides and icon."""
        data = node.data
        icon = ""
        if node.allow_expand:
            icon = self.ICON_NODE_EXPANDED if node.is_expanded else self.ICON_NODE
        room = self.scrollable_content_region.width or self.size.width
        width = max(10, room - self.depth(node) * self.guide_depth - len(icon) - 1)
        label = self.make_line(data, width) if data is not None else Text(str(node.label))
        label.stylize(style)
        return Text.assemble((icon, base_style), label)

    def build(self, state: HubState) -> dict[str, list[TreeNode[NodeData]]]:
        """The catalogue's lines: categories (open) → packages → files, then the packs; the
        lines of each repo, so the screen can redraw them when its answer arrives."""
        by_repo: dict[str, list[TreeNode[NodeData]]] = {}

        def register(repo: str, node: TreeNode[NodeData]) -> None:
            by_repo.setdefault(repo, []).append(node)

        catalogue = state.catalogue
        for category, packages in catalogue.by_category():
            if not packages:
                continue
            data = CategoryNode(category.id, category.title_key, len(packages))
            cat = self.root.add(Text(), data, expand=True)
            for package in packages:
                pnode = cat.add(Text(), PackageNode(package))
                register(package.repo, pnode)
                for pick in state.package_picks(package):
                    register(pick.repo, pnode.add_leaf(Text(), FileNode(pick)))
        if catalogue.packs:
            data = CategoryNode("packs", "ui.hub.packs", len(catalogue.packs))
            packs = self.root.add(Text(), data, expand=True)
            for pack in catalogue.packs:
                node = packs.add(Text(), PackNode(pack))
                for pick in state.pack_picks(pack):
                    register(pick.repo, node)
                    register(pick.repo, node.add_leaf(Text(), FileNode(pick)))
        if self.root.children:
            self.move_cursor(self.root.children[0])
        return by_repo

    def show_results(
        self, old: TreeNode[NodeData] | None, query: str, results: Sequence[HubSearchResult]
    ) -> TreeNode[NodeData]:
        """The search's results at the top of the tree (replacing the last search's)."""
        if old is not None:
            old.remove()
        data = CategoryNode("search", "ui.hub.search_results", len(results), query)
        first = self.root.children[0] if self.root.children else None
        node = self.root.add(Text(), data, before=first, expand=True)
        for result in results:
            node.add(Text(), RepoNode(result))
        if not results:
            node.add_leaf(Text(), NoteNode(t("ui.hub.no_results", query=query)))
        return node

    def show_files(
        self, node: TreeNode[NodeData], picks: list[HubPick] | None, error: ModellaError | None
    ) -> list[TreeNode[NodeData]]:
        """A searched repo's weight files under its line, or why there are none."""
        node.remove_children()
        if picks is None or error is not None:
            message = error.message if error is not None else t("ui.hub.error")
            node.add_leaf(Text(), NoteNode(message))
            return []
        if not picks:
            node.add_leaf(Text(), NoteNode(t("ui.hub.no_weights")))
        return [node.add_leaf(Text(), FileNode(pick)) for pick in picks]

    def refresh_all(self) -> None:
        """Every line again (the state behind many lines changed)."""
        stack = list(self.root.children)
        while stack:
            node = stack.pop()
            node.refresh()
            stack.extend(node.children)

    def action_unfold(self) -> None:
        """Open the branch under the cursor, else go to its first child."""
        node = self.cursor_node
        if node is None or not node.allow_expand:
            return
        if not node.is_expanded:
            node.expand()
        elif node.children:
            self.move_cursor(node.children[0])
