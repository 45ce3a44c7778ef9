"""Reading what a safetensors file says about itself: only its header, capped, never a crash."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from modella_tui.core.safetensors import HEADER_CAP, interpret, read_header


def safetensors(header: dict[str, Any], body: bytes = b"\0" * 16) -> bytes:
    """A file in the safetensors layout: length, JSON header, tensor bytes."""
    raw = json.dumps(header).encode()
    return len(raw).to_bytes(8, "little") + raw + body


def put(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("meta", "kind", "base"),
    [
        ({"ss_base_model_version": "sdxl_base_v1-0", "ss_network_module": "networks.lora"},
         "LORA", "SDXL 1.0"),
        ({"modelspec.architecture": "flux-1-dev/lora"}, "LORA", "Flux.1 D"),
        ({"modelspec.architecture": "stable-diffusion-v1/textual-inversion"},
         "TextualInversion", "SD 1.5"),
        ({"modelspec.architecture": "stable-diffusion-v3-5-large"}, None, "SD 3.5"),
        ({"ss_network_module": "lycoris.kohya", "ss_v2": "True"}, "LoCon", "SD 2.1"),
        ({"ss_base_model_version": "sd_v1"}, None, "SD 1.5"),
    ],
)  # fmt: skip
def test_type_and_base_model_from_the_metadata(
    tmp_path: Path, meta: dict[str, str], kind: str | None, base: str
) -> None:
    path = put(tmp_path / "x.safetensors", safetensors({"__metadata__": meta, "w": {}}))
    info = read_header(path)
    assert (info.status, info.type, info.base_model) == ("ok", kind, base)


def test_tensor_names_give_the_type_when_nothing_else_does() -> None:
    assert interpret({"lora_te2_text_model.x.lora_down.weight": {}}).type == "LORA"
    assert interpret({"lora_te2_text_model.x.lora_down.weight": {}}).base_model == "SDXL 1.0"
    assert interpret({"model.diffusion_model.input_blocks.0.weight": {}}).type == "Checkpoint"
    assert interpret({"double_blocks.0.img_attn.qkv.weight": {}}).type == "DiffusionModel"
    assert interpret({"encoder.conv_in.weight": {}, "decoder.conv_in.weight": {}}).type == "VAE"
    assert interpret({"encoder.block.0.layer.0.weight": {}, "shared.weight": {}}).type == (
        "TextEncoder"
    )
    assert interpret({"emb_params": {}}).type == "TextualInversion"
    bare = interpret({"some.tensor": {}})
    assert (bare.status, bare.type, bare.base_model) == ("bare", None, None)


@pytest.mark.parametrize(
    "data",
    [
        (2**60).to_bytes(8, "little") + b"{}" + b"\0" * 64,  # a length no file holds
        (100).to_bytes(8, "little") + b"{" + b"\0" * 10,  # longer than the file
        (12).to_bytes(8, "little") + b"not json!!!!" + b"\0" * 8,
        (4).to_bytes(8, "little") + b"[1] " + b"\0" * 8,  # JSON, not an object
        (6).to_bytes(8, "little") + b'{"\xff":1' + b"\0" * 8,  # not UTF-8
        b"\x01\x00",  # shorter than the length itself
        b"",
    ],
    ids=["2^60", "past-end", "garbage", "array", "bad-utf8", "tiny", "empty"],
)
def test_a_hostile_header_is_unreadable_not_a_crash(tmp_path: Path, data: bytes) -> None:
    assert read_header(put(tmp_path / "bad.safetensors", data)).status == "unreadable"


def test_deeply_nested_json_is_unreadable(tmp_path: Path) -> None:
    raw = b"[" * 200_000 + b"]" * 200_000
    path = put(tmp_path / "deep.safetensors", len(raw).to_bytes(8, "little") + raw)
    assert read_header(path).status == "unreadable"


def test_the_header_read_is_capped(tmp_path: Path) -> None:
    header = {"__metadata__": {"ss_network_module": "networks.lora", "pad": "x" * 4000}}
    path = put(tmp_path / "big.safetensors", safetensors(header))
    assert read_header(path).type == "LORA"
    assert read_header(path, cap=1000).status == "unreadable"  # over the cap: not even read
    assert HEADER_CAP <= 64 * 1024 * 1024


def test_only_the_header_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    body = b"\0" * (4 * 1024 * 1024)
    path = put(tmp_path / "m.safetensors", safetensors({"lora_unet_x.lora_up.weight": {}}, body))
    read: list[int] = []
    real_read = os.read

    def counting(fd: int, n: int) -> bytes:
        data = real_read(fd, n)
        read.append(len(data))
        return data

    monkeypatch.setattr(os, "read", counting)
    assert read_header(path).type == "LORA"
    assert sum(read) < 200


def test_a_fifo_does_not_hang_the_reader(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.safetensors"
    os.mkfifo(fifo)
    assert read_header(fifo).status == "unreadable"
