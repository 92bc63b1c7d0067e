"""Markdown specs read into requirements and file-local lint diagnostics.

Walks one document's blocks (paragraphs, list items, table rows, headings) and decides, with
``specgate.readers.definitions`` (which ID in a block defines what), each requirement's text
(nested items and paragraphs included; a heading's ID owns everything below it up to the next
heading of the same or a higher level), section, level, anchor and fingerprint, and every lint
problem visible within one spec file: look-alike hyphens, malformed IDs, files without keywords
or IDs, normative sentences without an ID or citing IDs that define nothing, empty
requirements, invisible link-reference definitions, bad UTF-8 (SG101, SG102, SG105 to SG111).
Cross-file checks (duplicates, retired IDs defined again) are ``specgate.gates.lint``'s.
``analyze_text`` is pure; ``read_specs`` reads files (cached by content).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import markdown_it
from markdown_it.token import Token as MdToken

from specgate import ids
from specgate.cache import ParseCache, code_version, parallel_map, sha256_bytes
from specgate.diagnostics import Code, Diagnostic
from specgate.ids import Level, TokenKind
from specgate.model import Requirement
from specgate.paths import display_path
from specgate.readers.definitions import (
    heading_definition,
    is_id_header,
    split_block,
    table_definition,
)
from specgate.readers.markdown import Slugger, block_parser, inline_text
from specgate.readers.tokens import refdef_diagnostics, token_diagnostics

CACHE_VERSION = f"analysis;markdown-it-py-{markdown_it.__version__};" + code_version(
    "readers/specs.py",
    "readers/definitions.py",
    "readers/tokens.py",
    "model.py",
    "ids.py",
    "readers/markdown.py",
    "diagnostics.py",
)

VALID = TokenKind.VALID
_BOILERPLATE = re.compile(r"RFC\s*2119|RFC\s*8174|BCP\s*14")


@dataclass(frozen=True)
class FileAnalysis:
    """Requirements (document order) and file-local diagnostics of one spec file."""

    path: str
    requirements: tuple[Requirement, ...]
    diagnostics: tuple[Diagnostic, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "requirements": [{**r.record(), "col": r.col} for r in self.requirements],
            "diagnostics": [d.to_json() for d in self.diagnostics],
        }

    @staticmethod
    def from_json(data: dict[str, Any]) -> FileAnalysis:
        reqs = tuple(Requirement.from_record(r, r["col"]) for r in data["requirements"])
        diags = tuple(Diagnostic.from_json(d) for d in data["diagnostics"])
        return FileAnalysis(path=data["path"], requirements=reqs, diagnostics=diags)


@dataclass
class _Def:
    req_id: str
    line: int
    col: int
    section: str
    anchor: str
    parts: list[str]
    title: str = ""  # a heading definition's own title (the heading without its ID)
    fallback: str = ""  # its text when nothing stands below the heading


@dataclass
class _Item:
    level: int
    had_child: bool = False
    definition: _Def | None = None


@dataclass
class _Walker:
    path: str
    lines: Sequence[str]
    section: str = ""
    anchor: str = ""
    slugger: Slugger = field(default_factory=Slugger)
    items: list[_Item] = field(default_factory=list)
    headings: list[tuple[int, _Def]] = field(default_factory=list)
    id_column: int | None = None
    defs: list[_Def] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    has_keyword: bool = False

    def owner(self) -> _Def | None:
        """The definition that owns plain content here: the innermost list item that opened
        with a definition, else the innermost heading that carries an ID."""
        for item in reversed(self.items):
            if item.definition is not None:
                return item.definition
        return self.headings[-1][1] if self.headings else None

    def col_of(self, line: int, needle: str) -> int:
        if 1 <= line <= len(self.lines):
            pos = self.lines[line - 1].find(needle)
            if pos >= 0:
                return pos + 1
        return 1

    def position(self, content: str, first_line: int, offset: int) -> tuple[int, int]:
        """File line and column of ``content[offset]`` (a block's text that starts at
        ``first_line``; container markers and indentation were stripped from each line)."""
        line = first_line + content.count("\n", 0, offset)
        start = content.rfind("\n", 0, offset) + 1
        end = content.find("\n", offset)
        segment = content[start : end if end >= 0 else len(content)]
        if 1 <= line <= len(self.lines):
            base = self.lines[line - 1].find(segment)
            if base >= 0:
                return line, base + offset - start + 1
        return line, self.col_of(line, (content[offset:].split(maxsplit=1) or [" "])[0])

    def define(self, req_id: str, line: int, col: int, text: str) -> _Def:
        definition = _Def(req_id, line, col, self.section, self.anchor, [text])
        self.defs.append(definition)
        return definition

    def check_normative(self, content: str, first_line: int) -> None:
        """SG107 (or SG111 when it cites IDs) for normative text that no definition owns."""
        found = ids.find_keywords(content)
        if not found:
            return
        self.has_keyword = True
        if _BOILERPLATE.search(content) or _broken_definition(content):
            return  # the broken ID is reported as SG101/SG102
        cited = [t for t in ids.scan_tokens(ids.blank_code_spans(content)) if t.kind is VALID]
        if cited:
            line, col = self.position(content, first_line, cited[0].start)
            names = ", ".join(dict.fromkeys(t.text for t in cited))
            self.diagnostics.append(
                Diagnostic(
                    self.path,
                    line,
                    col,
                    Code.UNPLACED_ID,
                    f"normative text cites {names}, but not where an ID defines a "
                    "requirement (opening the line or a sentence, or in brackets right after "
                    f'a sentence\'s end); nothing extracted: "{_excerpt(content)}"',
                    unsafe=True,
                )
            )
            return
        keyword = found[0]
        line = first_line + content.count("\n", 0, keyword.start())
        self.diagnostics.append(
            Diagnostic(
                self.path,
                line,
                self.col_of(line, keyword.group(1)),
                Code.NORMATIVE_WITHOUT_ID,
                f"normative sentence ({keyword.group(1)}) without a defining requirement ID: "
                f'"{_excerpt(content)}"',
            )
        )

    def plain(self, content: str, line: int, first_in_item: bool) -> None:
        """Content that defines nothing: part of its owner's text, else checked as prose."""
        owner = self.owner()
        if owner is None:
            self.check_normative(content, line)
            return
        if ids.find_keywords(content):
            self.has_keyword = True
        owner.parts.append(("- " if first_in_item else "") + content)

    def paragraph(self, content: str, line: int, first_in_item: bool) -> None:
        split = split_block(content)
        if not split.pieces:
            self.plain(content, line, first_in_item)
            return
        if split.preamble:
            self.plain(split.preamble, line, first_in_item)
        latest = None
        for piece in split.pieces:
            at_line, col = self.position(content, line, piece.marker.start)
            latest = self.define(piece.marker.req_id, at_line, col, piece.text)
        if first_in_item and latest is not None:
            self.items[-1].definition = latest

    def table_row(self, cells: list[str], line: int, header: bool) -> None:
        cells = [c.strip() for c in cells]
        if header:
            found = [i for i, cell in enumerate(cells) if is_id_header(cell)]
            self.id_column = found[0] if found else None
        hit = table_definition(cells, None if header else self.id_column)
        if hit is not None:
            index, piece = hit
            kept = [*cells[:index], piece.text, *cells[index + 1 :]]
            marker = piece.marker
            col = self.col_of(line, cells[index][marker.start : marker.end])
            self.define(marker.req_id, line, col, " | ".join(c for c in kept if c))
            return
        self.plain(" | ".join(cells), line, False)

    def heading(self, tag: str, content: str, line: int) -> None:
        text = inline_text(content)
        anchor = self.slugger.slug(text)
        if tag == "h1":
            self.section, self.anchor = "", ""
        else:
            self.section, self.anchor = text, anchor
        depth = int(tag[1:])
        while self.headings and self.headings[-1][0] >= depth:
            self.headings.pop()
        found = heading_definition(content)
        if found is not None:
            marker, rest = found
            col = self.col_of(line, content[marker.start : marker.end])
            definition = self.define(marker.req_id, line, col, "")
            definition.title, definition.fallback = ids.title_of(rest), rest
            self.headings.append((depth, definition))


