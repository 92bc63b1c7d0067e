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
import json.encoder
import re
from collections.abc import Callable, Mapping, Sequence

from specgate.errors import YamlShapeError

# Characters YAML 1.1 treats as line breaks or non-printable, which json.dumps leaves raw.
_YAML_UNSAFE_RE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]")


_encode_basestring: Callable[[str], str] = (
    getattr(json.encoder, "c_encode_basestring", None) or json.encoder.py_encode_basestring
)


def quote(value: str) -> str:
    """A YAML double-quoted scalar for ``value`` (a JSON string, YAML line breaks escaped)."""
    dumped = _encode_basestring(value)
    if _YAML_UNSAFE_RE.search(dumped) is None:
        return dumped
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


_MAPPING_LINE = re.compile(
    r'  ("(?:[^"\\]+|\\.)*"|[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+): ("(?:[^"\\]+|\\.)*")\n?\Z'
)


_RECORD_LINE_RE = re.compile(r'^(- |  )([A-Za-z_][A-Za-z0-9_]*): ("[^\n]*")$', re.MULTILINE)


def _fast_records(text: str) -> list[dict[str, str]] | None:
    """Records of a file in exactly the ``dump_records`` shape, else None.

    One multi-line regex finds every ``key: "value"`` line (each line must match); the quoted
    values are then decoded by a single ``json.loads`` over all of them, many times faster
    than decoding them one by one.
    """
    lines = text.splitlines()
    skip = 0
    while skip < len(lines) and (not lines[skip] or lines[skip].startswith("#")):
        skip += 1
    body = lines[skip:]
    if body == ["[]"]:
        return []
    found = _RECORD_LINE_RE.findall("\n".join(body))
    if len(found) != len(body):
        return None
    values = _decode_all([raw for _, _, raw in found])
    if values is None:
        return None
    records: list[dict[str, str]] = []
    for (lead, key, _), value in zip(found, values, strict=True):
        if lead == "- ":
            records.append({})
        elif not records or key in records[-1]:
            return None
        records[-1][key] = value
    return records


def _decode_all(raws: list[str]) -> list[str] | None:
    """Decode JSON string literals in one call; None unless each one is exactly one string."""
    if not raws:
        return []
    try:
        values = json.loads("[" + ",".join(raws) + "]")
    except ValueError:
        return None
    if len(values) != len(raws) or not all(isinstance(v, str) for v in values):
        return None
    return [str(v) for v in values]


def _safe_load(text: str) -> object:
    import yaml  # only for files this module did not write: the fast paths need no PyYAML

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise YamlShapeError(f"not valid YAML: {exc}") from exc


def load_records(text: str) -> list[dict[str, str]]:
    """Read a list of flat string mappings (fast path for files written by ``dump_records``)."""
    fast = _fast_records(text)
    if fast is not None:
        return fast
    data = _safe_load(text)
    if data is None:
        return []
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise YamlShapeError("expected a list of mappings")
    return [{str(k): "" if v is None else str(v) for k, v in item.items()} for item in data]


def _fast_mapping(name: str, text: str) -> dict[str, str] | None:
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    if not lines or lines[0] != f"{name}:":
        return None
    keys: list[str] = []
    raws: list[str] = []
    for line in lines[1:]:
        match = _MAPPING_LINE.match(line)
        if match is None:
            return None
        keys.append(match.group(1))
        raws.append(match.group(2))
    values = _decode_all(raws)
    quoted = _decode_all([k for k in keys if k.startswith('"')])
    if values is None or quoted is None:
        return None
    unquoted = iter(quoted)
    return {
        (next(unquoted) if k.startswith('"') else k): v for k, v in zip(keys, values, strict=True)
    }


def load_mapping(name: str, text: str) -> dict[str, str]:
    """Read ``{name: {key: value}}`` (fast path for files written by ``dump_mapping``)."""
    fast = _fast_mapping(name, text)
    if fast is not None:
        return fast
    data = _safe_load(text)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise YamlShapeError(f"expected a mapping with a {name!r} key")
    inner = data.get(name) or {}
    if not isinstance(inner, dict):
        raise YamlShapeError(f"{name!r} must be a mapping")
    return {str(k): str(v) for k, v in inner.items()}
