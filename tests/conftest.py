"""Every test runs in its own home: no real config, token, models folder or network."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest

from modella_tui.core import i18n
from tests.fakes.catalog import default_catalog
from tests.fakes.fakehub import FakeHub

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


@pytest.fixture
def fakehub() -> Iterator[FakeHub]:
    """The project's fake Civitai + Hub + storage servers on 127.0.0.1 (real sockets)."""
    hub = FakeHub(default_catalog()).start()
    try:
        yield hub
    finally:
        hub.stop()


class RunCli(Protocol):
    """The `run_cli` fixture: `modella *args` in a subprocess, with its text output captured."""

    def __call__(
        self, *args: str, env: dict[str, str] | None = ..., timeout: float = ...
    ) -> subprocess.CompletedProcess[str]: ...


@pytest.fixture
def run_cli(fakehub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> RunCli:
    """Run `modella …` in a subprocess pointed at the fake hub; returns the completed process."""
    monkeypatch.setenv("MODELLA_CIVITAI_URL", fakehub.civitai_url)
    monkeypatch.setenv("HF_ENDPOINT", fakehub.hub_url)

    def run(
        *args: str, env: dict[str, str] | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        full_env = {**os.environ, **(env or {})}
        return subprocess.run(
            [sys.executable, "-m", "modella_tui", *args],
            capture_output=True,
            text=True,
            env=full_env,
            timeout=timeout,
            check=False,
        )

    return run
