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


SETTINGS: tuple[type[Command], ...] = (TestCivitaiKey, TestHfToken)
