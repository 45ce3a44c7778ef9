"""The command base class: key, footer label, palette entry and help text in one place."""

from __future__ import annotations

import re
from typing import ClassVar

from textual.binding import Binding

from modella_tui.core.i18n import t

# Browsers and web terminals take these for themselves.
FORBIDDEN_KEYS = frozenset({"ctrl+w", "ctrl+t", "ctrl+n"})


class Command:
    """One action a user can take; subclasses set the class variables only."""

    KEY: ClassVar[str]
    """The key (or comma-separated keys) that runs it."""
    ACTION: ClassVar[str]
    """The Textual action string, e.g. `download` or `app.goto('queue')`."""
    LABEL: ClassVar[str]
    """Locale key of the short footer label (also the palette entry)."""
    HELP: ClassVar[str]
    """Locale key of the one-line help text."""
    SHOW: ClassVar[bool] = True
    """Shown in the footer."""
    PRIORITY: ClassVar[bool] = False
    """Checked before the focused widget sees the key."""
    IN_PALETTE: ClassVar[bool] = True
    """Offered in the command palette."""
    KEY_DISPLAY: ClassVar[str | None] = None
    HELP_ONLY: ClassVar[bool] = False
    """Documents keys a widget handles itself (arrows in a grid): listed in help, never bound."""

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        key = getattr(cls, "KEY", "")
        bad = FORBIDDEN_KEYS.intersection(k.strip() for k in key.split(","))
        if bad:
            raise ValueError(f"{cls.__name__} binds a key browsers take: {sorted(bad)}")

    @classmethod
    def command_id(cls) -> str:
        """A stable id for keymaps: the class name in snake case."""
        return re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()

    @classmethod
    def label(cls) -> str:
        """The translated footer label."""
        return t(cls.LABEL)

    @classmethod
    def help(cls) -> str:
        """The translated help text."""
        return t(cls.HELP)

    @classmethod
    def key_label(cls) -> str:
        """How the key reads to a person (`?`, `home, g`, `ctrl+p`)."""
        if cls.KEY_DISPLAY:
            return cls.KEY_DISPLAY
        return ", ".join(k.strip() for k in cls.KEY.split(",")) if cls.KEY else ""

    @classmethod
    def binding(cls) -> Binding:
        """A Binding with the label translated now (called when a screen is built)."""
        return Binding(
            cls.KEY,
            cls.ACTION,
            cls.label(),
            show=cls.SHOW,
            priority=cls.PRIORITY,
            id=cls.command_id(),
            key_display=cls.KEY_DISPLAY,
        )

    @classmethod
    def action_name(cls) -> str:
        """The action without namespace or parameters, for `check_action`."""
        name = cls.ACTION.split("(", 1)[0]
        return name.rsplit(".", 1)[-1]
