"""The log file: where "the details are in the log" points, with every secret masked."""

from __future__ import annotations

import io
import logging
import logging.handlers
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from modella_tui.core import paths
from modella_tui.core.textsafe import redact

LOGGERS = ("modella", "modella_tui")  # named loggers and the modules' `__name__` ones
MAX_BYTES = 1024 * 1024  # one old file is kept beside it: at most 2 MB of log
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

Secrets = Callable[[], Iterable[str]]


class RedactingFormatter(logging.Formatter):
    """Formats a record, traceback included, then masks the secrets in force and any secret-looking
    URL parameter (a key in an error's URL, a signed storage link)."""

    def __init__(self, secrets: Secrets) -> None:
        super().__init__(FORMAT)
        self._secrets = secrets

    def format(self, record: logging.LogRecord) -> str:
        """The record as text, secrets masked."""
        try:
            secrets = [s for s in self._secrets() if s]
        except Exception:  # the settings may be half-built when something fails early
            secrets = []
        return redact(super().format(record), secrets)


class PrivateLogFile(logging.handlers.RotatingFileHandler):
    """A rotating log file created 0600 in a private folder, opened at the first record only (a
    command that logs nothing leaves no file)."""

    def _open(self) -> io.TextIOWrapper:
        path = Path(self.baseFilename)
        paths.ensure_private_dir(path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        return open(fd, "a", encoding=self.encoding or "utf-8", errors=self.errors)


def install_log_file(secrets: Secrets, path: Path | None = None) -> logging.Handler:
    """Send Modella's loggers to the log file; `secrets` is asked at each record, so a key changed
    in Settings is masked too. Returns the handler (tests remove it)."""
    handler = PrivateLogFile(
        path or paths.log_path(), maxBytes=MAX_BYTES, backupCount=1, encoding="utf-8", delay=True
    )
    handler.setFormatter(RedactingFormatter(secrets))
    handler.setLevel(logging.INFO)
    for name in LOGGERS:
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        if logger.level == logging.NOTSET or logger.level > logging.INFO:
            logger.setLevel(logging.INFO)
    return handler


def remove_log_file(handler: logging.Handler) -> None:
    """Undo `install_log_file`."""
    for name in LOGGERS:
        logging.getLogger(name).removeHandler(handler)
    handler.close()
