"""Configuration: what a poolmgr config file may say, and what it means once accepted.

Decides whether a YAML config is acceptable and turns it into typed, frozen values. Serves
OC-CFG-5001 (validated against the published JSON Schema, unknown fields refused), OC-CFG-5002
(every problem named by file, field path and reason; ``check-config`` exits 2), OC-CFG-5003
(hostile YAML answered with a config error, never a traceback) and OC-CFG-5004 (the auth token
comes from a named variable or file, never from the config itself), plus the config-side
halves of OC-POOL-3017 (CPU pools only when declared), OC-POOL-3020/3022 (device masks, no
overlap unless shared), OC-POOL-3021 / ORCH-3012 (explicit split ratios), OC-POOL-3011
(backoff and breaker settings) and OC-POOL-3051 (an optional model digest pin).

The pipeline, each stage refusing before the next one can be hurt:

1. read: regular file, at most 1 MiB, UTF-8;
2. compose (PyYAML's safe loader, libyaml's parser when present; no objects built yet): at
   most :data:`MAX_ALIASES` alias uses, nesting at most :data:`MAX_DEPTH`, no recursive
   aliases, at most :data:`MAX_NODES` values with aliases expanded, string keys only and no
   duplicate keys (PyYAML would silently keep the last one);
3. construct plain data; non-finite numbers are refused;
4. structure: the JSON Schema (draft 2020-12) shipped as package data in
   ``poolmgr/schema/config.schema.json`` (``spec/config.schema.json`` is a byte-identical
   copy) is the single source of truth for fields, types, bounds and defaults;
5. meaning: unique pool ids and ports, stub knobs only for the stub engine, backoff/breaker
   ordering, a consistent inventory, and CPU pools, device masks and split ratios through
   :func:`poolmgr.core.placement.validate_masks` (placement owns those rules);
6. typed values: :class:`Config` and friends.

All problems found at a stage are reported together as one
:class:`~poolmgr.core.errors.ConfigError`;
no input produces a traceback.
"""

from __future__ import annotations

import argparse
import copy
import difflib
import functools
import json
import math
import os
import stat
import sys
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import jsonschema
import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from poolmgr.core.backoff import BackoffPolicy, Jitter
from poolmgr.core.breaker import BreakerPolicy
from poolmgr.core.errors import ConfigError, ConfigProblem
from poolmgr.core.inventory import GpuDevice, GpuInventory, InventorySource
from poolmgr.core.placement import MaskRequest, validate_masks
from poolmgr.core.vocab import CtxPolicy, Engine

__all__ = [
    "MAX_ALIASES",
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_NODES",
    "AuthConfig",
    "BackoffSettings",
    "BreakerSettings",
    "Config",
    "CtxPolicy",
    "Engine",
    "GpuSpec",
    "ManagerConfig",
    "PoolConfig",
    "ProbeSettings",
    "StubFaults",
    "check_config_main",
    "config_schema",
    "default_config",
    "format_path",
    "load_config",
    "parse_config",
    "read_auth_token",
]

MAX_FILE_BYTES = 1 << 20
"""Largest config file accepted (1 MiB)."""
MAX_ALIASES = 16
"""Most YAML alias uses (``*name``) in one document; more smells of an alias bomb."""
MAX_DEPTH = 32
"""Deepest nesting of YAML collections accepted."""
MAX_NODES = 65_536
"""Most YAML values in a document, aliases expanded (the largest valid config has ~63,000)."""

_SCHEMA_PACKAGE = "poolmgr"
_SCHEMA_PARTS = ("schema", "config.schema.json")

# --------------------------------------------------------------------------- typed values
# The engine and context-policy vocabularies are placement's (poolmgr.core.placement.Engine and
# CtxPolicy); they are re-exported here so config users need one import.


@dataclass(frozen=True)
class BackoffSettings:
    """Restart backoff of one pool (OC-POOL-3011); see ``BackoffPolicy``."""

    initial_ms: int = 1_000
    max_ms: int = 300_000
    multiplier: float = 2.0
    stable_reset_ms: int = 600_000
    jitter: Jitter = Jitter.FULL

    def policy(self) -> BackoffPolicy:
        """The equivalent backoff policy object."""
        return BackoffPolicy(
            initial_ms=self.initial_ms,
            max_ms=self.max_ms,
            multiplier=self.multiplier,
            stable_reset_ms=self.stable_reset_ms,
            jitter=self.jitter,
        )


