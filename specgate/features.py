"""Scenarios of Gherkin feature files, read with the official Gherkin parser.

Decides what a scenario is for traceability: one pickle of the official ``gherkin`` compiler
(an outline yields one scenario per example row), with its tags inherited from Feature, Rule,
Scenario and Examples, its steps (background included) with their keywords, and the lines that
runners report (the scenario line, or the example row line for outline rows).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from specgate import ids
from specgate.cache import ParseCache, code_version, parallel_map, sha256_bytes
from specgate.paths import display_path

CACHE_VERSION = f"features;gherkin-{metadata.version('gherkin-official')};" + code_version(
    "features.py", "ids.py"
)


@dataclass(frozen=True)
class Step:
    keyword: str
    text: str


@dataclass(frozen=True)
class Scenario:
    """One runnable scenario (an outline row counts as one).

    ``feature`` is the file's display path; ``rel`` its path below the features directory (what
    results files are matched against); ``line`` the scenario line or, for an outline row, the
    example row line; ``scenario_line`` the line of the Scenario (Outline) keyword.
    """

    feature: str
    rel: str
    feature_name: str
    name: str
    keyword: str
    line: int
    scenario_line: int
    examples: str
    example_values: tuple[str, ...]
    tags: tuple[str, ...]
    steps: tuple[Step, ...]

    @property
    def key(self) -> str:
        return f"{self.feature}:{self.line}"

    @property
    def id_tags(self) -> tuple[str, ...]:
        return tuple(t for t in self.tags if ids.looks_like_id_tag(t))

    def to_json(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "rel": self.rel,
            "feature_name": self.feature_name,
            "name": self.name,
            "keyword": self.keyword,
            "line": self.line,
            "scenario_line": self.scenario_line,
            "examples": self.examples,
            "example_values": list(self.example_values),
            "tags": list(self.tags),
            "steps": [[s.keyword, s.text] for s in self.steps],
        }

    @staticmethod
    def from_json(data: dict[str, Any]) -> Scenario:
        return Scenario(
            feature=data["feature"],
            rel=data["rel"],
            feature_name=data["feature_name"],
            name=data["name"],
            keyword=data["keyword"],
            line=data["line"],
            scenario_line=data["scenario_line"],
            examples=data["examples"],
            example_values=tuple(data["example_values"]),
            tags=tuple(data["tags"]),
            steps=tuple(Step(k, t) for k, t in data["steps"]),
        )


class FeatureParseError(Exception):
    """A feature file the Gherkin parser rejects; ``messages`` are ``file:line:col: text``."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("\n".join(messages))
        self.messages = messages


@dataclass(frozen=True)
class _Node:
    keyword: str
    line: int
    examples: str = ""
    values: tuple[str, ...] = ()


def _index_nodes(children: Iterable[dict[str, Any]], nodes: dict[str, _Node]) -> None:
    for child in children:
        if "rule" in child:
            _index_nodes(child["rule"].get("children", []), nodes)
            continue
        block = child.get("background") or child.get("scenario")
        if block is None:
            continue
        nodes[block["id"]] = _Node(block["keyword"].strip(), block["location"]["line"])
        for step in block.get("steps", []):
            nodes[step["id"]] = _Node(step["keyword"].strip(), step["location"]["line"])
        for examples in block.get("examples", []):
            for row in examples.get("tableBody", []):
                values = tuple(cell["value"] for cell in row["cells"])
                nodes[row["id"]] = _Node("", row["location"]["line"], examples["name"], values)


_ERROR_AT = re.compile(r"\((\d+):(\d+)\): ")


def _locate(feature: str, message: str) -> str:
    """``(9:3): text`` from the parser becomes ``feature:9:3: text``."""
    match = _ERROR_AT.match(message)
    if match is None:
        return f"{feature}: {message}"
    return f"{feature}:{match.group(1)}:{match.group(2)}: {message[match.end() :]}"


def _dedupe(tags: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(tags))


