"""Config problems by field path: how a refusal names the field, the line and the reason.

Owns the wording shared by every stage of config checking (the bounded YAML reader, the
schema, the cross-field rules, the token source): a field path written as
``pools[1].tensor_split[0]``, the YAML line appended as ``(line N)``, values quoted briefly,
and every problem of one source collected into one :class:`~poolmgr.core.errors.ConfigError`.
Serves OC-CFG-5002 (every problem named by file, field path and reason, all reported together).
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from poolmgr.core.errors import ConfigError, ConfigProblem

__all__ = ["FieldPath", "Problems", "format_path", "short_repr", "type_name"]

FieldPath = tuple[str | int, ...]
"""A field path: mapping keys and sequence indices from the document root."""


def format_path(path: Sequence[str | int]) -> str:
    """``("pools", 1, "tensor_split", 0)`` -> ``pools[1].tensor_split[0]``."""
    out: list[str] = []
    for part in path:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif part.isidentifier():
            out.append(f".{part}" if out else part)
        else:
            out.append(f"[{part!r}]")
    return "".join(out)


def short_repr(value: object, limit: int = 48) -> str:
    """A value as a problem quotes it: YAML words for booleans and null, cut at ``limit``."""
    text = repr(value)
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif value is None:
        text = "null"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def type_name(value: object) -> str:
    """The YAML reader's word for the type of a constructed value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "mapping"
    return f"YAML {type(value).__name__}"


class Problems:
    """Problems of one source, each with an optional YAML line for the reader."""

    def __init__(self, source: str, lines: Mapping[FieldPath, int] | None = None) -> None:
        self.source = source
        self.lines: Mapping[FieldPath, int] = lines or {}
        self._items: list[tuple[int, FieldPath, str]] = []

    def add(self, path: FieldPath, reason: str, *, line: int | None = None) -> None:
        """Record ``reason`` against ``path``; the line defaults to the nearest known one."""
        if line is None:
            line = self._line_of(path)
        self._items.append((line or 0, path, reason))

    def _line_of(self, path: FieldPath) -> int | None:
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return None

    def paths(self) -> set[FieldPath]:
        return {path for _, path, _ in self._items}

    def __bool__(self) -> bool:
        return bool(self._items)

    def error(self) -> ConfigError:
        """Every problem so far, in line order, duplicates dropped, as one error."""
        seen: set[tuple[str, str]] = set()
        problems: list[ConfigProblem] = []
        for line, path, reason in sorted(self._items, key=lambda i: i[0]):
            text = format_path(path)
            if line:
                reason = f"{reason} (line {line})"
            if (text, reason) in seen:
                continue
            seen.add((text, reason))
            problems.append(ConfigProblem(self.source, text, reason))
        return ConfigError(problems)

    def raise_if_any(self) -> None:
        if self._items:
            raise self.error()
