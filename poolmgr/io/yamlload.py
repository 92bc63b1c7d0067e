"""The bounded YAML reader: a config file read and parsed without letting it hurt the reader.

Decides what input is refused before anything is built from it. Serves OC-CFG-5003 (hostile
YAML answered with a config error, never a traceback) and OC-CFG-5002 (each refusal names the
file and, where known, the line). The stages, each refusing before the next can be hurt:

1. read (:func:`read_config_text`): a regular file, at most :data:`MAX_FILE_BYTES`, UTF-8;
2. compose (:func:`load_yaml`; PyYAML's safe loader, libyaml's parser when present; no objects
   built yet): nesting at most :data:`MAX_DEPTH`, no recursive aliases, at most
   :data:`MAX_NODES` values with every alias expanded, string keys only and no duplicate keys
   (PyYAML would silently keep the last one). Aliases themselves are not limited: twenty
   pools sharing one ``&backoff`` anchor are an ordinary config, while an alias bomb (a few
   lines that expand to billions of values) passes the node limit after 65,536 values and is
   refused there, before anything is built (OC-CFG-5003, OC-CFG-5008);
3. construct plain data (lists, dicts, scalars), with the line of every field path recorded
   so later stages can say where a problem is.

What the data may say is not decided here (that is :mod:`poolmgr.config`).
"""

from __future__ import annotations

import os
import stat
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from poolmgr.core.problems import FieldPath, Problems, short_repr

__all__ = [
    "LOADERS",
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_NODES",
    "load_yaml",
    "read_config_text",
]

MAX_FILE_BYTES = 1 << 20
"""Largest config file accepted (1 MiB)."""
MAX_DEPTH = 32
"""Deepest nesting of YAML collections accepted."""
MAX_NODES = 65_536
"""Most YAML values in a document, aliases expanded (the largest valid config has ~63,000)."""


# --------------------------------------------------------------------------- reading the file


def read_config_text(path: str | os.PathLike[str]) -> str:
    """The text of the config file at ``path``.

    Raises :class:`~poolmgr.core.errors.ConfigError` (naming the file) for a missing,
    unreadable, oversized or non-UTF-8 file. A UTF-8 byte order mark is dropped.
    """
    source = os.fspath(path)
    problems = Problems(source)
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
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        problems.add((), f"not UTF-8 text: byte 0x{raw[exc.start]:02x} at line {line}")
        raise problems.error() from None


# --------------------------------------------------------------------------- composing with limits


class _Refused(Exception):
    """The composer refused the document (too many aliases, too deep, too big)."""

    def __init__(self, reason: str, line: int | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


class _Limits(yaml.composer.Composer):
    """Composer mixin: counts values and nesting while composing, before anything is built."""

    _depth = 0
    _nodes = 0

    def _line(self) -> int:
        event = self.peek_event()  # type: ignore[attr-defined]  # provided by the parser
        return int(event.start_mark.line) + 1

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        # An alias (*name) adds no node here; _NodeWalk counts what it expands to.
        if not self.check_event(yaml.AliasEvent):  # type: ignore[attr-defined]  # the parser's
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


LOADERS: list[type[_Limits]] = [_PyLoader]
"""The loaders available, fastest first (tests run every one)."""

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

    LOADERS.insert(0, _FastLoader)
except ImportError:  # PyYAML built without libyaml: the pure-Python loader does the job
    pass


_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _NodeWalk:
    """Checks a composed YAML tree: cycles, size, key types, duplicate keys; records lines."""

    def __init__(self, problems: Problems) -> None:
        self.problems = problems
        self.lines: dict[FieldPath, int] = {}
        self._count = 0
        self._stack: set[int] = set()

    def walk(self, node: Node, path: FieldPath) -> None:
        self._count += 1
        if self._count > MAX_NODES:
            raise _Refused(
                f"more than {MAX_NODES} values once YAML aliases (*name) are expanded; "
                "refusing a possible alias bomb",
                node.start_mark.line + 1,
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

    def _mapping(self, node: MappingNode, path: FieldPath) -> None:
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
                    f"field names must be strings; got {short_repr(shown)} "
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


def load_yaml(
    text: str, source: str, loader_class: type[_Limits] | None = None
) -> tuple[object, dict[FieldPath, int]]:
    """Compose, check and construct ``text``: the plain data and the line of each field path.

    Raises :class:`~poolmgr.core.errors.ConfigError` with every problem found; ``source``
    names the text in them. ``loader_class`` picks one of :data:`LOADERS` (default: the first).
    """
    problems = Problems(source)
    loader: Any = None
    try:
        # The reader refuses control characters as soon as the loader is made.
        loader = (loader_class or LOADERS[0])(text)  # type: ignore[call-arg]
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
