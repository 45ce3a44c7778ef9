"""Remote text made safe for a terminal: no escapes, no control or bidi characters."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_BIDI = {"\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"}
# Query parameters that carry a key, a token or a storage signature (S3/R2, GCS, CloudFront, Azure).
SECRET_PARAMS = frozenset({
    "token", "api_key", "apikey", "key", "access_token", "signature", "sig", "policy",
    "key-pair-id", "expires", "se", "sp", "sv", "sr", "st", "skoid", "sktid",
})  # fmt: skip
SECRET_PREFIXES = ("x-amz-", "x-goog-")
_SECRET_QUERY = re.compile(
    r"(?i)([?&](?:"
    + "|".join(re.escape(p) for p in sorted(SECRET_PARAMS, key=len, reverse=True))
    + r"|x-amz-[\w-]+|x-goog-[\w-]+)=)[^&#\s]*"
)


def clean(text: object, *, keep_newlines: bool = False, replacement: str = "") -> str:
    """Remote text without ESC or any other control, format (bidi) or line-separator character.

    Each such character becomes `replacement` (nothing by default; the app uses a space so that
    column widths stay put).
    """
    out = []
    for ch in str(text if text is not None else ""):
        if ch == "\n" and keep_newlines:
            out.append(ch)
            continue
        if ch == "\t":
            out.append(" ")
            continue
        if unicodedata.category(ch)[0] == "C" or ch in _BIDI or ch in "\u2028\u2029":
            out.append(replacement)
            continue
        out.append(ch)
    return "".join(out)


def _is_secret_param(name: str) -> bool:
    low = name.lower()
    return low in SECRET_PARAMS or low.startswith(SECRET_PREFIXES)


def redact_url(url: str) -> str:
    """The URL without user info, tokens or signatures (safe for the DB, `.part.json`, messages)."""
    try:
        parts = urlsplit(url)
        query = [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not _is_secret_param(k)
        ]
    except ValueError:  # not even a URL: mask what looks secret and keep the rest
        return _SECRET_QUERY.sub(r"\1***", url)
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, urlencode(query), ""))


def redact(text: str, secrets: list[str] | tuple[str, ...] = ()) -> str:
    """`text` with every given secret value and every secret-looking query value masked."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return _SECRET_QUERY.sub(r"\1***", text)
