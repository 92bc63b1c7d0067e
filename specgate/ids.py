"""Requirement IDs, look-alike hyphens, RFC-2119 levels and fingerprints.

Decides which tokens are requirement IDs (``ORCH-[0-9]{3,5}``, ``OC-[A-Z0-9-]+-[0-9]{3,5}``, with an
optional ``-DEPR`` retired suffix, ASCII hyphen-minus only), which ID-shaped tokens are malformed
or carry a look-alike hyphen, how strong a sentence is (must / should / may / info) and the
fingerprint of a requirement text. Pure functions, no I/O; shared by every specgate tool.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

ID_BODY = r"(?:ORCH-[0-9]{3,5}|OC-[A-Z0-9-]+-[0-9]{3,5})(?:-DEPR)?"
ID_RE = re.compile(rf"{ID_BODY}\Z")
RETIRED_SUFFIX = "-DEPR"


def _lookalike_dashes() -> frozenset[str]:
    """Every dash-like code point other than ASCII hyphen-minus.

    All of Unicode's dash punctuation (category Pd: U+2010 hyphen, U+2011 non-breaking hyphen,
    U+2012 figure dash, en/em dashes, U+FE63 small hyphen-minus, U+FF0D fullwidth hyphen-minus,
    ...) plus the minus sign, soft hyphen and hyphen bullet, which look the same in most fonts.
    """
    found = {
        chr(cp)
        for cp in range(0x80, 0x10000)
        if unicodedata.category(chr(cp)) == "Pd" and chr(cp) != "-"
    }
    found.update({"\u2212", "\u00ad", "\u2043", "\u02d7", "\u2796", "\ufe58"})
    return frozenset(found)


LOOKALIKE_DASHES: frozenset[str] = _lookalike_dashes()
_DASH_CLASS = "".join(sorted(re.escape(c) for c in LOOKALIKE_DASHES))
_ANY_DASH = rf"[\-{_DASH_CLASS}]"

# An ID-shaped token: OC or ORCH (any case), a hyphen of any kind, then letters, digits and
# hyphens of any kind. Classified by ``classify_token``.
CANDIDATE_RE = re.compile(
    rf"(?<![A-Za-z0-9_\-{_DASH_CLASS}])(?i:oc|orch){_ANY_DASH}[A-Za-z0-9_\-{_DASH_CLASS}]*"
)
# Characters after a token that make it a pattern such as ``OC-POOL-*`` or ``OC-<AREA>-<NNNN>``.
_PATTERN_FOLLOWERS = frozenset("*<{\\…")


class TokenKind(StrEnum):
    """What an ID-shaped token turned out to be."""

    VALID = "valid"
    LOOKALIKE = "lookalike"
    MALFORMED = "malformed"
    IGNORED = "ignored"


@dataclass(frozen=True)
class Token:
    """An ID-shaped token found in a text: ``start`` is its offset in that text."""

    text: str
    start: int
    kind: TokenKind

    @property
    def lookalikes(self) -> tuple[tuple[int, str], ...]:
        """(offset in the text, character) of each look-alike hyphen in the token."""
        return tuple(
            (self.start + i, ch) for i, ch in enumerate(self.text) if ch in LOOKALIKE_DASHES
        )


def is_valid_id(text: str) -> bool:
    """True when ``text`` is exactly one well-formed requirement ID."""
    return ID_RE.match(text) is not None


def is_retired(req_id: str) -> bool:
    return req_id.endswith(RETIRED_SUFFIX)


def base_of_retired(req_id: str) -> str:
    """``OC-X-1001-DEPR`` -> ``OC-X-1001``; other IDs unchanged."""
    return req_id[: -len(RETIRED_SUFFIX)] if is_retired(req_id) else req_id


def classify_token(text: str, source: str, start: int, *, bracketed: bool) -> TokenKind:
    """Classify one candidate token found at ``source[start:]``.

    Uppercase-prefixed tokens are judged everywhere; lowercase or mixed-case ones only inside
    square brackets (``[oc-pool-3001]``), so prose such as "orch-style" is left alone.
    """
    if not LOOKALIKE_DASHES.isdisjoint(text):
        return TokenKind.LOOKALIKE
    if is_valid_id(text):
        return TokenKind.VALID
    end = start + len(text)
    if end < len(source) and source[end] in _PATTERN_FOLLOWERS:
        return TokenKind.IGNORED
    if bracketed:
        return TokenKind.MALFORMED
    if text.endswith("-"):
        return TokenKind.IGNORED  # a prefix named in prose: "the OC-POOL- family"
    if text.startswith(("OC", "ORCH")):
        return TokenKind.MALFORMED
    return TokenKind.IGNORED


def scan_tokens(source: str) -> Iterator[Token]:
    """Every ID-shaped token in ``source`` with its classification."""
    for match in CANDIDATE_RE.finditer(source):
        text = match.group(0)
        start = match.start()
        end = match.end()
        bracketed = start > 0 and source[start - 1] == "[" and end < len(source)
        bracketed = bracketed and source[end] == "]"
        yield Token(text, start, classify_token(text, source, start, bracketed=bracketed))


def looks_like_id_tag(tag: str) -> bool:
    """A Gherkin tag (without ``@``) that tries to name a requirement."""
    return CANDIDATE_RE.match(tag) is not None


_NUM_SPLIT = re.compile(r"(\d+)")


def id_sort_key(req_id: str) -> tuple[tuple[int, int | str], ...]:
    """Numeric-aware sort key: ``OC-X-999`` sorts before ``OC-X-1000``."""
    parts: list[tuple[int, int | str]] = []
    for i, chunk in enumerate(_NUM_SPLIT.split(req_id)):
        if i % 2:
            parts.append((1, int(chunk)))
        elif chunk:
            parts.append((0, chunk))
    return tuple(parts)


class Level(StrEnum):
    """Obligation level of a requirement, from its strongest RFC-2119 keyword."""

    MUST = "must"
    SHOULD = "should"
    MAY = "may"
    INFO = "info"


_KEYWORD_LEVEL: dict[str, Level] = {
    "MUST": Level.MUST,
    "MUST NOT": Level.MUST,
    "REQUIRED": Level.MUST,
    "SHALL": Level.MUST,
    "SHALL NOT": Level.MUST,
    "SHOULD": Level.SHOULD,
    "SHOULD NOT": Level.SHOULD,
    "RECOMMENDED": Level.SHOULD,
    "MAY": Level.MAY,
    "OPTIONAL": Level.MAY,
}
KEYWORD_RE = re.compile(
    r"(?<![A-Za-z0-9])(MUST NOT|SHALL NOT|SHOULD NOT|MUST|SHALL|SHOULD|REQUIRED|RECOMMENDED|"
    r"MAY|OPTIONAL)(?![A-Za-z0-9])"
)
CODE_SPAN_RE = re.compile(r"(`+)(.+?)\1", re.DOTALL)
_RANK = {Level.MUST: 3, Level.SHOULD: 2, Level.MAY: 1, Level.INFO: 0}


def blank_code_spans(text: str) -> str:
    """Replace inline code spans by spaces (same length): quoted keywords do not count."""
    if "`" not in text:
        return text
    return CODE_SPAN_RE.sub(lambda m: " " * len(m.group(0)), text)


def find_keywords(text: str) -> list[re.Match[str]]:
    """RFC-2119 keywords (uppercase only) outside inline code spans."""
    return list(KEYWORD_RE.finditer(blank_code_spans(text)))


def level_of(text: str) -> Level:
    """The strongest RFC-2119 level in ``text``; ``info`` when it has no keyword."""
    best = Level.INFO
    for match in find_keywords(text):
        level = _KEYWORD_LEVEL[match.group(1)]
        if _RANK[level] > _RANK[best]:
            best = level
    return best


_WS_RE = re.compile(r"\s+")
_EMPHASIS_RE = re.compile(r"[*_`]")


def normalise_text(text: str) -> str:
    """Whitespace collapsed and stripped, emphasis markers and backticks removed."""
    return _WS_RE.sub(" ", _EMPHASIS_RE.sub("", text)).strip()


def fingerprint(text: str) -> str:
    """sha256 (hex) of the normalised requirement text."""
    return hashlib.sha256(normalise_text(text).encode("utf-8")).hexdigest()


def collapse_ws(text: str) -> str:
    return _WS_RE.sub(" ", text).strip()


# A sentence ends at ., ! or ? (closing quotes and brackets kept) before whitespace and the next
# sentence's first character, or before the "- " that opens a nested list item's text.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[A-Z0-9\[(\"']|- )")
_EMPHASIS_PAIRS = (
    re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*"),
    re.compile(r"(?<![A-Za-z0-9_])__(?=\S)(.+?)(?<=\S)__(?![A-Za-z0-9_])"),
    re.compile(r"\*(?=\S)(.+?)(?<=\S)\*"),
    re.compile(r"(?<![A-Za-z0-9_])_(?=\S)(.+?)(?<=\S)_(?![A-Za-z0-9_])"),
)
TITLE_LIMIT = 120


def plain_text(text: str) -> str:
    """``text`` without Markdown emphasis markers and code-span backticks (code kept as is)."""
    if "`" not in text:
        return _strip_emphasis(text)
    out = []
    last = 0
    for match in CODE_SPAN_RE.finditer(text):
        out.append(_strip_emphasis(text[last : match.start()]))
        out.append(match.group(2).strip() if match.group(2).strip() else match.group(2))
        last = match.end()
    out.append(_strip_emphasis(text[last:]))
    return "".join(out)


def _strip_emphasis(text: str) -> str:
    if "*" not in text and "_" not in text:
        return text
    for pattern in _EMPHASIS_PAIRS:
        text = pattern.sub(r"\1", text)
    return text


def title_of(text: str) -> str:
    """First sentence of ``text`` as plain text, trimmed to about 120 characters."""
    plain = collapse_ws(plain_text(text))
    first = _SENTENCE_END.split(plain, maxsplit=1)[0].strip()
    if len(first) <= TITLE_LIMIT:
        return first
    cut = first[: TITLE_LIMIT - 1]
    space = cut.rfind(" ")
    if space > TITLE_LIMIT // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:") + "…"