@dataclass(frozen=True)
class BreakerSettings:
    """Restart circuit breaker of one pool (OC-POOL-3011); see :class:`BreakerPolicy`."""

    failure_threshold: int = 5
    window_ms: int = 120_000
    cooldown_ms: int = 60_000
    cooldown_multiplier: float = 2.0
    max_cooldown_ms: int = 900_000

    def policy(self) -> BreakerPolicy:
        """The equivalent breaker policy object."""
        return BreakerPolicy(
            failure_threshold=self.failure_threshold,
            window_ms=self.window_ms,
            cooldown_ms=self.cooldown_ms,
            cooldown_multiplier=self.cooldown_multiplier,
            max_cooldown_ms=self.max_cooldown_ms,
        )


@dataclass(frozen=True)
class ProbeSettings:
    """Health probing: fast while the engine starts, slow once Ready."""

    starting_interval_ms: int = 25
    ready_interval_ms: int = 1_000
    timeout_ms: int = 1_000
    failure_threshold: int = 3


@dataclass(frozen=True)
class StubFaults:
    """Fault knobs of the built-in stub engine (``None`` = that fault never happens)."""

    preload_delay_ms: int = 0
    fail_preload: str | None = None
    """When set, preload fails with this message."""
    crash_after_ms: int | None = None
    cuda_error_after_ms: int | None = None
    hang_after_ms: int | None = None
    cpu_fallback: bool = False
    """The stub reports that it fell back to the CPU (to exercise OC-POOL-3012)."""


@dataclass(frozen=True)
class PoolConfig:
    """One pool as configured."""

    id: str
    engine: Engine
    model: str
    devices: tuple[int, ...]
    """The device mask: GPU indices, in split order."""
    model_digest: str | None = None
    """Optional ``sha256:<hex>`` pin checked before load (ORCH-3037)."""
    cpu: bool = False
    shared_devices: bool = False
    tensor_split: tuple[float, ...] | None = None
    ctx: int = 4_096
    ctx_policy: CtxPolicy = CtxPolicy.CAP
    slots: int = 4
    quant: str | None = None
    preload: bool = True
    port: int = 0
    """0 = pick a free port at launch."""
    engine_bin: str | None = None
    engine_args: tuple[str, ...] = ()
    backoff: BackoffSettings = BackoffSettings()
    breaker: BreakerSettings = BreakerSettings()
    probe: ProbeSettings = ProbeSettings()
    drain_deadline_ms: int = 30_000
    lease_ttl_ms: int = 300_000
    stub: StubFaults | None = None

    def mask_request(self) -> MaskRequest:
        """This pool's placement request, as ``placement.validate_masks`` takes it."""
        return MaskRequest(
            pool_id=self.id,
            engine=self.engine.value,
            devices=self.devices,
            cpu=self.cpu,
            tensor_split=self.tensor_split,
            shared=self.shared_devices,
        )


@dataclass(frozen=True)
class GpuSpec:
    """One GPU of a static inventory."""

    index: int
    name: str
    total_bytes: int
    free_bytes: int

    def device(self) -> GpuDevice:
        return GpuDevice(self.index, self.name, self.total_bytes, self.free_bytes)


@dataclass(frozen=True)
class AuthConfig:
    """Where the bearer token comes from; exactly one field is set (ORCH-3035)."""

    token_env: str | None = None
    token_file: str | None = None


@dataclass(frozen=True)
class ManagerConfig:
    """The manager process itself."""

    host: str = "127.0.0.1"
    port: int = 8_080
    heartbeat_stale_ms: int = 5_000
    auth: AuthConfig | None = None
    """``None``: no authentication."""
    read_requires_auth: bool = False
    log_dir: str = "./logs"


@dataclass(frozen=True)
class Config:
    """A whole accepted config."""

    manager: ManagerConfig
    inventory: tuple[GpuSpec, ...] | None
    """The static GPU inventory, or ``None`` when the config has none (use NVML)."""
    pools: tuple[PoolConfig, ...]
    source: str
    """Where the config came from (a file path, or ``<default>``)."""

    def gpu_inventory(self) -> GpuInventory | None:
        """The static inventory as :class:`poolmgr.core.inventory.GpuInventory`, if any."""
        if self.inventory is None:
            return None
        return GpuInventory(
            tuple(g.device() for g in self.inventory), source=InventorySource.STATIC
        )

    def pool(self, pool_id: str) -> PoolConfig:
        """The pool called ``pool_id``; ``KeyError`` when there is none."""
        for pool in self.pools:
            if pool.id == pool_id:
                return pool
        raise KeyError(pool_id)


