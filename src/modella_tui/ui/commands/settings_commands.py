"""Commands of the settings screen."""

from __future__ import annotations

from modella_tui.ui.commands.base import Command


class TestCivitaiKey(Command):
    """Ask Civitai whether the key works."""

    KEY = ""  # the Test button is in the form; Input keeps ctrl+k
    ACTION = "test_key('civitai')"
    LABEL = "ui.cmd.test_civitai"
    HELP = "ui.cmd.test_civitai.help"


class TestHfToken(Command):
    """Ask the Hub whether the token works."""

    KEY = ""  # ctrl+h is backspace in many terminals
    ACTION = "test_key('hf')"
    LABEL = "ui.cmd.test_hf"
    HELP = "ui.cmd.test_hf.help"
    SHOW = False


class NextField(Command):
    """Tab and shift+tab move between fields."""

    KEY = "tab,shift+tab"
    KEY_DISPLAY = "tab, shift+tab"
    ACTION = ""
    LABEL = "ui.cmd.next_field"
    HELP = "ui.cmd.next_setting.help"
    HELP_ONLY = True


class SaveField(Command):
    """Enter saves the field; escape leaves it so the screen keys work again."""

    KEY = "enter,escape"
    KEY_DISPLAY = "enter, escape"
    ACTION = ""
    LABEL = "ui.cmd.save_field"
    HELP = "ui.cmd.save_field.help"
    HELP_ONLY = True


SETTINGS: tuple[type[Command], ...] = (
    TestCivitaiKey,
    TestHfToken,
    NextField,
    SaveField,
)
