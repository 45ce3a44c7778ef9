"""Remote text made safe for a terminal: no escapes, no control or bidi characters."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_BIDI = {"\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"}
# Zero-width (non-)joiners are format characters too, but they only shape emoji sequences and
# Persian or Indic words: harmless, and removing them would break those.
_JOINERS = {"\u200c", "\u200d"}
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
    """Remote text fit for a terminal or a clipboard: the one cleaning rule of the project.

    ESC and every other C0/C1 control, the bidi overrides and isolates, the other invisible format
    characters and the Unicode line separators each become `replacement` (nothing by default; the
    app uses a space so that column widths stay put). A tab becomes a space. With `keep_newlines`
    a `\n` stays (multi-line text: descriptions, `<pre>` blocks); a `\r` never does.
    """
    value = str(text if text is not None else "")
    # The common case, checked in C: `isprintable` is false for every character handled below.
    if value.isprintable() or (keep_newlines and all(p.isprintable() for p in value.split("\n"))):
        return value
    out = []
    for ch in value:
        if ch == "\n" and keep_newlines:
            out.append(ch)
        elif ch == "\t":
            out.append(" ")
        elif ch in _JOINERS:
            out.append(ch)
        elif ch in _BIDI or ch in "\u2028\u2029" or unicodedata.category(ch)[0] == "C":
            out.append(replacement)
        else:
            out.append(ch)
    return "".join(out)


def has_controls(text: str) -> bool:
    """Whether `text` holds a character `clean` takes out: a control (tab and newline included),
    a bidi or other format character, a line separator."""
    return any(
        ch not in _JOINERS
        and (ch in _BIDI or ch in "\u2028\u2029" or unicodedata.category(ch)[0] == "C")
        for ch in text
    )


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
