"""Settings: keys (masked, with a test), models folder, layout, language, theme, parallelism.

A choice is saved as soon as it is made; a typed field only with enter. Leaving a field without
enter puts the saved value back (a key typed there is dropped) and says so, so a stray key never
becomes a setting and nothing typed is lost without a word. Enter in an empty key field offers to
remove the saved key.
"""

from __future__ import annotations

import os
from typing import Any

from textual import events, on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Input, Label, Select

from modella_tui.core.config import LANGUAGE_CHOICES, LAYOUTS, SPEC_BY_KEY, THEMES
from modella_tui.core.errors import ConfigError, ModellaError
from modella_tui.core.i18n import t
from modella_tui.ui.commands.settings_commands import SETTINGS
from modella_tui.ui.screens.base import BaseScreen
from modella_tui.ui.screens.modals.confirm import ConfirmScreen
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


def _label(key: str) -> str:
    return t(f"ui.settings.{key}")


class SettingsScreen(BaseScreen):
    """Each confirmed change is saved at once through `settings.set`."""

    COMMANDS_LIST = SETTINGS
    TITLE_KEY = "ui.screen.settings"
    MODE = "settings"

    def __init__(self) -> None:
        super().__init__()
        self._refused: dict[str, str] = {}
        """A field's text that was just refused: its error was said, leaving it says no more."""

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
                        t("ui.settings.secret_from_env", masked=masked, var=self._env_var(key))
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

    def _env_var(self, key: str) -> str:
        """The environment variable a setting's value comes from."""
        env = self.modella.settings.env
        return next((v for v in SPEC_BY_KEY[key].env if env.get(v)), "")

    def _save(self, key: str, value: Any, quiet: bool = False) -> bool:
        settings = self.modella.settings
        try:
            settings.set(key, value)
        except ConfigError as exc:
            # The core names the setting by its key (for `modella config`); here, by its label.
            if "key" in exc.params:
                exc = ConfigError(exc.key, **{**exc.params, "key": self._quoted(key)})
            self.modella.report_error(exc)
            return False
        except (ModellaError, OSError) as exc:
            self.modella.report_error(exc)
            return False
        if not quiet:
            self._saved(key)
        self.modella.apply_setting(key)
        return True

    def _saved(self, key: str) -> None:
        self.notify(t("ui.settings.saved", key=_label(key)), markup=False, timeout=2)

    @staticmethod
    def _quoted(key: str) -> str:
        return t("ui.settings.field_name", label=_label(key))

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

    def _field_key(self, field: Input) -> str | None:
        return next((k for k in (*SECRET_FIELDS, *TEXT_FIELDS) if _field_id(k) == field.id), None)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        """Enter: the one way a typed value is saved."""
        field = event.input
        key = self._field_key(field)
        if key is None:
            return
        value = field.value.strip()
        self._refused.pop(key, None)
        if key in SECRET_FIELDS:
            if not value:
                self._offer_removal(key)
            elif not self._save_secret(key, field, value):
                self._refused[key] = value
            return
        saved = str(self.modella.settings.get(key))
        if not value or value == saved:
            field.value = saved
        # A new folder gets its own notice (where downloads go now), not a second toast.
        elif self._save(key, value, quiet=key == "models_dir"):
            field.value = str(self.modella.settings.get(key))
        else:
            self._refused[key] = value  # kept in the field, to be corrected

    @on(Input.Blurred)
    def _blurred(self, event: Input.Blurred) -> None:
        if not self.app.app_focus:
            return  # the terminal lost focus (another window): the field gets it back as it was
        key = self._field_key(event.input)
        which = SECRET_FIELDS.get(key or "")
        focused = self.focused
        if which is not None and focused is not None and focused.id == f"test-{which}":
            return  # on its way to its Test button, which saves the typed key and tries it
        self._leave(event.input)

    def on_screen_suspend(self) -> None:
        """Another screen (or a dialog) came over this one: fields left unconfirmed go back."""
        for field in self.query(TextInput):
            self._leave(field)

    def _leave(self, field: Input) -> None:
        """The field was left without enter: the saved value again, and a word if text is lost."""
        key = self._field_key(field)
        if key is None:
            return
        text = field.value.strip()
        refused = self._refused.pop(key, None)
        if key in SECRET_FIELDS:
            if field.value:
                field.value = ""
                if text and text != refused:
                    self.notify(
                        t("ui.settings.secret_not_saved", label=_label(key)),
                        severity="warning",
                        markup=False,
                    )
            return
        saved = str(self.modella.settings.get(key))
        if field.value == saved:
            return
        field.value = saved
        if text and text != saved and text != refused:
            self.notify(
                t("ui.settings.not_saved", label=_label(key), value=saved),
                severity="warning",
                markup=False,
            )

    def _save_secret(self, key: str, field: Input, value: str) -> bool:
        """Save a typed key; the field empties and shows it masked (False: refused, it stays)."""
        if not self._save(key, value):
            return False
        field.value = ""
        field.placeholder = self.modella.settings.display(key)
        return True

    def _offer_removal(self, key: str) -> None:
        """Enter in an empty key field: ask, then remove the saved key from the file."""
        settings = self.modella.settings
        if settings.source(key) != "file" or not settings.get(key):
            # A key from the environment has its field disabled: its placeholder says where it is.
            self.notify(t("ui.settings.nothing_to_remove", label=_label(key)), markup=False)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._remove(key)

        self.app.push_screen(
            ConfirmScreen(t("ui.settings.remove_confirm", label=_label(key))), answered
        )

    def _remove(self, key: str) -> None:
        try:
            self.modella.settings.unset(key)
        except (ModellaError, OSError) as exc:
            self.modella.report_error(exc)
            return
        self.notify(t("ui.settings.removed", label=_label(key)), markup=False)
        for field in self.query(f"#{_field_id(key)}").results(TextInput):
            field.placeholder = t("ui.settings.secret_empty")
        self.modella.apply_setting(key)

    @on(Button.Pressed, "#test-civitai")
    def _test_civitai(self) -> None:
        self.action_test_key("civitai")

    @on(Button.Pressed, "#test-hf")
    def _test_hf(self) -> None:
        self.action_test_key("hf")

    def action_test_key(self, which: str) -> None:
        """Call the API with the key and say what it answered."""
        # A key typed (or pasted) and not yet saved with enter: Test is the user's confirmation.
        key = next(k for k, w in SECRET_FIELDS.items() if w == which)
        for field in self.query(f"#{_field_id(key)}").results(TextInput):
            typed = field.value.strip()
            if typed and not self._save_secret(key, field, typed):
                return  # refused: the reason is on screen
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
