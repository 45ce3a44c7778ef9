"""Settings: TOML file (0600, tomli-w, atomic), environment beats file beats default."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from modella_tui.core import paths
from modella_tui.core.civitai.vocab import PERIODS, SORTS, TYPES
from modella_tui.core.errors import ConfigError
from modella_tui.core.urlsafe import is_loopback

LAYOUTS = ("forge", "comfyui", "by-source")
THEMES = ("dark", "light", "high-contrast")
LANGUAGE_CHOICES = ("auto", "en", "fr", "es", "de", "ru", "zh", "ja")
DEFAULT_CIVITAI_URL = "https://civitai.com"


class Secret:
    """A secret string whose `repr`/`str` never shows it (crash screens print locals)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The real value, for an `Authorization` header and nothing else."""
        return self._value

    def masked(self) -> str:
        """Dots and the last four characters, when the secret is long enough to spare them."""
        v = self._value
        return "•" * 8 + v[-4:] if len(v) >= 16 else "•" * 8

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("secret", self._value))

    def __repr__(self) -> str:
        return f"Secret({self.masked()!r})"

    __str__ = masked


@dataclass(frozen=True)
class SettingSpec:
    """One setting: its dotted key, type, default, environment variables and whether it is secret."""

    key: str
    kind: type
    default: Any
    env: tuple[str, ...] = ()
    secret: bool = False
    choices: tuple[Any, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    listed: bool = False
    """A comma-separated list (empty allowed); `choices`, when given, apply to each item."""


SPECS: tuple[SettingSpec, ...] = (
    SettingSpec("civitai.api_key", str, "", ("CIVITAI_API_KEY", "CIVITAI_TOKEN"), secret=True),
    SettingSpec("civitai.url", str, DEFAULT_CIVITAI_URL, ("MODELLA_CIVITAI_URL",)),
    SettingSpec("hf.token", str, "", ("HF_TOKEN",), secret=True),
    SettingSpec("models_dir", str, "", ("MODELLA_MODELS_DIR",)),
    SettingSpec("layout", str, "forge", choices=LAYOUTS),
    SettingSpec("language", str, "auto", choices=LANGUAGE_CHOICES),
    SettingSpec("theme", str, "dark", choices=THEMES),
    SettingSpec("max_parallel", int, 3, minimum=1, maximum=16),
    SettingSpec("connections_per_file", int, 8, minimum=1, maximum=16),
    SettingSpec("previews", bool, True),
    SettingSpec("nsfw", bool, False),
    SettingSpec("cache_minutes", int, 10, minimum=0, maximum=10080),
    # The Civitai browser's filters, remembered across starts.
    SettingSpec("browser.sort", str, SORTS[0], choices=SORTS),
    SettingSpec("browser.period", str, PERIODS[0], choices=PERIODS),
    SettingSpec("browser.types", str, "", choices=TYPES, listed=True),
    SettingSpec("browser.base_models", str, "", listed=True),
)
SPEC_BY_KEY = {s.key: s for s in SPECS}


def _get_dotted(data: dict[str, Any], key: str) -> Any:
    node: Any = data
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    parts = key.split(".")
    node = data
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[parts[-1]] = value


def _del_dotted(data: dict[str, Any], key: str) -> None:
    """Remove `a.b.c`; a table left empty goes too (no bare `[hf]` in the file)."""
    parts = key.split(".")
    nodes = [data]
    for part in parts[:-1]:
        node = nodes[-1].get(part)
        if not isinstance(node, dict):
            return
        nodes.append(node)
    nodes[-1].pop(parts[-1], None)
    for depth in range(len(nodes) - 1, 0, -1):
        if nodes[depth]:
            break
        nodes[depth - 1].pop(parts[depth - 1], None)


def coerce(spec: SettingSpec, raw: Any) -> Any:
    """Turn a value from the file, the environment or the CLI into the setting's type, or refuse it."""
    if spec.kind is bool:
        if isinstance(raw, bool):
            value: Any = raw
        elif str(raw).strip().lower() in ("1", "true", "yes", "on"):
            value = True
        elif str(raw).strip().lower() in ("0", "false", "no", "off"):
            value = False
        else:
            raise ConfigError("error.config_bool", key=spec.key, value=str(raw))
    elif spec.kind is int:
        try:
            value = int(raw)
        except (TypeError, ValueError):
            raise ConfigError("error.config_int", key=spec.key, value=str(raw)) from None
        lo = spec.minimum if spec.minimum is not None else value
        hi = spec.maximum if spec.maximum is not None else value
        if not lo <= value <= hi:
            raise ConfigError("error.config_range", key=spec.key, low=lo, high=hi)
    else:
        if isinstance(raw, Secret):
            raw = raw.reveal()
        if not isinstance(raw, str):
            raise ConfigError("error.config_type", key=spec.key)
        if "\x00" in raw:
            raise ConfigError("error.config_nul", key=spec.key)
        value = raw
    if spec.listed:
        items = [item.strip() for item in value.split(",") if item.strip()]
        if spec.choices and any(item not in spec.choices for item in items):
            raise ConfigError("error.config_choice", key=spec.key, choices=", ".join(spec.choices))
        value = ",".join(items)
    elif spec.choices and value not in spec.choices:
        raise ConfigError("error.config_choice", key=spec.key, choices=", ".join(spec.choices))
    if spec.key == "models_dir" and value and not os.path.isabs(os.path.expanduser(value)):
        # A relative folder would move with the current directory of each command.
        raise ConfigError("error.config_absolute", key=spec.key)
    if spec.key == "civitai.url":
        _check_base_url(spec.key, value)
    return value


