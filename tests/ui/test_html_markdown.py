"""Descriptions from HTML: Markdown that renders as meant, with no escape sequence and no odd link."""

from __future__ import annotations

import pytest
from markdown_it import MarkdownIt

from modella_tui.ui.html_markdown import html_to_markdown

OSC52 = "\x1b]52;c;ZXZpbA==\x07"
CLEAR = "\x1b[2J"


def render(md: str) -> str:
    """The HTML a CommonMark renderer (Textual's parser) makes of `md`."""
    return str(MarkdownIt("commonmark").render(md))


def test_a_bold_run_ending_in_a_space_renders_bold() -> None:
    md = html_to_markdown(
        "<p><b>Inpainting models are only for inpaint and outpaint, not mixing. </b>Next.</p>"
    )
    assert (
        "<strong>Inpainting models are only for inpaint and outpaint, not mixing.</strong> Next."
        in render(md)
    )
    assert "*" not in render(md).replace("<strong>", "").replace("</strong>", "")


@pytest.mark.parametrize(
    ("html", "shown"),
    [
        ("<p>a<b> bold</b>b</p>", "a <strong>bold</strong>b"),
        ("<p>a <i> lean </i> b</p>", "a <em>lean</em> b"),
        ("<p><strong>x </strong><em>y </em>z</p>", "<strong>x</strong> <em>y</em> z"),
        ("<p><b>outer <i>inner </i></b>after</p>", "<strong>outer <em>inner</em></strong> after"),
        ("<p><b>one <strong>two</strong> three</b></p>", "<strong>one two three</strong>"),
    ],
)
def test_emphasis_edges_move_outside_the_markers(html: str, shown: str) -> None:
    assert shown in render(html_to_markdown(html))


@pytest.mark.parametrize("html", ["<p>a<b></b>b</p>", "<p>a<b> </b>b</p>", "<p>a<i>\n</i>b</p>"])
def test_an_empty_run_emits_no_markers(html: str) -> None:
    md = html_to_markdown(html)
    assert "*" not in md
    assert md.replace(" ", "") == "ab"


def test_an_unclosed_run_leaves_no_stray_marker() -> None:
    md = html_to_markdown("<p><b>never closed</p>")
    assert "*" not in md and "never closed" in md


@pytest.mark.parametrize(
    "href",
    [
        "javascript:alert(1)",
        "file:///etc/passwd",
        "data:text/html,<script>x</script>",
        "http://user:pw@evil.example/",
        "http://169.254.169.254/latest/meta-data/",
        f"https://evil.example/{OSC52}",
        f"https://evil.example/{CLEAR}x",
    ],
)
def test_only_clean_http_links_stay_links(href: str) -> None:
    md = html_to_markdown(f'<p>see <a href="{href}">the page</a> now</p>')
    assert "\x1b" not in md and "\x07" not in md
    assert "<a " not in render(md)
    assert "see the page now" in md


def test_link_text_and_target_carry_no_control_characters() -> None:
    md = html_to_markdown(f'<p><a href="https://ok.example/a_(b)">click {OSC52}here{CLEAR}</a></p>')
    assert "\x1b" not in md and "\x07" not in md
    assert '<a href="https://ok.example/a_%28b%29">' in render(md)


@pytest.mark.parametrize(
    "pre",
    [
        f"line one\n{OSC52}line two{CLEAR}\nline three",  # holds newlines: kept as a block
        f"one line {OSC52}{CLEAR}",
        f"crlf\r\n{CLEAR}text\u202ereversed\n",
    ],
)
def test_pre_blocks_keep_their_lines_but_no_control_character(pre: str) -> None:
    md = html_to_markdown(f"<p>before</p><pre>{pre}</pre><p>after</p>")
    assert "\x1b" not in md and "\x07" not in md and "\r" not in md and "\u202e" not in md
    html = render(md)
    assert "<pre><code>" in html and "after" in html.split("</pre>")[1]
    assert md.count("\n") >= pre.count("\n")


def test_a_pre_block_cannot_close_its_own_fence() -> None:
    md = html_to_markdown("<pre>x\n```\n[click](https://evil.example)\n</pre><p>after</p>")
    assert "<a " not in render(md).split("</pre>")[0]


def test_text_and_image_alt_carry_no_control_characters() -> None:
    md = html_to_markdown(f'<p>{CLEAR}clears{OSC52}</p><img alt="pic{OSC52}"><h2>{CLEAR}T</h2>')
    assert "\x1b" not in md and "\x07" not in md
    assert "clears" in md and "pic" in md
