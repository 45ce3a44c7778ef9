"""`modella serve`: the terminal app in a browser through textual-serve, locked down."""

from __future__ import annotations

from modella_tui.serve.server import run_serve

__all__ = ["run_serve"]
