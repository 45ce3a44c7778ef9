"""The Hub tree's lines: columns that stay put, words for gated and local files, CJK widths."""

from __future__ import annotations

from rich.cells import cell_len

from modella_tui.core import i18n
from modella_tui.core.errors import AuthError
from modella_tui.core.hub.browse import HubPick
from modella_tui.core.hub.packages import load_catalogue
from modella_tui.core.models import HubFile, HubRepo
from modella_tui.ui.hub_lines import LineContext, Slot, gate_word, layout, line
from modella_tui.ui.hub_state import FileNode, HubState, PackageNode

CTX = LineContext(lambda kind, repo: "Stable-diffusion/", 18)
SDXL = "stabilityai/stable-diffusion-xl-base-1.0"
FLUX = "black-forest-labs/FLUX.1-dev"


def state() -> HubState:
    catalogue = load_catalogue()
    st = HubState(catalogue)
    st.infos[(SDXL, "main")] = HubRepo(
        SDXL,
        files=(
            HubFile(SDXL, "sd_xl_base_1.0.safetensors", 6_938_078_334, "a" * 64),
            HubFile(SDXL, "sd_xl_base_1.0_0.9vae.safetensors", 6_938_078_334),
        ),
    )
    return st


def test_right_columns_stay_put_whatever_the_name() -> None:
    short = layout(60, "a", mark="[ ] ", status="local", slots=[Slot("1.0 GB", 9)])
    long = layout(60, "x" * 200, mark="[ ] ", slots=[Slot("12.0 GB", 9)])
    wide = layout(60, "水墨画スタイル" * 10, mark="[ ] ", status="ローカル", slots=[Slot("3 B", 9)])
    for text in (short, long, wide):
        assert cell_len(text.plain) == 60
    assert short.plain.endswith("   1.0 GB") and long.plain.endswith("  12.0 GB")
    assert "…" in long.plain


def test_narrow_lines_drop_the_least_needed_columns_first() -> None:
    text = layout(
        30, "name.safetensors", mark="[ ] ",
        slots=[Slot("Stable-diffusion/", 18, drop=2), Slot("2.0 GB", 9)],
    )  # fmt: skip
    assert "Stable" not in text.plain and text.plain.endswith("2.0 GB")


def test_package_line_sums_known_sizes_and_says_what_is_missing() -> None:
    st = state()
    pkg = next(p for p in st.catalogue.packages if p.id == "sdxl-base")
    text = line(st, PackageNode(pkg), 100, CTX).plain
    assert "≥12.9 GB" in text and "3 file(s)" in text  # the LoRA is not in this repo's answer
    lora = st.package_picks(pkg)[2]
    assert "not on the Hub" in line(st, FileNode(lora), 100, CTX).plain


def test_gated_words_follow_the_access_check() -> None:
    st = state()
    assert gate_word(st, FLUX) == "gated"
    assert gate_word(st, SDXL) == ""
    st.checking.add(FLUX)
    assert "checking" in gate_word(st, FLUX)
    st.checking.clear()
    st.gates[FLUX] = AuthError("hub.error.gated", repo=FLUX, url="u")
    assert gate_word(st, FLUX) == "gated: no token"
    st.gates[FLUX] = AuthError("hub.error.gated_denied", repo=FLUX, url="u")
    assert gate_word(st, FLUX) == "gated: licence not accepted"
    st.gates[FLUX] = None
    assert gate_word(st, FLUX) == "gated: access granted"
    i18n.set_language("ja")
    assert gate_word(st, FLUX) == "制限付き: アクセス可"


def test_marks_show_on_files_and_their_package() -> None:
    st = state()
    pkg = next(p for p in st.catalogue.packages if p.id == "sdxl-base")
    picks = st.package_picks(pkg)
    st.marks.add(picks[0].key)
    assert line(st, PackageNode(pkg), 80, CTX).plain.startswith("[-]")
    st.marks.update(p.key for p in picks)
    assert line(st, PackageNode(pkg), 80, CTX).plain.startswith("[x]")
    assert st.marked() == sorted(picks, key=lambda p: p.key)
    assert st.size_of(HubPick(SDXL, "nope", "Other")) is None


def test_status_words_keep_room_before_the_name_grows() -> None:
    text = layout(
        60, "Comfy-Org/Lumina_Image_2.0_Repackaged", mark="[ ] ", status="gated: no token",
        slots=[Slot("text-to-image", 16, drop=4), Slot("↓17.8k", 8, drop=2), Slot("1.0 GB", 9)],
        name_min=30,
    )  # fmt: skip
    assert cell_len(text.plain) == 60
    assert "gated: no to…" in text.plain and "text-to-image" not in text.plain
    for width in (10, 14, 20):
        assert cell_len(
            layout(width, "n", status="gated: no token", slots=[Slot("1 B", 9)]).plain
        ) <= max(width, 14)
