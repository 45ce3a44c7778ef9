"""Columns fit by priority; names shrink in the middle and keep their distinguishing tail."""

from __future__ import annotations

from rich.cells import cell_len

from modella_tui.ui.columns import CELL_PADDING, Column, fit_columns, middle, natural_widths

COLUMNS = (
    Column("name", 12, 0, fill=True),
    Column("size", 8, 0),
    Column("type", 6, 2),
    Column("format", 8, 3),
)


def test_middle_keeps_both_ends() -> None:
    name = "Aurora_Realistic_Portraits_v12.safetensors"
    cut = middle(name, 24)
    assert cell_len(cut) == 24
    assert cut.startswith("Auror") and cut.endswith("_v12.safetensors") and "…" in cut
    assert middle("short.st", 24) == "short.st"
    assert middle("anything", 1) == "…" and middle("x", 0) == ""


def test_middle_counts_wide_characters() -> None:
    cut = middle("水墨画スタイル_v2.safetensors", 14)
    assert cell_len(cut) <= 14 and cut.startswith("水") and cut.endswith("tensors")


def test_all_columns_fit_when_wide_and_the_fill_takes_the_rest() -> None:
    natural = {"name": 40, "size": 8, "type": 10, "format": 11}
    widths = fit_columns(COLUMNS, 120, natural)
    assert list(widths) == ["name", "size", "type", "format"]
    assert widths["type"] == 10 and widths["format"] == 11
    assert sum(widths.values()) + CELL_PADDING * 4 == 120


def test_least_important_columns_go_first_when_narrow() -> None:
    natural = {"name": 40, "size": 8, "type": 10, "format": 11}
    widths = fit_columns(COLUMNS, 36, natural)
    assert "format" not in widths and "type" in widths
    widths = fit_columns(COLUMNS, 26, natural)
    assert list(widths) == ["name", "size"]
    assert widths["name"] >= 12


def test_natural_widths_read_headers_and_cells() -> None:
    widths = natural_widths({"a": "Name"}, [{"a": "x"}, {"a": "日本語"}])
    assert widths == {"a": 6}


def test_columns_that_do_not_shrink_are_whole_or_gone() -> None:
    natural = {"name": 40, "size": 8, "type": 10, "format": 11}
    for width in range(20, 130):
        widths = fit_columns(COLUMNS, width, natural)
        for key in ("size", "type", "format"):
            assert widths.get(key, natural[key]) == natural[key], (width, widths)
        assert widths["name"] >= 12


def test_a_whole_column_shows_only_when_its_content_fits() -> None:
    columns = (Column("file", 10, 0, fill=True), Column("reason", 0, 5, whole=True))
    assert "reason" in fit_columns(columns, 80, {"file": 20, "reason": 40})
    assert "reason" not in fit_columns(columns, 50, {"file": 20, "reason": 40})
