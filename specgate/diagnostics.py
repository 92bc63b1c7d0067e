"""Lint diagnostics shared by spec-lint, spec-extract and spec-trace.

Decides the stable diagnostic codes, which of them lose or risk an ID, and the one-line
``file:line:col: CODE message`` format. Values only, no I/O.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum


class Code(StrEnum):
    """Stable diagnostic codes (never renumbered)."""

    LOOKALIKE_HYPHEN = "SG101"
    MALFORMED_ID = "SG102"
    DUPLICATE_ID = "SG103"
    RETIRED_REDEFINED = "SG104"
    NO_KEYWORD = "SG105"
    NO_IDS = "SG106"
    NORMATIVE_WITHOUT_ID = "SG107"
    EMPTY_REQUIREMENT = "SG108"
    LINK_REFERENCE_DEFINITION = "SG109"
    UNREADABLE = "SG110"
    UNPLACED_ID = "SG111"


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem at ``file:line:col`` (1-based; col 1 when the whole line or file is meant).

    ``unsafe`` marks problems that lose a requirement or make one ambiguous (look-alike or
    malformed IDs, duplicates, invisible definitions, unreadable files, IDs cited where they
    define nothing): spec-extract prints them and exits 2, still writing every good ID.
    """

    file: str
    line: int
    col: int
    code: Code
    message: str
    unsafe: bool = False

    def format(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: {self.code} {self.message}"

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data["code"] = str(self.code)
        return data

    @staticmethod
    def from_json(data: dict[str, object]) -> Diagnostic:
        return Diagnostic(
            file=str(data["file"]),
            line=int(str(data["line"])),
            col=int(str(data["col"])),
            code=Code(str(data["code"])),
            message=str(data["message"]),
            unsafe=bool(data["unsafe"]),
        )
