"""`modella config` and the settings folder, end to end."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from modella_tui.core import config
from tests.conftest import RunCli


def test_setting_a_plain_http_civitai_url_is_refused_with_exit_2(run_cli: RunCli) -> None:
    proc = run_cli("config", "set", "civitai.url", "http://civitai.example")
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "https://" in lines[0] and "Traceback" not in proc.stderr
    got = run_cli("config", "get", "civitai.url", env={"MODELLA_CIVITAI_URL": ""})
    assert got.stdout.strip() == "https://civitai.com"  # nothing was saved


def test_a_models_folder_under_a_file_is_refused_with_exit_2(
    run_cli: RunCli, tmp_path: Path
) -> None:
    blocker = tmp_path / "x" / "afile"
    blocker.parent.mkdir()
    blocker.write_text("a file")
    proc = run_cli("config", "set", "models_dir", str(blocker / "models"))
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and str(blocker) in lines[0] and "Traceback" not in proc.stderr
    assert proc.stdout == ""
    saved = config.load().path
    assert not saved.exists() or str(blocker) not in saved.read_text()  # nothing was saved


def test_a_loopback_http_civitai_url_is_accepted(run_cli: RunCli) -> None:
    proc = run_cli("config", "set", "civitai.url", "http://127.0.0.1:8080")
    assert proc.returncode == 0, proc.stderr


def test_a_plain_http_civitai_url_in_the_environment_warns_and_is_not_used(
    run_cli: RunCli,
) -> None:
    proc = run_cli(
        "config", "get", "civitai.url", env={"MODELLA_CIVITAI_URL": "http://civitai.example"}
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "https://civitai.com"
    assert "MODELLA_CIVITAI_URL" in proc.stderr and "https://" in proc.stderr


@pytest.mark.parametrize("where", ["MODELLA_CONFIG", "MODELLA_HOME"])
def test_saving_settings_leaves_a_shared_folder_as_it_was(
    run_cli: RunCli, tmp_path: Path, where: str
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    target = str(shared / "config.toml") if where == "MODELLA_CONFIG" else str(shared)
    proc = run_cli("config", "set", "theme", "light", env={where: target})
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777
    assert stat.S_IMODE((shared / "config.toml").stat().st_mode) == 0o600
