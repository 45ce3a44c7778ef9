"""REF parsing and the Civitai search-box grammar, with hostile inputs."""

from __future__ import annotations

import pytest

from modella_tui.core.civitai.query import looks_like_hash, parse_query
from modella_tui.core.errors import UsageError
from modella_tui.core.refs import CivitaiRef, HubRef, has_secret, parse_ref, redact

KEY = "SENTINELKEY0123456789abcdef"


@pytest.mark.parametrize(
    ("text", "model", "version"),
    [
        ("civitai:4384", 4384, None),
        ("civitai:4384@128713", 4384, 128713),
        ("CIVITAI: 4384 ", 4384, None),
        ("civitai:@128713", None, 128713),
        ("https://civitai.com/models/4384", 4384, None),
        ("https://civitai.com/models/4384/", 4384, None),
        ("https://civitai.com/models/4384/dreamshaper", 4384, None),
        ("https://civitai.com/models/4384?modelVersionId=128713", 4384, 128713),
        ("https://civitai.com/models/4384/dreamshaper?modelVersionId=128713#x", 4384, 128713),
        ("https://www.civitai.com/models/4384", 4384, None),
        ("https://civitai.red/models/4384?modelVersionId=128713", 4384, 128713),
        ("civitai.red/models/4384", 4384, None),
        ("http://CIVITAI.COM/models/4384", 4384, None),
        ("https://civitai.com/api/download/models/128713", None, 128713),
        (
            "https://civitai.com/api/download/models/128713?type=Model&format=SafeTensor",
            None,
            128713,
        ),
        ("https://civitai.com/api/v1/models/4384", 4384, None),
        ("https://civitai.com/api/v1/model-versions/128713", None, 128713),
        ("  https://civitai.com/models/4384\n", 4384, None),
    ],
)
def test_civitai_forms(text: str, model: int | None, version: int | None) -> None:
    ref = parse_ref(text)
    assert ref == CivitaiRef(model, version)
    assert not ref.token_stripped and ref.warnings == ()


@pytest.mark.parametrize(
    ("text", "repo", "path", "revision", "folder"),
    [
        ("hf:black-forest-labs/FLUX.1-dev", "black-forest-labs/FLUX.1-dev", None, "main", False),
        ("hf:org/repo/ae.safetensors", "org/repo", "ae.safetensors", "main", False),
        ("hf:org/repo/text_encoders/t5.safetensors", "org/repo", "text_encoders/t5.safetensors", "main", False),
        ("hf:org/repo@v1.0/x.safetensors", "org/repo", "x.safetensors", "v1.0", False),
        ("hf:org/repo@refs%2Fpr%2F3", "org/repo", None, "refs/pr/3", False),
        ("hf:org/repo/sub/", "org/repo", "sub", "main", True),
        ("hf:org/repo/my%20file.safetensors", "org/repo", "my file.safetensors", "main", False),
        ("https://huggingface.co/org/repo", "org/repo", None, "main", False),
        ("https://huggingface.co/org/repo/", "org/repo", None, "main", False),
        ("https://huggingface.co/org/repo/blob/main/unet/f.safetensors", "org/repo", "unet/f.safetensors", "main", False),
        ("https://huggingface.co/org/repo/resolve/abc123/f.safetensors?download=true", "org/repo", "f.safetensors", "abc123", False),
        ("https://huggingface.co/org/repo/tree/main", "org/repo", None, "main", False),
        ("https://huggingface.co/org/repo/tree/dev/vae", "org/repo", "vae", "dev", True),
        ("https://huggingface.co/org/repo/blob/refs%2Fpr%2F1/a.st", "org/repo", "a.st", "refs/pr/1", False),
        ("https://hf.co/org/repo/blob/main/a.st", "org/repo", "a.st", "main", False),
        ("huggingface.co/org/repo", "org/repo", None, "main", False),
    ],
)  # fmt: skip
def test_hub_forms(text: str, repo: str, path: str | None, revision: str, folder: bool) -> None:
    assert parse_ref(text) == HubRef(repo, path, revision, folder)


@pytest.mark.parametrize(
    ("ref", "canonical"),
    [
        (CivitaiRef(4384, 128713), "civitai:4384@128713"),
        (CivitaiRef(4384, None), "civitai:4384"),
        (CivitaiRef(None, 128713), "civitai:@128713"),
        (HubRef("org/repo"), "hf:org/repo"),
        (HubRef("org/repo", "a/b.safetensors"), "hf:org/repo/a/b.safetensors"),
        (HubRef("org/repo", "x.st", "refs/pr/1"), "hf:org/repo@refs%2Fpr%2F1/x.st"),
        (HubRef("org/repo", "100%25 real.st"), "hf:org/repo/100%2525 real.st"),
        (HubRef("org/repo", "vae", "dev", folder=True), "hf:org/repo@dev/vae/"),
    ],
)
def test_canonical_round_trips(ref: CivitaiRef | HubRef, canonical: str) -> None:
    assert ref.canonical() == canonical
    assert parse_ref(canonical) == ref


