"""The browser's filter choices (sort, period, types, base models, NSFW) and their labels."""

from __future__ import annotations

from dataclasses import dataclass, field

from modella_tui.core.i18n import t

SORTS = ("Highest Rated", "Most Downloaded", "Newest")
PERIODS = ("AllTime", "Year", "Month", "Week", "Day")
TYPES = (
    "Checkpoint", "LORA", "LoCon", "DoRA", "TextualInversion", "VAE", "Controlnet", "Upscaler",
    "Hypernetwork", "MotionModule", "Poses", "Wildcards", "Workflows", "Detection", "Other",
)  # fmt: skip
BASE_MODELS = (
    "SD 1.5", "SD 2.1", "SDXL 1.0", "Pony", "Illustrious", "NoobAI", "SD 3.5", "Flux.1 D",
    "Flux.1 S", "Flux.1 Kontext", "Qwen", "HiDream", "Wan Video", "Hunyuan Video", "Other",
)  # fmt: skip


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

    def summary(self) -> str:
        """One line for the filter bar."""
        parts = [sort_label(self.sort), period_label(self.period)]
        if self.types:
            parts.append(", ".join(self.types))
        if self.base_models:
            parts.append(", ".join(self.base_models))
        parts.append(t("ui.filters.nsfw_on") if self.nsfw else t("ui.filters.nsfw_off"))
        return " · ".join(parts)
