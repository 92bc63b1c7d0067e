"""Markdown specs read into requirements and file-local lint diagnostics.

Decides where requirements are defined (an ID in square brackets opening a list item, a
paragraph or the first cell of a table row), what their text, section, level, anchor and
fingerprint are, and every lint problem visible within one spec file: look-alike hyphens,
malformed IDs, files without keywords or IDs, normative sentences without an ID, empty
requirements, invisible link-reference definitions, bad UTF-8 (SG101, SG102, SG105 to SG110).
Cross-file checks (duplicates, retired IDs defined again) are ``specgate.gates.lint``'s.
``analyze_text`` is pure; ``read_specs`` reads files (cached by content).
"""

from __future__ import annotations

import bisect
import re
import unicodedata
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
from specgate.readers.markdown import Slugger, block_parser, inline_text, line_starts

CACHE_VERSION = f"analysis;markdown-it-py-{markdown_it.__version__};" + code_version(
    "readers/specs.py", "model.py", "ids.py", "readers/markdown.py", "diagnostics.py"
)

_DEF_START = re.compile(r"\[([^\]\s]+)\](?![(\[])")
_BOILERPLATE = re.compile(r"RFC\s*2119|RFC\s*8174|BCP\s*14")
_REFDEF_LINE = re.compile(r"^[ \t>]*(?:[-*+][ \t]+|\d{1,9}[.)][ \t]+)?\[([^\]\n]+)\]:")


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
    defs: list[_Def] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    has_keyword: bool = False
    bad_def_lines: set[int] = field(default_factory=set)

    def owner(self) -> _Def | None:
        for item in reversed(self.items):
            if item.definition is not None:
                return item.definition
        return None

    def col_of(self, line: int, needle: str) -> int:
        if 1 <= line <= len(self.lines):
            pos = self.lines[line - 1].find(needle)
            if pos >= 0:
                return pos + 1
        return 1

    def start_def(self, content: str, line: int) -> tuple[_Def, str] | None:
        """A definition when ``content`` opens with ``[ID]``; records malformed openers."""
        match = _DEF_START.match(content)
        if match is None:
            return None
        label = match.group(1)
        if not ids.is_valid_id(label):
            candidate = ids.CANDIDATE_RE.fullmatch(label)
            if candidate is not None:
                self.bad_def_lines.add(line)
            return None
        definition = _Def(
            label, line, self.col_of(line, f"[{label}]"), self.section, self.anchor, []
        )
        self.defs.append(definition)
        return definition, content[match.end() :].strip()

    def check_normative(self, content: str, first_line: int) -> None:
        found = ids.find_keywords(content)
        if not found:
            return
        self.has_keyword = True
        if _BOILERPLATE.search(content):
            return
        keyword = found[0]
        line = first_line + content.count("\n", 0, keyword.start())
        sentence = ids.collapse_ws(content)
        if len(sentence) > 70:
            sentence = sentence[:69] + "…"
        self.diagnostics.append(
            Diagnostic(
                self.path,
                line,
                self.col_of(line, keyword.group(1)),
                Code.NORMATIVE_WITHOUT_ID,
                f"normative sentence ({keyword.group(1)}) without a defining requirement ID: "
                f'"{sentence}"',
            )
        )

    def paragraph(self, content: str, line: int, first_in_item: bool) -> None:
        started = self.start_def(content, line)
        if started is not None:
            definition, rest = started
            definition.parts.append(rest)
            if first_in_item:
                self.items[-1].definition = definition
            return
        if ids.find_keywords(content):
            self.has_keyword = True
        if line in self.bad_def_lines:
            return  # opens with a broken ID: reported as SG101/SG102, not as an orphan
        owner = self.owner()
        if owner is not None:
            owner.parts.append(("- " if first_in_item else "") + content)
        else:
            self.check_normative(content, line)

    def table_row(self, cells: list[str], line: int) -> None:
        cells = [c.strip() for c in cells]
        started = self.start_def(cells[0], line) if cells else None
        if started is not None:
            definition, rest = started
            definition.parts.append(" | ".join(c for c in [rest, *cells[1:]] if c))
            return
        joined = " | ".join(cells)
        if line in self.bad_def_lines:
            self.has_keyword = self.has_keyword or bool(ids.find_keywords(joined))
            return
        owner = self.owner()
        if owner is not None:
            if ids.find_keywords(joined):
                self.has_keyword = True
            owner.parts.append(joined)
        else:
            self.check_normative(joined, line)

    def heading(self, tag: str, content: str) -> None:
        text = inline_text(content)
        anchor = self.slugger.slug(text)
        if tag == "h1":
            self.section, self.anchor = "", ""
        else:
            self.section, self.anchor = text, anchor


