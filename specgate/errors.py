"""The one error tree of specgate: every input problem a command reports is a SpecgateError.

Decides how failures are classified so that a command catches one root and exits 2 with the
message: unusable requirement, lock or waiver files (``InputError``), unreadable or odd-shaped
results files (``ResultsError``), feature files the Gherkin parser rejects
(``FeatureParseError``) and valid YAML of the wrong shape (``YamlShapeError``, still a
``ValueError`` for callers that parse values). Serves every command's exit code 2.
"""

from __future__ import annotations


class SpecgateError(Exception):
    """Root of every error specgate raises on purpose."""


class InputError(SpecgateError):
    """A requirements, lock or waiver file that cannot be used."""


class ResultsError(SpecgateError):
    """A results file that cannot be read or has an unexpected shape."""


class FeatureParseError(SpecgateError):
    """Feature files the Gherkin parser rejects; ``messages`` are ``file:line:col: text``."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("\n".join(messages))
        self.messages = messages


class YamlShapeError(SpecgateError, ValueError):
    """The document is valid YAML but not the shape the caller needs."""
