"""The glossary gate: one word per idea in the feature files.

Decides which words of a feature file a project's glossary rules out. The glossary is a
Markdown table whose header row is ``| Term | Meaning | Not |``; the ``Not`` cell lists, comma
separated, the words that say the same as the term and are therefore not used. A feature file
breaks the glossary where such a word appears, as a whole word and in any case, in a Feature,
Rule, Background, Scenario or Examples title, a description line or a step -- outside double
quotes, since a quoted value is what the system reports (``reports state "unready"``), and
outside an outline's ``<placeholder>``, which the reader sees filled in. Table
rows, doc strings, tags and comments are values or markup and are not checked.

Serves OC-BDD-7007 (issue #10: "one glossary of domain words that every feature uses").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from specgate.errors import InputError

__all__ = ["Finding", "glossary_violations", "read_glossary"]

_HEADER = re.compile(r"^\|\s*term\s*\|\s*meaning\s*\|\s*not\s*\|\s*$", re.IGNORECASE)
_QUOTED = re.compile(r'"[^"]*"|<[^<>\s]+>')  # quoted values and outline placeholders
_DOCSTRING = ('"""', "```")


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    word: str
    term: str

    def format(self) -> str:
        return (
            f"{self.path}:{self.line}: glossary: '{self.word}' is not used for this idea; "
            f"the glossary's word is '{self.term}'"
        )


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def read_glossary(path: Path) -> dict[str, str]:
    """Ruled-out word (lower case) -> the term to use instead."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the glossary: {exc}") from exc
    start = next((i for i, line in enumerate(lines) if _HEADER.match(line.strip())), None)
    if start is None:
        raise InputError(f"{path}: no table with the header | Term | Meaning | Not |")
    ruled_out: dict[str, str] = {}
    for number, line in enumerate(lines[start + 2 :], start + 3):
        if not line.strip().startswith("|"):
            break
        cells = _cells(line)
        if len(cells) != 3 or not cells[0]:
            raise InputError(f"{path}:{number}: a glossary row needs a term, a meaning and a Not")
        term = cells[0].strip("*` ")
        for word in (w.strip() for w in cells[2].split(",")):
            if word:
                ruled_out[word.lower()] = term
    return ruled_out


def _prose(lines: list[str]) -> list[tuple[int, str]]:
    """(line number, text outside quotes) of every line a reader reads as prose."""
    found: list[tuple[int, str]] = []
    in_docstring = False
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if line.startswith(_DOCSTRING):
            in_docstring = not in_docstring
            continue
        if in_docstring or not line or line.startswith(("#", "@", "|")):
            continue
        found.append((number, _QUOTED.sub(" ", line)))
    return found


def glossary_violations(features: Path, ruled_out: dict[str, str]) -> list[Finding]:
    """Every use of a ruled-out word in the feature files under ``features``."""
    patterns = {
        word: re.compile(r"(?<![\w-])" + re.escape(word) + r"(?![\w-])", re.IGNORECASE)
        for word in ruled_out
    }
    findings: list[Finding] = []
    for path in sorted(features.rglob("*.feature")):
        shown = path.as_posix()
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, text in _prose(lines):
            for word, pattern in patterns.items():
                if pattern.search(text):
                    findings.append(Finding(shown, number, word, ruled_out[word]))
    return findings
