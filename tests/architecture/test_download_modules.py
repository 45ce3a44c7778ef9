"""The download engine stays in modules a reader can hold in mind."""

from __future__ import annotations

from pathlib import Path

DOWNLOADS = Path(__file__).resolve().parents[2] / "src" / "modella_tui" / "core" / "downloads"
MAX_LINES = 420  # about 400: past that a module has a seam to split along


def test_no_download_module_is_over_about_400_lines() -> None:
    sizes = {
        p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in DOWNLOADS.glob("*.py")
    }
    assert sizes, "no module found"
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}


def test_no_environment_crash_hook_in_the_engine() -> None:
    for path in DOWNLOADS.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "MODELLA_TEST_CRASH_AT" not in text, path.name
        assert "os._exit" not in text, path.name
