"""The lock of `modella serve`: token, cookie, Host and Origin rules.

Pure logic without aiohttp, so the rules are testable on their own.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from modella_tui.core.config import Secret
from modella_tui.core.errors import UsageError
from modella_tui.core.textsafe import clean, redact_url
from modella_tui.core.urlsafe import is_loopback

TOKEN_ENV = "MODELLA_SERVE_TOKEN"
RUNPOD_ENV = "RUNPOD_POD_ID"
MIN_TOKEN_LENGTH = 16
_WILDCARDS = frozenset({"", "0.0.0.0", "::"})
_POD_ID = re.compile(r"[A-Za-z0-9-]{1,64}")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_USERINFO = re.compile(r"//[^/?#@]*@")


def _parse_public_url(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a `--public-url`; anything but a bare http(s) origin is refused."""
    # Echo the URL back without any password or token it may carry.
    shown = clean(_USERINFO.sub("//***@", redact_url(url)))
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise UsageError("serve.bad_public_url", url=shown) from None
    ok = (
        parts.scheme in _DEFAULT_PORTS
        and parts.hostname
        and not parts.username
        and not parts.password
        and parts.path in ("", "/")
        and not parts.query
        and not parts.fragment
    )
    if not ok or parts.hostname is None:
        raise UsageError("serve.bad_public_url", url=shown)
    return parts.scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[parts.scheme]


def _origin_text(scheme: str, host: str, port: int) -> str:
    """`scheme://host[:port]` with the default port left out and IPv6 in brackets."""
    shown = f"[{host}]" if ":" in host else host
    if port == _DEFAULT_PORTS.get(scheme):
        return f"{scheme}://{shown}"
    return f"{scheme}://{shown}:{port}"


@dataclass(frozen=True)
class ServeConfig:
    """Everything the server needs, resolved and checked once at start."""

    host: str
    port: int
    token: Secret
    command: str
    public_url: str | None = None  # explicit or Runpod's; None means "the address the browser used"
    token_generated: bool = False

    @property
    def secure(self) -> bool:
        """Whether the browser reaches us over HTTPS (the cookie then gets `Secure`)."""
        return bool(self.public_url and self.public_url.startswith("https://"))

    @property
    def printed_url(self) -> str:
        """The base address shown to the user (without the token)."""
        if self.public_url:
            return self.public_url
        host = self.host if not _is_wildcard(self.host) else "127.0.0.1"
        name = host.strip("[]")
        return _origin_text("http", name, self.port)


def _is_wildcard(host: str) -> bool:
    return host.strip().strip("[]") in _WILDCARDS


def resolve_config(
    host: str,
    port: int,
    public_url: str | None,
    token: str | None,
    command: str,
    env: Mapping[str, str],
) -> ServeConfig:
    """Check the options and fill in the defaults; a refused combination raises UsageError (exit 2)."""
    if not 1 <= port <= 65535:
        raise UsageError("serve.bad_port")
    host = host.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]  # `[::1]`: the socket wants the bare address
    given = (token or "").strip() or env.get(TOKEN_ENV, "").strip()
    if not given and not is_loopback(host):
        raise UsageError("serve.token_required", host=clean(host), env=TOKEN_ENV)
    if given and len(given) < MIN_TOKEN_LENGTH:
        raise UsageError("serve.token_too_short", min=MIN_TOKEN_LENGTH)
    generated = not given
    secret = Secret(given or secrets.token_urlsafe(32))

    public: str | None = None
    if public_url:
        scheme, name, pport = _parse_public_url(public_url)
        public = _origin_text(scheme, name, pport)
    elif not is_loopback(host):
        # Runpod's HTTP proxy reaches the pod on its exposed port; a loopback bind is for SSH tunnels.
        pod = env.get(RUNPOD_ENV, "").strip()
        if pod and _POD_ID.fullmatch(pod):
            public = f"https://{pod.lower()}-{port}.proxy.runpod.net"
    return ServeConfig(
        host=host,
        port=port,
        token=secret,
        command=command,
        public_url=public,
        token_generated=generated,
    )


class Gate:
    """Decides whether one request may pass: token, session cookie, Host and Origin."""

    def __init__(self, config: ServeConfig) -> None:
        self._token = config.token.reveal().encode("utf-8")
        # The cookie holds a value derived from the token, so the token itself is never stored.
        self._session = hmac.new(self._token, b"modella-serve-session", hashlib.sha256).hexdigest()
        self.secure = config.secure
        # Cookies ignore ports: one name per port keeps two servers on one host apart.
        self.cookie_name = f"modella_serve_{config.port}"
        port = config.port
        local = {"127.0.0.1", "localhost", "::1"}
        bind = config.host.strip().strip("[]").lower()
        if not _is_wildcard(bind):
            local.add(bind)
        self._hosts: set[tuple[str, int]] = {(name, port) for name in local}
        self._origins: set[tuple[str, str, int]] = {("http", name, port) for name in local}
        self._public_host: tuple[str, int] | None = None
        if config.public_url:
            scheme, name, pport = _parse_public_url(config.public_url)
            self._public_host = (name, _DEFAULT_PORTS[scheme])
            self._hosts.add((name, pport))
            self._origins.add((scheme, name, pport))

    @property
    def session_value(self) -> str:
        """The cookie value a signed-in browser carries."""
        return self._session

    def token_ok(self, candidate: str | None) -> bool:
        """Constant-time check of a token from the URL."""
        if not candidate:
            return False
        return hmac.compare_digest(candidate.encode("utf-8", "replace"), self._token)

    def cookie_ok(self, candidate: str | None) -> bool:
        """Constant-time check of the session cookie."""
        if not candidate:
            return False
        return hmac.compare_digest(candidate.encode("utf-8", "replace"), self._session.encode())

    def host_ok(self, header: str | None) -> bool:
        """Whether the `Host` header names this server (DNS-rebinding guard)."""
        if not header:
            return False
        try:
            parts = urlsplit("//" + header.strip())
            name, port = parts.hostname, parts.port
        except ValueError:
            return False
        if not name or parts.path or parts.query or parts.username:
            return False
        if port is None:
            # No port: the browser used the scheme's default one.
            if self._public_host and self._public_host[0] == name:
                port = self._public_host[1]
            else:
                port = 80
        return (name, port) in self._hosts

    def origin_ok(self, header: str | None) -> bool:
        """Whether an `Origin` header is this server's own origin (`null` and others are not)."""
        if not header:
            return False
        try:
            parts = urlsplit(header.strip())
            scheme, name, port = parts.scheme.lower(), parts.hostname, parts.port
        except ValueError:
            return False
        if scheme not in _DEFAULT_PORTS or not name or parts.path not in ("", "/"):
            return False
        return (scheme, name, port or _DEFAULT_PORTS[scheme]) in self._origins
