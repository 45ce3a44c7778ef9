"""Civitai descriptions (HTML) as Markdown, with the standard library's parser (no dependency)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from modella_tui.ui.textutil import clean

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~])")
_BLOCK = {"p", "div", "section", "article", "blockquote", "pre", "table", "tr"}
_SKIP = {"script", "style", "iframe", "object", "svg", "head", "title"}
MAX_INPUT = 200_000  # descriptions beyond this are cut: a terminal pane cannot show them anyway


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

    def _emit(self, text: str) -> None:
        if self.href is not None:
            self.link_text.append(text)
        else:
            self.out.append(text)

    def _newline(self, count: int = 1) -> None:
        tail = "".join(self.out[-3:])
        have = len(tail) - len(tail.rstrip("\n"))
        if self.out and have < count:
            self.out.append("\n" * (count - have))

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
                self._emit("```\n")
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
            self._emit("**")
        elif tag in ("i", "em"):
            self._emit("*")
        elif tag == "code" and not self.pre:
            self._emit("`")
        elif tag == "hr":
            self._newline(2)
            self._emit("---")
            self._newline(2)
        elif tag == "a":
            href = dict(attrs).get("href") or ""
            if href.startswith(("https://", "http://")) and self.href is None:
                self.href = href
                self.link_text = []
        elif tag == "img":
            alt = clean(dict(attrs).get("alt") or "")
            if alt:
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
                self._emit("```")
            self._newline(2)
        elif tag in ("ul", "ol"):
            if self.lists:
                self.lists.pop()
            self._newline(2)
        elif tag in ("b", "strong"):
            self._emit("**")
        elif tag in ("i", "em"):
            self._emit("*")
        elif tag == "code" and not self.pre:
            self._emit("`")
        elif tag == "a" and self.href is not None:
            text = "".join(self.link_text).strip() or escape(self.href)
            href = self.href.replace(")", "%29").replace(" ", "%20")
            self.href = None
            self._emit(f"[{text}]({href})")

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if self.pre:
            self._emit(clean(data.replace("```", "'''")) if "\n" not in data else data)
            return
        text = re.sub(r"\s+", " ", clean(data))
        if text.strip() or (text and self.out and not self.out[-1].endswith((" ", "\n"))):
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
