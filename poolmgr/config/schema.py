"""The config JSON Schema: what may be written where, with which defaults, in plain words.

Decides the structure of a config: the JSON Schema (draft 2020-12) shipped as package data in
``poolmgr/schema/config.schema.json`` is the single source of field names, types, bounds and
defaults (the model in :mod:`poolmgr.core.config` has none of its own). Serves OC-CFG-5001
(validated against the published schema, unknown fields refused), OC-CFG-5002 (each schema
error translated into one plain reason per field, all reported together) and OC-CFG-5003
(wrong types, non-finite and oversized numbers answered as ordinary problems).
"""

from __future__ import annotations

import copy
import functools
import json
import math
from collections import Counter
from collections.abc import Iterator, Mapping
from importlib import resources
from typing import Any

import jsonschema

from poolmgr.core.problems import FieldPath, Problems, short_repr, type_name

__all__ = ["SCHEMA_RESOURCE", "config_schema", "schema_defaults", "validated_document"]

SCHEMA_RESOURCE = ("poolmgr", "schema/config.schema.json")
"""The package and the path inside it of the one config schema file."""


@functools.cache
def _schema_text() -> str:
    package, path = SCHEMA_RESOURCE
    return resources.files(package).joinpath(*path.split("/")).read_text(encoding="utf-8")


def config_schema() -> dict[str, Any]:
    """The config JSON Schema (a fresh copy, safe to modify)."""
    schema: dict[str, Any] = json.loads(_schema_text())
    return schema


def _strict_integer(_checker: object, instance: object) -> bool:
    # JSON Schema counts 8080.0 as an integer; a config port or ctx must be written as one.
    return isinstance(instance, int) and not isinstance(instance, bool)


_ValidatorClass = jsonschema.validators.extend(  # type: ignore[no-untyped-call]  # untyped stub
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine("integer", _strict_integer),
)


@functools.cache
def _validator() -> Any:
    # The shipped schema is checked against the draft's metaschema by the tests
    # (tests/unit/test_config.py), not at every start: that check costs more than the
    # validation of a 100-pool config (OC-PERF-9107, a fast first answer).
    return _ValidatorClass(config_schema())


# --------------------------------------------------------------------------- plain words

_JSON_TYPE_WORDS = {"object": "mapping", "array": "list"}
_BOUND_NOTES = {604_800_000: " (7 days)", 1 << 50: " (2**50 bytes)"}
_BOUND_WORDS = {
    "minimum": "at least",
    "exclusiveMinimum": "greater than",
    "maximum": "at most",
    "exclusiveMaximum": "less than",
}


def _bound(value: object) -> str:
    return f"{value}{_BOUND_NOTES.get(value, '') if isinstance(value, int) else ''}"


def _unknown_fields(
    path: FieldPath, inst: dict[str, Any], schema: Mapping[str, Any]
) -> Iterator[tuple[FieldPath, str]]:
    allowed = sorted(schema.get("properties", {}))
    for key in sorted(k for k in inst if k not in allowed):
        if key == "token" and "token_env" in allowed:
            yield (
                (*path, key),
                "a token must never be written in a config file; name the environment "
                "variable that holds it (token_env) or a file (token_file)",
            )
            continue
        import difflib  # only for a refused config's hint: kept off the start-up path

        hint = difflib.get_close_matches(key, allowed, n=1)
        maybe = f" (did you mean {hint[0]!r}?)" if hint else ""
        yield (*path, key), f"unknown field{maybe}; allowed here: {', '.join(allowed)}"


def _wrong_type(path: FieldPath, inst: Any, value: Any) -> tuple[FieldPath, str]:
    names = value if isinstance(value, list) else [value]
    wanted = " or ".join(_JSON_TYPE_WORDS.get(str(n), str(n)) for n in names)
    got = f"expected {wanted}, got {type_name(inst)} {short_repr(inst)}"
    if "string" in wanted and not isinstance(inst, list | dict):
        got += " (quote it to make it a string)"
    elif "integer" in wanted and isinstance(inst, float):
        got += " (write whole numbers without a decimal point)"
    return path, got


