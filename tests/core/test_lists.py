"""Named lists in the state database, and the TOML file format they travel in."""

from __future__ import annotations

from pathlib import Path

import pytest

from modella_tui.core.errors import NotFoundError, UsageError
from modella_tui.core.listfile import (
    ListEntry,
    ListFileError,
    dump_list,
    parse_list_text,
    read_list_file,
    write_list_file,
)
from modella_tui.core.lists import ListStore
from modella_tui.core.store.db import Database

KIT = """\
name = "Flux pod kit"

[[items]]
ref = "civitai:4384@128713"      # the base
file = "*.safetensors"
note = "the base"

[[items]]
ref = "https://huggingface.co/comfyanonymous/flux_text_encoders/blob/main/clip_l.safetensors"
"""


async def test_create_rename_delete_and_names_are_unique_whatever_their_case(
    db: Database,
) -> None:
    store = ListStore(db)
    await store.create("  Flux   pod kit ")
    assert [i.name for i in await store.lists()] == ["Flux pod kit"]
    with pytest.raises(UsageError, match="“Flux pod kit” exists already"):  # as it is spelled
        await store.create("flux POD kit")
    with pytest.raises(UsageError):
        await store.create(" \t ")
    await store.create("Wishlist")
    assert (await store.get("wishlist")).name == "Wishlist"
    with pytest.raises(UsageError, match="exists already"):
        await store.rename("Wishlist", "FLUX pod kit")
    await store.rename("Wishlist", "WISHLIST")  # a change of case alone is fine
    await store.delete("flux pod kit")
    assert [i.name for i in await store.lists()] == ["WISHLIST"]
    with pytest.raises(NotFoundError, match="WISHLIST"):
        await store.get("nothing like it")


async def test_adding_twice_adds_once_even_without_a_glob(db: Database) -> None:
    store = ListStore(db)
    entries = [ListEntry("civitai:7@1012"), ListEntry("civitai:7@1012", "*.safetensors")]
    first = await store.add_items("Kit", entries, create=True)
    assert (first.created, first.added, first.already) == (True, 2, 0)
    again = await store.add_items("kit", [*entries, ListEntry("civitai:7@1012", note="n")])
    assert (again.created, again.added, again.already) == (False, 0, 3)
    items = await store.items("Kit")
    assert [(i.ref, i.file) for i in items] == [
        ("civitai:7@1012", None),
        ("civitai:7@1012", "*.safetensors"),
    ]
    assert items[0].note == "n"  # a repeated item may bring the note it lacked


async def test_a_bad_entry_stores_nothing(db: Database) -> None:
    store = ListStore(db)
    with pytest.raises(UsageError):
        await store.add_items(
            "Kit", [ListEntry("civitai:7"), ListEntry("civitai:seven")], create=True
        )
    assert await store.lists() == []
    with pytest.raises(NotFoundError):
        await store.add_items("Elsewhere", [ListEntry("civitai:7")])


async def test_the_last_list_used_is_where_something_was_added_last(db: Database) -> None:
    clock = iter(range(100, 200))
    store = ListStore(db, clock=lambda: float(next(clock)))
    assert await store.last_used() is None
    await store.create("A")
    await store.create("B")
    assert await store.last_used() == "B"
    await store.add_items("A", [ListEntry("civitai:1")])
    assert await store.last_used() == "A"


def test_a_list_file_reads_every_item_and_drops_a_pasted_key() -> None:
    text = (
        KIT + '\n[[items]]\nref = "https://civitai.com/models/4384?modelVersionId=9&token=SECRET"\n'
    )
    listfile = parse_list_text(text, "kit.toml")
    assert listfile.name == "Flux pod kit"
    assert [(i.ref, i.file, i.note, i.line) for i in listfile.items] == [
        ("civitai:4384@128713", "*.safetensors", "the base", 4),
        ("hf:comfyanonymous/flux_text_encoders/clip_l.safetensors", None, None, 9),
        ("civitai:4384@9", None, None, 12),
    ]
    assert listfile.token_stripped
    assert "SECRET" not in dump_list("x", listfile.items)


def test_bad_refs_are_all_reported_with_their_lines() -> None:
    text = KIT + '\n[[items]]\nref = "civitai:abc"\n\n[[items]]\nnote = "no ref"\n'
    text += '\n[[items]]\nref = "hf:org/repo"\nfile = "sub/dir/*.bin"\n'
    with pytest.raises(ListFileError) as caught:
        parse_list_text(text, "kit.toml")
    problems = caught.value.problems
    assert [p.split(":", 2)[1] for p in problems] == ["12", "14", "19"]
    assert "abc" in problems[0] and "ref" in problems[1] and "sub/dir" in problems[2]
    assert "3 problem" in caught.value.message


