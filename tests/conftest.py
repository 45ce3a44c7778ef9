"""Every test runs in its own home: no real config, token, models folder or network."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from modella_tui.core import i18n

_SCRUB = (
    "CIVITAI_API_KEY", "CIVITAI_TOKEN", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "MODELLA_LANG",
    "MODELLA_CONFIG", "MODELLA_CIVITAI_URL", "HF_ENDPOINT", "XDG_CONFIG_HOME", "XDG_DATA_HOME",
    "XDG_CACHE_HOME", "LC_ALL", "LC_MESSAGES", "MODELLA_TEST_CRASH_AT",
)  # fmt: skip


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private MODELLA_HOME, models folder and HF_HOME for each test."""
    for var in _SCRUB:
        monkeypatch.delenv(var, raising=False)
    home = tmp_path / "home"
    monkeypatch.setenv("MODELLA_HOME", str(home))
    monkeypatch.setenv("MODELLA_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.setenv("LANG", "C.UTF-8")
    i18n.set_language("en")
    yield home
    i18n.set_language("en")
