"""Which URLs from remote data may be opened or fetched (docs/security.md, "Links and previews")."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from modella_tui.core.textsafe import has_controls

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud instance-metadata endpoints: the address every major cloud uses, and AWS's IPv6 one.
METADATA_ADDRESSES = frozenset({
    ipaddress.ip_address("169.254.169.254"),
    ipaddress.ip_address("fd00:ec2::254"),
})  # fmt: skip
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _parts(url: str) -> tuple[str, str, int] | None:
    """Scheme, host and port of an http(s) URL without user info or odd characters, else None."""
    if not isinstance(url, str) or not url or has_controls(url) or " " in url:
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    # User info would become Basic auth, and `https://good.example@evil.example/` misleads the eye.
    if scheme not in ("http", "https") or not host or "@" in parts.netloc or "\\" in url:
        return None
    return scheme, host, port or (443 if scheme == "https" else 80)


def parse_address(host: str) -> IPAddress | None:
    """`host` as an IP address when it is one, in any of the forms a resolver accepts
    (`169.254.169.254`, `2852039166`, `0xa9.0xfe.0xa9.0xfe`, `[fe80::1]`), else None."""
    text = host.strip("[]")
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])  # `fe80::1%eth0`: the zone is no help
    except ValueError:
        pass
    if text and all(c in "0123456789abcdefxABCDEFX." for c in text):
        try:  # the legacy numeric forms that getaddrinfo still resolves
            return ipaddress.IPv4Address(socket.inet_aton(text))
        except OSError:
            return None
    return None


def is_forbidden_address(address: IPAddress | str) -> bool:
    """An address no preview or link may reach: link-local (169.254.0.0/16, fe80::/10), the cloud
    metadata addresses, unspecified or multicast. Loopback and private networks are allowed."""
    if isinstance(address, str):
        parsed = parse_address(address)
        if parsed is None:
            return True
        address = parsed
    if isinstance(address, ipaddress.IPv6Address):
        # An IPv4 address carried inside IPv6 (mapped, 6to4, NAT64) reaches the same host.
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is None and address in _NAT64:
            mapped = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if mapped is not None and is_forbidden_address(mapped):
            return True
    return (
        address in METADATA_ADDRESSES
        or address.is_link_local
        or address.is_unspecified
        or address.is_multicast
    )


def _host_allowed(host: str) -> bool:
    address = parse_address(host)
    return address is None or not is_forbidden_address(address)


def is_openable_link(url: str) -> bool:
    """Whether the UI may open `url` in a browser (`o`): http or https, a host, no user info, no
    control or bidi character, not a link-local or metadata address. Anything else is shown only."""
    parts = _parts(url)
    return parts is not None and _host_allowed(parts[1])


def is_fetchable_image_url(url: str) -> bool:
    """Whether a preview may be fetched from `url` by its text alone (the same rule as links); the
    fetch then checks every address the name resolves to with `resolve_fetchable`."""
    return is_openable_link(url)


def host_and_port(url: str) -> tuple[str, int] | None:
    """The host and port an allowed URL connects to, else None."""
    parts = _parts(url)
    if parts is None or not _host_allowed(parts[1]):
        return None
    return parts[1], parts[2]


async def resolve_fetchable(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to, IPv4 first, or [] when it does not resolve or when any of
    them is forbidden (a name that may lead to the metadata service is not used at all)."""
    literal = parse_address(host)
    if literal is not None:
        return [] if is_forbidden_address(literal) else [str(literal)]
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
    except (OSError, UnicodeError):
        return []
    found: list[str] = []
    for family, _, _, _, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        address = parse_address(str(sockaddr[0]))
        if address is None or is_forbidden_address(address):
            return []
        if str(address) not in found:
            found.append(str(address))
    return sorted(found, key=lambda a: ":" in a)  # stable: IPv4 first, resolver order kept


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and `localhost`: addresses no other machine can reach."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
