"""Sizes and counts as people read them, the same in the CLI and the app."""

from __future__ import annotations


def human_size(num: float | None) -> str:
    """1536 → `1.5 KB` (1024-based, as Civitai, Forge and `du -h` count); None → `?`."""
    if num is None:
        return "?"
    size = float(num)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(size) < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"


def human_count(num: float | None) -> str:
    """12345 → `12.3k`; None → `–` (a new model has no counters yet)."""
    if num is None:
        return "–"
    n = float(num)
    for unit, div in (("M", 1e6), ("k", 1e3)):
        if abs(n) >= div:
            return f"{n / div:.1f}{unit}"
    return f"{n:.0f}"
