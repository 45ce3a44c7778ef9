"""Settings: precedence, file mode, masking, corrupt files."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from modella_tui.core import config
from modella_tui.core.errors import ConfigError

SENTINEL = "SENTINELKEY0123456789abcdef"


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"MODELLA_HOME": str(tmp_path / "mh"), **extra}


def test_defaults_then_file_then_env(tmp_path: Path) -> None:
    env = _env(tmp_path)
    s = config.load(env)
    assert s.get("max_parallel") == 3
    assert s.source("max_parallel") == "default"
    s.set("max_parallel", "5")
    assert config.load(env).get("max_parallel") == 5
    assert config.load(env).source("max_parallel") == "file"
    s.set("civitai.api_key", "from-file-key-000000")
    env2 = {**env, "CIVITAI_API_KEY": "from-env-key-1111111"}
    s2 = config.load(env2)
    assert s2.civitai_key.reveal() == "from-env-key-1111111"
    assert s2.source("civitai.api_key") == "env"
    env3 = {**env, "CIVITAI_TOKEN": "token-env-key-222222"}
    assert config.load(env3).civitai_key.reveal() == "token-env-key-222222"


def test_file_is_0600_in_0700_dir_even_with_umask_0(tmp_path: Path) -> None:
    code = (
        "import os; os.umask(0)\n"
        "from modella_tui.core import config\n"
        f"config.load({{'MODELLA_HOME': {str(tmp_path / 'mh')!r}}}).set('civitai.api_key', 'k' * 20)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    path = tmp_path / "mh" / "config.toml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_existing_world_readable_file_is_fixed_and_warned(tmp_path: Path) -> None:
    env = _env(tmp_path)
    config.load(env).set("layout", "comfyui")
    path = tmp_path / "mh" / "config.toml"
    path.chmod(0o644)
    s = config.load(env)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert any("0600" in w for w in s.warnings)


def test_secret_is_masked_everywhere(tmp_path: Path) -> None:
    s = config.load(_env(tmp_path))
    s.set("civitai.api_key", SENTINEL)
    key = s.civitai_key
    for shown in (
        repr(key),
        str(key),
        f"{key}",
        s.display("civitai.api_key"),
        repr(s),
        repr(s.file_data),
    ):
        assert SENTINEL not in shown
    assert s.display("civitai.api_key").endswith("cdef")
    assert key.reveal() == SENTINEL


def test_corrupt_file_set_aside_with_message(tmp_path: Path) -> None:
    env = _env(tmp_path)
    path = tmp_path / "mh" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text(f'civitai = {{ api_key = "{SENTINEL}" \n[[[garbage')
    path.chmod(0o600)
    s = config.load(env)
    assert s.get("layout") == "forge"
    assert not path.exists()
    backups = list(path.parent.glob("config.toml.bad-*"))
    assert len(backups) == 1
    assert SENTINEL in backups[0].read_text()  # nothing lost
    assert len(s.warnings) == 1
    assert str(backups[0]) in s.warnings[0]
    assert SENTINEL not in s.warnings[0]


def test_hostile_values_round_trip_literally(tmp_path: Path) -> None:
    env = _env(tmp_path)
    hostile = str(tmp_path) + '/a\n[evil]\nx=1 """ \' "'
    config.load(env).set("models_dir", hostile)
    data = tomllib.loads((tmp_path / "mh" / "config.toml").read_text())
    assert data == {"models_dir": hostile}
    assert config.load(env).get("models_dir") == hostile
    with pytest.raises(ConfigError):
        config.load(env).set("models_dir", "/a\x00b")