# --------------------------------------------------------------------------- schema

PathT = tuple[str | int, ...]
"""A field path: mapping keys and sequence indices from the document root."""


@functools.cache
def _schema_text() -> str:
    return resources.files(_SCHEMA_PACKAGE).joinpath(*_SCHEMA_PARTS).read_text(encoding="utf-8")


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
    schema = config_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return _ValidatorClass(schema)


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


# --------------------------------------------------------------------------- problems


class _Problems:
    """Problems of one source, each with an optional YAML line for the reader."""

    def __init__(self, source: str, lines: Mapping[PathT, int] | None = None) -> None:
        self.source = source
        self.lines: Mapping[PathT, int] = lines or {}
        self._items: list[tuple[int, PathT, str]] = []

    def add(self, path: PathT, reason: str, *, line: int | None = None) -> None:
        if line is None:
            line = self._line_of(path)
        self._items.append((line or 0, path, reason))

    def _line_of(self, path: PathT) -> int | None:
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return None

    def paths(self) -> set[PathT]:
        return {path for _, path, _ in self._items}

    def __bool__(self) -> bool:
        return bool(self._items)

    def error(self) -> ConfigError:
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


def _short(value: object, limit: int = 48) -> str:
    text = repr(value)
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif value is None:
        text = "null"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _type_name(value: object) -> str:
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


_JSON_TYPE_WORDS = {"object": "mapping", "array": "list"}
_BOUND_NOTES = {604_800_000: " (7 days)", 1 << 50: " (2**50 bytes)"}


def _bound(value: object) -> str:
    return f"{value}{_BOUND_NOTES.get(value, '') if isinstance(value, int) else ''}"


def _schema_reasons(err: jsonschema.ValidationError) -> Iterator[tuple[PathT, str]]:
    """Plain-words reasons for one schema error, each with the path it is about."""
    path: PathT = tuple(err.absolute_path)
    inst: Any = err.instance
    value: Any = err.validator_value
    schema = err.schema if isinstance(err.schema, dict) else {}
    keyword = err.validator
    if keyword == "additionalProperties" and isinstance(inst, dict):
        allowed = sorted(schema.get("properties", {}))
        for key in sorted(k for k in inst if k not in allowed):
            if key == "token" and "token_env" in allowed:
                yield (
                    (*path, key),
                    "a token must never be written in a config file; name the environment "
                    "variable that holds it (token_env) or a file (token_file)",
                )
                continue
            hint = difflib.get_close_matches(key, allowed, n=1)
            maybe = f" (did you mean {hint[0]!r}?)" if hint else ""
            yield (*path, key), f"unknown field{maybe}; allowed here: {', '.join(allowed)}"
    elif keyword == "required" and isinstance(inst, dict):
        for key in value:
            if key not in inst:
                yield (*path, key), "required field is missing"
    elif keyword == "type":
        names = value if isinstance(value, list) else [value]
        wanted = " or ".join(_JSON_TYPE_WORDS.get(str(n), str(n)) for n in names)
        got = f"expected {wanted}, got {_type_name(inst)} {_short(inst)}"
        if "string" in wanted and not isinstance(inst, list | dict):
            got += " (quote it to make it a string)"
        elif "integer" in wanted and isinstance(inst, float):
            got += " (write whole numbers without a decimal point)"
        yield path, got
    elif keyword == "enum":
        yield path, f"must be one of {', '.join(map(str, value))}; got {_short(inst)}"
    elif keyword in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        words = {
            "minimum": "at least",
            "exclusiveMinimum": "greater than",
            "maximum": "at most",
            "exclusiveMaximum": "less than",
        }[keyword]
        yield path, f"must be {words} {_bound(value)}; got {_short(inst)}"
    elif keyword in ("minItems", "maxItems"):
        words = "at least" if keyword == "minItems" else "at most"
        yield path, f"must have {words} {value} item(s); got {len(inst)}"
    elif keyword == "uniqueItems" and isinstance(inst, list):
        counts = Counter(_short(x) for x in inst)  # reprs: items may be unhashable
        dups = sorted(text for text, n in counts.items() if n > 1)
        yield path, f"items must be unique; repeated: {', '.join(dups)}"
    elif keyword == "pattern":
        yield path, f"must match {value}; got {_short(inst)}"
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