def _excerpt(content: str) -> str:
    sentence = ids.collapse_ws(content)
    return sentence if len(sentence) <= 70 else sentence[:69] + "…"


def _broken_definition(content: str) -> bool:
    """A malformed or look-alike ID where a definition would stand (opening or closing the
    block): the token is reported, so the block is not reported again as an orphan."""
    for token in ids.scan_tokens(content):
        if token.kind in (TokenKind.MALFORMED, TokenKind.LOOKALIKE):
            before = content[: token.start].strip("[*_ \t")
            after = content[token.start + len(token.text) :].strip("]*_:.;, \t\n")
            if not before or not after:
                return True
    return False


def _walk(walker: _Walker, tokens: Sequence[MdToken]) -> list[tuple[int, int]]:
    """Feed block tokens to the walker; returns 1-based line ranges of code and HTML blocks."""
    code_ranges: list[tuple[int, int]] = []
    row: list[str] | None = None
    row_line = 0
    header = False
    for i, tok in enumerate(tokens):
        first_in_item = False
        if walker.items and tok.nesting >= 0 and tok.level == walker.items[-1].level + 1:
            first_in_item = not walker.items[-1].had_child
            walker.items[-1].had_child = True
        kind = tok.type
        line = tok.map[0] + 1 if tok.map else 0
        if kind == "heading_open":
            walker.heading(tok.tag, tokens[i + 1].content, line)
        elif kind == "list_item_open":
            walker.items.append(_Item(tok.level))
        elif kind == "list_item_close":
            walker.items.pop()
        elif kind == "paragraph_open":
            walker.paragraph(tokens[i + 1].content, line, first_in_item)
        elif kind == "table_open":
            walker.id_column = None
        elif kind == "tr_open":
            row, row_line, header = [], line, False
        elif kind == "inline" and row is not None and tokens[i - 1].type in ("th_open", "td_open"):
            row.append(tok.content)
            header = header or tokens[i - 1].type == "th_open"
        elif kind == "tr_close" and row is not None:
            walker.table_row(row, row_line, header)
            row = None
        elif kind in ("fence", "code_block", "html_block") and tok.map:
            code_ranges.append((tok.map[0] + 1, tok.map[1]))
    return code_ranges