@pytest.mark.parametrize(
    ("key", "value"),
    [("layout", "nope"), ("max_parallel", "zero"), ("max_parallel", "999"), ("nope.key", "1")],
)
def test_bad_values_refused(tmp_path: Path, key: str, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        config.load(_env(tmp_path)).set(key, value)
    assert key in info.value.message


def test_bad_value_in_file_falls_back_with_warning(tmp_path: Path) -> None:
    path = tmp_path / "mh" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text('max_parallel = "lots"\n')
    s = config.load(_env(tmp_path))
    assert s.get("max_parallel") == 3
    assert s.warnings


def test_modella_config_names_another_file(tmp_path: Path) -> None:
    other = tmp_path / "elsewhere" / "c.toml"
    s = config.load({"MODELLA_CONFIG": str(other)})
    s.set("theme", "light")
    assert other.exists()
    assert os.stat(other).st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("models_dir", "relative/dir"),
        ("civitai.url", "ftp://x"),
        ("civitai.url", "https://civitai.com/?token=SECRET"),
        ("civitai.url", "https://user:pw@civitai.com"),
    ],
)
def test_values_that_would_break_later_are_refused(tmp_path: Path, key: str, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        config.load(_env(tmp_path)).set(key, value)
    assert key in info.value.message and "SECRET" not in info.value.message


def test_invalid_file_values_warn_once_and_count_as_default(tmp_path: Path) -> None:
    path = tmp_path / "mh" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text('max_parallel = "x"\nlayout = "weird"\n')
    path.chmod(0o600)
    s = config.load(_env(tmp_path))
    assert len(s.warnings) == 2
    assert all(str(path) in w for w in s.warnings)
    assert s.get("layout") == "forge" and s.source("layout") == "default"


# ----- the settings folder: only what Modella creates is made private ---------------------------


def test_a_shared_sticky_folder_keeps_its_mode_when_settings_are_saved(tmp_path: Path) -> None:
    shared = tmp_path / "shared-tmp"
    shared.mkdir()
    shared.chmod(0o1777)
    path = shared / "config.toml"
    config.load({"MODELLA_CONFIG": str(path)}).set("theme", "light")
    mode = shared.stat().st_mode
    assert mode & stat.S_ISVTX and stat.S_IMODE(mode) == 0o1777
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_an_existing_home_folder_keeps_its_mode(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    home.chmod(0o755)
    config.load({"MODELLA_HOME": str(home)}).set("theme", "light")
    assert stat.S_IMODE(home.stat().st_mode) == 0o755
    assert stat.S_IMODE((home / "config.toml").stat().st_mode) == 0o600


def test_folders_modella_creates_are_0700_each(tmp_path: Path) -> None:
    base = tmp_path / "base"
    base.mkdir()
    base.chmod(0o755)
    path = base / "new" / "deeper" / "config.toml"
    old = os.umask(0o022)
    try:
        config.load({"MODELLA_CONFIG": str(path)}).set("theme", "light")
    finally:
        os.umask(old)
    assert stat.S_IMODE((base / "new").stat().st_mode) == 0o700
    assert stat.S_IMODE((base / "new" / "deeper").stat().st_mode) == 0o700
    assert stat.S_IMODE(base.stat().st_mode) == 0o755


def test_a_0644_config_file_is_still_made_0600(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    path = shared / "config.toml"
    path.write_text('theme = "light"\n')
    path.chmod(0o644)
    settings = config.load({"MODELLA_CONFIG": str(path)})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert any("0600" in w for w in settings.warnings)
    path.chmod(0o644)
    settings.set("layout", "comfyui")  # saving replaces it with a private file too
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777


# ----- the Civitai URL: https, or plain http to this machine only -----------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://civitai.com",
        "http://127.0.0.1:8080",
        "http://127.9.8.7",
        "http://localhost:3000",
        "http://LOCALHOST",
        "http://[::1]:8000",
    ],
)
def test_https_or_loopback_http_civitai_urls_are_accepted(tmp_path: Path, url: str) -> None:
    s = config.load(_env(tmp_path))
    s.set("civitai.url", url)
    assert config.load(_env(tmp_path)).civitai_url == url.rstrip("/")


@pytest.mark.parametrize(
    "url",
    [
        "http://civitai.com",
        "http://10.0.0.2:8080",
        "http://192.168.1.5",
        "http://localhost.evil.example",
        "http://127.0.0.1.nip.io",
        "http://[::ffff:10.0.0.1]",
    ],
)
def test_plain_http_to_another_host_is_refused(tmp_path: Path, url: str) -> None:
    with pytest.raises(ConfigError) as info:
        config.load(_env(tmp_path)).set("civitai.url", url)
    assert info.value.key == "error.config_url_https"
    assert "https://" in info.value.message and "civitai.url" in info.value.message


def test_plain_http_from_the_environment_warns_and_uses_the_default(tmp_path: Path) -> None:
    s = config.load(_env(tmp_path, MODELLA_CIVITAI_URL="http://civitai.example"))
    assert s.civitai_url == config.DEFAULT_CIVITAI_URL
    assert any("https://" in w and "civitai.url" in w for w in s.warnings)


def test_a_models_folder_is_checked_against_its_nearest_existing_folder(tmp_path: Path) -> None:
    s = config.load(_env(tmp_path))
    s.set("models_dir", str(tmp_path / "not" / "yet" / "models"))  # made on the first download
    assert s.get("models_dir") == str(tmp_path / "not" / "yet" / "models")
    blocker = tmp_path / "afile"
    blocker.write_text("a file")
    for value in (str(blocker / "models"), str(blocker)):
        with pytest.raises(ConfigError) as info:
            s.set("models_dir", value)
        assert "models_dir" in info.value.message and str(blocker) in info.value.message
        assert "not a folder" in info.value.message
    dangling = tmp_path / "gone"
    dangling.symlink_to(tmp_path / "nowhere")
    with pytest.raises(ConfigError):
        s.set("models_dir", str(dangling / "models"))
    assert config.load(_env(tmp_path)).get("models_dir") == str(tmp_path / "not" / "yet" / "models")


def test_a_models_folder_in_a_folder_that_cannot_be_written_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access

    def access(path: object, mode: int, **kwargs: object) -> bool:
        # chmod does not stop root, so the check's answer for this one folder is set here.
        if Path(str(path)) == locked:
            return False
        return real_access(path, mode, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "access", access)
    s = config.load(_env(tmp_path))
    with pytest.raises(ConfigError) as info:
        s.set("models_dir", str(locked / "models"))
    assert str(locked) in info.value.message and "not writable" in info.value.message


def test_unsetting_the_last_key_of_a_table_removes_the_table(tmp_path: Path) -> None:
    s = config.load(env=_env(tmp_path))
    s.set("hf.token", "hf_token_0123456789")
    s.set("civitai.api_key", "key-0123456789")
    s.set("max_parallel", 2)
    s.unset("hf.token")
    data = tomllib.loads(s.path.read_text(encoding="utf-8"))
    assert "hf" not in data  # no bare [hf] left behind
    assert data["civitai"]["api_key"] == "key-0123456789" and data["max_parallel"] == 2
    s.unset("civitai.api_key")
    s.unset("hf.token")  # nothing there: nothing happens
    assert tomllib.loads(s.path.read_text(encoding="utf-8")) == {"max_parallel": 2}
