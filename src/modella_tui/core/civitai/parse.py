"""Civitai JSON → typed models; tolerant of every missing, null or odd field."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

from modella_tui.core.errors import BadResponseError
from modella_tui.core.models import (
    CivitaiFile,
    CivitaiImage,
    CivitaiModel,
    CivitaiStats,
    CivitaiVersion,
    SearchPage,
)

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_HEX10 = re.compile(r"[0-9a-fA-F]{10}")
_DIGITS = re.compile(r"[0-9]{1,18}")
# Older responses name an image's level instead of the bitmask; map onto the same scale.
_NSFW_NAMES = {"none": 1, "soft": 2, "mature": 4, "x": 8}
# Civitai's browsing levels PG (1) and PG-13 (2) are what it calls safe for work.
SFW_LEVELS = 1 | 2
_T = TypeVar("_T")


@dataclass(frozen=True)
class VersionInfo:
    """A version as `/model-versions/:id` and `/by-hash/:hash` return it, with its model's identity."""

    version: CivitaiVersion
    model_id: int | None = None
    model_name: str = ""
    model_type: str = "Other"
    model_nsfw: bool = False
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


def _obj(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise BadResponseError("civitai.error.bad_shape", what=what)
    return data


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        return int(value.strip())
    return None


def _float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, str):
        try:
            f = float(value.strip())
        except ValueError:
            return None
        return f if math.isfinite(f) else None
    return None


def _str(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value) if isinstance(value, bool | int) else False


def _strings(value: Any) -> tuple[str, ...]:
    out = []
    for item in _list(value):
        text = _str(item)
        if text is None and isinstance(item, dict):
            text = _str(item.get("name"))  # tags sometimes come as {"name": …}
        if text is not None and text.strip():
            out.append(text)
    return tuple(out)


def _each(items: Any, parse: Callable[[dict[str, Any]], _T]) -> tuple[_T, ...]:
    """Parse the dict entries of a list, skipping nulls and entries without an identity."""
    out = []
    for item in _list(items):
        if not isinstance(item, dict):
            continue
        try:
            out.append(parse(item))
        except BadResponseError:
            continue
    return tuple(out)


def _hash(value: Any, pattern: re.Pattern[str]) -> str | None:
    text = _str(value)
    if text is None:
        return None
    text = text.strip()
    return text.lower() if pattern.fullmatch(text) else None


def nsfw_level(value: Any) -> int:
    """A Civitai nsfw level as the bitmask int (old string names mapped; unknown → 0)."""
    number = _int(value)
    if number is not None:
        return max(number, 0)
    text = _str(value)
    return _NSFW_NAMES.get(text.strip().lower(), 0) if text else 0


def _parse_time(value: Any) -> dt.datetime | None:
    text = _str(value)
    if not text:
        return None
    try:
        when = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _still_restricted(deadline: Any, now: dt.datetime) -> bool:
    """A deadline in the future (or one we cannot read) means access is still restricted."""
    when = _parse_time(deadline)
    return True if when is None else when > now


def is_early_access(data: dict[str, Any], now: dt.datetime | None = None) -> bool:
    """Early or paid access, also when `availability` still says Public (2026 shapes)."""
    now = now or dt.datetime.now(dt.UTC)
    if (_str(data.get("availability")) or "").lower() == "earlyaccess":
        return True
    for key in ("earlyAccessDeadline", "earlyAccessEndsAt"):
        if data.get(key) is not None and _still_restricted(data.get(key), now):
            return True
    paid = data.get("paidAccess")
    if isinstance(paid, dict):
        if _bool(paid.get("permanent")):
            return True
        if paid.get("endsAt") is None:
            return bool(paid)  # an access block without an end: assume restricted
        return _still_restricted(paid.get("endsAt"), now)
    return _bool(paid)


def parse_file(data: Any) -> CivitaiFile:
    """One entry of a version's `files[]`."""
    d = _obj(data, "file")
    meta = _dict(d.get("metadata"))
    hashes = {str(k).lower(): v for k, v in _dict(d.get("hashes")).items()}
    return CivitaiFile(
        id=_int(d.get("id")) or 0,
        name=_str(d.get("name")) or "",
        type=_str(d.get("type")) or "Model",
        size_kb=max(_float(d.get("sizeKB")) or 0.0, 0.0),
        # Non-primary files may lack the key entirely in list responses.
        primary=d.get("primary") is True,
        fp=_str(meta.get("fp")),
        size=_str(meta.get("size")),
        format=_str(meta.get("format")),
        pickle_scan=_str(d.get("pickleScanResult")),
        virus_scan=_str(d.get("virusScanResult")),
        sha256=_hash(hashes.get("sha256"), _HEX64),
        autov2=_hash(hashes.get("autov2"), _HEX10),
        download_url=_str(d.get("downloadUrl")),
    )


