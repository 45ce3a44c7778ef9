"""The one place that rewrites a node's key bindings at run time.

Textual builds a node's bindings once, from the class's `BINDINGS`; it has no public call to
replace them. We need it twice: footer labels translated again when the language changes, and an
Input without the keys browsers take. This function is the only user of the private
`DOMNode._bindings` map; Textual is pinned (pyproject.toml) and `tests/ui/test_bindings.py` checks
the behaviour, so an upgrade that changes it fails there first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from textual.binding import Binding, BindingsMap
from textual.dom import DOMNode


def replace_bindings(
    node: DOMNode, add: Iterable[Binding], drop: Callable[[str, Binding], bool]
) -> None:
    """Drop the node's bindings for which `drop(key, binding)` is true, then add `add`."""
    kept = [(key, b) for key, b in node._bindings if not drop(key, b)]
    merged = BindingsMap(binding for _, binding in kept)
    for binding in Binding.make_bindings(add):
        merged.key_to_bindings.setdefault(binding.key, []).append(binding)
    node._bindings = merged
