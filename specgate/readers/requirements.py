"""The generated requirement YAML, the review lock and the waiver file, read back.

Decides what ``spec-trace`` knows about requirements without parsing Markdown: every record of
``<requirements>/*.yaml`` (written by ``spec-extract``) as a ``Requirement``, sorted by ID; the
review lock (requirement ID -> reviewed fingerprint) and the waivers (requirement ID -> why it
has no passing scenario yet), and the lock's exact text for ``spec-trace review``. A file
that cannot be used raises ``InputError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from specgate import ids
from specgate.errors import InputError, YamlShapeError
from specgate.model import LOCK_KEY, REQUIRED_KEYS, WAIVER_KEY, Requirement
from specgate.yamlio import dump_mapping, load_mapping, load_records

LOCK_COMMENTS = (
    "Reviewed requirement fingerprints: requirement ID -> sha256 of its text when last reviewed.",
    "Maintained by `spec-trace review ID...` (or `spec-trace review --all`); do not edit by hand.",
)


def load_requirements(directory: Path) -> list[Requirement]:
    """Every requirement of ``directory/*.yaml`` (sorted by ID)."""
    if not directory.is_dir():
        raise InputError(f"requirements directory not found: {directory}")
    found: dict[str, Requirement] = {}
    for path in sorted(directory.glob("*.yaml")):
        try:
            records = load_records(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise InputError(f"{path}: cannot read requirements: {exc}") from exc
        for record in records:
            missing = [k for k in REQUIRED_KEYS if not record.get(k)]
            if missing:
                raise InputError(f"{path}: a requirement lacks {', '.join(missing)}")
            try:
                req = Requirement.from_record(record)
            except ValueError as exc:
                raise InputError(f"{path}: unknown level {record['level']!r}") from exc
            if req.id in found:
                raise InputError(f"{path}: {req.id} appears in two requirement files")
            found[req.id] = req
    return sorted(found.values(), key=lambda r: ids.id_sort_key(r.id))


def _load_mapping(path: Path, key: str, noun: str, what: str) -> dict[str, str]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read {noun}: {exc}") from exc
    try:
        return load_mapping(key, text)
    except (ValueError, YamlShapeError) as exc:
        raise InputError(f"{path}: bad {what} file: {exc}") from exc


def load_lock(path: Path) -> dict[str, str]:
    """The review lock (empty when the file does not exist yet)."""
    return _load_mapping(path, LOCK_KEY, "lock", "lock")


def render_lock(reviewed: Mapping[str, str]) -> str:
    """The lock file's exact text, IDs in numeric-aware order."""
    ordered = {k: reviewed[k] for k in sorted(reviewed, key=ids.id_sort_key)}
    return dump_mapping(LOCK_KEY, ordered, LOCK_COMMENTS)


def load_waivers(path: Path) -> dict[str, str]:
    """The waiver file: requirement ID -> why it has no passing scenario yet (and where it will).

    A missing file means no waivers.
    """
    waivers = _load_mapping(path, WAIVER_KEY, "waivers", "waiver")
    for req_id, reason in waivers.items():
        if not reason.strip():
            raise InputError(f"{path}: waiver for {req_id} gives no reason")
    return waivers
