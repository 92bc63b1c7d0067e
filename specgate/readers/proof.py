"""Proof strength per requirement, read from a mutation run's JSON (``--proof-strength``).

Decides what ``spec-trace`` knows about how hard a requirement's scenarios are to fool: the
share, in percent, of the wrong implementations (mutants of the code those scenarios execute)
that the scenarios reject. Any tool may write the file; the shape is::

    {"requirements": {"OC-POOL-3011": {"score": 93.3, ...}, "OC-BDD-7002": {"score": null}}}

A ``null`` score means the requirement's scenarios reach no mutated code (not measured). A file
that cannot be used raises ``InputError`` naming the file and the entry.
"""

from __future__ import annotations

import json
from pathlib import Path

from specgate.errors import InputError


def load_proof_strength(path: Path) -> dict[str, float | None]:
    """Requirement ID -> proof strength in percent (``None``: not measured)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path}: cannot read proof strength: {exc}") from exc
    entries = data.get("requirements") if isinstance(data, dict) else None
    if not isinstance(entries, dict):
        raise InputError(f"{path}: expected an object with a 'requirements' object")
    scores: dict[str, float | None] = {}
    for req_id, entry in entries.items():
        score = entry.get("score") if isinstance(entry, dict) else entry
        if score is not None and (
            isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score <= 100
        ):
            raise InputError(f"{path}: {req_id}: score must be a number from 0 to 100 or null")
        scores[str(req_id)] = None if score is None else float(score)
    return scores
