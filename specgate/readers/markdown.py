"""Markdown helpers: the parsers, heading text, GitHub-style anchors and the links of a document.

Decides what a heading's anchor is (GitHub's rules: lowercase, punctuation dropped, spaces to
hyphens, ``-1``, ``-2`` ... for repeated headings) and which link targets a document holds.
Parsing is delegated to markdown-it-py (CommonMark plus GFM tables); nothing here does I/O.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

from markdown_it import MarkdownIt
from markdown_it.token import Token


@lru_cache(maxsize=1)
def block_parser() -> MarkdownIt:
    """Block structure only (inline content kept raw in ``Token.content``): fast enough for
    thousands of requirements; inline parsing is done on demand for headings."""
    return MarkdownIt("commonmark").enable("table").disable("inline", ignoreInvalid=True)


@lru_cache(maxsize=1)
def full_parser() -> MarkdownIt:
    return MarkdownIt("commonmark").enable("table")


def inline_text(source: str) -> str:
    """The text a reader sees for an inline Markdown fragment (markers, link targets and HTML
    tags dropped, code span contents kept)."""
    parts: list[str] = []
    for tok in full_parser().parseInline(source):
        for child in tok.children or ():
            if child.type in ("text", "text_special", "code_inline"):
                parts.append(child.content)
            elif child.type in ("softbreak", "hardbreak"):
                parts.append(" ")
            elif child.type == "image":
                parts.extend(c.content for c in child.children or () if c.type == "text")
    return "".join(parts).strip()


def github_slug(text: str) -> str:
    """GitHub's heading anchor for a heading's visible text (before duplicate numbering)."""
    kept = []
    for ch in text.strip().lower():
        if ch in " -":
            kept.append(ch)
            continue
        category = unicodedata.category(ch)
        if category[0] in "LMN" or category == "Pc":
            kept.append(ch)
    return "".join(kept).replace(" ", "-")


class Slugger:
    """Anchors for the headings of one document, numbering repeats as GitHub does."""

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    def slug(self, text: str) -> str:
        original = github_slug(text)
        result = original
        while result in self._seen:
            self._seen[original] += 1
            result = f"{original}-{self._seen[original]}"
        self._seen[result] = 0
        return result


_HTML_ANCHOR_RE = re.compile(r"""<a\s[^>]*?\b(?:name|id)\s*=\s*["']([^"']+)["']""", re.I)
_HTML_TARGET_RE = re.compile(r"""<(?:a|img)\s[^>]*?\b(?:href|src)\s*=\s*["']([^"']+)["']""", re.I)


def anchors_of(source: str) -> frozenset[str]:
    """Every anchor a reader can link to in a document: heading slugs and HTML anchors."""
    slugger = Slugger()
    anchors: set[str] = set()
    tokens = full_parser().parse(source)
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open":
            anchors.add(slugger.slug(inline_text(tokens[i + 1].content)))
        elif tok.type in ("html_block", "html_inline", "inline"):
            anchors.update(_HTML_ANCHOR_RE.findall(tok.content))
    return frozenset(anchors)


@dataclass(frozen=True)
class Link:
    """A link or image target at a 1-based source line."""

    line: int
    target: str


def _inline_links(tok: Token, first_line: int) -> Iterator[Link]:
    line = first_line
    for child in tok.children or ():
        if child.type in ("softbreak", "hardbreak"):
            line += 1
        elif child.type == "link_open":
            yield Link(line, str(child.attrs.get("href", "")))
        elif child.type == "image":
            yield Link(line, str(child.attrs.get("src", "")))
        elif child.type == "html_inline":
            for target in _HTML_TARGET_RE.findall(child.content):
                yield Link(line, target)


def links_of(source: str) -> list[Link]:
    """Every link and image target in a document, in order."""
    found: list[Link] = []
    for tok in full_parser().parse(source):
        first = (tok.map[0] + 1) if tok.map else 1
        if tok.type == "inline":
            found.extend(_inline_links(tok, first))
        elif tok.type == "html_block":
            for offset, text in enumerate(tok.content.splitlines()):
                found.extend(Link(first + offset, t) for t in _HTML_TARGET_RE.findall(text))
    return found


def line_starts(text: str) -> Sequence[int]:
    """Offsets at which each line of ``text`` starts (for offset -> line/column)."""
    starts = [0]
    find = text.find
    pos = find("\n")
    while pos != -1:
        starts.append(pos + 1)
        pos = find("\n", pos + 1)
    return starts