# --------------------------------------------------------------------------- reading YAML


class _Refused(Exception):
    """The composer refused the document (too many aliases, too deep, too big)."""

    def __init__(self, reason: str, line: int | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


class _Limits(yaml.composer.Composer):
    """Composer mixin: counts aliases and nesting while composing, before anything is built."""

    _aliases = 0
    _depth = 0
    _nodes = 0

    def _line(self) -> int:
        event = self.peek_event()  # type: ignore[attr-defined]  # provided by the parser
        return int(event.start_mark.line) + 1

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        if self.check_event(yaml.AliasEvent):  # type: ignore[attr-defined]  # the parser's
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise _Refused(
                    f"more than {MAX_ALIASES} YAML aliases (*name); refusing a possible alias bomb",
                    self._line(),
                )
        else:
            self._nodes += 1
            if self._nodes > MAX_NODES:
                raise _Refused(f"more than {MAX_NODES} values in one document", self._line())
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Refused(f"nesting deeper than {MAX_DEPTH} levels", self._line())
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _PyLoader(_Limits, yaml.SafeLoader):
    """Pure-Python safe loader with the limits."""


_LOADERS: list[type[_Limits]] = [_PyLoader]

try:
    from yaml._yaml import CParser

    class _FastLoader(_Limits, CParser, yaml.constructor.SafeConstructor, yaml.resolver.Resolver):
        """libyaml's parser makes the events; composing stays in Python (with the limits).

        The pure-Python scanner is about twenty times slower, which a 1 MiB file of tiny
        items turns into tens of seconds; libyaml's own (recursive) composer is never used.
        """

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            yaml.composer.Composer.__init__(self)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)

    _LOADERS.insert(0, _FastLoader)
except ImportError:  # PyYAML built without libyaml: the pure-Python loader does the job
    pass


_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _NodeWalk:
    """Checks a composed YAML tree: cycles, size, key types, duplicate keys; records lines."""

    def __init__(self, problems: _Problems) -> None:
        self.problems = problems
        self.lines: dict[PathT, int] = {}
        self._count = 0
        self._stack: set[int] = set()

    def walk(self, node: Node, path: PathT) -> None:
        self._count += 1
        if self._count > MAX_NODES:
            raise _Refused(
                f"more than {MAX_NODES} values after expanding aliases", node.start_mark.line + 1
            )
        line = int(node.start_mark.line) + 1
        self.lines.setdefault(path, line)
        if id(node) in self._stack:
            self.problems.add(path, "recursive alias: a value contains itself", line=line)
            return
        self._stack.add(id(node))
        try:
            if isinstance(node, MappingNode):
                self._mapping(node, path)
            elif isinstance(node, SequenceNode):
                for i, child in enumerate(node.value):
                    self.walk(child, (*path, i))
        finally:
            self._stack.discard(id(node))

    def _mapping(self, node: MappingNode, path: PathT) -> None:
        first: dict[str, int] = {}
        for key_node, value_node in node.value:
            line = int(key_node.start_mark.line) + 1
            if key_node.tag == _MERGE_TAG:
                # `<<: *base` merges keys that later explicit keys may override.
                self.walk(value_node, path)
                continue
            if not isinstance(key_node, ScalarNode) or key_node.tag != _STR_TAG:
                shown = key_node.value if isinstance(key_node, ScalarNode) else "a collection"
                self.problems.add(
                    path,
                    f"field names must be strings; got {_short(shown)} "
                    "(quote it if it is meant as a name)",
                    line=line,
                )
                continue
            key = str(key_node.value)
            if key in first:
                self.problems.add(
                    (*path, key),
                    f"duplicate key (first at line {first[key]}); YAML would silently keep "
                    "only the last value",
                    line=line,
                )
                continue
            first[key] = line
            self.walk(value_node, (*path, key))


def _yaml_error_reason(exc: yaml.YAMLError, text: str) -> str:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}"
        what = exc.problem or "invalid YAML"
        if exc.context and exc.context_mark is not None:
            what += f" ({exc.context} at line {exc.context_mark.line + 1})"
        return f"invalid YAML at {where}: {what}"
    if isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, max(exc.position, 0)) + 1
        return f"unacceptable character #x{exc.character:04x} at line {line}"
    return f"invalid YAML: {str(exc)[:200]}"


