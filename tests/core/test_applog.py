"""The log file: private, created only when something is logged, every secret masked."""

from __future__ import annotations

import logging
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from modella_tui.core import applog

KEY = "SENTINELKEY0123456789abcdef"


@pytest.fixture
def secrets() -> list[str]:
    return [KEY]


@pytest.fixture
def log_path(tmp_path: Path, secrets: list[str]) -> Iterator[Path]:
    path = tmp_path / "state" / "modella.log"
    handler = applog.install_log_file(lambda: secrets, path)
    yield path
    applog.remove_log_file(handler)


def test_nothing_logged_leaves_no_file(log_path: Path) -> None:
    logging.getLogger("modella.test").debug("below the file's level")
    assert not log_path.exists() and not log_path.parent.exists()


def test_the_log_is_private_and_masks_secrets_in_messages_and_tracebacks(
    log_path: Path, secrets: list[str]
) -> None:
    log = logging.getLogger("modella_tui.core.test")
    try:
        raise RuntimeError(f"GET https://x.example/a?token={KEY}&sig=abc123 failed")
    except RuntimeError:
        log.exception("request failed with key %s", KEY)
    secrets[0] = "NEWKEY-pasted-in-settings-42"  # read at each record: a new key is masked too
    logging.getLogger("modella.ui").error("now %s", secrets[0])
    text = log_path.read_text(encoding="utf-8")
    assert "RuntimeError" in text and "request failed" in text
    assert KEY not in text and "abc123" not in text and "NEWKEY-pasted" not in text
    assert stat.S_IMODE(log_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(log_path.parent.stat().st_mode) == 0o700


def test_a_rotated_log_stays_private(log_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = logging.getLogger("modella.test")
    for _ in range(3):
        log.error("x" * 600_000)
    rotated = log_path.with_name(log_path.name + ".1")
    assert rotated.exists()
    for path in (log_path, rotated):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert log_path.stat().st_size <= applog.MAX_BYTES
