"""Every error a user can meet, each with translated text and a CLI exit code."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from modella_tui.core.i18n import t

# Exit codes of the command line (README, "Command line").
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_NOT_FOUND = 4
EXIT_NETWORK = 5
EXIT_DISK = 6


class ModellaError(Exception):
    """Base of all errors with user-facing text; `key` names a locale string."""

    exit_code = EXIT_FAILED
    key = "error.generic"

    def __init__(self, key: str | None = None, /, **params: Any) -> None:
        if key is not None:
            self.key = key
        self.params = params
        super().__init__(self.key)

    @property
    def message(self) -> str:
        """The translated, user-facing sentence."""
        return t(self.key, **self.params)

    def __str__(self) -> str:
        return self.message


class UsageError(ModellaError):
    """The user asked for something malformed (bad REF, bad option value)."""

    exit_code = EXIT_USAGE
    key = "error.usage"


class ConfigError(ModellaError):
    """A settings file or value is unusable."""

    exit_code = EXIT_USAGE
    key = "error.config"


class AuthError(ModellaError):
    """Authentication is needed or was refused (missing key, early access, gated repo)."""

    exit_code = EXIT_AUTH
    key = "error.auth_required"


class NotFoundError(ModellaError):
    """The model, version, file or repo does not exist."""

    exit_code = EXIT_NOT_FOUND
    key = "error.not_found"


class NetworkError(ModellaError):
    """The server could not be reached or the connection failed."""

    exit_code = EXIT_NETWORK
    key = "error.unreachable"


class RateLimitedError(ModellaError):
    """The server answered 429; `retry_after` is in seconds when it said."""

    exit_code = EXIT_NETWORK
    key = "error.rate_limited"

    def __init__(
        self, key: str | None = None, /, retry_after: float | None = None, **params: Any
    ) -> None:
        self.retry_after = retry_after
        super().__init__(key, **params)


class ServerError(ModellaError):
    """The server failed (5xx)."""

    exit_code = EXIT_NETWORK
    key = "error.server"


class BadResponseError(ModellaError):
    """The server answered something that is not what the API promises (HTML, garbage)."""

    exit_code = EXIT_NETWORK
    key = "error.bad_response"


class DiskSpaceError(ModellaError):
    """Not enough free space for a download."""

    exit_code = EXIT_DISK
    key = "error.disk_space"


class StateError(ModellaError):
    """The state database is unusable (corrupt, from a newer version)."""

    exit_code = EXIT_FAILED
    key = "error.state"


class DownloadError(ModellaError):
    """A download failed for a reason the user can act on (hash mismatch, refused file)."""

    exit_code = EXIT_FAILED
    key = "error.download"


class LibraryError(ModellaError):
    """A rename or delete in the models folder was refused (unsafe name, collision, busy file)."""

    exit_code = EXIT_FAILED
    key = "library.error.refused"


def reason_text(key: str | None, params: Mapping[str, Any] | str | None = None) -> str:
    """The translated failure or pause reason of a queue item or event ('' when there is none).

    `params` may be the JSON text a database row holds; a value that is not an object is ignored.
    """
    if not key:
        return ""
    if isinstance(params, str):
        try:
            params = json.loads(params)
        except ValueError:
            params = None
    return t(key, **params) if isinstance(params, Mapping) else t(key)
