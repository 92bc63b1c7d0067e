"""The config reference page, generated from the JSON Schema (OC-CFG-5010).

Decides how ``spec/reference/config.md`` is made: one table per mapping of the config (the top
level, ``manager``, ``manager.auth``, ``inventory.gpus[]``, ``pools[]`` and each pool's
sections), one row per field with its type and bounds, its default (or "required") and its
description, all read from :func:`poolmgr.config.schema.config_schema`, the one source of every
field. Nothing on the page is written by hand, so it cannot drift from the schema: a test
compares the committed page with :func:`render_reference` and names the command that
regenerates it::

    python -m poolmgr.config.reference --output spec/reference/config.md
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from poolmgr.config.schema import SCHEMA_RESOURCE, config_schema

__all__ = ["REFERENCE_PAGE", "REGENERATE", "render_reference"]

REFERENCE_PAGE = "spec/reference/config.md"
"""Where the page is committed, relative to the repository root."""
REGENERATE = f"python -m poolmgr.config.reference --output {REFERENCE_PAGE}"
"""The command that writes the page afresh."""

_BOUND_NOTES = {604_800_000: " (7 days)", 1 << 50: " (2**50, 1 PiB)"}


def _resolve(sub: Mapping[str, Any], root: Mapping[str, Any]) -> dict[str, Any]:
    """``sub`` with its ``$ref`` chain merged in (local keys win, as JSON Schema reads them)."""
    out = dict(sub)
    while isinstance(out.get("$ref"), str):
        target = root["$defs"][out.pop("$ref").removeprefix("#/$defs/")]
        out = {**target, **out}
    return out


def _number(value: object) -> str:
    note = _BOUND_NOTES.get(value, "") if isinstance(value, int) else ""
    return f"{value}{note}"


def _bounds(prop: Mapping[str, Any]) -> str:
    high = prop.get("maximum")
    if "exclusiveMinimum" in prop:
        low = f"above {prop['exclusiveMinimum']}"
        return f", {low}" + ("" if high is None else f" and at most {_number(high)}")
    if "minimum" in prop:
        low = _number(prop["minimum"])
        return f", at least {low}" if high is None else f", {low} to {_number(high)}"
    return "" if high is None else f", at most {_number(high)}"


def _type(prop: Mapping[str, Any], root: Mapping[str, Any]) -> str:
    if "enum" in prop:
        return "one of " + ", ".join(f"`{v}`" for v in prop["enum"])
    kinds = prop.get("type", [])
    kinds = [kinds] if isinstance(kinds, str) else list(kinds)
    words = []
    for kind in kinds:
        if kind == "array":
            items = _resolve(prop.get("items", {}), root)
            words.append(f"list of {_type(items, root)}" + _list_size(prop))
        elif kind == "object":
            words.append("mapping")
        elif kind == "null":
            continue
        else:
            word = {"integer": "integer", "number": "number", "string": "string"}.get(kind, kind)
            if kind == "string" and "pattern" in prop:
                word += f" matching `{prop['pattern']}`"
            elif kind == "string" and "maxLength" in prop:
                word += f", {prop.get('minLength', 0)} to {prop['maxLength']} characters"
            words.append(word + (_bounds(prop) if kind in ("integer", "number") else ""))
    if "null" in kinds:
        words.append("null")
    return " or ".join(words) if words else "any"


def _list_size(prop: Mapping[str, Any]) -> str:
    low = prop.get("minItems", 0)
    high = prop.get("maxItems")
    unique = ", unique" if prop.get("uniqueItems") else ""
    if high is None:
        return f" (at least {low}{unique})" if low else ""
    return f" ({low} to {high} items{unique})"


def _default(name: str, prop: Mapping[str, Any], required: set[str]) -> str:
    if name in required:
        return "required"
    if "default" not in prop:
        return "absent"
    value = prop["default"]
    if value == {}:
        return "all defaults"
    return f"`{json.dumps(value)}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _sections(
    path: str, sub: Mapping[str, Any], root: Mapping[str, Any]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each mapping of the config with its path (``pools[].backoff``), depth first."""
    sub = _resolve(sub, root)
    if "properties" not in sub:
        return
    yield path, sub
    for name, prop in sub["properties"].items():
        prop = _resolve(prop, root)
        child = f"{path}.{name}" if path else name
        if "properties" in prop:
            yield from _sections(child, prop, root)
        elif "array" in (prop.get("type") or []) and "items" in prop:
            yield from _sections(f"{child}[]", prop["items"], root)


def render_reference() -> str:
    """The reference page, Markdown, exactly as committed at :data:`REFERENCE_PAGE`."""
    root = config_schema()
    package, resource = SCHEMA_RESOURCE
    lines = [
        "# Config reference",
        "",
        f"<!-- Generated from {package}/{resource}; do not edit. Regenerate with: {REGENERATE} -->",
        "",
        f"Every field of a poolmgr config file, generated from the JSON Schema "
        f"[`{package}/{resource}`](../../{package}/{resource}), the one source of names, types, "
        "bounds and defaults. What the manager does with a config, and the rules that span "
        'several fields, are in [config.md](../config.md). "absent" means the field may be '
        'left out and has no default value; "all defaults" means a section left out takes '
        "the default of each of its fields.",
        "",
        _cell(root.get("description", "")),
    ]
    for path, section in _sections("", root, root):
        required = set(section.get("required", []))
        lines += ["", f"## `{path}`" if path else "## Top level", ""]
        if path and section.get("description"):
            lines += [_cell(section["description"]), ""]
        if section.get("maxProperties") == 1 == section.get("minProperties"):
            lines += ["Set exactly one of these fields.", ""]
        lines += ["| Field | Type | Default | Meaning |", "| --- | --- | --- | --- |"]
        for name, raw in section["properties"].items():
            prop = _resolve(raw, root)
            lines.append(
                f"| `{name}` | {_cell(_type(prop, root))} | "
                f"{_cell(_default(name, raw, required))} | {_cell(raw.get('description', ''))} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m poolmgr.config.reference", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--output", metavar="FILE", help="write the page here (default: stdout)")
    args = parser.parse_args(argv)
    page = render_reference()
    if args.output:
        Path(args.output).write_text(page, encoding="utf-8")
    else:
        print(page, end="")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