def _schema_reasons(err: jsonschema.ValidationError) -> Iterator[tuple[FieldPath, str]]:
    """Plain-words reasons for one schema error, each with the path it is about."""
    path: FieldPath = tuple(err.absolute_path)
    inst: Any = err.instance
    value: Any = err.validator_value
    schema = err.schema if isinstance(err.schema, dict) else {}
    keyword = err.validator
    if keyword == "additionalProperties" and isinstance(inst, dict):
        yield from _unknown_fields(path, inst, schema)
    elif keyword == "required" and isinstance(inst, dict):
        for key in value:
            if key not in inst:
                yield (*path, key), "required field is missing"
    elif keyword == "type":
        yield _wrong_type(path, inst, value)
    elif keyword == "enum":
        yield path, f"must be one of {', '.join(map(str, value))}; got {short_repr(inst)}"
    elif keyword in _BOUND_WORDS:
        yield path, f"must be {_BOUND_WORDS[str(keyword)]} {_bound(value)}; got {short_repr(inst)}"
    elif keyword in ("minItems", "maxItems"):
        words = "at least" if keyword == "minItems" else "at most"
        yield path, f"must have {words} {value} item(s); got {len(inst)}"
    elif keyword == "uniqueItems" and isinstance(inst, list):
        counts = Counter(short_repr(x) for x in inst)  # reprs: items may be unhashable
        dups = sorted(text for text, n in counts.items() if n > 1)
        yield path, f"items must be unique; repeated: {', '.join(dups)}"
    elif keyword == "pattern":
        yield path, f"must match {value}; got {short_repr(inst)}"
    elif keyword in ("minLength", "maxLength"):
        words = "at least" if keyword == "minLength" else "at most"
        yield path, f"must be {words} {value} character(s) long; got {len(inst)}"
    elif keyword in ("minProperties", "maxProperties"):
        props = list(schema.get("properties", {}))
        if schema.get("minProperties") == schema.get("maxProperties") == 1:
            yield path, f"set exactly one of: {', '.join(props)}"
        else:
            yield path, err.message
    else:
        yield path, err.message[:200]


def _non_finite(data: object, path: FieldPath, problems: Problems) -> None:
    if isinstance(data, float) and not math.isfinite(data):
        problems.add(path, f"must be a finite number; got {short_repr(data)}")
    elif isinstance(data, dict):
        for key, value in data.items():
            _non_finite(value, (*path, key), problems)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            _non_finite(value, (*path, i), problems)


# --------------------------------------------------------------------------- defaults


def _resolve(sub: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    while isinstance(sub.get("$ref"), str):
        name = sub["$ref"].removeprefix("#/$defs/")
        sub = {**root["$defs"][name], **{k: v for k, v in sub.items() if k != "$ref"}}
    return sub


def _with_defaults(data: object, sub: Mapping[str, Any], root: Mapping[str, Any]) -> object:
    """A copy of schema-valid ``data`` with every schema ``default`` filled in, recursively."""
    sub = _resolve(sub, root)
    if isinstance(data, dict):
        props: Mapping[str, Any] = sub.get("properties", {})
        out: dict[str, object] = {}
        for key, prop in props.items():
            if key in data:
                out[key] = _with_defaults(data[key], prop, root)
            elif "default" in prop:
                out[key] = _with_defaults(copy.deepcopy(prop["default"]), prop, root)
        return out
    if isinstance(data, list) and "items" in sub:
        return [_with_defaults(item, sub["items"], root) for item in data]
    return data


def schema_defaults(definition: str, given: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``given`` (document form) with every default of ``$defs/<definition>`` filled in.

    Not validated: a caller that builds values outside a config file (a test, a tool) states
    the required fields itself and gets the schema's word for everything else.
    """
    schema = config_schema()
    doc = _with_defaults(dict(given or {}), schema["$defs"][definition], schema)
    assert isinstance(doc, dict)
    return doc


# --------------------------------------------------------------------------- the stage


def validated_document(data: object, problems: Problems) -> dict[str, Any]:
    """Schema-valid ``data`` with every default filled in; else raise with every problem.

    One reason per field: a wrong type (or a non-finite number) hides the bound checks that
    would also fail for the same value.
    """
    if not isinstance(data, dict):
        problems.add(
            (), f"the top level must be a mapping with a 'pools' list; got {type_name(data)}"
        )
        problems.raise_if_any()
    _non_finite(data, (), problems)
    found = [
        (err.validator, path, reason)
        for err in _validator().iter_errors(data)
        for path, reason in _schema_reasons(err)
    ]
    settled = problems.paths() | {path for keyword, path, _ in found if keyword == "type"}
    for keyword, path, reason in found:
        if keyword == "type" or path not in settled:
            problems.add(path, reason)
    problems.raise_if_any()
    schema = config_schema()
    doc = _with_defaults(data, schema, schema)
    assert isinstance(doc, dict)
    return doc