def test_broken_toml_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "kit.toml"
    path.write_text('name = "x"\n[[items]]\nref = civitai:1\n', encoding="utf-8")
    with pytest.raises(ListFileError) as caught:
        read_list_file(path)
    assert caught.value.problems[0].startswith(f"{path}:3:7: ")
    path.write_bytes(b'name = "x"\n\xff\n')
    with pytest.raises(ListFileError, match="1 problem") as caught:
        read_list_file(path)
    assert ":2:" in caught.value.problems[0]
    with pytest.raises(NotFoundError):
        read_list_file(tmp_path / "absent.toml")


def test_inline_items_still_get_lines_and_unknown_keys_warn() -> None:
    text = 'name = "x"\ncolour = "red"\nitems = [\n  {ref = "civitai:1"},\n  {ref = "hf:o/r", why = 1},\n]\n'
    listfile = parse_list_text(text, "x.toml")
    assert [i.line for i in listfile.items] == [4, 5]
    assert len(listfile.warnings) == 2 and "colour" in listfile.warnings[0]
    with pytest.raises(ListFileError, match=r"x\.toml"):
        parse_list_text('items = [{ref = "civitai:x"}]', "x.toml")


def test_export_then_import_gives_the_same_list(tmp_path: Path) -> None:
    items = [
        ListEntry("civitai:4384@128713", "*.safetensors", "the base", 'Ink "Wash" [b]x[/b]'),
        ListEntry("hf:org/repo@v1.0/sub/file name.safetensors"),
        ListEntry("civitai:@55"),
    ]
    path = tmp_path / "out" / "kit.toml"
    path.parent.mkdir()
    write_list_file(path, "Kit ✓", items)
    back = read_list_file(path)
    assert back.name == "Kit ✓"
    assert [(i.ref, i.file, i.note, i.title) for i in back.items] == [
        (i.ref, i.file, i.note, i.title) for i in items
    ]
    assert dump_list("Kit ✓", back.items) == path.read_text(encoding="utf-8")
    text = path.read_text(encoding="utf-8")
    # One table per item, however short: a person edits this file.
    assert text.startswith('name = "Kit ✓"\n\n[[items]]\nref = ')
    assert text.count("[[items]]") == 3 and "{" not in text


def problems_of(text: str, source: str = "k.toml") -> list[str]:
    with pytest.raises(ListFileError) as caught:
        parse_list_text(text, source)
    return caught.value.problems


def test_each_problem_names_the_line_of_its_key() -> None:
    text = (
        'name = "x"\n'  # 1
        "\n"
        "[[items]]\n"
        'ref = "civitai:101"\n'  # 4
        "# a comment\n"
        'note = "n"\n'
        'file = "../x.safetensors"\n'  # 7
        "\n"
        "[[items]]\n"  # 9
        'title = "t"\n'
        "note = 3\n"  # 11
        'ref = "civitai:102"\n'  # 12
        "\n"
        "[[items]]\n"  # 14
        'note = "no ref"\n'
    )
    problems = problems_of(text, "line.toml")
    assert [p.split(":", 2)[1] for p in problems] == ["7", "11", "14"]
    assert "../x.safetensors" in problems[0] and "note" in problems[1] and "ref" in problems[2]


def test_unknown_keys_warn_at_their_own_line() -> None:
    text = '[[items]]\nref = "civitai:1"\nnote = "a\u2028b"\nwhy = "?"\n'
    assert [w.split(":", 2)[1] for w in parse_list_text(text, "k.toml").warnings] == ["4"]


def test_every_problem_of_an_item_is_reported_in_words_that_fit() -> None:
    text = (
        'name = ""\n'  # 1
        "[[items]]\n"
        "ref = 42\n"  # 3
        "\n"
        "[[items]]\n"
        'ref = "civitai:abc"\n'  # 6
        'file = "sub/x"\n'  # 7
        "title = 5\n"  # 8
        "\n"
        "[[items]]\n"
        'ref = "  "\n'  # 11
    )
    problems = problems_of(text)
    assert [p.split(":", 2)[1] for p in problems] == ["1", "3", "6", "7", "8", "11"]
    assert "must not be empty" in problems[0] and "quotes" not in problems[0]
    assert "ref must be text in quotes" in problems[1]
    assert "abc" in problems[2] and "sub/x" in problems[3] and "title must be text" in problems[4]
    assert "ref must not be empty" in problems[5]
    with pytest.raises(ListFileError, match="problem"):
        parse_list_text('name = 3\n[[items]]\nref = "civitai:1"\n')


def test_broken_toml_names_its_line_and_column() -> None:
    problems = problems_of('name = "x"\nref = = 1\n', "bad3.toml")
    assert problems[0].startswith("bad3.toml:2:7: not valid TOML")
    assert "(at line" not in problems[0]
