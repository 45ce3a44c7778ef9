"""Every locale key the UI names literally has English text in `en.json` or a UI pending file."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KEY = re.compile(r"""["'](ui\.[a-z_]+(?:\.[a-z_\-]+)+)["']""")


def test_ui_keys_have_english_text() -> None:
    known: dict[str, str] = {}
    pending = ROOT / "locales" / "_pending"
    for path in (ROOT / "locales" / "en.json", pending / "ui.json", pending / "ui2.json"):
        if path.exists():
            known.update(json.loads(path.read_text(encoding="utf-8")))
    used = set()
    for source in (ROOT / "src" / "modella_tui" / "ui").rglob("*.py"):
        used |= set(KEY.findall(source.read_text(encoding="utf-8")))
    missing = sorted(k for k in used if k not in known)
    assert not missing, missing
