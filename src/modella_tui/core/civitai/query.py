"""The Civitai search-box grammar: words, `#tag`, `@user`, a pasted link or a hash."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from modella_tui.core.errors import UsageError
from modella_tui.core.refs import CIVITAI_HOSTS, HUB_HOSTS, Ref, has_secret, parse_ref

_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_AUTOV2 = re.compile(r"[0-9a-fA-F]{10}")
_LINK_PREFIXES = ("http://", "https://", "civitai:", "hf:")

IntentKind = Literal["search", "open", "hash"]


@dataclass(frozen=True)
class SearchIntent:
    """What the user typed, understood: a search, a model to open, or a hash to look up."""

    kind: IntentKind = "search"
    query: str = ""
    tag: str = ""
    username: str = ""
    ref: Ref | None = None  # kind "open": a Civitai ref (or a Hub ref the UI may hand over)
    hash: str | None = None  # kind "hash": lower-case SHA256 or AutoV2
    token_stripped: bool = False  # a pasted link carried a key; it was dropped

    @property
    def empty(self) -> bool:
        """Nothing to search for: the default listing."""
        return self.kind == "search" and not (self.query or self.tag or self.username)


def looks_like_hash(word: str) -> bool:
    """A SHA256 (64 hex) or an AutoV2 (10 hex with a digit, so plain words stay words)."""
    if _SHA256.fullmatch(word):
        return True
    return bool(_AUTOV2.fullmatch(word)) and any(ch.isdigit() for ch in word)


def _base_host(civitai_base: str | None) -> str:
    if not civitai_base:
        return ""
    try:
        parts = urlsplit(civitai_base)
        return (parts.netloc or "").lower()
    except ValueError:
        return ""


def _looks_like_link(word: str, base_host: str) -> bool:
    lowered = word.lower()
    if lowered.startswith(_LINK_PREFIXES):
        return True
    host = lowered.split("/", 1)[0]
    return host in CIVITAI_HOSTS or host in HUB_HOSTS or (bool(base_host) and host == base_host)


def parse_query(text: str, *, civitai_base: str | None = None) -> SearchIntent:
    """Understand the search box: `@user ink`, `#anime`, a Civitai/Hub link, a SHA256 or AutoV2."""
    words = text.split()
    if len(words) == 1 and looks_like_hash(words[0]):
        return SearchIntent(kind="hash", hash=words[0].lower())
    base_host = _base_host(civitai_base)
    # A pasted link wins over words typed around it, and never goes to the server as a query
    # (it may carry `?token=`).
    for word in words:
        if _looks_like_link(word, base_host):
            try:
                ref = parse_ref(word, civitai_base=civitai_base)
            except UsageError:
                continue
            return SearchIntent(kind="open", ref=ref, token_stripped=ref.token_stripped)
    query: list[str] = []
    tag = username = ""
    for word in words:
        if word.startswith("#") and len(word) > 1 and not tag:
            tag = word[1:]
        elif word.startswith("@") and len(word) > 1 and not username:
            username = word[1:]
        elif not has_secret(word):
            query.append(word)
    return SearchIntent(query=" ".join(query), tag=tag, username=username)
