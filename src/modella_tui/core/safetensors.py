"""What a safetensors file says about itself, from its header alone.

A safetensors file starts with an 8-byte little-endian length and that many bytes of JSON: the
tensors' names, shapes and offsets, and an optional `__metadata__` object of strings that trainers
fill (`ss_base_model_version`, `ss_network_module`, `modelspec.architecture`, …). Only that header
is read, never a tensor, and never more than `HEADER_CAP` bytes: a length of 2^60 or a header that
is not JSON makes the file "unreadable", nothing more. Pickle formats are never opened here.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HEADER_CAP = 32 * 1024 * 1024
"""Real headers are kilobytes to a few MB (LoRA training metadata); past this it is not one."""
SUFFIXES = (".safetensors", ".sft")

# `modelspec.architecture` and `ss_base_model_version` prefixes → Civitai's base model names.
# Longest prefixes first: "stable-diffusion-v3-5" before "stable-diffusion-v3".
_ARCHITECTURES = (
    ("stable-diffusion-xl-v1", "SDXL 1.0"),
    ("stable-diffusion-v3-5", "SD 3.5"),
    ("stable-diffusion-v3.5", "SD 3.5"),
    ("stable-diffusion-v3", "SD 3"),
    ("stable-diffusion-v2", "SD 2.1"),
    ("stable-diffusion-v1", "SD 1.5"),
    ("flux-1-schnell", "Flux.1 S"),
    ("flux-1-dev", "Flux.1 D"),
    ("flux-1", "Flux.1 D"),
    ("sdxl", "SDXL 1.0"),
    ("sd3.5", "SD 3.5"),
    ("sd3", "SD 3"),
    ("sd_v2", "SD 2.1"),
    ("sd_v1", "SD 1.5"),
    ("flux1", "Flux.1 D"),
    ("flux", "Flux.1 D"),
)
_ARCH_KINDS = {
    "lora": "LORA",
    "lycoris": "LoCon",
    "textual-inversion": "TextualInversion",
    "vae": "VAE",
    "controlnet": "Controlnet",
}


@dataclass(frozen=True)
class HeaderInfo:
    """What the header told: `status` is ok, bare (nothing recognisable) or unreadable."""

    status: str
    type: str | None = None
    base_model: str | None = None


UNREADABLE = HeaderInfo("unreadable")


def is_safetensors(name: str) -> bool:
    """Whether a file name says safetensors (the only format whose header is read)."""
    return name.lower().endswith(SUFFIXES)


def read_header(path: Path, cap: int = HEADER_CAP) -> HeaderInfo:
    """Read and interpret the header of one safetensors file; never raises for a bad file."""
    try:
        raw = _read_raw(path, cap)
    except OSError:
        return UNREADABLE
    if raw is None:
        return UNREADABLE
    try:
        header = json.loads(raw)
    except (ValueError, RecursionError):  # garbage, bad UTF-8, or nesting crafted to be deep
        return UNREADABLE
    if not isinstance(header, dict):
        return UNREADABLE
    return interpret(header)


def _read_raw(path: Path, cap: int) -> bytes | None:
    # O_NONBLOCK: a FIFO swapped in after the walk must not hang the scan on open.
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size < 10:
            return None
        prefix = _read_exact(fd, 8)
        if prefix is None:
            return None
        length = int.from_bytes(prefix, "little")
        if length < 2 or length > cap or length > info.st_size - 8:
            return None
        raw = _read_exact(fd, length)
        if raw is None or not raw.lstrip().startswith(b"{"):
            return None
        return raw
    finally:
        os.close(fd)


def _read_exact(fd: int, size: int) -> bytes | None:
    parts: list[bytes] = []
    left = size
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def interpret(header: Mapping[str, Any]) -> HeaderInfo:
    """Type and base model from `__metadata__` first, then from the tensors' names."""
    meta = header.get("__metadata__")
    meta = {str(k): str(v) for k, v in meta.items()} if isinstance(meta, dict) else {}
    names = [k for k in header if k != "__metadata__"]
    kind = kind_from_metadata(meta) or kind_from_tensors(names)
    base = base_from_metadata(meta) or base_from_tensors(names)
    return HeaderInfo("ok" if kind or base else "bare", kind, base)


def _base_of(value: str) -> str | None:
    low = value.strip().lower()
    return next((base for prefix, base in _ARCHITECTURES if low.startswith(prefix)), None)


def base_from_metadata(meta: Mapping[str, str]) -> str | None:
    """Civitai's name for the base model the trainer recorded."""
    for key in ("modelspec.architecture", "ss_base_model_version"):
        if meta.get(key):
            base = _base_of(meta[key])
            if base:
                return base
    if meta.get("ss_v2", "").lower() == "true":
        return "SD 2.1"
    return None


def kind_from_metadata(meta: Mapping[str, str]) -> str | None:
    """LORA, LoCon, TextualInversion… as `modelspec.architecture` or kohya's keys say."""
    arch = meta.get("modelspec.architecture", "").lower()
    if "/" in arch:
        suffix = arch.rsplit("/", 1)[1]
        if suffix in _ARCH_KINDS:
            return _ARCH_KINDS[suffix]
    module = meta.get("ss_network_module", "").lower()
    if module.startswith("lycoris"):
        return "LoCon"
    if module:
        return "LORA"
    return None


def kind_from_tensors(names: Iterable[str]) -> str | None:
    """The type the tensor names give away (a LoRA's `lora_` keys, a checkpoint's UNet…)."""
    keys = list(names)
    if not keys:
        return None
    if any(k.startswith(("lora_", "lycoris_")) or ".lora_" in k or ".lora." in k for k in keys):
        if any(".hada_" in k or ".lokr_" in k for k in keys):
            return "LoCon"
        return "LORA"
    if any(k.startswith("model.diffusion_model.") for k in keys):
        return "Checkpoint"
    if any(k.startswith(("control_model.", "input_hint_block.")) for k in keys):
        return "Controlnet"
    if "emb_params" in keys or (set(keys) <= {"clip_l", "clip_g"}):
        return "TextualInversion"
    if any(k.startswith(("double_blocks.", "single_blocks.", "joint_blocks.")) for k in keys):
        return "DiffusionModel"
    if any(k.startswith(("text_model.encoder.", "encoder.block.", "shared.")) for k in keys):
        return "TextEncoder"
    if all(k.startswith(("encoder.", "decoder.", "quant_conv.", "post_quant_conv.")) for k in keys):
        return "VAE"
    return None


def base_from_tensors(names: Iterable[str]) -> str | None:
    """A base model the tensor names make certain (SDXL's second text encoder, Flux's blocks)."""
    keys = list(names)
    if any(k.startswith(("lora_te2_", "lora_te1_", "conditioner.embedders.1.")) for k in keys):
        return "SDXL 1.0"
    if any("double_blocks" in k or "single_blocks" in k for k in keys):
        return "Flux.1 D"
    if any(k.startswith("cond_stage_model.transformer.") for k in keys):
        return "SD 1.5"
    return None