def _non_finite(data: object, path: PathT, problems: _Problems) -> None:
    if isinstance(data, float) and not math.isfinite(data):
        problems.add(path, f"must be a finite number; got {_short(data)}")
    elif isinstance(data, dict):
        for key, value in data.items():
            _non_finite(value, (*path, key), problems)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            _non_finite(value, (*path, i), problems)


def _load_yaml(
    text: str, source: str, loader_class: type[_Limits] | None = None
) -> tuple[object, dict[PathT, int]]:
    """Compose, check and construct ``text``; raises ConfigError with every problem found."""
    problems = _Problems(source)
    loader: Any = None
    try:
        # The reader refuses control characters as soon as the loader is made.
        loader = (loader_class or _LOADERS[0])(text)  # type: ignore[call-arg]
        node = loader.get_single_node()
        if node is None:
            problems.add((), "the file is empty; expected a mapping with a 'pools' list")
            raise problems.error()
        walk = _NodeWalk(problems)
        walk.walk(node, ())
        problems.raise_if_any()
        data: object = loader.construct_document(node)
        return data, walk.lines
    except _Refused as exc:
        problems.add((), exc.reason, line=exc.line)
    except yaml.YAMLError as exc:
        problems.add((), _yaml_error_reason(exc, text))
    except (ValueError, OverflowError, RecursionError) as exc:
        # int() refuses numbers longer than 4300 digits; nothing else is expected here.
        reason = "a number has too many digits" if "digits" in str(exc) else str(exc)[:200]
        problems.add((), f"cannot read a value: {reason}")
    finally:
        if loader is not None:
            loader.dispose()
    raise problems.error()


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


# --------------------------------------------------------------------------- meaning


def _semantic_checks(doc: Mapping[str, Any], problems: _Problems) -> None:
    """Cross-field rules the schema cannot express; ``doc`` is schema-valid with defaults."""
    pools: list[dict[str, Any]] = doc["pools"]
    manager: Mapping[str, Any] = doc.get("manager", {})
    manager_port = manager.get("port", ManagerConfig.port)

    first_id: dict[str, int] = {}
    first_port: dict[int, int] = {}
    for i, pool in enumerate(pools):
        here: PathT = ("pools", i)
        pid = pool["id"]
        if pid in first_id:
            problems.add(
                (*here, "id"), f"duplicate pool id {pid!r}; first used by pools[{first_id[pid]}]"
            )
        else:
            first_id[pid] = i
        port = pool["port"]
        if port:
            if port in first_port:
                j = first_port[port]
                problems.add(
                    (*here, "port"), f"port {port} is already used by pools[{j}] ({pools[j]['id']})"
                )
            else:
                first_port[port] = i
            if port == manager_port:
                problems.add((*here, "port"), f"port {port} is the manager's own port")
        if pool["stub"] is not None and pool["engine"] != Engine.STUB:
            problems.add(
                (*here, "stub"),
                f"stub fault knobs are only valid with engine: stub (this pool's engine is "
                f"{pool['engine']})",
            )
        backoff = pool["backoff"]
        if backoff["max_ms"] < backoff["initial_ms"]:
            problems.add(
                (*here, "backoff", "max_ms"),
                f"must be at least initial_ms ({backoff['initial_ms']}); got {backoff['max_ms']}",
            )
        breaker = pool["breaker"]
        if breaker["max_cooldown_ms"] < breaker["cooldown_ms"]:
            problems.add(
                (*here, "breaker", "max_cooldown_ms"),
                f"must be at least cooldown_ms ({breaker['cooldown_ms']}); "
                f"got {breaker['max_cooldown_ms']}",
            )

    inventory = _checked_inventory(doc, problems)
    requests = [_pool_value(p).mask_request() for p in pools]
    for placement_problem in validate_masks(requests, inventory):
        index = first_id.get(placement_problem.pool_id)
        if index is None:  # not one of ours: report it against the pool list itself
            problems.add(("pools",), f"{placement_problem.pool_id}: {placement_problem.reason}")
            continue
        problems.add(
            _field_path(("pools", index), placement_problem.field), placement_problem.reason
        )


