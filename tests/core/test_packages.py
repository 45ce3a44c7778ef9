"""The curated Hub catalogue: the shipped file is valid and factual; bad files fail clearly."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from modella_tui.core import i18n
from modella_tui.core.downloads.placement import TYPE_FOLDERS
from modella_tui.core.errors import ConfigError, NotFoundError
from modella_tui.core.hub import packages
from modella_tui.core.hub.packages import (
    Catalogue,
    is_safe_repo_path,
    load_catalogue,
    parse_catalogue,
)

ROOT = Path(__file__).resolve().parents[2]
REFERENCE_TSV = ROOT.parent / "shared" / "reference" / "hf-repos.tsv"

# The categories the issue asks for (plus detectors, which are real and wanted for ADetailer).
REQUIRED_CATEGORIES = {
    "checkpoints", "diffusion_models", "text_encoders", "vae", "controlnet", "ip_adapter",
    "upscalers",
}  # fmt: skip

# (repo, path) pairs not in the reference TSV, each widely documented. Keep this list short.
WELL_KNOWN: set[tuple[str, str]] = {
    # runwayml/stable-diffusion-v1-5 (in the TSV) was deleted in 2024; this is its public mirror.
    ("stable-diffusion-v1-5/stable-diffusion-v1-5", "v1-5-pruned-emaonly.safetensors"),
    ("stabilityai/stable-diffusion-xl-base-1.0", "sd_xl_base_1.0.safetensors"),
    ("stabilityai/stable-diffusion-xl-refiner-1.0", "sd_xl_refiner_1.0.safetensors"),
    ("stabilityai/sdxl-vae", "sdxl_vae.safetensors"),
    ("stabilityai/sd-vae-ft-mse-original", "vae-ft-mse-840000-ema-pruned.safetensors"),
    ("black-forest-labs/FLUX.1-dev", "flux1-dev.safetensors"),
    ("black-forest-labs/FLUX.1-dev", "ae.safetensors"),
    ("black-forest-labs/FLUX.1-schnell", "flux1-schnell.safetensors"),
    ("black-forest-labs/FLUX.1-schnell", "ae.safetensors"),
    ("Comfy-Org/flux1-dev", "flux1-dev-fp8.safetensors"),
    ("Comfy-Org/flux1-schnell", "flux1-schnell-fp8.safetensors"),
    ("ai-forever/Real-ESRGAN", "RealESRGAN_x2.pth"),
    ("ai-forever/Real-ESRGAN", "RealESRGAN_x4.pth"),
    ("ai-forever/Real-ESRGAN", "RealESRGAN_x8.pth"),
    ("Kim2091/UltraSharp", "4x-UltraSharp.pth"),
}
# Repos known to be removed from the Hub: the catalogue must not point at them.
REMOVED_REPOS = {"runwayml/stable-diffusion-v1-5", "stabilityai/stable-diffusion-2-1"}
KNOWN_GATED = {"black-forest-labs/FLUX.1-dev", "black-forest-labs/FLUX.1-schnell"}


@pytest.fixture
def shipped() -> Catalogue:
    """The catalogue shipped with Modella, read fresh."""
    packages.clear_cache()
    return load_catalogue()


def _raw() -> dict[str, Any]:
    """A small valid catalogue to break in the negative tests."""
    return {
        "version": 1,
        "categories": [
            {"id": "checkpoints", "title_key": "hf.cat.checkpoints"},
            {"id": "vae", "title_key": "hf.cat.vae"},
        ],
        "packages": [
            {
                "id": "sdxl-base", "category": "checkpoints", "title": "SDXL 1.0 base",
                "repo": "stabilityai/stable-diffusion-xl-base-1.0", "revision": "main",
                "gated": False, "base_model": "SDXL 1.0", "description": "base",
                "files": [{"path": "sd_xl_base_1.0.safetensors", "type": "Checkpoint"}],
            },
            {
                "id": "sdxl-vae", "category": "vae", "title": "SDXL VAE",
                "repo": "stabilityai/sdxl-vae",
                "files": [{"path": "sdxl_vae.safetensors", "type": "VAE"}],
            },
        ],
        "packs": [
            {
                "id": "sdxl", "title": "SDXL", "description": "base + VAE",
                "items": [
                    {"package": "sdxl-base", "files": ["sd_xl_base_1.0.safetensors"]},
                    {"package": "sdxl-vae"},
                ],
            }
        ],
    }  # fmt: skip


def _write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "hf-packages.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _reference_pairs() -> set[tuple[str, str]]:
    pairs: set[tuple[str, str]] = set()
    for line in REFERENCE_TSV.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        _category, repo, path = line.split("\t")
        pairs.add((repo.strip(), path.strip()))
    return pairs


def _has_doubled_dirs(path: str) -> bool:
    """`a/b/a/b/x` — the copy-paste slip seen in the reference data."""
    dirs = path.split("/")[:-1]
    for size in range(1, len(dirs) // 2 + 1):
        for start in range(len(dirs) - 2 * size + 1):
            if dirs[start : start + size] == dirs[start + size : start + 2 * size]:
                return True
    return False


# --- the shipped file ----------------------------------------------------------------------------


def test_shipped_catalogue_is_big_enough_and_every_category_is_filled(shipped: Catalogue) -> None:
    assert len(shipped.packages) >= 25
    ids = {c.id for c in shipped.categories}
    assert ids >= REQUIRED_CATEGORIES
    for category, pkgs in shipped.by_category():
        assert pkgs, f"category {category.id} is empty"
    assert sum(len(p) for _, p in shipped.by_category()) == len(shipped.packages)


def test_shipped_ids_and_files_are_unique_and_types_known(shipped: Catalogue) -> None:
    ids = [p.id for p in shipped.packages]
    assert len(ids) == len(set(ids))
    assert len({p.id for p in shipped.packs}) == len(shipped.packs)
    pairs = [(p.repo.lower(), f.path) for p in shipped.packages for f in p.files]
    assert len(pairs) == len(set(pairs))
    for p in shipped.packages:
        for f in p.files:
            assert f.type in TYPE_FOLDERS, (p.id, f.path)
            assert is_safe_repo_path(f.path), (p.id, f.path)
            assert not _has_doubled_dirs(f.path), (p.id, f.path)


def test_shipped_category_titles_are_translated(shipped: Catalogue) -> None:
    assert shipped.categories
    for category in shipped.categories:
        assert category.title != category.title_key, category.title_key


@pytest.mark.skipif(not REFERENCE_TSV.is_file(), reason="reference data not present")
def test_every_repo_and_path_is_in_the_reference_or_well_known(shipped: Catalogue) -> None:
    reference = _reference_pairs()
    unknown = [
        (p.repo, f.path)
        for p in shipped.packages
        for f in p.files
        if (p.repo, f.path) not in reference and (p.repo, f.path) not in WELL_KNOWN
    ]
    assert unknown == []
    used = {(p.repo, f.path) for p in shipped.packages for f in p.files}
    assert used >= WELL_KNOWN, "an allow-list entry is no longer used: remove it"


def test_no_removed_repo_and_known_gated_repos_are_marked(shipped: Catalogue) -> None:
    assert not {p.repo for p in shipped.packages} & REMOVED_REPOS
    gated = [p for p in shipped.packages if p.repo in KNOWN_GATED]
    assert {p.repo for p in gated} == KNOWN_GATED  # both ship, so the check below checks them
    assert all(p.gated for p in gated), [p.id for p in gated if not p.gated]


def test_ships_no_sizes_hashes_or_commits() -> None:
    raw = json.loads(packages.default_path().read_text(encoding="utf-8"))
    assert raw["packages"] and all(pkg["files"] for pkg in raw["packages"])
    for pkg in raw["packages"]:
        assert pkg.get("revision", "main") == "main", pkg["id"]
        for f in pkg["files"]:
            assert set(f) == {"path", "type"}, (pkg["id"], f)


def test_prefers_safetensors_except_where_no_variant_exists(shipped: Catalogue) -> None:
    pickles = {
        p.id for p in shipped.packages for f in p.files
        if f.path.endswith((".pth", ".pt", ".bin", ".ckpt"))
    }  # fmt: skip
    # Only ControlNet 1.1 (SD 1.5), the ESRGAN upscalers and the YOLO detectors are pickle-only.
    allowed = {p.id for p in shipped.packages if p.category in {"upscalers", "detectors"}}
    allowed |= {p.id for p in shipped.packages if p.repo == "lllyasviel/ControlNet-v1-1"}
    assert pickles <= allowed


def test_controlnet_yaml_sits_next_to_its_weights(shipped: Catalogue) -> None:
    yamls = [(p, f) for p in shipped.packages for f in p.files if f.path.endswith(".yaml")]
    assert yamls, "no .yaml config shipped: this test would check nothing"
    for p, f in yamls:
        assert f.type == "Controlnet"
        assert p.file(f.path.removesuffix(".yaml") + ".pth") is not None, f.path


def test_packs_resolve_to_real_files(shipped: Catalogue) -> None:
    assert {"flux1-dev", "flux1-schnell", "sdxl-base-refiner-vae", "wan21-t2v-1.3b"} <= {
        p.id for p in shipped.packs
    }
    for pack in shipped.packs:
        files = shipped.pack_files(pack.id)
        assert files, pack.id
        assert len({(p.repo, f.path) for p, f in files}) == len(files)


def test_flux_dev_pack_is_unet_encoders_and_vae(shipped: Catalogue) -> None:
    files = shipped.pack_files("flux1-dev")
    kinds = sorted(f.type for _, f in files)
    assert kinds == ["DiffusionModel", "TextEncoder", "TextEncoder", "VAE"]
    names = {f.name for _, f in files}
    assert {"flux1-dev.safetensors", "clip_l.safetensors", "ae.safetensors"} <= names
    assert any(p.gated for p, _ in files)


def test_wan_pack_is_model_encoder_and_vae(shipped: Catalogue) -> None:
    files = shipped.pack_files("wan21-t2v-1.3b")
    assert [f.type for _, f in files] == ["DiffusionModel", "TextEncoder", "VAE"]
    assert files[0][1].name == "wan2.1_t2v_1.3B_fp16.safetensors"


def test_default_catalogue_is_cached() -> None:
    packages.clear_cache()
    assert load_catalogue() is load_catalogue()


# --- look-ups ------------------------------------------------------------------------------------


def test_lookups(tmp_path: Path) -> None:
    cat = load_catalogue(_write(tmp_path, _raw()))
    base = cat.package("sdxl-base")
    assert base is not None and base.revision == "main" and base.category == "checkpoints"
    assert cat.package("nope") is None
    vae = cat.package("sdxl-vae")
    assert vae is not None and vae.revision == "main" and vae.gated is False
    assert vae.base_model is None and vae.description == ""
    assert [c.id for c, _ in cat.by_category()] == ["checkpoints", "vae"]

    hits = cat.find("StabilityAI/SDXL-VAE")  # repo ids are case-insensitive on the Hub
    assert [(p.id, f.path) for p, f in hits] == [("sdxl-vae", "sdxl_vae.safetensors")]
    assert cat.find("stabilityai/sdxl-vae", "sdxl_vae.safetensors") == hits
    assert cat.find("stabilityai/sdxl-vae", "other.safetensors") == []
    assert cat.find("someone/else") == []

    pack = [(p.id, f.name) for p, f in cat.pack_files("sdxl")]
    assert pack == [
        ("sdxl-base", "sd_xl_base_1.0.safetensors"),
        ("sdxl-vae", "sdxl_vae.safetensors"),
    ]
    with pytest.raises(NotFoundError) as err:
        cat.pack_files("missing")
    assert "missing" in str(err.value)


# --- negative cases: each names the culprit ------------------------------------------------------


def _broken(mutate: str) -> dict[str, Any]:
    data = copy.deepcopy(_raw())
    pkg = data["packages"][0]
    if mutate == "unknown_category":
        pkg["category"] = "loras"
    elif mutate == "unknown_type":
        pkg["files"][0]["type"] = "Weights"
    elif mutate == "duplicate_id":
        data["packages"][1]["id"] = "sdxl-base"
    elif mutate == "duplicate_path":
        data["packages"][1]["repo"] = pkg["repo"]
        data["packages"][1]["files"][0]["path"] = pkg["files"][0]["path"]
        data["packages"][1]["id"] = "sdxl-base-copy"
    elif mutate == "missing_repo":
        del pkg["repo"]
    elif mutate == "bad_repo":
        pkg["repo"] = "../etc"
    elif mutate == "gated_not_bool":
        pkg["gated"] = "yes"
    elif mutate == "unknown_field":
        pkg["sha256"] = "0" * 64
    elif mutate == "no_files":
        pkg["files"] = []
    return data


@pytest.mark.parametrize(
    ("mutate", "key", "needle"),
    [
        ("unknown_category", "hf.catalogue.unknown_category", "loras"),
        ("unknown_type", "hf.catalogue.unknown_type", "Weights"),
        ("duplicate_id", "hf.catalogue.duplicate_id", "packages"),
        ("duplicate_path", "hf.catalogue.duplicate_file", "sd_xl_base_1.0.safetensors"),
        ("missing_repo", "hf.catalogue.bad_field", "repo"),
        ("bad_repo", "hf.catalogue.bad_field", "repo"),
        ("gated_not_bool", "hf.catalogue.bad_field", "gated"),
        ("unknown_field", "hf.catalogue.unknown_field", "sha256"),
        ("no_files", "hf.catalogue.bad_field", "files"),
    ],
)
def test_bad_package_names_package_and_field(
    tmp_path: Path, mutate: str, key: str, needle: str
) -> None:
    path = _write(tmp_path, _broken(mutate))
    with pytest.raises(ConfigError) as err:
        load_catalogue(path)
    message = str(err.value)
    assert err.value.key == key
    assert "sdxl-base" in message
    assert needle in message
    assert str(path) in message
    assert err.value.exit_code == 2


@pytest.mark.parametrize(
    "bad",
    [
        "../../.bashrc",
        "/etc/passwd",
        "a/../b.safetensors",
        "C:/x.safetensors",
        "C:\\x.safetensors",
        "dir\\x.safetensors",
        "//server/share/x",
        "./x.safetensors",
        "a//b.safetensors",
        "dir/",
        " x.safetensors",
        "x\x1b[31m.safetensors",
        "..",
        "",
    ],
)
def test_unsafe_paths_are_refused(tmp_path: Path, bad: str) -> None:
    data = _raw()
    data["packages"][0]["files"][0]["path"] = bad
    with pytest.raises(ConfigError) as err:
        load_catalogue(_write(tmp_path, data))
    assert err.value.key in {"hf.catalogue.unsafe_path", "hf.catalogue.bad_field"}
    assert "sdxl-base" in str(err.value)


def test_safe_subfolder_paths_are_accepted() -> None:
    assert is_safe_repo_path("split_files/vae/wan_2.1_vae.safetensors")
    assert is_safe_repo_path("sd_xl_base_1.0.safetensors")


def test_pack_with_unknown_package_or_file(tmp_path: Path) -> None:
    data = _raw()
    data["packs"][0]["items"][1]["package"] = "ghost"
    with pytest.raises(ConfigError) as err:
        load_catalogue(_write(tmp_path, data))
    assert err.value.key == "hf.catalogue.unknown_package"
    assert "ghost" in str(err.value) and '"sdxl"' in str(err.value)

    data = _raw()
    data["packs"][0]["items"][0]["files"] = ["sd_xl_refiner_1.0.safetensors"]
    with pytest.raises(ConfigError) as err:
        load_catalogue(_write(tmp_path, data))
    assert err.value.key == "hf.catalogue.unknown_file"
    message = str(err.value)
    assert "sdxl-base" in message and "sd_xl_refiner_1.0.safetensors" in message


def test_duplicate_category_and_pack_ids(tmp_path: Path) -> None:
    data = _raw()
    data["categories"].append({"id": "vae", "title_key": "hf.cat.vae"})
    with pytest.raises(ConfigError, match="categories"):
        load_catalogue(_write(tmp_path, data))
    data = _raw()
    data["packs"].append(copy.deepcopy(data["packs"][0]))
    with pytest.raises(ConfigError, match="packs"):
        load_catalogue(_write(tmp_path, data))


def test_unreadable_broken_json_and_wrong_version(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_catalogue(tmp_path / "absent.json")
    assert err.value.key == "hf.catalogue.unreadable" and "absent.json" in str(err.value)

    broken = tmp_path / "broken.json"
    broken.write_text('{"version": 1,\n "packages": [}', encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_catalogue(broken)
    assert err.value.key == "hf.catalogue.invalid_json" and "line 2" in str(err.value)

    for version in (2, True, "1", None):
        data = _raw()
        data["version"] = version
        with pytest.raises(ConfigError) as err:
            parse_catalogue(data)
        assert err.value.key == "hf.catalogue.bad_version"

    with pytest.raises(ConfigError):
        parse_catalogue([])


def test_hf_locale_strings_are_sentences_that_name_the_file() -> None:
    english = i18n.catalog("en")
    strings = {key: text for key, text in english.items() if key.startswith("hf.")}
    # Every key the catalogue code raises must be among the strings checked below.
    source = (ROOT / "src" / "modella_tui" / "core" / "hub" / "packages.py").read_text("utf-8")
    used = set(re.findall(r"""["'](hf\.[a-z_.]+)["']""", source))
    assert used, "no hf.* keys found in packages.py"
    missing = sorted(used - strings.keys())
    assert not missing, missing
    for key, text in strings.items():
        assert text.strip(), key
        if key.startswith("hf.cat."):  # tree labels, not sentences
            continue
        assert text.endswith("."), key
        if key.startswith("hf.catalogue."):
            assert "file" in i18n.placeholders(text), key
