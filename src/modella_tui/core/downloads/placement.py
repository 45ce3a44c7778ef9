"""Where each file lands under `models_dir`."""

from __future__ import annotations

from pathlib import Path

from modella_tui.core import paths

# type → (forge folder, comfyui folder). Civitai's type names plus the Hub-only kinds of §5.
# CLIPVision, IPAdapter, Detector and Segmenter are beyond §5's table: these are where Forge and ComfyUI
# (with its IP-Adapter and Impact packs) look for them.
TYPE_FOLDERS: dict[str, tuple[str, str]] = {
    "Checkpoint": ("Stable-diffusion", "checkpoints"),
    "LORA": ("Lora", "loras"),
    "LoCon": ("Lora", "loras"),
    "DoRA": ("Lora", "loras"),
    "TextualInversion": ("embeddings", "embeddings"),
    "VAE": ("VAE", "vae"),
    "Controlnet": ("ControlNet", "controlnet"),
    "Upscaler": ("ESRGAN", "upscale_models"),
    "Hypernetwork": ("hypernetworks", "hypernetworks"),
    "TextEncoder": ("text_encoder", "text_encoders"),
    "DiffusionModel": ("Stable-diffusion", "diffusion_models"),
    "CLIPVision": ("clip_vision", "clip_vision"),
    "IPAdapter": ("ControlNet", "ipadapter"),
    "Detector": ("adetailer", "ultralytics/bbox"),
    "Segmenter": ("adetailer", "ultralytics/segm"),
    "Other": ("Other", "other"),
}
MODEL_TYPES = tuple(TYPE_FOLDERS)
LAYOUTS = ("forge", "comfyui", "by-source")


def normalise_type(kind: str | None) -> str:
    """Map any spelling of a type (`lora`, `LORA`, `Lycoris`…) to a key of TYPE_FOLDERS."""
    if not kind:
        return "Other"
    low = kind.strip().lower()
    for key in TYPE_FOLDERS:
        if key.lower() == low:
            return key
    aliases = {
        "lycoris": "LoCon",
        "embedding": "TextualInversion",
        "controlnet": "Controlnet",
        "unet": "DiffusionModel",
        "text_encoder": "TextEncoder",
        "clip": "TextEncoder",
    }
    return aliases.get(low, "Other")


def type_folder(kind: str | None, layout: str) -> Path:
    """The folder (relative to models_dir) for a type in the forge or comfyui layout."""
    forge, comfy = TYPE_FOLDERS[normalise_type(kind)]
    return Path(comfy if layout == "comfyui" else forge)


def target_dir(
    models_dir: Path,
    layout: str,
    kind: str | None,
    *,
    source: str,
    model_id: int | str | None = None,
    repo: str | None = None,
) -> Path:
    """The absolute folder a file of this type and source lands in; never outside `models_dir`."""
    if layout == "by-source":
        if source == "civitai":
            rel = Path("civitai") / paths.safe_name(str(model_id or "unknown"), "unknown")
        else:
            org, _, name = (repo or "unknown/unknown").partition("/")
            rel = (
                Path("huggingface")
                / paths.safe_name(org, "unknown")
                / paths.safe_name(name, "unknown")
            )
    else:
        rel = type_folder(kind, layout)
    out = models_dir / rel
    if not paths.is_within(models_dir, out):  # defensive: rel is built from safe names only
        out = models_dir / "Other"
    return out