def _field_path(base: PathT, field: str) -> PathT:
    """``("pools", 1)`` + ``"tensor_split[0]"`` -> ``("pools", 1, "tensor_split", 0)``."""
    out: list[str | int] = list(base)
    for part in field.replace("[", ".[").split("."):
        if not part:
            continue
        if part.startswith("[") and part.endswith("]") and part[1:-1].isdigit():
            out.append(int(part[1:-1]))
        else:
            out.append(part)
    return tuple(out)


def _checked_inventory(doc: Mapping[str, Any], problems: _Problems) -> GpuInventory | None:
    """The static inventory, or ``None`` when absent or itself invalid (problems reported)."""
    if "inventory" not in doc:
        return None
    gpus: list[dict[str, Any]] = doc["inventory"]["gpus"]
    ok = True
    first: dict[int, int] = {}
    for i, gpu in enumerate(gpus):
        here: PathT = ("inventory", "gpus", i)
        if gpu["index"] in first:
            ok = False
            problems.add(
                (*here, "index"),
                f"duplicate GPU index {gpu['index']}; "
                f"first at inventory.gpus[{first[gpu['index']]}]",
            )
        else:
            first[gpu["index"]] = i
        if gpu["free_bytes"] > gpu["total_bytes"]:
            ok = False
            problems.add(
                (*here, "free_bytes"),
                f"must not exceed total_bytes ({gpu['total_bytes']}); got {gpu['free_bytes']}",
            )
    if not ok:
        return None
    return GpuInventory(tuple(GpuSpec(**g).device() for g in gpus), source=InventorySource.STATIC)


# --------------------------------------------------------------------------- typed values from data


def _pool_value(p: Mapping[str, Any]) -> PoolConfig:
    split = p["tensor_split"]
    stub = p["stub"]
    backoff = dict(p["backoff"])
    backoff["multiplier"] = float(backoff["multiplier"])
    backoff["jitter"] = Jitter(backoff["jitter"])
    breaker = dict(p["breaker"])
    breaker["cooldown_multiplier"] = float(breaker["cooldown_multiplier"])
    return PoolConfig(
        id=p["id"],
        engine=Engine(p["engine"]),
        model=p["model"],
        model_digest=p["model_digest"],
        devices=tuple(p["devices"]),
        cpu=p["cpu"],
        shared_devices=p["shared_devices"],
        tensor_split=None if split is None else tuple(float(r) for r in split),
        ctx=p["ctx"],
        ctx_policy=CtxPolicy(p["ctx_policy"]),
        slots=p["slots"],
        quant=p["quant"],
        preload=p["preload"],
        port=p["port"],
        engine_bin=p["engine_bin"],
        engine_args=tuple(p["engine_args"]),
        backoff=BackoffSettings(**backoff),
        breaker=BreakerSettings(**breaker),
        probe=ProbeSettings(**p["probe"]),
        drain_deadline_ms=p["drain_deadline_ms"],
        lease_ttl_ms=p["lease_ttl_ms"],
        stub=None if stub is None else StubFaults(**stub),
    )


def _config_value(doc: Mapping[str, Any], source: str) -> Config:
    manager = dict(doc.get("manager", {}))
    auth = manager.pop("auth", None)
    manager_value = ManagerConfig(**manager, auth=None if auth is None else AuthConfig(**auth))
    inventory = (
        tuple(GpuSpec(**g) for g in doc["inventory"]["gpus"]) if "inventory" in doc else None
    )
    return Config(
        manager=manager_value,
        inventory=inventory,
        pools=tuple(_pool_value(p) for p in doc["pools"]),
        source=source,
    )


# --------------------------------------------------------------------------- public API


