"""Every language has every key with the same placeholders; every key the code uses exists."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from modella_tui.core import i18n

ROOT = Path(__file__).resolve().parents[2]
KEY_USE = re.compile(r"""\bt\(\s*["']([a-z0-9_.]+)["']""")
ERROR_KEY = re.compile(r"""Error\(\s*["']([a-z0-9_.]+)["']""")


def load(lang: str) -> dict[str, str]:
    data = json.loads((ROOT / "locales" / f"{lang}.json").read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if not k.startswith("_")}


def used_keys() -> set[str]:
    keys: set[str] = set()
    for path in (ROOT / "src").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        keys.update(KEY_USE.findall(text))
        keys.update(k for k in ERROR_KEY.findall(text) if "." in k)
    return keys


def test_every_used_key_is_in_english() -> None:
    missing = sorted(used_keys() - set(load("en")))
    assert missing == []


@pytest.mark.parametrize("lang", [lang for lang in i18n.LANGUAGES if lang != "en"])
def test_language_has_every_key_with_same_placeholders(lang: str) -> None:
    en, other = load("en"), load(lang)
    assert sorted(set(en) - set(other)) == [], f"{lang} lacks keys"
    assert sorted(set(other) - set(en)) == [], f"{lang} has stale keys"
    wrong = [k for k in en if i18n.placeholders(en[k]) != i18n.placeholders(other[k])]
    assert wrong == [], f"{lang}: placeholders differ"
    same = [k for k in en if len(en[k]) > 12 and en[k] == other[k]]
    assert len(same) <= len(en) // 20, f"{lang}: untranslated: {same[:10]}"


def test_language_detection() -> None:
    assert i18n.detect_language({"LANG": "ja_JP.UTF-8"}) == "ja"
    assert i18n.detect_language({"LC_ALL": "fr_FR.UTF-8", "LANG": "de_DE.UTF-8"}) == "fr"
    assert i18n.detect_language({"LANG": "C.UTF-8"}) == "en"
    assert i18n.detect_language({"LANG": "pt_BR.UTF-8"}) == "en"
    assert i18n.resolve_language("de", {"MODELLA_LANG": "zh", "LANG": "fr_FR"}) == "zh"
    assert i18n.resolve_language("auto", {"LANG": "ru_RU.UTF-8"}) == "ru"
    assert i18n.resolve_language("es", {"LANG": "ru_RU.UTF-8"}) == "es"
