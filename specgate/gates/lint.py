"""The spec lint gate: one spec corpus, its requirements and every lint diagnostic.

Decides the corpus-wide checks on top of each file's own diagnostics (read by
``specgate.readers.specs``): an ID defined twice, within or across specs (SG103, both places
named), and a retired ``-DEPR`` ID whose base ID is defined again (SG104); which definition of
an ID wins (the first, in corpus order); and which diagnostics lose or risk an ID (``unsafe``).
``check_corpus`` is pure; ``analyze_corpus`` reads the specs first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from specgate import ids
from specgate.diagnostics import Code, Diagnostic
from specgate.model import Requirement
from specgate.readers.specs import FileAnalysis, read_specs


@dataclass(frozen=True)
class Corpus:
    """Every spec file's analysis plus corpus-wide checks.

    ``requirements`` holds the winning (first) definition of each ID, in corpus order.
    """

    files: tuple[FileAnalysis, ...]
    requirements: tuple[Requirement, ...]
    diagnostics: tuple[Diagnostic, ...]

    @property
    def unsafe(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.unsafe)


def check_corpus(files: Sequence[FileAnalysis]) -> Corpus:
    """Cross-file checks: duplicate definitions and retired IDs defined again."""
    first: dict[str, Requirement] = {}
    diagnostics = [d for f in files for d in f.diagnostics]
    for analysis in files:
        for req in analysis.requirements:
            seen = first.get(req.id)
            if seen is None:
                first[req.id] = req
                continue
            diagnostics.append(
                Diagnostic(
                    req.file,
                    req.line,
                    req.col,
                    Code.DUPLICATE_ID,
                    f"{req.id} is defined twice: here and at {seen.source} "
                    "(that first one is kept)",
                    unsafe=True,
                )
            )
    for req in first.values():
        if ids.is_retired(req.id):
            live = first.get(ids.base_of_retired(req.id))
            if live is not None:
                diagnostics.append(
                    Diagnostic(
                        live.file,
                        live.line,
                        live.col,
                        Code.RETIRED_REDEFINED,
                        f"{live.id} was retired as {req.id} ({req.source}); a retired ID is "
                        "never reused",
                    )
                )
    return Corpus(tuple(files), tuple(first.values()), tuple(sorted(diagnostics)))


def analyze_corpus(
    spec_dir: Path, cache_dir: Path | None = None, *, write_cache: bool = True
) -> Corpus:
    """Read every ``spec_dir/*.md`` (sorted, cached by content) and check the corpus."""
    return check_corpus(read_specs(spec_dir, cache_dir, write_cache=write_cache))
