"""Civitai descriptions (HTML) as Markdown, with the standard library's parser (no dependency)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from modella_tui.core.textsafe import clean
from modella_tui.core.urlsafe import is_openable_link

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~])")
_BLOCK = {"p", "div", "section", "article", "blockquote", "pre", "table", "tr"}
_SKIP = {"script", "style", "iframe", "object", "svg", "head", "title"}
MAX_INPUT = 200_000  # descriptions beyond this are cut: a terminal pane cannot show them anyway
FENCE = "```"


def escape(text: str) -> str:
    """Text made literal for Markdown (remote text must not become links or markup)."""
    return _MD_SPECIAL.sub(r"\\\1", text)


class _Converter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.lists: list[tuple[str, int]] = []  # ("ul"|"ol", counter)
        self.skip = 0
        self.href: str | None = None
        self.link_text: list[str] = []
        self.pre = 0
        # Open bold/italic runs: (marker, the list it was opened in, index there, emits markers).
        self.emphasis: list[tuple[str, list[str], int, bool]] = []

    def _target(self) -> list[str]:
        return self.link_text if self.href is not None else self.out

    def _emit(self, text: str) -> None:
        self._target().append(text)

    def _newline(self, count: int = 1) -> None:
        tail = "".join(self.out[-3:])
        have = len(tail) - len(tail.rstrip("\n"))
        if self.out and have < count:
            self.out.append("\n" * (count - have))

    def _open_emphasis(self, marker: str) -> None:
        # A run inside a run of the same kind is styled already: its markers would only clutter.
        active = all(m != marker for m, _, _, _ in self.emphasis)
        target = self._target()
        self.emphasis.append((marker, target, len(target), active))

    def _close_emphasis(self, marker: str) -> None:
        """Wrap what the run emitted in `marker`, its edge spaces moved outside the markers.

        CommonMark does not close `**x **` (a closing marker right after a space): it would show
        literally. A run with nothing in it emits no markers.
        """
        found = [i for i, entry in enumerate(self.emphasis) if entry[0] == marker]
        if not found:
            return  # a stray closing tag
        _, target, index, active = self.emphasis.pop(found[-1])
        if not active or target is not self._target():
            return  # nested in the same kind, or the run crossed a link's edge: plain text
        inner = "".join(target[index:])
        body = inner.strip()
        if not body or "\n\n" in body:
            return  # nothing to style, or a run over paragraphs: its text stays as emitted
        del target[index:]
        lead = inner[: len(inner) - len(inner.lstrip())]
        if index == 0 or target[index - 1].endswith((" ", "\n")):
            lead = ""  # the space before the run is there already
        trail = inner[len(inner.rstrip()) :]
        target.append(f"{lead}{marker}{body}{marker}{trail}")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skip += 1
            return
        if self.skip:
            return
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self._newline(2)
            self._emit("#" * min(int(tag[1]) + 1, 6) + " ")
        elif tag in _BLOCK:
            self._newline(2)
            if tag == "blockquote":
                self._emit("> ")
            if tag == "pre":
                self.pre += 1
                self._emit(FENCE + "\n")
        elif tag == "br":
            self._emit("  \n")
        elif tag in ("ul", "ol"):
            self._newline(1)
            self.lists.append((tag, 0))
        elif tag == "li":
            self._newline(1)
            kind, n = self.lists[-1] if self.lists else ("ul", 0)
            if self.lists:
                self.lists[-1] = (kind, n + 1)
            indent = "  " * max(0, len(self.lists) - 1)
            self._emit(f"{indent}{n + 1}. " if kind == "ol" else f"{indent}- ")
        elif tag in ("b", "strong"):
            self._open_emphasis("**")
        elif tag in ("i", "em"):
            self._open_emphasis("*")
        elif tag == "code" and not self.pre:
            self._emit("`")
        elif tag == "hr":
            self._newline(2)
            self._emit("---")
            self._newline(2)
        elif tag == "a":
            href = (dict(attrs).get("href") or "").strip()
            # Only a clean http(s) link stays a link; any other keeps just its text.
            if self.href is None and is_openable_link(href):
                self.href = href
                self.link_text = []
        elif tag == "img":
            alt = clean(dict(attrs).get("alt") or "", replacement=" ")
            if alt.strip():
                self._emit(f"[{escape(alt)}]")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
            return
        if self.skip:
            return
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6") or tag in _BLOCK:
            if tag == "pre" and self.pre:
                self.pre -= 1
                self._newline(1)
                self._emit(FENCE)
            self._newline(2)
        elif tag in ("ul", "ol"):
            if self.lists:
                self.lists.pop()
            self._newline(2)
        elif tag in ("b", "strong"):
            self._close_emphasis("**")
        elif tag in ("i", "em"):
            self._close_emphasis("*")
        elif tag == "code" and not self.pre:
            self._emit("`")
        elif tag == "a" and self.href is not None:
            text = "".join(self.link_text).strip() or escape(self.href)
            href = self.href.replace(")", "%29").replace("(", "%28")
            self.href = None
            self._emit(f"[{text}]({href})")

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if self.pre:
            # A code block keeps its line breaks, but never a control character, and cannot be
            # closed early by a fence of its own.
            self._emit(clean(data, keep_newlines=True).replace(FENCE, "'''"))
            return
        text = re.sub(r"\s+", " ", clean(data, replacement=" "))
        target = self._target()
        before = target[-1] if target else (self.out[-1] if self.out else "")
        if not before or before.endswith((" ", "\n")):
            text = text.lstrip(" ")  # one space between words, none at the start of a line
        if text:
            self._emit(escape(text))


def html_to_markdown(source: str | None) -> str:
    """Markdown for a Civitai description; remote text stays literal, only http(s) links survive."""
    if not source:
        return ""
    parser = _Converter()
    parser.feed(source[:MAX_INPUT])
    parser.close()
    text = "".join(parser.out)
    text = re.sub(r"[ \t]+\n", lambda m: "  \n" if m.group(0).startswith("  ") else "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()
