"""Civitai's filter vocabulary (sort, period, types, base models) and case-insensitive lookup."""

from __future__ import annotations

from modella_tui.core.errors import UsageError

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


def _key(value: str) -> str:
    return "".join(ch for ch in value.lower() if ch.isalnum())


def canonical(value: str, choices: tuple[str, ...], option: str, *, strict: bool = True) -> str:
    """`lora` → `LORA`, `most downloaded` → `Most Downloaded`; unknown → UsageError (or as given)."""
    found = {_key(c): c for c in choices}.get(_key(value))
    if found is not None:
        return found
    if not strict:
        return value  # Civitai adds base models often: pass a new one through as typed
    raise UsageError("error.bad_choice", option=option, value=value, choices=", ".join(choices))
