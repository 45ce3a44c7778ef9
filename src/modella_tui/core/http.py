"""HTTP facts shared by every client of the core: our User-Agent, origins, `Retry-After`.

Kept free of httpx so that importing it costs nothing; URLs are plain strings (or anything whose
`str()` is the URL, such as `httpx.URL`).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import math
import time
from urllib.parse import urlsplit

from modella_tui import __version__

# A product User-Agent: Civitai answers browser-like ones with HTML pages and login redirects.
USER_AGENT = f"modella/{__version__}"
RETRY_AFTER_CAP = 600.0  # seconds: a server asking for more is waited on for 10 min at most
DEFAULT_PORTS = {"http": 80, "https": 443}

Origin = tuple[str, str, int | None]


def origin(url: object) -> Origin:
    """(scheme, host, port) with the default port filled in; hosts compare case- and dot-blind."""
    parts = urlsplit(str(url))
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    host = (parts.hostname or "").lower().rstrip(".")
    return scheme, host, port or DEFAULT_PORTS.get(scheme)


def same_origin(a: object, b: object) -> bool:
    """True when both URLs have the same scheme, host and port (where a credential may go)."""
    try:
        first, second = origin(a), origin(b)
    except ValueError:
        return False
    return bool(first[1]) and first == second


def display_origin(url: object) -> str:
    """`scheme://host[:port]` without user info, path or query: what a message may show."""
    scheme, host, port = origin(url)
    default = DEFAULT_PORTS.get(scheme)
    return f"{scheme}://{host}" + ("" if port in (None, default) else f":{port}")


def parse_retry_after(
    value: str | None, now: float | None = None, *, cap: float | None = None
) -> float | None:
    """`Retry-After` as seconds from now (delta-seconds or an HTTP-date), at most `cap`.

    None when absent or garbled; a date in the past is 0.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        seconds = when.timestamp() - (time.time() if now is None else now)
    if not math.isfinite(seconds):
        return None
    seconds = max(seconds, 0.0)
    return seconds if cap is None else min(seconds, cap)
