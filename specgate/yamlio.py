"""Deterministic YAML for the generated files (requirements and the review lock).

Decides the exact bytes of generated YAML: a header comment, then a list of flat mappings (or
one flat mapping) whose values are double-quoted strings. PyYAML's emitter takes over a second
for 10,000 requirements and its loader longer, so this module writes that narrow subset by hand
(double-quoted YAML scalars are a superset of JSON strings, so ``json.dumps`` does the quoting)
and reads it back with ``json.loads`` per line. Anything that is not in that exact shape, such
as a hand-edited file, is read with ``yaml.safe_load`` instead, so every valid YAML file loads.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence

import yaml

# Characters YAML 1.1 treats as line breaks or non-printable, which json.dumps leaves raw.
_YAML_UNSAFE_RE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]")


def quote(value: str) -> str:
    """A YAML double-quoted scalar for ``value``."""
    dumped = json.dumps(value, ensure_ascii=False)
    return _YAML_UNSAFE_RE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", dumped)


# Keys that read back as the same string when left unquoted: an uppercase start and a hyphen
# rule out YAML's booleans, nulls and numbers (requirement IDs are always of this shape).
_PLAIN_KEY = re.compile(r"[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+\Z")


def _key(key: str) -> str:
    return key if _PLAIN_KEY.match(key) else quote(key)


def _header(comments: Sequence[str]) -> list[str]:
    return [f"# {line}".rstrip() + "\n" for line in comments]


def dump_records(records: Sequence[Mapping[str, str]], comments: Sequence[str]) -> str:
    """A YAML list of flat string mappings, keys in the given order."""
    out = _header(comments)
    if not records:
        out.append("[]\n")
    for record in records:
        lead = "- "
        for key, value in record.items():
            out.append(f"{lead}{key}: {quote(value)}\n")
            lead = "  "
    return "".join(out)


def dump_mapping(name: str, mapping: Mapping[str, str], comments: Sequence[str]) -> str:
    """A YAML document ``{name: {key: value, ...}}`` with keys in the given order."""
    out = _header(comments)
    if not mapping:
        out.append(f"{name}: {{}}\n")
    else:
        out.append(f"{name}:\n")
        out.extend(f"  {_key(k)}: {quote(v)}\n" for k, v in mapping.items())
    return "".join(out)


_RECORD_LINE = re.compile(r'(- |  )([A-Za-z_][A-Za-z0-9_]*): ("(?:[^"\\]|\\.)*")\n?\Z')
_MAPPING_LINE = re.compile(
    r'  ("(?:[^"\\]|\\.)*"|[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+): ("(?:[^"\\]|\\.)*")\n?\Z'
)


class YamlShapeError(ValueError):
    """The document is valid YAML but not the shape the caller needs."""


def _fast_records(text: str) -> list[dict[str, str]] | None:
    records: list[dict[str, str]] = []
    body = False
    for line in text.splitlines():
        if not body and (not line or line.startswith("#")):
            continue
        if not body and line == "[]":
            body = True
            records = []
            continue
        match = _RECORD_LINE.match(line)
        if match is None:
            return None
        body = True
        lead, key, value = match.groups()
        if lead == "- ":
            records.append({})
        elif not records or key in records[-1]:
            return None
        records[-1][key] = json.loads(value)
    return records


def load_records(text: str) -> list[dict[str, str]]:
    """Read a list of flat string mappings (fast path for files written by ``dump_records``)."""
    fast = _fast_records(text)
    if fast is not None:
        return fast
    data = yaml.safe_load(text)
    if data is None:
        return []
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise YamlShapeError("expected a list of mappings")
    return [{str(k): "" if v is None else str(v) for k, v in item.items()} for item in data]


def load_mapping(name: str, text: str) -> dict[str, str]:
    """Read ``{name: {key: value}}`` (fast path for files written by ``dump_mapping``)."""
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    if lines and lines[0] == f"{name}:":
        result: dict[str, str] = {}
        for line in lines[1:]:
            match = _MAPPING_LINE.match(line)
            if match is None:
                break
            key = match.group(1)
            result[json.loads(key) if key.startswith('"') else key] = json.loads(match.group(2))
        else:
            return result
    data = yaml.safe_load(text)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise YamlShapeError(f"expected a mapping with a {name!r} key")
    inner = data.get(name) or {}
    if not isinstance(inner, dict):
        raise YamlShapeError(f"{name!r} must be a mapping")
    return {str(k): str(v) for k, v in inner.items()}
