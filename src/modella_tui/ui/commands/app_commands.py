"""Commands available on every screen."""

from __future__ import annotations

from typing import ClassVar

from modella_tui.core.config import LANGUAGE_CHOICES
from modella_tui.ui.commands.base import Command


class Goto(Command):
    """Switch to a top-level screen (listed in the screens bar)."""

    MODE: ClassVar[str]


class Help(Command):
    """Show the keys of this screen."""

    KEY = "question_mark"
    KEY_DISPLAY = "?"
    ACTION = "app.help"
    LABEL = "ui.cmd.help"
    HELP = "ui.cmd.help.help"


class Quit(Command):
    """Quit (asks first while downloads run)."""

    KEY = "q"
    ACTION = "app.request_quit"
    LABEL = "ui.cmd.quit"
    HELP = "ui.cmd.quit.help"


class Back(Command):
    """Go back to the previous screen."""

    KEY = "escape"
    ACTION = "app.back"
    LABEL = "ui.cmd.back"
    HELP = "ui.cmd.back.help"
    SHOW = False


class GotoDashboard(Goto):
    """Switch to the dashboard."""

    KEY = "1"
    ACTION = "app.goto('dashboard')"
    MODE = "dashboard"
    SHOW = False  # the screens bar shows it
    LABEL = "ui.screen.dashboard"
    HELP = "ui.cmd.goto_dashboard.help"


class GotoBrowser(Goto):
    """Switch to the Civitai browser."""

    KEY = "2"
    ACTION = "app.goto('browser')"
    MODE = "browser"
    SHOW = False  # the screens bar shows it
    LABEL = "ui.screen.browser"
    HELP = "ui.cmd.goto_browser.help"


class GotoHub(Goto):
    """Switch to the Hugging Face catalogue and search."""

    KEY = "3"
    ACTION = "app.goto('hub')"
    MODE = "hub"
    SHOW = False  # the screens bar shows it
    LABEL = "ui.screen.hub"
    HELP = "ui.cmd.goto_hub.help"


class GotoQueue(Goto):
    """Switch to the download queue."""

    KEY = "4"
    ACTION = "app.goto('queue')"
    MODE = "queue"
    SHOW = False  # the screens bar shows it
    LABEL = "ui.screen.queue"
    HELP = "ui.cmd.goto_queue.help"


class GotoLibrary(Goto):
    """Switch to the library of local files."""

    KEY = "5"
    ACTION = "app.goto('library')"
    MODE = "library"
    SHOW = False  # the screens bar shows it
    LABEL = "ui.screen.library"
    HELP = "ui.cmd.goto_library.help"


class GotoLists(Goto):
    """Switch to the named lists."""

    KEY = "6"
    ACTION = "app.goto('lists')"
    MODE = "lists"
    SHOW = False  # the screens bar shows it
    LABEL = "ui.screen.lists"
    HELP = "ui.cmd.goto_lists.help"


class GotoUsage(Goto):
    """Switch to the disk usage charts."""

    KEY = "7"
    ACTION = "app.goto('usage')"
    MODE = "usage"
    SHOW = False  # the screens bar shows it
    LABEL = "ui.screen.usage"
    HELP = "ui.cmd.goto_usage.help"


class GotoSettings(Goto):
    """Switch to the settings."""

    KEY = "8"
    ACTION = "app.goto('settings')"
    MODE = "settings"
    SHOW = False  # the screens bar shows it
    LABEL = "ui.screen.settings"
    HELP = "ui.cmd.goto_settings.help"


class ThemeDark(Command):
    """Use the dark theme."""

    KEY = ""
    ACTION = "app.set_theme('dark')"
    LABEL = "ui.cmd.theme_dark"
    HELP = "ui.cmd.theme_dark.help"
    SHOW = False


class ThemeLight(Command):
    """Use the light theme."""

    KEY = ""
    ACTION = "app.set_theme('light')"
    LABEL = "ui.cmd.theme_light"
    HELP = "ui.cmd.theme_light.help"
    SHOW = False


class ThemeHighContrast(Command):
    """Use the high-contrast theme."""

    KEY = ""
    ACTION = "app.set_theme('high-contrast')"
    LABEL = "ui.cmd.theme_high_contrast"
    HELP = "ui.cmd.theme_high_contrast.help"
    SHOW = False


class Palette(Command):
    """Every action of this screen and the app, searchable (Textual's own key)."""

    KEY = "ctrl+p"
    ACTION = "app.command_palette"
    LABEL = "ui.cmd.palette"
    HELP = "ui.cmd.palette.help"
    HELP_ONLY = True
    IN_PALETTE = False


def _language_command(code: str) -> type[Command]:
    """A palette entry that switches the language (no key: the palette or Settings reach it)."""
    attrs = {
        "__doc__": f"Switch the interface language to {code}.",
        "KEY": "",
        "ACTION": f"app.set_language('{code}')",
        "LABEL": f"ui.cmd.language.{code}",
        "HELP": "ui.cmd.language.help",
        "SHOW": False,
    }
    return type(f"Language{code.title()}", (Command,), attrs)


LANGUAGES: tuple[type[Command], ...] = tuple(_language_command(code) for code in LANGUAGE_CHOICES)

NAVIGATION: tuple[type[Goto], ...] = (
    GotoDashboard,
    GotoBrowser,
    GotoHub,
    GotoQueue,
    GotoLibrary,
    GotoLists,
    GotoUsage,
    GotoSettings,
)
GLOBAL: tuple[type[Command], ...] = (
    *NAVIGATION,
    Help,
    Quit,
    Back,
    Palette,
    ThemeDark,
    ThemeLight,
    ThemeHighContrast,
    *LANGUAGES,
)
