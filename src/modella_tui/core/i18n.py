"""One translation function for every user-visible string."""

from __future__ import annotations

import json
import os
import string
from functools import cache
from pathlib import Path
from typing import Any

LANGUAGES = ("en", "fr", "es", "de", "ru", "zh", "ja")
DEFAULT_LANGUAGE = "en"

_current = DEFAULT_LANGUAGE


def data_dir() -> Path:
    """The folder holding `locales/` and `hf-packages.json` (wheel or source checkout)."""
    packaged = Path(__file__).resolve().parent.parent / "_data"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3]


def locales_dir() -> Path:
    """Where `<lang>.json` files live."""
    return data_dir() / "locales"


@cache
def catalog(lang: str) -> dict[str, str]:
    """All strings of one language; an unknown or missing file gives an empty catalogue."""
    path = locales_dir() / f"{lang}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items() if not str(k).startswith("_")}


def detect_language(env: dict[str, str] | None = None) -> str:
    """The language from `LC_ALL`/`LC_MESSAGES`/`LANG` (`ja_JP.UTF-8` → `ja`), else English."""
    env = dict(os.environ) if env is None else env
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(var, "")
        if not value:
            continue
        code = value.split(".")[0].split("_")[0].split("-")[0].lower()
        if code in LANGUAGES:
            return code
        if code not in ("c", "posix"):
            return DEFAULT_LANGUAGE
    return DEFAULT_LANGUAGE


def resolve_language(setting: str | None, env: dict[str, str] | None = None) -> str:
    """`MODELLA_LANG` beats the setting; `auto` (or nothing) detects from the locale."""
    env = dict(os.environ) if env is None else env
    forced = env.get("MODELLA_LANG", "").strip().lower()
    if forced in LANGUAGES:
        return forced
    if setting and setting in LANGUAGES:
        return setting
    return detect_language(env)


def set_language(lang: str) -> None:
    """Switch the language of every later `t()` call."""
    global _current
    _current = lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def current_language() -> str:
    """The language `t()` uses now."""
    return _current


def t(key: str, /, **params: Any) -> str:
    """The string `key` in the current language, with `{name}` placeholders filled."""
    text = catalog(_current).get(key) or catalog(DEFAULT_LANGUAGE).get(key) or key
    if not params:
        return text
    try:
        return text.format(**params)
    except (KeyError, IndexError, ValueError):
        return text


def placeholders(text: str) -> set[str]:
    """The `{name}` placeholders of a locale string (for the parity test)."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}