def parse_config(text: str, source: str) -> Config:
    """Validate config ``text`` (YAML) and return it typed; ``source`` names it in problems.

    Raises :class:`ConfigError` carrying every problem found; never anything else.
    """
    # str subclasses (behave hands doc strings over as one) confuse libyaml's reader.
    data, lines = _load_yaml(str(text), source)
    problems = _Problems(source, lines)
    if not isinstance(data, dict):
        problems.add(
            (), f"the top level must be a mapping with a 'pools' list; got {_type_name(data)}"
        )
        problems.raise_if_any()
    _non_finite(data, (), problems)
    # One reason per field is clearer: a wrong type (or a non-finite number) hides the
    # bound checks that would also fail for the same value.
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
    _semantic_checks(doc, problems)
    problems.raise_if_any()
    return _config_value(doc, source)


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and validate the config file at ``path``.

    Raises :class:`ConfigError` (naming the file) for a missing, unreadable, oversized or
    non-UTF-8 file as well as for any problem in its content.
    """
    source = os.fspath(path)
    problems = _Problems(source)
    try:
        info = os.stat(source)
        if stat.S_ISDIR(info.st_mode):
            problems.add((), "is a directory, not a config file")
        elif not stat.S_ISREG(info.st_mode):
            problems.add((), "is not a regular file")
        elif info.st_size > MAX_FILE_BYTES:
            problems.add((), f"file is {info.st_size} bytes; the limit is {MAX_FILE_BYTES} (1 MiB)")
        problems.raise_if_any()
        with open(source, "rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        problems.add((), "file not found")
        raise problems.error() from None
    except OSError as exc:
        problems.add((), f"cannot read the file: {exc.strerror or exc}")
        raise problems.error() from None
    except ValueError as exc:  # e.g. an embedded NUL byte in the path
        problems.add((), f"cannot read the file: {exc}")
        raise problems.error() from None
    if len(raw) > MAX_FILE_BYTES:
        problems.add((), f"file is larger than {MAX_FILE_BYTES} bytes (1 MiB)")
        problems.raise_if_any()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        problems.add((), f"not UTF-8 text: byte 0x{raw[exc.start]:02x} at line {line}")
        raise problems.error() from None
    return parse_config(text, source)


_DEFAULT_CONFIG_YAML = """\
# Two CPU pools on the built-in stub engine: what `poolmgr serve` runs without a config.
pools:
  - {id: alpha, engine: stub, model: "stub://alpha", devices: [], cpu: true, slots: 4}
  - {id: beta, engine: stub, model: "stub://beta", devices: [], cpu: true, slots: 4}
"""


def default_config() -> Config:
    """The embedded default: stub-engine CPU pools ``alpha`` and ``beta``, four slots each."""
    return parse_config(_DEFAULT_CONFIG_YAML, "<default>")


_MAX_TOKEN_FILE_BYTES = 64 * 1024


def read_auth_token(config: Config, environ: Mapping[str, str] | None = None) -> str | None:
    """The control-plane token from where the config says it lives (OC-CFG-5004).

    ``None`` when the config has no ``manager.auth``. An unset or empty variable, or a
    missing, unreadable or empty file, raises :class:`ConfigError` naming the field; no
    message ever contains the token. A file's content is stripped of surrounding whitespace.
    """
    auth = config.manager.auth
    if auth is None:
        return None
    problems = _Problems(config.source)
    env = os.environ if environ is None else environ
    if auth.token_env is not None:
        token = env.get(auth.token_env, "").strip()
        if not token:
            problems.add(
                ("manager", "auth", "token_env"),
                f"environment variable {auth.token_env} is unset or empty",
            )
            raise problems.error()
        return token
    assert auth.token_file is not None
    field: PathT = ("manager", "auth", "token_file")
    try:
        with open(auth.token_file, "rb") as handle:
            raw = handle.read(_MAX_TOKEN_FILE_BYTES + 1)
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        problems.add(field, f"cannot read token file {auth.token_file}: {reason}")
        raise problems.error() from None
    if len(raw) > _MAX_TOKEN_FILE_BYTES:
        problems.add(field, f"token file {auth.token_file} is larger than 64 KiB")
        raise problems.error()
    try:
        token = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        problems.add(field, f"token file {auth.token_file} is not UTF-8 text")
        raise problems.error() from None
    if not token:
        problems.add(field, f"token file {auth.token_file} is empty")
        raise problems.error()
    return token


def check_config_main(argv: list[str]) -> int:
    """``poolmgr check-config FILE...``: 0 when every file is valid, 2 otherwise.

    Each problem goes to stderr as ``file: path: reason``; each valid file to stdout as
    ``file: ok (N pools)``.
    """
    parser = argparse.ArgumentParser(
        prog="poolmgr check-config", description="Validate poolmgr config files."
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="config file(s) to check")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else 2
    status = 0
    for name in args.files:
        try:
            config = load_config(name)
        except ConfigError as exc:
            status = 2
            for problem in exc.problems:
                print(problem, file=sys.stderr)
            continue
        count = len(config.pools)
        print(f"{name}: ok ({count} pool{'s' if count != 1 else ''})")
    return status


if __name__ == "__main__":
    raise SystemExit(check_config_main(sys.argv[1:]))
