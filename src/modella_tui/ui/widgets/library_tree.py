"""The Library's tree: groups open lazily, each line is name · badges · size, fitted to the width.

A models folder can hold 20,000 files: only the top groups are nodes at first, and a group's
children become nodes when it is opened (`children` is asked for them). Each line is laid out for
the width it has — the name cut in the middle, the badges after it, the size right-aligned — so
nothing scrolls sideways and the badges stay visible at 80 columns.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import ClassVar

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text, TextType
from textual.binding import Binding, BindingType
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from modella_tui.core.library_files import LocalFile
from modella_tui.core.library_view import Group
from modella_tui.ui.columns import middle
from modella_tui.ui.widgets.folding_tree import FoldingTree

SIZE_CELLS = 9
MIN_BADGES = 8  # cells: fewer shows no badge at all (a cut word helps nobody)


@dataclass(frozen=True)
class Entry:
    """One line of the tree: a group or a file, with what its line shows."""

    key: str
    depth: int
    name: str
    size: str
    badges: Text = field(default_factory=Text)
    group: Group | None = None
    file: LocalFile | None = None
    style: str = ""
    rest: Group | None = None
    """A "more" line: the group whose files from `offset` on are not shown yet."""
    offset: int = 0


class LibraryTree(FoldingTree[Entry]):
    """A tree whose groups are filled in when opened; `right` opens, `left` closes or goes up."""

    DEFAULT_CSS = """
    LibraryTree { overflow-x: hidden; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("right", "unfold", show=False),
        Binding("left", "fold", show=False),
    ]

    def __init__(self, children: Callable[[Entry], list[Entry]], *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.show_root = False
        self.guide_depth = 3
        self.children_of = children
        self.by_key: dict[str, TreeNode[Entry]] = {}
        self.fallback_key: str | None = None
        """The first line, when the cursor was put there for want of a place the user chose."""

    # ----- content -------------------------------------------------------------------------------
    def show(self, top: Iterable[Entry], expanded: Collection[str], cursor: str | None) -> None:
        """Replace every node; reopen the groups in `expanded` and put the cursor back."""
        self.unselect()  # the old cursor node is gone; moving it again announces the new one
        self.clear()
        self.by_key = {}
        for entry in top:
            self._restore(self._add(self.root, entry), expanded)
        self.call_after_refresh(self.focus_key, cursor)

    def _add(self, parent: TreeNode[Entry], entry: Entry) -> TreeNode[Entry]:
        label = Text(entry.name)
        if entry.group is not None:
            node = parent.add(label, data=entry, allow_expand=True)
        else:
            node = parent.add_leaf(label, data=entry)
        self.by_key[entry.key] = node
        return node

    def _restore(self, node: TreeNode[Entry], expanded: Collection[str]) -> None:
        if node.data is not None and node.data.key in expanded:
            self.fill(node)
            node.expand()
            for child in node.children:
                self._restore(child, expanded)

    def fill(self, node: TreeNode[Entry]) -> None:
        """Make a group's children nodes, once."""
        if node.children or node.data is None or node.data.group is None:
            return
        for entry in self.children_of(node.data):
            self._add(node, entry)

    def show_more(self, node: TreeNode[Entry]) -> None:
        """Replace a "more" line by the next page of files (and a new "more" line if needed)."""
        parent = node.parent
        if node.data is None or node.data.rest is None or parent is None:
            return
        entries = self.children_of(node.data)
        node.remove()
        self.by_key.pop(node.data.key, None)
        for entry in entries:
            self._add(parent, entry)
        if entries:
            self.call_after_refresh(self.focus_key, entries[0].key)

    def process_label(self, label: TextType) -> Text:
        """Labels are one-line `Text` already (cleaned names): no markup, no copy."""
        return label if isinstance(label, Text) else Text(str(label))

    def focus_key(self, key: str | None) -> None:
        """Put the cursor on the node with this key, else on its nearest group still there
        (a file renamed or deleted), else on the first line."""
        for candidate in _with_parents(key):
            node = self.by_key.get(candidate)
            if node is not None and node.line >= 0:
                self.move_cursor(node)
                return
        if self.root.children:
            first = self.root.children[0]
            self.fallback_key = first.data.key if first.data is not None else None
            self.move_cursor(first)

    @property
    def current(self) -> Entry | None:
        """The entry under the cursor, if any."""
        node = self.cursor_node if self.cursor_line >= 0 else None
        return node.data if node is not None else None

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[Entry]) -> None:
        """Opened by a key or a click: fill it now."""
        self.fill(event.node)

    def action_unfold(self) -> None:
        """Open a group, or step into an open one; on a "more" line, show the next files."""
        node = self.cursor_node
        if node is not None and node.data is not None and node.data.rest is not None:
            self.show_more(node)
            return
        if node is None or not node.allow_expand:
            return
        if not node.is_expanded:
            self.fill(node)
            node.expand()
        elif node.children:
            self.move_cursor(node.children[0])

    # ----- drawing -------------------------------------------------------------------------------
    def _room(self, entry: Entry) -> int:
        return max(0, self.scrollable_content_region.width - entry.depth * self.guide_depth)

    def get_label_width(self, node: TreeNode[Entry]) -> int:
        """Every line fills the width it has (so the tree never scrolls sideways)."""
        return self._room(node.data) if node.data is not None else 0

    def render_label(self, node: TreeNode[Entry], base_style: Style, style: Style) -> Text:
        """Icon, name (cut in the middle), badges, then the size at the right edge."""
        entry = node.data
        if entry is None:
            return Text()
        room = self._room(entry)
        icon = ""
        if node.allow_expand:
            icon = self.ICON_NODE_EXPANDED if node.is_expanded else self.ICON_NODE
        size = entry.size.rjust(SIZE_CELLS)
        badges = entry.badges
        name_room = room - cell_len(icon) - SIZE_CELLS - 1
        left = name_room - cell_len(entry.name) - 1  # for badges once the whole name is shown
        if badges.cell_len > left:
            # The name first (two copies must be told apart); the badges, most telling first,
            # keep what room is left, or go (the info pane still says them).
            if left >= MIN_BADGES:
                badges = badges.copy()
                badges.truncate(left, overflow="ellipsis")
            else:
                badges = Text()
        if badges.cell_len:
            name_room -= badges.cell_len + 1
        name = middle(entry.name, max(1, name_room))
        line = Text(no_wrap=True, overflow="crop")
        line.append(icon, base_style)
        line.append(name, style + Style.parse(entry.style) if entry.style else style)
        if badges.cell_len:
            line.append(" ", style)
            badge_text = badges.copy()
            badge_text.stylize(style)
            line.append_text(badge_text)
        gap = room - line.cell_len - len(size)
        line.append(" " * max(1, gap), style)
        line.append(size, style)
        return line


def _with_parents(key: str | None) -> list[str]:
    """`key`, then the keys of the groups above it (`a/b/file:/x/y` → `a/b` → `a`)."""
    out: list[str] = []
    while key:
        out.append(key)
        if "/file:" in key:
            key = key.rsplit("/file:", 1)[0]
        elif "/" in key:
            key = key.rsplit("/", 1)[0]
        else:
            break
    return out
