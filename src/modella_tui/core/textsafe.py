"""Remote text made safe for a terminal: no escapes, no control or bidi characters (FAULT T-51)."""

from __future__ import annotations

import re
import unicodedata

_BIDI = {"\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"}
_SECRET_QUERY = re.compile(
    r"(?i)([?&](?:token|sig|signature|x-amz-signature|x-amz-credential|x-amz-security-token|"
    r"key|api_key|apikey|access_token)=)[^&#\s]*"
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


def redact_url(url: str) -> str:
    """A URL with secret-looking query values replaced by `***` (signed storage URLs, tokens)."""
    return _SECRET_QUERY.sub(r"\1***", url)


def redact(text: str, secrets: list[str] | tuple[str, ...] = ()) -> str:
    """`text` with every given secret value and every secret-looking query value masked."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return _SECRET_QUERY.sub(r"\1***", text)