def analyze_text(text: str, path: str) -> FileAnalysis:
    """Requirements and file-local diagnostics of one spec document (``path`` for display)."""
    text = text.removeprefix("\ufeff")
    lines = text.splitlines()
    walker = _Walker(path, lines)
    code_ranges = _walk(walker, block_parser().parse(text))
    requirements = []
    for d in walker.defs:
        body = ids.collapse_ws(" ".join(p for p in d.parts if p) or d.fallback)
        level = ids.level_of(body)
        link = f"{path}#{d.anchor}" if d.anchor else path
        requirements.append(
            Requirement(
                id=d.req_id,
                title=d.title or ids.title_of(body),
                text=body,
                section=d.section,
                level=level,
                link=link,
                file=path,
                line=d.line,
                fingerprint=ids.fingerprint(body),
                col=d.col,
            )
        )
        if level is not Level.INFO:
            walker.has_keyword = True
        if not body:
            walker.diagnostics.append(
                Diagnostic(path, d.line, d.col, Code.EMPTY_REQUIREMENT, f"{d.req_id} has no text")
            )
    diagnostics = walker.diagnostics
    diagnostics += token_diagnostics(path, text, code_ranges)
    diagnostics += refdef_diagnostics(path, lines, code_ranges)
    if not walker.has_keyword:
        diagnostics.append(
            Diagnostic(
                path, 1, 1, Code.NO_KEYWORD, "spec has no RFC-2119 keyword (MUST, SHOULD, MAY, ...)"
            )
        )
    if not requirements:
        diagnostics.append(Diagnostic(path, 1, 1, Code.NO_IDS, "spec defines no requirement ID"))
    return FileAnalysis(path, tuple(requirements), tuple(sorted(diagnostics)))


def _analyze_job(job: tuple[str, bytes]) -> dict[str, Any]:
    path, data = job
    return _analyze_bytes(path, data).to_json()


def _analyze_bytes(path: str, data: bytes) -> FileAnalysis:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        diag = Diagnostic(
            path, 1, 1, Code.UNREADABLE, f"not valid UTF-8 ({exc.reason} at byte {exc.start})", True
        )
        return FileAnalysis(path, (), (diag,))
    return analyze_text(text, path)


def spec_files(spec_dir: Path) -> list[Path]:
    """The spec documents of a directory: ``*.md``, sorted by name."""
    return sorted(p for p in spec_dir.glob("*.md") if p.is_file())


def read_specs(
    spec_dir: Path, cache_dir: Path | None = None, *, write_cache: bool = True
) -> list[FileAnalysis]:
    """Analyse every ``spec_dir/*.md`` (sorted), reusing cached results by content hash."""
    cache = ParseCache(cache_dir, "spec-analysis", CACHE_VERSION)
    paths = spec_files(spec_dir)
    results: list[FileAnalysis | None] = []
    todo: list[tuple[int, str, bytes, str]] = []
    for index, path in enumerate(paths):
        shown = display_path(path)
        data = path.read_bytes()
        key = ParseCache.key(shown, sha256_bytes(data))
        cached = cache.get(key)
        if cached is not None:
            results.append(FileAnalysis.from_json(cached))
        else:
            results.append(None)
            todo.append((index, shown, data, key))
    fresh = parallel_map(
        _analyze_job, [(s, d) for _, s, d, _ in todo], [len(d) for _, _, d, _ in todo]
    )
    for (index, _, _, key), value in zip(todo, fresh, strict=True):
        cache.put(key, value)
        results[index] = FileAnalysis.from_json(value)
    if write_cache:
        cache.save()
    return [r for r in results if r is not None]
