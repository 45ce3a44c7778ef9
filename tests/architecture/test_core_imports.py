"""The core never imports Textual or Rich, and `modella --version` stays light."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import modella_tui.core


def core_modules() -> list[str]:
    prefix = modella_tui.core.__name__ + "."
    return sorted(m.name for m in pkgutil.walk_packages(modella_tui.core.__path__, prefix))


def test_core_modules_do_not_import_textual_or_rich() -> None:
    mods = [*core_modules(), "modella_tui.cli.search", "modella_tui.cli.config_cmd"]
    code = (
        "import importlib, sys\n"
        f"for m in {mods!r}:\n"
        "    importlib.import_module(m)\n"
        "bad = [m for m in ('textual', 'rich') if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "", f"core imported {out.stdout.strip()}"
    assert len(mods) > 10


def test_version_imports_almost_nothing() -> None:
    code = (
        "import sys\n"
        "from modella_tui.cli import main\n"
        "main(['--version'])\n"
        "heavy = [m for m in ('textual', 'rich', 'httpx', 'huggingface_hub', 'aiosqlite') "
        "if m in sys.modules]\n"
        "print('HEAVY=' + ','.join(heavy))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert "modella " in out.stdout
    heavy = next(line for line in out.stdout.splitlines() if line.startswith("HEAVY="))
    assert heavy == "HEAVY=", heavy