def test_canonical_of_a_pasted_url() -> None:
    ref = parse_ref("https://civitai.com/models/4384/x?modelVersionId=128713")
    assert ref.canonical() == "civitai:4384@128713"
    hub = parse_ref("https://huggingface.co/org/repo/blob/main/unet/f.safetensors")
    assert hub.canonical() == "hf:org/repo/unet/f.safetensors"


@pytest.mark.parametrize(
    "text",
    [
        f"https://civitai.com/models/4384?modelVersionId=128713&token={KEY}",
        f"https://civitai.com/api/download/models/128713?token={KEY}&type=Model",
        f"https://civitai.com/models/4384?TOKEN={KEY}",
        f"https://huggingface.co/org/repo/resolve/main/a.st?token={KEY}",
    ],
)
def test_token_is_stripped_and_reported(text: str) -> None:
    ref = parse_ref(text)
    assert ref.token_stripped
    assert len(ref.warnings) == 1 and "removed" in ref.warnings[0]
    assert KEY not in repr(ref) and KEY not in ref.canonical()
    assert KEY not in " ".join(ref.warnings)


@pytest.mark.parametrize(
    "text",
    [
        f"https://civitai.com/user/someone?token={KEY}",
        f"https://evil.example/models/1?token={KEY}",
        f"https://civitai.com/models/abc?token={KEY}",
    ],
)
def test_errors_never_echo_a_token(text: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_ref(text)
    assert KEY not in str(info.value)
    assert KEY not in repr(info.value.params)


@pytest.mark.parametrize(
    "text",
    [
        "hf:org/repo/../x.safetensors",
        "hf:org/repo/a/../../x",
        "hf:org/repo/%2e%2e/x",
        "hf:org/repo/%2e%2e%2fx",
        "hf:org/repo/a%2Fb",  # an encoded separator inside one segment
        "hf:org/repo/a\\b.safetensors",
        "hf:org/repo/..\\..\\x",
        "hf:/etc/passwd",
        "hf:org/repo//etc/passwd",
        "hf:org/repo/C:x",
        "hf:org/repo/./x",
        "hf:org/repo/a%00b",
        "hf:org/repo/a%0Ab",
        "hf:org/repo/%ff%fe",  # not UTF-8
        "https://huggingface.co/org/repo/blob/main/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "https://huggingface.co/org/repo/blob/main/../../x",
        "https://huggingface.co/org/repo/blob/main/..%5Cx",
        "https://huggingface.co/org/repo\\blob\\main\\x",
    ],
)
def test_traversal_and_odd_paths_are_refused(text: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_ref(text)
    assert info.value.exit_code == 2


def test_double_encoding_is_decoded_only_once() -> None:
    ref = parse_ref("https://huggingface.co/org/repo/blob/main/a%252Fb.safetensors")
    assert isinstance(ref, HubRef)
    assert ref.path == "a%2Fb.safetensors"  # literal characters: no separator appears
    ref = parse_ref("https://huggingface.co/org/repo/blob/main/%252e%252e%252fx")
    assert isinstance(ref, HubRef) and ref.path == "%2e%2e%2fx"


@pytest.mark.parametrize(
    "text",
    [
        "hf:../repo",
        "hf:org/..",
        "hf:org",
        "hf:org/re po",
        "hf:-org/repo",
        "hf:org/repo.",
        "https://huggingface.co/org",
        "https://huggingface.co/",
        "https://huggingface.co/org/repo/commits/main",
        "https://huggingface.co/org/repo/blob/main",
        "https://huggingface.co/datasets/org/set",
        "https://huggingface.co/spaces/org/app",
        "hf:org/repo@",
        "hf:org/repo@../x/f",
    ],
)
def test_bad_hub_refs(text: str) -> None:
    with pytest.raises(UsageError):
        parse_ref(text)


@pytest.mark.parametrize(
    "text",
    [
        "civitai:",
        "civitai:@",
        "civitai:4384@",
        "civitai:abc",
        "civitai:-1",
        "civitai:0",
        "civitai:+5",
        "civitai:1e3",
        "civitai:99999999999999999999",
        "civitai:4384@x",
        "civitai:١٢٣",  # non-ASCII digits
        "https://civitai.com/",
        "https://civitai.com/models",
        "https://civitai.com/models/abc",
        "https://civitai.com/models/4384?modelVersionId=abc",
        "https://civitai.com/images/123",
        "https://civitai.com/user/someone",
        "https://civitai.com.evil.example/models/1",
        "https://evil.example/civitai.com/models/1",
        "ftp://civitai.com/models/1",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "https://[::1/models/1",
        "",
        "   ",
        "x" * 5000,
        "a\x00b",
        "just words",
        "../../etc/passwd",
        "/etc/passwd",
    ],
)
def test_anything_else_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_ref(text)
    assert info.value.exit_code == 2
    assert str(info.value)  # a sentence, not a crash


def test_unknown_form_error_lists_the_accepted_forms() -> None:
    with pytest.raises(UsageError) as info:
        parse_ref("what is this")
    text = str(info.value)
    assert "civitai:MODEL_ID" in text and "hf:ORG/REPO" in text and "link" in text


def test_bare_repo_is_ambiguous_and_suggests_hf() -> None:
    with pytest.raises(UsageError) as info:
        parse_ref("black-forest-labs/FLUX.1-dev")
    assert "hf:black-forest-labs/FLUX.1-dev" in str(info.value)


def test_bare_number_is_ambiguous_and_suggests_civitai() -> None:
    with pytest.raises(UsageError) as info:
        parse_ref("4384")
    assert "civitai:4384" in str(info.value)


def test_configured_hosts_are_understood() -> None:
    assert parse_ref(
        "http://127.0.0.1:8765/models/5?modelVersionId=6", civitai_base="http://127.0.0.1:8765"
    ) == CivitaiRef(5, 6)
    assert parse_ref(
        "http://127.0.0.1:9000/org/repo/resolve/main/a.st", hub_base="http://127.0.0.1:9000"
    ) == HubRef("org/repo", "a.st")
    with pytest.raises(UsageError):
        parse_ref("http://127.0.0.1:8765/models/5")  # not configured: unknown host


def test_non_string_input() -> None:
    with pytest.raises(UsageError):
        parse_ref(None)  # type: ignore[arg-type]  # deliberately wrong: callers may pass junk


def test_redact_and_has_secret() -> None:
    text = f"https://x/y?a=1&token={KEY}&api_key={KEY} hf_abcdefghijKLMN"
    assert has_secret(text)
    out = redact(text)
    assert KEY not in out and "hf_abcdefghij" not in out
    assert not has_secret("https://civitai.com/models/1?modelVersionId=2")
    assert "\x1b" not in redact("\x1b[2Jx")
    assert len(redact("y" * 1000)) <= 120


# --- the search box --------------------------------------------------------------------


def test_plain_words() -> None:
    intent = parse_query("  ink   wash  ")
    assert (intent.kind, intent.query, intent.tag, intent.username) == (
        "search",
        "ink wash",
        "",
        "",
    )


def test_tag_user_and_mixed() -> None:
    assert parse_query("#anime").tag == "anime"
    assert parse_query("@someone").username == "someone"
    mixed = parse_query("@someone ink #style wash")
    assert (mixed.username, mixed.tag, mixed.query) == ("someone", "style", "ink wash")
    # Only the first tag/user is a filter (the API takes one); later ones stay words.
    twice = parse_query("#a #b")
    assert (twice.tag, twice.query) == ("a", "#b")
    assert parse_query("# @").query == "# @"


def test_empty_query() -> None:
    assert parse_query("").empty and parse_query("   ").empty
    assert not parse_query("x").empty


def test_pasted_civitai_link_opens_the_model() -> None:
    intent = parse_query("https://civitai.com/models/4384/dreamshaper?modelVersionId=128713")
    assert intent.kind == "open" and intent.ref == CivitaiRef(4384, 128713)
    assert parse_query("civitai:4384").ref == CivitaiRef(4384, None)
    assert parse_query("civitai.red/models/7").ref == CivitaiRef(7, None)


def test_pasted_link_with_token_opens_and_never_searches_the_token() -> None:
    intent = parse_query(f"https://civitai.com/models/4384?token={KEY}")
    assert intent.kind == "open" and intent.token_stripped
    assert KEY not in repr(intent)
    broken = parse_query(f"ink https://civitai.com/user/x?token={KEY}")
    assert broken.kind == "search" and broken.query == "ink"
    assert KEY not in repr(broken)


def test_pasted_hub_link_is_handed_over() -> None:
    intent = parse_query("https://huggingface.co/org/repo")
    assert intent.kind == "open" and intent.ref == HubRef("org/repo")


def test_link_we_do_not_know_is_searched_as_words() -> None:
    intent = parse_query("https://civitai.com/images/5")
    assert intent.kind == "search" and intent.query == "https://civitai.com/images/5"


def test_hashes() -> None:
    sha = "AB" * 32
    assert parse_query(sha) == parse_query(f" {sha} ")
    intent = parse_query(sha)
    assert intent.kind == "hash" and intent.hash == sha.lower()
    assert parse_query("5C5E0B3A12").hash == "5c5e0b3a12"
    assert parse_query("1234567890").kind == "hash"
    assert parse_query("deadbeefed").kind == "search"  # 10 hex letters: a word
    assert parse_query("ab" * 31).kind == "search"  # 62 hex: neither
    assert parse_query(f"{sha} extra").kind == "search"
    assert looks_like_hash("0123456789")
    assert not looks_like_hash("abcdefabcd")


def test_configured_host_link_in_search_box() -> None:
    intent = parse_query("http://127.0.0.1:8765/models/3", civitai_base="http://127.0.0.1:8765")
    assert intent.kind == "open" and intent.ref == CivitaiRef(3, None)


def test_version_only_link() -> None:
    ref = parse_ref("https://civitai.com/models?modelVersionId=1011")
    assert ref == CivitaiRef(None, 1011)
