"""Every locale key the UI names literally has English text in `en.json`."""

from __future__ import annotations

import re
from pathlib import Path

from modella_tui.core import i18n

ROOT = Path(__file__).resolve().parents[2]
KEY = re.compile(r"""["'](ui\.[a-z_]+(?:\.[a-z_\-]+)+)["']""")


def test_ui_keys_have_english_text() -> None:
    known = i18n.catalog("en")
    used = set()
    for source in (ROOT / "src" / "modella_tui" / "ui").rglob("*.py"):
        used |= set(KEY.findall(source.read_text(encoding="utf-8")))
    assert used, "no ui.* keys found in the UI sources"
    missing = sorted(k for k in used if k not in known)
    assert not missing, missing
