"""The browser's filter choices (sort, period, types, base models, NSFW) and their labels."""

from __future__ import annotations

from dataclasses import dataclass, field

from modella_tui.core.civitai.vocab import BASE_MODELS, PERIODS, SORTS, TYPES
from modella_tui.core.config import Settings
from modella_tui.core.i18n import t

__all__ = ["BASE_MODELS", "PERIODS", "SORTS", "TYPES", "FilterState", "period_label", "sort_label"]


def _slug(value: str) -> str:
    return value.lower().replace(" ", "_")


def sort_label(sort: str) -> str:
    """The translated name of a sort order."""
    return t(f"ui.sort.{_slug(sort)}")


def period_label(period: str) -> str:
    """The translated name of a period."""
    return t(f"ui.period.{_slug(period)}")


@dataclass(frozen=True)
class FilterState:
    """What the filter bar shows and the search sends."""

    sort: str = SORTS[0]
    period: str = PERIODS[0]
    types: tuple[str, ...] = ()
    base_models: tuple[str, ...] = field(default_factory=tuple)
    nsfw: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> FilterState:
        """The filters the user chose last time (settings `browser.*` and `nsfw`)."""

        def items(key: str) -> tuple[str, ...]:
            return tuple(x for x in str(settings.get(key)).split(",") if x)

        return cls(
            sort=str(settings.get("browser.sort")),
            period=str(settings.get("browser.period")),
            types=items("browser.types"),
            base_models=items("browser.base_models"),
            nsfw=bool(settings.get("nsfw")),
        )

    def save(self, settings: Settings) -> None:
        """Remember these filters for the next start."""
        values = {
            "browser.sort": self.sort,
            "browser.period": self.period,
            "browser.types": ",".join(self.types),
            "browser.base_models": ",".join(self.base_models),
            "nsfw": self.nsfw,
        }
        for key, value in values.items():
            if settings.get(key) != value:
                settings.set(key, value)

    def summary(self) -> str:
        """One line for the filter bar."""
        parts = [sort_label(self.sort), period_label(self.period)]
        if self.types:
            parts.append(", ".join(self.types))
        if self.base_models:
            parts.append(", ".join(self.base_models))
        parts.append(t("ui.filters.nsfw_on") if self.nsfw else t("ui.filters.nsfw_off"))
        return " · ".join(parts)
