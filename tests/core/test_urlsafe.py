"""Which links from remote data may be opened, and which image URLs may be fetched."""

from __future__ import annotations

import pytest

from modella_tui.core import urlsafe
from modella_tui.core.urlsafe import (
    is_fetchable_image_url,
    is_forbidden_address,
    is_openable_link,
    resolve_fetchable,
)
from tests.fakes.resolver import fake_resolver

REFUSED = [
    "javascript:alert(document.cookie)",
    "JavaScript:alert(1)",
    "file:///etc/passwd",
    "data:text/html;base64,PHNjcmlwdD4=",
    "vbscript:msgbox",
    "ftp://files.example/a.png",
    "//no-scheme.example/a.png",
    "http://user:pw@img.example/a.png",
    "https://img.example@evil.example/a.png",
    "http://169.254.169.254/latest/meta-data/",
    "http://169.254.1.7/a.png",
    "http://[fe80::1]/a.png",
    "http://[fe80::1%25eth0]/a.png",
    "http://[fd00:ec2::254]/latest/",
    "http://[::ffff:169.254.169.254]/a.png",
    "http://[64:ff9b::a9fe:a9fe]/a.png",
    "http://2852039166/a.png",  # 169.254.169.254 written as one number
    "http://0xa9.0xfe.0xa9.0xfe/a.png",
    "http://0.0.0.0/a.png",
    "https://img.example/a\x1b]52;c;ZXZpbA==\x07.png",
    "https://img.example/\x1b[2J",
    "https://img.example/a\u202egnp.exe",
    "https://img.example/a b.png",
    "https://img.example\\@evil.example/",
    "https://",
    "https://img.example:99999/a.png",
    "",
]
ALLOWED = [
    "https://image.civitai.com/xG1nkq/uuid/width=450/1.jpeg",
    "http://127.0.0.1:8080/images/a.png",
    "http://localhost:8000/a.png",
    "http://[::1]:8000/a.png",
    "https://10.0.0.5/a.png",
    "HTTPS://Image.Example/A.png",
]


@pytest.mark.parametrize("url", REFUSED)
def test_hostile_links_are_neither_opened_nor_fetched(url: str) -> None:
    assert not is_openable_link(url)
    assert not is_fetchable_image_url(url)


@pytest.mark.parametrize("url", ALLOWED)
def test_http_links_to_ordinary_hosts_are_allowed(url: str) -> None:
    assert is_openable_link(url)
    assert is_fetchable_image_url(url)


@pytest.mark.parametrize(
    ("address", "forbidden"),
    [
        ("169.254.169.254", True),
        ("169.254.0.1", True),
        ("fe80::abcd", True),
        ("febf::1", True),  # the top of fe80::/10
        ("fd00:ec2::254", True),
        ("::ffff:169.254.169.254", True),
        ("2002:a9fe:a9fe::1", True),  # 6to4 of the metadata address
        ("224.0.0.1", True),
        ("not an address", True),
        ("127.0.0.1", False),
        ("127.5.6.7", False),
        ("::1", False),
        ("10.1.2.3", False),
        ("192.168.1.1", False),
        ("fd00:ec2::253", False),
        ("fec0::1", False),  # just past fe80::/10
        ("104.18.1.1", False),
    ],
)
def test_forbidden_addresses(address: str, forbidden: bool) -> None:
    assert is_forbidden_address(address) is forbidden


async def test_a_name_resolving_to_the_metadata_address_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_resolver(
        monkeypatch,
        {
            "metadata.test": ["169.254.169.254"],
            "mixed.test": ["127.0.0.1", "fe80::1"],  # one bad answer is enough to refuse
            "images.test": ["::1", "127.0.0.1"],
        },
    )
    assert is_fetchable_image_url("http://metadata.test/a.png")  # the text alone looks fine
    assert await resolve_fetchable("metadata.test", 80) == []
    assert await resolve_fetchable("mixed.test", 80) == []
    assert await resolve_fetchable("images.test", 80) == ["127.0.0.1", "::1"]  # IPv4 first
    assert await resolve_fetchable("does-not-resolve.invalid", 80) == []
    assert await resolve_fetchable("169.254.169.254", 80) == []
    assert await resolve_fetchable("127.0.0.1", 80) == ["127.0.0.1"]


def test_parse_address_reads_the_forms_a_resolver_accepts() -> None:
    assert str(urlsafe.parse_address("2852039166")) == "169.254.169.254"
    assert str(urlsafe.parse_address("[fe80::1]")) == "fe80::1"
    assert urlsafe.parse_address("cafe.example") is None
    assert urlsafe.parse_address("deadbeef") is None
