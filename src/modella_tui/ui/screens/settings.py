"""Settings: keys (masked, with a test), models folder, layout, language, theme, parallelism."""

from __future__ import annotations

import os
from typing import Any

from textual import events, on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Input, Label, Select

from modella_tui.core.config import LANGUAGE_CHOICES, LAYOUTS, THEMES
from modella_tui.core.errors import ModellaError
from modella_tui.core.i18n import t
from modella_tui.ui.commands.settings_commands import SETTINGS
from modella_tui.ui.screens.base import BaseScreen
from modella_tui.ui.themes import textual_name
from modella_tui.ui.widgets.text_input import TextInput

SECRET_FIELDS = {"civitai.api_key": "civitai", "hf.token": "hf"}
TEXT_FIELDS = ("models_dir", "max_parallel", "connections_per_file")
CHOICE_FIELDS: dict[str, tuple[str, ...]] = {
    "layout": LAYOUTS,
    "language": LANGUAGE_CHOICES,
    "theme": THEMES,
}


SHORT = 40
"""Below this height the form drops field borders."""


def _field_id(key: str) -> str:
    return "set-" + key.replace(".", "-").replace("_", "-")


class SettingsScreen(BaseScreen):
    """Each change is saved at once through `settings.set`."""

    COMMANDS_LIST = SETTINGS
    TITLE_KEY = "ui.screen.settings"
    MODE = "settings"

    def compose(self) -> ComposeResult:
        """One row a setting."""
        yield from self.compose_header()
        settings = self.modella.settings
        with VerticalScroll(id="settings-form"):
            for key, which in SECRET_FIELDS.items():
                with Horizontal(classes="setting-row"):
                    yield Label(t(f"ui.settings.{key}"), classes="setting-label")
                    masked = settings.display(key)
                    source = settings.source(key)
                    placeholder = (
                        t("ui.settings.secret_from_env", masked=masked)
                        if source == "env"
                        else masked or t("ui.settings.secret_empty")
                    )
                    yield TextInput(
                        password=True,
                        placeholder=placeholder,
                        id=_field_id(key),
                        disabled=source == "env",
                    )
                    yield Button(t("ui.settings.test"), id=f"test-{which}")
            for key in TEXT_FIELDS:
                with Horizontal(classes="setting-row"):
                    yield Label(t(f"ui.settings.{key}"), classes="setting-label")
                    yield TextInput(
                        str(settings.get(key)),
                        id=_field_id(key),
                        type="integer" if key != "models_dir" else "text",
                        disabled=settings.source(key) == "env",
                    )
            for key, choices in CHOICE_FIELDS.items():
                with Horizontal(classes="setting-row"):
                    yield Label(t(f"ui.settings.{key}"), classes="setting-label")
                    yield Select(
                        [(t(f"ui.settings.{key}.{c}"), c) for c in choices],
                        value=settings.get(key),
                        allow_blank=False,
                        id=_field_id(key),
                    )
            yield Label(t("ui.settings.hint"), id="settings-hint")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        """Compact fields on a short terminal; the keyboard starts in the first field."""
        self._fit(self.app.size.height)
        first = next((w for w in self.query(TextInput) if not w.disabled), None)
        if first is not None:
            first.focus()

    def on_resize(self, event: events.Resize) -> None:
        """Borderless fields below 40 lines, so every setting fits at 80×24."""
        self._fit(event.size.height)

    def _fit(self, height: int) -> None:
        compact = height < SHORT
        self.set_class(compact, "-short")
        for widget in self.query(".setting-row > *").results():
            if isinstance(widget, (Input, Select, Button)):
                widget.compact = compact

    def _save(self, key: str, value: Any, quiet: bool = False) -> bool:
        settings = self.modella.settings
        try:
            settings.set(key, value)
        except (ModellaError, OSError) as exc:
            self.modella.report_error(exc)
            return False
        if not quiet:
            self._saved(key)
        self.modella.apply_setting(key)
        return True

    def _saved(self, key: str) -> None:
        self.notify(t("ui.settings.saved", key=t(f"ui.settings.{key}")), markup=False, timeout=2)

    @on(Select.Changed)
    def _choice(self, event: Select.Changed) -> None:
        key = next((k for k in CHOICE_FIELDS if _field_id(k) == event.select.id), None)
        if key is None or event.value == self.modella.settings.get(key):
            return
        if not self._save(key, event.value, quiet=key == "language"):
            return
        if key == "theme":
            self.app.theme = textual_name(str(event.value))
        elif key == "language":
            lang = self.modella.apply_language()
            # The confirmation comes in the new language, so the user sees it took effect.
            self._saved(key)
            forced = os.environ.get("MODELLA_LANG", "").strip().lower()
            if forced and forced == lang and forced != event.value:
                self.notify(
                    t("ui.settings.language_forced", lang=forced), severity="warning", markup=False
                )

    def relabel(self) -> None:
        """Labels, placeholders and choices in the new language: build the form again."""
        super().relabel()
        if self.is_mounted:
            self.call_later(self._rebuild)

    async def _rebuild(self) -> None:
        focused = self.focused.id if self.focused is not None else None
        await self.recompose()
        self._fit(self.app.size.height)
        if focused:
            widgets = self.query(f"#{focused}")
            if widgets:
                widgets.first().focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self._save_input(event.input)

    @on(Input.Blurred)
    def _blurred(self, event: Input.Blurred) -> None:
        self._save_input(event.input)

    def _save_input(self, field: Input) -> None:
        key = next((k for k in (*SECRET_FIELDS, *TEXT_FIELDS) if _field_id(k) == field.id), None)
        if key is None:
            return
        value = field.value.strip()
        if key in SECRET_FIELDS:
            if not value:
                return  # an empty box keeps the stored secret
            if self._save(key, value):
                field.value = ""
                field.placeholder = self.modella.settings.display(key)
            return
        if value and value != str(self.modella.settings.get(key)):
            # A new folder gets its own notice (where downloads go now), not a second toast.
            self._save(key, value, quiet=key == "models_dir")

    @on(Button.Pressed, "#test-civitai")
    def _test_civitai(self) -> None:
        self.action_test_key("civitai")

    @on(Button.Pressed, "#test-hf")
    def _test_hf(self) -> None:
        self.action_test_key("hf")

    def action_test_key(self, which: str) -> None:
        """Call the API with the key and say what it answered."""
        check = self.modella.services.check_key
        if check is None:
            self.notify(t("ui.settings.test_unavailable"), severity="warning", markup=False)
            return

        async def run() -> None:
            try:
                await check(which)
            except ModellaError as exc:
                self.modella.report_error(exc)
                return
            self.notify(t(f"ui.settings.test_ok_{which}"), markup=False)

        self.run_worker(run(), group="key-test", exclusive=True, exit_on_error=False)
