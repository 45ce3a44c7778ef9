"""Table columns that fit the terminal by priority: which columns stay, and how wide each is.

Each table names its columns with a priority (0 = always shown) and a minimum width. A column that
does not `shrink` (a size, a state, a date) is shown whole or not at all; one that shrinks (a name)
may be cut down to its minimum. At a given width, columns are dropped from the least important
until what is kept fits; the room left goes to the shrinking columns, most important first, up to
their content's width; what is still left goes to the `fill` column. Names are cut in the middle
(`middle()`), so the part that tells versions apart (`…_v12.safetensors`) stays visible.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from rich.cells import cell_len

CELL_PADDING = 2
"""A DataTable cell's padding: one cell on each side."""


@dataclass(frozen=True)
class Column:
    """One column of a table."""

    key: str
    minimum: int
    priority: int = 0
    fill: bool = False
    """Takes the width left once every column has its content's width (it also shrinks)."""
    maximum: int | None = None
    whole: bool = False
    """Shown only where its content fits uncut (its minimum is its content's width)."""
    shrink: bool = False
    """May be cut to its minimum (names); other columns are shown whole or dropped."""


def fit_columns(
    columns: Sequence[Column], width: int, natural: Mapping[str, int]
) -> dict[str, int]:
    """Column key → width (padding excluded) for a table `width` cells wide; dropped keys absent.

    `natural` is each column's content width (its widest cell or header).
    """

    def want(c: Column) -> int:
        n = natural.get(c.key, c.minimum)
        if c.maximum is not None:
            n = min(n, c.maximum)
        return max(c.minimum, n)

    def cuts(c: Column) -> bool:
        return c.shrink or c.fill

    def need(cols: Sequence[Column]) -> int:
        return sum(c.minimum if cuts(c) else want(c) for c in cols) + CELL_PADDING * len(cols)

    kept = [
        replace(c, minimum=max(c.minimum, natural.get(c.key, 0))) if c.whole else c for c in columns
    ]
    while kept and need(kept) > width:
        drop = max((c for c in kept if c.priority > 0), key=lambda c: c.priority, default=None)
        if drop is None:
            break
        kept.remove(drop)
    widths = {c.key: c.minimum if cuts(c) else want(c) for c in kept}
    left = width - need(kept)
    for column in sorted((c for c in kept if cuts(c)), key=lambda c: c.priority):
        grow = max(0, min(left, want(column) - widths[column.key]))
        widths[column.key] += grow
        left -= grow
    fill = next((c for c in kept if c.fill), None)
    if fill is not None and left > 0:
        widths[fill.key] += left
    return {c.key: widths[c.key] for c in kept}


def natural_widths(header: Mapping[str, str], rows: Iterable[Mapping[str, str]]) -> dict[str, int]:
    """The widest cell (or header) of each column, in terminal cells."""
    widths = {key: cell_len(text) for key, text in header.items()}
    for row in rows:
        for key, text in row.items():
            widths[key] = max(widths.get(key, 0), cell_len(text))
    return widths


def middle(text: str, width: int) -> str:
    """`text` cut to `width` cells in the middle: `Aurora_Rea…_v12.safetensors`.

    The end matters most (versions and precisions sit just before the extension), so the tail
    keeps the extension and as much of the name before it as the width allows, the head a third.
    """
    if width <= 0:
        return ""
    if cell_len(text) <= width:
        return text
    if width == 1:
        return "…"
    head_budget = max(1, (width - 1) // 3)
    ext = text[text.rfind(".") :] if "." in text[-17:] else ""
    if ext and width - 1 - cell_len(ext) >= 3:
        # The extension and up to six cells of the name before it come before the head.
        head_budget = min(head_budget, max(1, width - 1 - cell_len(ext) - 6))
    head_budget = max(1, head_budget)
    tail_budget = width - 1 - head_budget
    head = _take(text, head_budget)
    tail = _take(text[::-1], tail_budget)[::-1]
    return head + "…" + tail


def _take(text: str, budget: int) -> str:
    """The longest prefix of `text` that fits `budget` cells (wide characters count two)."""
    out, used = [], 0
    for ch in text:
        w = cell_len(ch)
        if used + w > budget:
            break
        out.append(ch)
        used += w
    return "".join(out)
