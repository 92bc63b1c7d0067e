"""Where a requirement ID defines a requirement, and which text each definition owns.

Decides the definition-versus-reference rule for one block of Markdown (a paragraph, a list
item's paragraph, a table row or a heading), before any file or line bookkeeping:

- A *marker* is a well-formed ID written in brackets ``[ID]``, in bold ``**ID**``, ``**[ID]**``,
  ``__ID__``, ``**ID:**`` or followed by a colon ``ID:`` (an optional colon after any form is
  part of the marker). A bare ID is a marker only where the structure says it is an ID: opening
  a heading, or in a table column whose header names IDs (``ID``, ``Req ID``, ``IDs``, ...).
- A marker defines a requirement when it is *placed*: it opens the block, or it comes right
  after the end of a sentence (``.``, ``!`` or ``?``, then optional closing ``)``, quotes or
  emphasis markers, then whitespace). In a heading, a bracketed or bold ID closing it counts too.
- Each definition owns text. When the block does not open with a marker but its last placed
  marker (brackets or bold) closes the block, every marker owns the text before it, back to the
  previous marker (*trailing* IDs: ``Workers MUST x. [ORCH-1001] Quotas MAY y. [ORCH-1002]``).
  Otherwise every marker owns the text after it, up to the next marker (*leading* IDs), and the
  text before the first marker is the block's *preamble*, owned by no definition of the block.
- Every other ID is a reference: mid-sentence (``see [OC-POOL-3001]``, ``as OC-POOL-3011
  says``), in parentheses, a link ``[ID](url)``, or inside a code span. Malformed or look-alike
  tokens never define anything; the lint reports them.

Pure functions on strings; offsets are into the block's content.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from specgate import ids

_ID = ids.ID_BODY
_MARKER_RE = re.compile(
    rf"(?P<e1>\*\*|__)\[(?P<a>{_ID})\]:?(?P=e1)"  # **[ID]**
    rf"|(?<![\w\-])(?P<e2>\*\*|__)(?P<b>{_ID}):?(?P=e2)"  # **ID** / **ID:**
    rf"|\[(?P<c>{_ID})\](?![(\[])"  # [ID], not a link
    rf"|(?<![\w\-\[*])(?P<d>{_ID})(?=:)"  # ID:
)
_COLON_RE = re.compile(r"[ \t]*:")
_SENTENCE_END_RE = re.compile(r"[.!?][)\"'\u201d\u2019*_\]]*\s+\Z")
_CLOSING_TAIL = " \t\r\n.;,"
_ID_HEADER_RE = re.compile(r"(?:[A-Za-z.]+\s+)?IDs?", re.IGNORECASE)
_HEADING_SEPARATORS = " \t:.\u2013\u2014-"
_BARE_RE = re.compile(rf"(?:\*\*|__)?\[?(?P<id>{_ID})\]?:?(?:\*\*|__)?:?")


@dataclass(frozen=True)
class Marker:
    """A well-formed ID in a marking form: ``start``/``end`` span the whole marker."""

    req_id: str
    start: int
    end: int
    trailing_ok: bool  # brackets or bold, so it may close a sentence


@dataclass(frozen=True)
class Piece:
    """One definition of a block and the text it owns (stripped, Markdown kept as typed)."""

    marker: Marker
    text: str


@dataclass(frozen=True)
class Split:
    """A block cut into its definitions; ``preamble`` is text owned by none of them."""

    preamble: str
    pieces: tuple[Piece, ...]


NO_DEFINITIONS = Split("", ())


def _markers(content: str) -> list[Marker]:
    """Every marker in ``content`` outside inline code spans."""
    if "-" not in content or _MARKER_RE.search(content) is None:
        return []
    searched = ids.blank_code_spans(content)
    found: list[Marker] = []
    for match in _MARKER_RE.finditer(searched):
        req_id = match.group("a") or match.group("b") or match.group("c") or match.group("d")
        end = match.end()
        colon = _COLON_RE.match(searched, end)
        if colon is not None:
            end = colon.end()
        found.append(Marker(req_id, match.start(), end, match.group("d") is None))
    return found


def _placed(content: str, marker: Marker) -> bool:
    if marker.start == 0:
        return True
    return _SENTENCE_END_RE.search(content, max(0, marker.start - 12), marker.start) is not None


def _closes(content: str, marker: Marker) -> bool:
    return marker.trailing_ok and not content[marker.end :].strip(_CLOSING_TAIL)


def split_block(content: str) -> Split:
    """The definitions of a paragraph (or list item paragraph) and the text each owns."""
    placed = [m for m in _markers(content) if _placed(content, m)]
    if not placed:
        return NO_DEFINITIONS
    trailing = placed[0].start > 0 and _closes(content, placed[-1])
    if trailing and all(m.trailing_ok for m in placed):
        pieces = []
        previous = 0
        for marker in placed:
            pieces.append(Piece(marker, content[previous : marker.start].strip()))
            previous = marker.end
        return Split("", tuple(pieces))
    leading = [
        Piece(marker, content[marker.end : nxt.start if nxt else len(content)].strip())
        for marker, nxt in zip(placed, [*placed[1:], None], strict=True)
    ]
    return Split(content[: placed[0].start].strip(), tuple(leading))


def bare_id(cell: str) -> Marker | None:
    """A cell (or heading start) that is one ID in any form, brackets and bold optional."""
    match = _BARE_RE.match(cell)
    if match is None:
        return None
    return Marker(match.group("id"), 0, match.end(), True)


def is_id_header(cell: str) -> bool:
    """A table header cell that names an ID column: ``ID``, ``Req ID``, ``Requirement ID``..."""
    return _ID_HEADER_RE.fullmatch(ids.plain_text(cell).strip()) is not None


def table_definition(cells: list[str], id_column: int | None) -> tuple[int, Piece] | None:
    """The one definition of a table row: (index of the cell holding the ID, the ID and the
    rest of that cell) or None.

    The ID column's cell when it holds one ID in any form; otherwise the first cell that opens
    with a marker (a cell that is only ``[ID]`` or ``**ID**`` included) or whose last sentence
    is closed by a bracketed or bold ID.
    """
    if id_column is not None and id_column < len(cells):
        cell = cells[id_column]
        marker = bare_id(cell)
        if marker is not None and not cell[marker.end :].strip():
            return id_column, Piece(marker, "")
    for index, cell in enumerate(cells):
        split = split_block(cell)
        if split.pieces and not split.preamble:
            first = split.pieces[0]
            return index, Piece(first.marker, _without(cell, first.marker))
    return None


def _without(cell: str, marker: Marker) -> str:
    return (cell[: marker.start] + " " + cell[marker.end :]).strip()


def heading_definition(content: str) -> tuple[Marker, str] | None:
    """An ID opening a heading (any form) or closing it (brackets or bold): (marker, rest)."""
    marker = bare_id(content)
    if marker is not None and (marker.end == len(content) or content[marker.end].isspace()):
        return marker, content[marker.end :].strip(_HEADING_SEPARATORS)
    found = _markers(content)
    if found and found[-1].trailing_ok and not content[found[-1].end :].strip():
        last = found[-1]
        return last, content[: last.start].strip(_HEADING_SEPARATORS)
    return None
