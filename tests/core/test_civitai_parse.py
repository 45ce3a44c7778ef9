"""Civitai JSON → models: null everything, 2026 shapes, odd types."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from modella_tui.core.civitai.parse import (
    allow_commercial_use,
    is_early_access,
    is_mature,
    nsfw_level,
    parse_file,
    parse_image,
    parse_model,
    parse_page,
    parse_version,
    parse_version_info,
)
from modella_tui.core.errors import BadResponseError

NOW = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
SHA = "5C5E0B3A" * 8


def test_null_everything_model() -> None:
    data: dict[str, Any] = {
        "id": 1,
        "name": None,
        "description": None,
        "type": None,
        "nsfw": None,
        "nsfwLevel": None,
        "tags": None,
        "creator": None,
        "stats": {
            "downloadCount": None,
            "thumbsUpCount": None,
            "thumbsDownCount": None,
            "commentCount": None,
            "rating": None,
            "ratingCount": None,
        },
        "modelVersions": [
            None,
            {
                "id": 2,
                "name": None,
                "baseModel": None,
                "trainedWords": None,
                "files": [
                    None,
                    {
                        "id": None,
                        "name": None,
                        "sizeKB": None,
                        "hashes": None,
                        "metadata": None,
                        "primary": None,
                    },
                ],
                "images": [None, {"url": None}, {"url": "https://img/1.jpeg", "nsfwLevel": None}],
                "downloadUrl": None,
                "availability": None,
            },
        ],
    }
    model = parse_model(data)
    assert model.id == 1
    assert model.name == "1"  # something to show rather than nothing
    assert model.type == "Other"
    assert model.tags == ()
    assert model.creator is None
    assert model.nsfw is False and model.nsfw_level == 0
    assert model.stats.downloads is None and model.stats.rating is None
    assert len(model.versions) == 1
    version = model.versions[0]
    assert version.model_id == 1
    assert version.base_model == "" and version.trained_words == ()
    assert version.availability == "Public" and version.early_access is False
    (file,) = version.files
    assert (file.id, file.name, file.size_kb, file.primary, file.sha256) == (
        0,
        "",
        0.0,
        False,
        None,
    )
    assert [i.url for i in version.images] == ["https://img/1.jpeg"]
    assert model.base_model == ""


def test_minimal_model_with_nothing_but_an_id() -> None:
    model = parse_model({"id": 9})
    assert model.versions == () and model.latest is None
    assert model.stats.likes is None


def test_stats_missing_or_not_an_object() -> None:
    assert parse_model({"id": 1, "stats": "n/a"}).stats.downloads is None
    assert parse_model({"id": 1}).stats.comments is None


def test_2026_shapes() -> None:
    data = {
        "id": 10,
        "name": "Flux thing",
        "type": "Checkpoint",
        "baseModels": ["Flux.1 D", "Flux.1 S"],
        "allowCommercialUse": ["Image", "RentCivit"],
        "stats": {"downloadCount": 5, "thumbsUpCount": 3, "thumbsDownCount": 0},
        "modelVersions": [
            {
                "id": 11,
                "name": "v2",
                "availability": "Public",
                "earlyAccessDeadline": "2026-06-01T00:00:00.000Z",
                "files": [{"id": 1, "name": "a.safetensors", "sizeKB": 12.5}],
            },
            {
                "id": 12,
                "name": "v1",
                "availability": "Public",
                "earlyAccessDeadline": "2026-01-01T00:00:00.000Z",  # over
                "trainedWords": ["flx", 7, None, ""],
            },
        ],
    }
    model = parse_model(data, now=NOW)
    assert model.stats.rating is None and model.stats.rating_count is None
    assert model.stats.downloads == 5 and model.stats.likes == 3
    assert model.base_models == ("Flux.1 D", "Flux.1 S")
    assert model.base_model == "Flux.1 D"  # the latest version has no baseModel of its own
    assert allow_commercial_use(model.raw) == ("Image", "RentCivit")
    v2, v1 = model.versions
    assert v2.early_access is True and v2.availability == "Public"
    assert v1.early_access is False
    assert v2.trained_words == ()  # missing
    assert v1.trained_words == ("flx", "7")
    assert v2.primary_file is not None and v2.primary_file.name == "a.safetensors"


def test_allow_commercial_use_string_form() -> None:
    assert allow_commercial_use({"allowCommercialUse": "Sell"}) == ("Sell",)
    assert allow_commercial_use({"allowCommercialUse": None}) == ()
    assert allow_commercial_use({}) == ()
    assert allow_commercial_use("garbage") == ()


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ({"availability": "EarlyAccess"}, True),
        ({"availability": "Public"}, False),
        ({"paidAccess": {"permanent": True, "endsAt": None}}, True),
        ({"paidAccess": {"permanent": False, "endsAt": "2026-09-01T00:00:00Z"}}, True),
        ({"paidAccess": {"permanent": False, "endsAt": "2025-09-01T00:00:00Z"}}, False),
        ({"paidAccess": None}, False),
        ({"earlyAccessDeadline": "garbled"}, True),  # unreadable: assume restricted
        ({"earlyAccessDeadline": None}, False),
        ({"earlyAccessEndsAt": "2026-05-02T00:00:00"}, True),
    ],
)
def test_early_access_forms(version: dict[str, Any], expected: bool) -> None:
    assert is_early_access(version, now=NOW) is expected


def test_file_fields_and_hash_case() -> None:
    data = {
        "id": 5,
        "name": "x.safetensors",
        "type": "Model",
        "sizeKB": 2048.5,
        "primary": True,
        "metadata": {"fp": "fp16", "size": "pruned", "format": "SafeTensor"},
        "pickleScanResult": "Success",
        "virusScanResult": "Success",
        "hashes": {"SHA256": SHA, "AutoV2": "5C5E0B3A12", "CRC32": "DEADBEEF"},
        "downloadUrl": "https://civitai.com/api/download/models/5",
    }
    f = parse_file(data)
    assert f.sha256 == SHA.lower()
    assert f.autov2 == "5c5e0b3a12"
    assert f.size_bytes == round(2048.5 * 1024)
    assert (f.fp, f.size, f.format) == ("fp16", "pruned", "SafeTensor")
    assert f.primary is True and not f.is_pickle and not f.scan_danger


def test_file_hash_keys_in_lower_case_and_garbage_hashes() -> None:
    assert parse_file({"id": 1, "hashes": {"sha256": SHA.lower()}}).sha256 == SHA.lower()
    for bad in ("", "xyz", SHA[:-1], SHA + "0", 12345, None, ["a"], "../" * 21 + "a"):
        assert parse_file({"id": 1, "hashes": {"SHA256": bad, "AutoV2": bad}}).sha256 is None


def test_file_odd_types_do_not_crash() -> None:
    f = parse_file(
        {
            "id": "42",
            "name": 3.5,
            "sizeKB": "12.25",
            "primary": "true",  # only a real true counts
            "metadata": ["x"],
            "hashes": "SHA",
            "pickleScanResult": {"x": 1},
        }
    )
    assert f.id == 42 and f.name == "3.5" and f.size_kb == 12.25
    assert f.primary is False and f.fp is None and f.pickle_scan is None
    assert parse_file({"id": 1, "sizeKB": -5}).size_kb == 0.0
    assert parse_file({"id": 1, "sizeKB": float("nan")}).size_kb == 0.0
    assert parse_file({"id": True}).id == 0


def test_missing_primary_falls_back_to_the_first_model_file() -> None:
    v = parse_version(
        {
            "id": 1,
            "files": [
                {"id": 1, "name": "cfg.yaml", "type": "Config"},
                {"id": 2, "name": "m.safetensors", "type": "Model"},
            ],
        }
    )
    assert all(not f.primary for f in v.files)
    assert v.primary_file is not None and v.primary_file.id == 2


def test_version_keeps_raw_json_and_strips_nothing() -> None:
    data = {
        "id": 3,
        "name": "[bold]v[/] \x1b[31m",
        "modelId": 77,
        "baseModel": "SD 1.5",
        "description": "<p>hi</p>",
        "publishedAt": "2024-01-01T00:00:00.000Z",
        "downloadUrl": "https://civitai.com/api/download/models/3",
        "unknownField": {"kept": True},
    }
    v = parse_version(data, model_id=1)
    assert v.raw is data and v.raw["unknownField"] == {"kept": True}
    assert v.name == "[bold]v[/] \x1b[31m"  # display layers escape; parse keeps it
    assert v.model_id == 77  # the version's own modelId wins
    assert v.description == "<p>hi</p>"


def test_images_and_nsfw_levels() -> None:
    img = parse_image({"url": "https://i/x.jpeg", "width": 512, "height": "768", "nsfwLevel": 4})
    assert (img.width, img.height, img.nsfw_level, img.safe) == (512, 768, 4, False)
    assert parse_image({"url": "https://i/y", "nsfw": "None"}).nsfw_level == 1
    assert parse_image({"url": "https://i/y", "nsfw": "X"}).nsfw_level == 8
    assert parse_image({"url": "https://i/y", "type": "video"}).type == "video"
    assert nsfw_level(-3) == 0 and nsfw_level("weird") == 0 and nsfw_level(2.0) == 2
    with pytest.raises(BadResponseError):
        parse_image({"width": 1})


def test_tags_as_strings_or_objects_and_creator() -> None:
    m = parse_model(
        {
            "id": 1,
            "tags": ["anime", {"name": "style"}, None, 3, ""],
            "creator": {"username": "someone", "image": None},
        }
    )
    assert m.tags == ("anime", "style", "3")
    assert m.creator == "someone"
    assert parse_model({"id": 1, "creator": "someone"}).creator is None


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ({"nextCursor": "abc|123"}, "abc|123"),
        ({"nextCursor": 12345}, "12345"),
        ({"nextCursor": 12345.0}, "12345"),
        ({"nextCursor": None}, None),
        ({"nextCursor": ""}, None),
        ({}, None),
        ({"nextPage": "https://civitai.com/api/v1/models?limit=20&cursor=xyz"}, "xyz"),
        ({"nextPage": "https://civitai.com/api/v1/models?limit=20"}, None),
        ({"nextCursor": {"odd": 1}}, None),
    ],
)
def test_page_cursor_forms(metadata: dict[str, Any], expected: str | None) -> None:
    assert parse_page({"items": [], "metadata": metadata}).next_cursor == expected


def test_page_skips_broken_items_and_tolerates_missing_parts() -> None:
    page = parse_page({"items": [None, {"name": "no id"}, {"id": 2}, "x"], "metadata": None})
    assert [m.id for m in page.items] == [2]
    assert page.next_cursor is None
    assert parse_page({}).items == ()


@pytest.mark.parametrize("bad", [None, [], "text", 3, 1.5, True])
def test_non_objects_raise_bad_response(bad: Any) -> None:
    for parse in (parse_model, parse_version, parse_file, parse_image, parse_page):
        with pytest.raises(BadResponseError):
            parse(bad)


def test_page_items_not_a_list_is_bad() -> None:
    with pytest.raises(BadResponseError):
        parse_page({"items": {"id": 1}})


def test_model_and_version_without_id_are_bad() -> None:
    with pytest.raises(BadResponseError):
        parse_model({"name": "x"})
    with pytest.raises(BadResponseError):
        parse_version({"id": "x1"})


def test_version_info_from_version_endpoint() -> None:
    info = parse_version_info(
        {"id": 5, "modelId": 6, "model": {"name": "M", "type": "LORA", "nsfw": True}}
    )
    assert (info.version.id, info.model_id, info.model_name, info.model_type) == (5, 6, "M", "LORA")
    assert info.model_nsfw is True
    bare = parse_version_info({"id": 5, "model": None})
    assert (bare.model_id, bare.model_name, bare.model_type) == (None, "", "Other")


@pytest.mark.parametrize(
    ("flags", "mature"),
    [
        ({}, False),
        ({"nsfwLevel": 1}, False),
        ({"nsfwLevel": 3}, False),
        ({"nsfwLevel": 4}, True),
        ({"nsfwLevel": 31}, True),
        ({"nsfw": True, "nsfwLevel": 1}, True),
    ],
)
def test_is_mature(flags: dict[str, Any], mature: bool) -> None:
    assert is_mature(parse_model({"id": 1, **flags})) is mature
