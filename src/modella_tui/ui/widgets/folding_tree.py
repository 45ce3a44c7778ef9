"""A Tree whose `left` closes the open branch under the cursor, else goes up to its parent."""

from __future__ import annotations

from typing import TypeVar

from textual.widgets import Tree

T = TypeVar("T")


class FoldingTree(Tree[T]):
    """The key handling the Hugging Face and Library trees share."""

    def action_fold(self) -> None:
        """Close the open branch under the cursor, else go to its parent."""
        node = self.cursor_node
        if node is None:
            return
        if node.allow_expand and node.is_expanded:
            node.collapse()
        elif node.parent is not None and node.parent is not self.root:
            self.move_cursor(node.parent)
