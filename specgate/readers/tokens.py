"""File-local lint of ID-shaped tokens: look-alike hyphens, malformed IDs, invisible definitions.

Decides, for one spec document's raw text, which ID-shaped tokens are reported (SG101 look-alike
hyphens everywhere, code blocks included; SG102 malformed IDs outside code blocks and one-line
code spans) and which ``[ID]:`` lines Markdown swallows as link reference definitions (SG109).
All of them are ``unsafe``: an ID is lost or at risk, so spec-extract exits 2. Pure functions.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Sequence

from specgate import ids
from specgate.diagnostics import Code, Diagnostic
from specgate.ids import TokenKind
from specgate.readers.markdown import line_starts

_REFDEF_LINE = re.compile(r"^[ \t>]*(?:[-*+][ \t]+|\d{1,9}[.)][ \t]+)?\[([^\]\n]+)\]:")


def _in_ranges(line: int, ranges: Sequence[tuple[int, int]]) -> bool:
    return any(lo <= line <= hi for lo, hi in ranges)


def _in_code_span(line_text: str, col: int) -> bool:
    """Whether 0-based ``col`` of a line falls inside a code span on that line."""
    if "`" not in line_text:
        return False
    return any(m.start() <= col < m.end() for m in ids.CODE_SPAN_RE.finditer(line_text))


def token_diagnostics(
    path: str, text: str, code_ranges: Sequence[tuple[int, int]]
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
            col = token.start - starts[line - 1]
            end = text.find("\n", token.start)
            if _in_code_span(text[starts[line - 1] : end if end >= 0 else len(text)], col):
                continue
            found.append(
                Diagnostic(
                    path,
                    line,
                    col + 1,
                    Code.MALFORMED_ID,
                    f'malformed requirement ID "{token.text}" (expected ORCH-NNN[NN] or '
                    "OC-AREA-NNN[NN], uppercase, optional -DEPR)",
                    unsafe=True,
                )
            )
    return found


def refdef_diagnostics(
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