def parse_image(data: Any) -> CivitaiImage:
    """One entry of a version's `images[]`; an image without a URL is refused."""
    d = _obj(data, "image")
    url = _str(d.get("url"))
    if not url:
        raise BadResponseError("civitai.error.bad_shape", what="image")
    level = d.get("nsfwLevel")
    if level is None:
        level = d.get("nsfw")  # older responses: "None" / "Soft" / "Mature" / "X"
    return CivitaiImage(
        url=url,
        width=_int(d.get("width")),
        height=_int(d.get("height")),
        nsfw_level=nsfw_level(level),
        type=_str(d.get("type")) or "image",
    )


def parse_version(
    data: Any, model_id: int | None = None, now: dt.datetime | None = None
) -> CivitaiVersion:
    """One model version; the JSON is kept in `raw` for the `.civitai.info` sidecar."""
    d = _obj(data, "model version")
    version_id = _int(d.get("id"))
    if version_id is None:
        raise BadResponseError("civitai.error.bad_shape", what="model version")
    return CivitaiVersion(
        id=version_id,
        name=_str(d.get("name")) or str(version_id),
        model_id=_int(d.get("modelId")) or model_id,
        base_model=_str(d.get("baseModel")) or "",
        trained_words=_strings(d.get("trainedWords")),
        files=_each(d.get("files"), parse_file),
        images=_each(d.get("images"), parse_image),
        download_url=_str(d.get("downloadUrl")),
        published_at=_str(d.get("publishedAt")),
        availability=_str(d.get("availability")) or "Public",
        early_access=is_early_access(d, now),
        description=_str(d.get("description")),
        raw=d,
    )


def parse_stats(data: Any) -> CivitaiStats:
    """A model's counters; null or missing counters stay None (2026 drops rating)."""
    d = _dict(data)
    return CivitaiStats(
        downloads=_int(d.get("downloadCount")),
        likes=_int(d.get("thumbsUpCount")),
        dislikes=_int(d.get("thumbsDownCount")),
        rating=_float(d.get("rating")),
        rating_count=_int(d.get("ratingCount")),
        comments=_int(d.get("commentCount")),
    )


def parse_model(data: Any, now: dt.datetime | None = None) -> CivitaiModel:
    """One model with its versions (newest first, as Civitai sends them)."""
    d = _obj(data, "model")
    model_id = _int(d.get("id"))
    if model_id is None:
        raise BadResponseError("civitai.error.bad_shape", what="model")
    creator = d.get("creator")
    return CivitaiModel(
        id=model_id,
        name=_str(d.get("name")) or str(model_id),
        type=_str(d.get("type")) or "Other",
        description=_str(d.get("description")),
        nsfw=_bool(d.get("nsfw")),
        nsfw_level=nsfw_level(d.get("nsfwLevel")),
        tags=_strings(d.get("tags")),
        creator=_str(_dict(creator).get("username")) if isinstance(creator, dict) else None,
        stats=parse_stats(d.get("stats")),
        versions=_each(d.get("modelVersions"), lambda v: parse_version(v, model_id, now)),
        base_models=_strings(d.get("baseModels")),
        raw=d,
    )


def _cursor(value: Any) -> str | None:
    text = _str(value)
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))  # a numeric cursor must not grow a ".0"
    if text is None:
        return None
    return text.strip() or None


def parse_page(data: Any, now: dt.datetime | None = None) -> SearchPage:
    """One page of `/api/v1/models`; `next_cursor` is None only when no cursor was given."""
    d = _obj(data, "search page")
    if "items" in d and not isinstance(d["items"], list | type(None)):
        raise BadResponseError("civitai.error.bad_shape", what="search page")
    meta = _dict(d.get("metadata"))
    cursor = _cursor(meta.get("nextCursor"))
    if cursor is None and _str(meta.get("nextPage")):
        # Some endpoints only give the next page's URL; its cursor is the same thing.
        query = parse_qs(urlsplit(str(meta["nextPage"])).query)
        cursor = _cursor(query.get("cursor", [None])[0])
    return SearchPage(
        items=_each(d.get("items"), lambda m: parse_model(m, now)), next_cursor=cursor
    )


def parse_version_info(data: Any, now: dt.datetime | None = None) -> VersionInfo:
    """`/model-versions/:id` or `/model-versions/by-hash/:hash`: the version and its model."""
    d = _obj(data, "model version")
    model = _dict(d.get("model"))
    version = parse_version(d, None, now)
    return VersionInfo(
        version=version,
        model_id=version.model_id,
        model_name=_str(model.get("name")) or "",
        model_type=_str(model.get("type")) or "Other",
        model_nsfw=_bool(model.get("nsfw")),
        raw=d,
    )


def is_mature(model: CivitaiModel) -> bool:
    """Mature by Civitai's own flags (`nsfw=false` on the API still lets some through)."""
    return model.nsfw or bool(model.nsfw_level & ~SFW_LEVELS)


def allow_commercial_use(data: Any) -> tuple[str, ...]:
    """A model's `allowCommercialUse` as a tuple (a string in older answers, an array in 2026)."""
    value = _dict(data).get("allowCommercialUse")
    if isinstance(value, str):
        return (value,) if value else ()
    return _strings(value)