def _check_base_url(key: str, value: str) -> None:
    """An http(s) origin with no credentials, query or fragment (a key never hides in a URL)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(value)
    except ValueError:
        raise ConfigError("error.config_url", key=key) from None
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.username
        or parts.password
        or parts.query
        or parts.fragment
    ):
        raise ConfigError("error.config_url", key=key)
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        # The API key would cross the network in clear text: plain http is for a local server only.
        raise ConfigError("error.config_url_https", key=key)


def check_folder_can_be_made(key: str, value: str) -> None:
    """Refuse a folder that could never be made: the folder, or else its nearest existing
    ancestor, must be a folder this user may write in (the first download makes the rest).
    `Settings.set` checks a new value; values already in the file or the environment are not
    checked on reading (a volume that is away for a while must not reset the setting)."""
    folder = Path(value).expanduser().absolute()
    probe = folder
    while not os.path.lexists(probe) and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():  # a file, or a link to nothing, where a folder must go
        raise ConfigError(
            "error.config_folder_blocked", key=key, folder=str(folder), path=str(probe)
        )
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ConfigError(
            "error.config_folder_unwritable", key=key, folder=str(folder), path=str(probe)
        )


@dataclass(repr=False)
class Settings:
    """The effective settings and where each value came from (`env`, `file` or `default`)."""

    path: Path
    file_data: dict[str, Any] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"Settings(path={str(self.path)!r})"

    def source(self, key: str) -> str:
        """`env`, `file` or `default`."""
        spec = SPEC_BY_KEY[key]
        if any(self.env.get(v) for v in spec.env):
            return "env"
        raw = _get_dotted(self.file_data, key)
        if raw is not None:
            try:
                coerce(spec, raw)
            except ConfigError:
                return "default"  # an invalid value in the file is not used (load() warned)
            return "file"
        return "default"

    def get(self, key: str) -> Any:
        """The effective value; secrets come back as `Secret`."""
        spec = SPEC_BY_KEY.get(key)
        if spec is None:
            raise ConfigError("error.config_unknown_key", key=key)
        value: Any = spec.default
        raw_env = next((self.env[v] for v in spec.env if self.env.get(v)), None)
        raw_file = _get_dotted(self.file_data, key)
        for raw in (raw_env, raw_file):
            if raw is None:
                continue
            try:
                value = coerce(spec, raw)
                break
            except ConfigError:
                continue  # load() already said which value is unusable
        if key == "models_dir" and not value:
            value = str(paths.default_models_dir()[0])
        if spec.secret:
            return Secret(str(value))
        return value

    # Typed accessors used across the app.
    @property
    def civitai_key(self) -> Secret:
        """The Civitai API key (may be empty)."""
        return self.get("civitai.api_key")  # type: ignore[no-any-return]

    @property
    def hf_token(self) -> Secret:
        """The Hugging Face token from env or file (may be empty: the Hub client then asks huggingface_hub)."""
        return self.get("hf.token")  # type: ignore[no-any-return]

    @property
    def civitai_url(self) -> str:
        """The Civitai base URL without a trailing slash."""
        return str(self.get("civitai.url")).rstrip("/")

    @property
    def models_dir(self) -> Path:
        """The models folder (absolute)."""
        return Path(str(self.get("models_dir"))).expanduser().absolute()

    def secret_values(self) -> list[str]:
        """The secrets in force (key, token), so that logs and messages can mask them."""
        return [s.reveal() for s in (self.civitai_key, self.hf_token) if s]

    def display(self, key: str) -> str:
        """The value as a person may see it: secrets masked, with their source."""
        value = self.get(key)
        if isinstance(value, Secret):
            return value.masked() if value else ""
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def display_file(self, key: str) -> str:
        """The value stored in the file (masked when secret), whatever the environment says."""
        value = _get_dotted(self.file_data, key)
        if isinstance(value, Secret):
            return value.masked() if value else ""
        if isinstance(value, bool):
            return "true" if value else "false"
        return "" if value is None else str(value)

    def set(self, key: str, raw: Any) -> None:
        """Validate and store one value in the file (written at once, 0600)."""
        spec = SPEC_BY_KEY.get(key)
        if spec is None:
            raise ConfigError("error.config_unknown_key", key=key)
        value = coerce(spec, raw)
        if key == "models_dir" and value:
            check_folder_can_be_made(key, value)
        _set_dotted(self.file_data, key, Secret(value) if spec.secret else value)
        save(self.path, self.file_data)

    def unset(self, key: str) -> None:
        """Remove a value from the file so the default applies again."""
        if key not in SPEC_BY_KEY:
            raise ConfigError("error.config_unknown_key", key=key)
        _del_dotted(self.file_data, key)
        save(self.path, self.file_data)


def _set_aside(path: Path) -> Path:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    bad = path.with_name(f"{path.name}.bad-{stamp}")
    os.replace(path, bad)
    return bad


def load(env: dict[str, str] | None = None, path: Path | None = None) -> Settings:
    """Read settings; a corrupt file is set aside with a warning, never crashed on or lost."""
    env = dict(os.environ) if env is None else env
    path = path or paths.config_path(env)
    settings = Settings(path=path, env=env)
    data = _read_file(settings)
    # Values from the environment are checked even without a file: a bad one is said, not used.
    for spec in SPECS:
        var = next((v for v in spec.env if env.get(v)), None)
        raw_env = env[var] if var else None
        for raw_value, where in ((raw_env, var or ""), (_get_dotted(data, spec.key), str(path))):
            if raw_value is None:
                continue
            try:
                coerce(spec, raw_value)
            except ConfigError as exc:
                settings.warnings.append(
                    _t("warn.config_value_ignored", where=where, reason=exc.message)
                )
    # Secrets are wrapped as soon as they are read, so no repr of the settings can show them.
    for spec in SPECS:
        value = _get_dotted(data, spec.key)
        if spec.secret and isinstance(value, str):
            _set_dotted(data, spec.key, Secret(value))
    settings.file_data = data
    return settings


def _read_file(settings: Settings) -> dict[str, Any]:
    """The settings file's table; {} when there is none or it is unusable (with a warning)."""
    path = settings.path
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        settings.warnings.append(_t("warn.config_unreadable", path=str(path), reason=exc.strerror))
        return {}
    try:
        st = path.stat()
        if st.st_mode & 0o077:
            path.chmod(0o600)
            settings.warnings.append(_t("warn.config_mode_fixed", path=str(path)))
    except OSError:
        pass
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        try:
            bad = _set_aside(path)
        except OSError:
            bad = path
        # The parser's message names the line and column but never quotes the content.
        settings.warnings.append(
            _t("warn.config_corrupt", path=str(path), backup=str(bad), reason=str(exc))
        )
        return {}


def _unwrap(data: dict[str, Any]) -> dict[str, Any]:
    return {
        k: _unwrap(v) if isinstance(v, dict) else (v.reveal() if isinstance(v, Secret) else v)
        for k, v in data.items()
    }


def save(path: Path, data: dict[str, Any]) -> None:
    """Write atomically: a 0600 temp file in the same folder (made 0700 if it is new), fsync,
    then `os.replace`."""
    paths.ensure_private_dir(path.parent)
    payload = tomli_w.dumps(_unwrap(data)).encode("utf-8")
    fd, tmp = tempfile.mkstemp(prefix=".config-", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _t(key: str, **params: Any) -> str:
    from modella_tui.core.i18n import t

    return t(key, **params)
