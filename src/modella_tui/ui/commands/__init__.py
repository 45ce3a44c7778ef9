"""Commands: one small class each, read by the footer, the palette and the help."""

from modella_tui.ui.commands.base import Command

__all__ = ["Command"]
