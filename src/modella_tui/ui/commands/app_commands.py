"""Commands available on every screen."""

from __future__ import annotations

from modella_tui.ui.commands.base import Command


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


class GotoBrowser(Command):
    """Switch to the Civitai browser."""

    KEY = "2"
    ACTION = "app.goto('browser')"
    LABEL = "ui.screen.browser"
    HELP = "ui.cmd.goto_browser.help"


class GotoQueue(Command):
    """Switch to the download queue."""

    KEY = "4"
    ACTION = "app.goto('queue')"
    LABEL = "ui.screen.queue"
    HELP = "ui.cmd.goto_queue.help"


class GotoSettings(Command):
    """Switch to the settings."""

    KEY = "8"
    ACTION = "app.goto('settings')"
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


NAVIGATION: tuple[type[Command], ...] = (GotoBrowser, GotoQueue, GotoSettings)
GLOBAL: tuple[type[Command], ...] = (
    *NAVIGATION,
    Help,
    Quit,
    Back,
    ThemeDark,
    ThemeLight,
    ThemeHighContrast,
)
