"""Safe names and containment."""

from __future__ import annotations

from pathlib import Path

import pytest

from modella_tui.core import paths
from modella_tui.core.errors import UsageError

HOSTILE = [
    "../../.bashrc", "/etc/passwd", "a/b.st", "..", ".", "", "x\x00y.safetensors",
    "\x1b[31mred.safetensors", "line\nbreak.pt", "evil\u202etxt.safetensors", "-rf.safetensors",
    "trailing. ", "C:\\Windows\\x.dll", "a" * 300 + ".safetensors", "ユ" * 120 + ".safetensors",
]  # fmt: skip


@pytest.mark.parametrize("name", HOSTILE)
def test_safe_name_is_one_safe_component(name: str, tmp_path: Path) -> None:
    out = paths.safe_name(name)
    assert out and out not in (".", "..")
    assert "/" not in out and "\\" not in out and "\x00" not in out
    assert all(ord(c) >= 32 for c in out) and "\u202e" not in out
    assert not out.startswith(("-", ".")) and not out.endswith((".", " "))
    assert len(out.encode()) <= paths.MAX_NAME_BYTES
    assert paths.is_within(tmp_path, tmp_path / out)


def test_long_name_keeps_extension() -> None:
    assert paths.safe_name("a" * 300 + ".safetensors").endswith(".safetensors")


def test_plain_names_unchanged() -> None:
    assert paths.safe_name("Ink Wash v2 (fp16).safetensors") == "Ink Wash v2 (fp16).safetensors"


@pytest.mark.parametrize(
    "bad", ["../../x.safetensors", "/abs/x", "a/../../b", "C:/x", "//unc/share"]
)
def test_safe_relpath_refuses_escapes(bad: str) -> None:
    with pytest.raises(UsageError):
        paths.safe_relpath(bad)


def test_safe_relpath_keeps_subfolders() -> None:
    assert paths.safe_relpath("split_files/vae/ae.safetensors") == Path(
        "split_files/vae/ae.safetensors"
    )


def test_is_within_is_lexical(tmp_path: Path) -> None:
    assert paths.is_within(tmp_path, tmp_path / "Lora" / "x")
    assert not paths.is_within(tmp_path, tmp_path / ".." / "x")
    assert not paths.is_within(tmp_path / "m", tmp_path / "models")


def test_modella_home_beats_workspace(tmp_path: Path) -> None:
    env = {"MODELLA_HOME": str(tmp_path)}
    assert paths.config_path(env) == tmp_path / "config.toml"
    assert paths.db_path(env) == tmp_path / "modella.db"


def test_xdg_locations(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path / "c"), "XDG_DATA_HOME": str(tmp_path / "d")}
    assert paths.config_path(env) == tmp_path / "c" / "modella" / "config.toml"
    assert paths.db_path(env) == tmp_path / "d" / "modella" / "modella.db"


def test_redact_url_drops_user_info_and_every_signature_kind() -> None:
    from modella_tui.core.textsafe import redact, redact_url

    url = "https://u:pw@cdn.example/f.bin?X-Amz-Signature=S1&sig=S2&token=S3&Expires=9&type=Model"
    shown = redact_url(url)
    assert shown == "https://cdn.example/f.bin?type=Model"
    assert redact_url("http://[::1/x?token=S4").count("S4") == 0  # not a URL: still masked
    assert "S5" not in redact(f"GET {url.replace('S1', 'S5')} failed")