def _walk(walker: _Walker, tokens: Sequence[MdToken]) -> list[tuple[int, int]]:
    """Feed block tokens to the walker; returns 1-based line ranges of code and HTML blocks."""
    code_ranges: list[tuple[int, int]] = []
    row: list[str] | None = None
    row_line = 0
    for i, tok in enumerate(tokens):
        first_in_item = False
        if walker.items and tok.nesting >= 0 and tok.level == walker.items[-1].level + 1:
            first_in_item = not walker.items[-1].had_child
            walker.items[-1].had_child = True
        kind = tok.type
        line = tok.map[0] + 1 if tok.map else 0
        if kind == "heading_open":
            walker.heading(tok.tag, tokens[i + 1].content)
        elif kind == "list_item_open":
            walker.items.append(_Item(tok.level))
        elif kind == "list_item_close":
            walker.items.pop()
        elif kind == "paragraph_open":
            walker.paragraph(tokens[i + 1].content, line, first_in_item)
        elif kind == "tr_open":
            row, row_line = [], line
        elif kind == "inline" and row is not None and tokens[i - 1].type in ("th_open", "td_open"):
            row.append(tok.content)
        elif kind == "tr_close" and row is not None:
            walker.table_row(row, row_line)
            row = None
        elif kind in ("fence", "code_block", "html_block") and tok.map:
            code_ranges.append((tok.map[0] + 1, tok.map[1]))
    return code_ranges


def _in_ranges(line: int, ranges: Sequence[tuple[int, int]]) -> bool:
    return any(lo <= line <= hi for lo, hi in ranges)


def _token_diagnostics(
    path: str, text: str, code_ranges: Sequence[tuple[int, int]], bad_def_lines: set[int]
) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    starts = line_starts(text)
    for token in ids.scan_tokens(text):
        if token.kind in (TokenKind.VALID, TokenKind.IGNORED):
            continue
        line = bisect.bisect_right(starts, token.start)
        if token.kind is TokenKind.LOOKALIKE:
            for offset, ch in token.lookalikes:
                name = unicodedata.name(ch, "UNNAMED")
                found.append(
                    Diagnostic(
                        path,
                        line,
                        offset - starts[line - 1] + 1,
                        Code.LOOKALIKE_HYPHEN,
                        f"look-alike hyphen U+{ord(ch):04X} {name} in ID-shaped token "
                        f'"{token.text}"; only ASCII hyphen-minus (U+002D) is allowed',
                        unsafe=True,
                    )
                )
        elif not _in_ranges(line, code_ranges):
            found.append(
                Diagnostic(
                    path,
                    line,
                    token.start - starts[line - 1] + 1,
                    Code.MALFORMED_ID,
                    f'malformed requirement ID "{token.text}" (expected ORCH-NNN[NN] or '
                    "OC-AREA-NNN[NN], uppercase, optional -DEPR)",
                    unsafe=line in bad_def_lines,
                )
            )
    return found


def _refdef_diagnostics(
    path: str, lines: Sequence[str], code_ranges: Sequence[tuple[int, int]]
) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    for number, raw in enumerate(lines, start=1):
        if "]:" not in raw:
            continue
        match = _REFDEF_LINE.match(raw)
        if match is None or _in_ranges(number, code_ranges):
            continue
        if ids.CANDIDATE_RE.fullmatch(match.group(1)):
            found.append(
                Diagnostic(
                    path,
                    number,
                    match.start(1),
                    Code.LINK_REFERENCE_DEFINITION,
                    f'"[{match.group(1)}]:" is a Markdown link reference definition and is '
                    "invisible; drop the colon to define the requirement",
                    unsafe=True,
                )
            )
    return found


def analyze_text(text: str, path: str) -> FileAnalysis:
    """Requirements and file-local diagnostics of one spec document (``path`` for display)."""
    text = text.removeprefix("\ufeff")
    lines = text.splitlines()
    walker = _Walker(path, lines)
    code_ranges = _walk(walker, block_parser().parse(text))
    requirements = []
    for d in walker.defs:
        body = ids.collapse_ws(" ".join(p for p in d.parts if p))
        level = ids.level_of(body)
        link = f"{path}#{d.anchor}" if d.anchor else path
        requirements.append(
            Requirement(
                id=d.req_id,
                title=ids.title_of(body),
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
    diagnostics += _token_diagnostics(path, text, code_ranges, walker.bad_def_lines)
    diagnostics += _refdef_diagnostics(path, lines, code_ranges)
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