def parse_feature_text(text: str, feature: str, rel: str) -> list[Scenario]:
    """Scenarios of one feature file; raises ``FeatureParseError`` with every parser error."""
    # Imported here: warm runs take every scenario from the cache and never need the parser.
    from gherkin import Compiler, Parser
    from gherkin.errors import CompositeParserException, ParserError

    try:
        document: Any = Parser().parse(text)
    except (CompositeParserException, ParserError) as exc:
        errors = getattr(exc, "errors", None) or [exc]
        raise FeatureParseError([_locate(feature, str(err)) for err in errors]) from exc
    gherkin_feature: Any = document.get("feature")
    if not gherkin_feature:
        return []
    nodes: dict[str, _Node] = {}
    _index_nodes(gherkin_feature.get("children", []), nodes)
    document_with_uri: Any = {**document, "uri": rel}
    scenarios = []
    for pickle in Compiler().compile(document_with_uri):
        outline = nodes[pickle["astNodeIds"][0]]
        row = nodes.get(pickle["astNodeIds"][1]) if len(pickle["astNodeIds"]) > 1 else None
        steps = tuple(Step(nodes[s["astNodeIds"][0]].keyword, s["text"]) for s in pickle["steps"])
        scenarios.append(
            Scenario(
                feature=feature,
                rel=rel,
                feature_name=gherkin_feature["name"],
                name=pickle["name"],
                keyword=outline.keyword,
                line=pickle["location"]["line"],
                scenario_line=outline.line,
                examples=row.examples if row else "",
                example_values=row.values if row else (),
                tags=_dedupe(t["name"].lstrip("@") for t in pickle["tags"]),
                steps=steps,
            )
        )
    return scenarios


def _parse_job(job: tuple[str, str, bytes]) -> list[dict[str, Any]] | list[str]:
    """Worker: JSON-ready scenarios, or (on a parse error) a list of error strings."""
    feature, rel, data = job
    try:
        return [s.to_json() for s in parse_feature_text(data.decode("utf-8"), feature, rel)]
    except FeatureParseError as exc:
        return exc.messages
    except UnicodeDecodeError as exc:
        return [f"{feature}: not valid UTF-8 ({exc.reason})"]


def feature_files(features_dir: Path) -> list[Path]:
    return sorted(p for p in features_dir.rglob("*.feature") if p.is_file())


def _is_error_list(value: list[Any]) -> bool:
    return bool(value) and all(isinstance(v, str) for v in value)


def load_features(
    features_dir: Path, cache_dir: Path | None = None, *, write_cache: bool = True
) -> list[Scenario]:
    """Every scenario under ``features_dir`` (``**/*.feature``, sorted; cached by content)."""
    cache = ParseCache(cache_dir, "gherkin", CACHE_VERSION)
    paths = feature_files(features_dir)
    per_file: list[list[Any] | None] = []
    todo: list[tuple[int, tuple[str, str, bytes], str]] = []
    for index, path in enumerate(paths):
        shown = display_path(path)
        rel = path.relative_to(features_dir).as_posix()
        data = path.read_bytes()
        key = ParseCache.key(f"{shown}\0{rel}", sha256_bytes(data))
        cached = cache.get(key)
        per_file.append(cached)
        if cached is None:
            todo.append((index, (shown, rel, data), key))
    fresh = parallel_map(_parse_job, [job for _, job, _ in todo], [len(j[2]) for _, j, _ in todo])
    errors: list[str] = []
    for (index, _, key), value in zip(todo, fresh, strict=True):
        per_file[index] = value
        if _is_error_list(value):
            errors.extend(str(v) for v in value)
        else:
            cache.put(key, value)
    if write_cache:
        cache.save()
    if errors:
        raise FeatureParseError(errors)
    return list(_flatten(per_file))


def _flatten(per_file: list[list[Any] | None]) -> Iterator[Scenario]:
    for entries in per_file:
        for entry in entries or ():
            yield Scenario.from_json(entry)
