"""Scenarios of Gherkin feature files, read once with the official Gherkin parser.

Decides what a scenario is for every specgate tool: one pickle of the official ``gherkin``
compiler (an outline yields one scenario per example row), with its tags inherited from
Feature, Rule, Scenario and Examples, its steps (background included) with their keywords,
kinds and lines, and the lines that runners report (the scenario line, or the example row line
for outline rows). Also reports the shapes no runner reports (a scenario without steps, an
outline without example rows: OC-BDD-7002) and every parser error. Parsed files are cached by
content (see ``specgate.cache``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from specgate.cache import ParseCache, code_version, parallel_map, sha256_bytes
from specgate.errors import FeatureParseError
from specgate.model import FeatureProblem, Scenario, Step
from specgate.paths import display_path

CACHE_VERSION = f"features;gherkin-{metadata.version('gherkin-official')};" + code_version(
    "readers/features.py", "model.py", "ids.py"
)
KINDS = ("given", "when", "then")
_KEYWORD_TYPES = {"Context": "given", "Action": "when", "Outcome": "then"}
EMPTY_SCENARIO = "empty scenario (no steps)"
OUTLINE_WITHOUT_ROWS = "Scenario Outline without Examples rows"


@dataclass(frozen=True)
class Suite:
    """Every scenario under a features directory, the shapes no runner reports, and the
    parser errors (``file:line:col: text``) of files that could not be read."""

    scenarios: tuple[Scenario, ...]
    problems: tuple[FeatureProblem, ...]
    errors: tuple[str, ...]


@dataclass(frozen=True)
class _Node:
    keyword: str
    line: int
    kind: str = ""
    examples: str = ""
    row: int | None = None
    values: tuple[str, ...] = ()


def _kinds(steps: Sequence[dict[str, Any]]) -> list[str]:
    """given/when/then of each step of one block; a conjunction (or ``*``) continues the
    previous kind, and a block starts as ``given``."""
    out: list[str] = []
    previous = "given"
    for st in steps:
        kind = _KEYWORD_TYPES.get(st.get("keywordType", ""))
        if kind is None:
            word = st["keyword"].strip().lower()
            kind = word if word in KINDS else previous
        out.append(kind)
        previous = kind
    return out


def _index_nodes(
    rel: str,
    children: Iterable[dict[str, Any]],
    nodes: dict[str, _Node],
    problems: list[FeatureProblem],
) -> None:
    for child in children:
        if "rule" in child:
            _index_nodes(rel, child["rule"].get("children", []), nodes, problems)
            continue
        block = child.get("background") or child.get("scenario")
        if block is None:
            continue
        line = block["location"]["line"]
        nodes[block["id"]] = _Node(block["keyword"].strip(), line)
        steps = block.get("steps", [])
        for step, kind in zip(steps, _kinds(steps), strict=True):
            nodes[step["id"]] = _Node(step["keyword"].strip(), step["location"]["line"], kind)
        if "scenario" not in child:
            continue
        if not steps:
            problems.append(FeatureProblem(rel, line, block["name"], EMPTY_SCENARIO))
        keyword = block["keyword"].lower()
        examples = block.get("examples", [])
        rows = [(ex, row) for ex in examples for row in ex.get("tableBody", [])]
        if ("outline" in keyword or "template" in keyword or examples) and not rows:
            problems.append(FeatureProblem(rel, line, block["name"], OUTLINE_WITHOUT_ROWS))
        for index, (ex, row) in enumerate(rows):
            values = tuple(cell["value"] for cell in row["cells"])
            nodes[row["id"]] = _Node("", row["location"]["line"], "", ex["name"], index, values)


_ERROR_AT = re.compile(r"\((\d+):(\d+)\): ")


def _locate(feature: str, message: str) -> str:
    """``(9:3): text`` from the parser becomes ``feature:9:3: text``."""
    match = _ERROR_AT.match(message)
    if match is None:
        return f"{feature}: {message}"
    return f"{feature}:{match.group(1)}:{match.group(2)}: {message[match.end() :]}"


def _dedupe(tags: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(tags))


@dataclass(frozen=True)
class ParsedFeature:
    """One feature file: its scenarios and the shapes no runner reports."""

    scenarios: tuple[Scenario, ...]
    problems: tuple[FeatureProblem, ...]


def parse_feature_text(text: str, feature: str, rel: str) -> ParsedFeature:
    """One feature file; raises ``FeatureParseError`` with every parser error."""
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
        return ParsedFeature((), ())
    nodes: dict[str, _Node] = {}
    problems: list[FeatureProblem] = []
    _index_nodes(rel, gherkin_feature.get("children", []), nodes, problems)
    document_with_uri: Any = {**document, "uri": rel}
    scenarios = []
    for pickle in Compiler().compile(document_with_uri):
        outline = nodes[pickle["astNodeIds"][0]]
        row = nodes.get(pickle["astNodeIds"][1]) if len(pickle["astNodeIds"]) > 1 else None
        steps = []
        for s in pickle["steps"]:
            node = nodes[s["astNodeIds"][0]]
            steps.append(Step(node.keyword, s["text"], node.kind, node.line))
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
                example_row=row.row if row else None,
                example_values=row.values if row else (),
                tags=_dedupe(t["name"].lstrip("@") for t in pickle["tags"]),
                steps=tuple(steps),
            )
        )
    return ParsedFeature(tuple(scenarios), tuple(problems))


def _to_json(parsed: ParsedFeature) -> dict[str, Any]:
    return {
        "scenarios": [s.to_json() for s in parsed.scenarios],
        "problems": [[p.rel, p.line, p.name, p.what] for p in parsed.problems],
    }


def _from_json(data: dict[str, Any]) -> ParsedFeature:
    return ParsedFeature(
        tuple(Scenario.from_json(s) for s in data["scenarios"]),
        tuple(FeatureProblem(*p) for p in data["problems"]),
    )


def _parse_job(job: tuple[str, str, bytes]) -> dict[str, Any] | list[str]:
    """Worker: the JSON-ready file, or (on a parse error) a list of error strings."""
    feature, rel, data = job
    try:
        return _to_json(parse_feature_text(data.decode("utf-8"), feature, rel))
    except FeatureParseError as exc:
        return exc.messages
    except UnicodeDecodeError as exc:
        return [f"{feature}: not valid UTF-8 ({exc.reason})"]


def feature_files(features_dir: Path) -> list[Path]:
    return sorted(p for p in features_dir.rglob("*.feature") if p.is_file())


def read_features(
    features_dir: Path, cache_dir: Path | None = None, *, write_cache: bool = True
) -> Suite:
    """Every scenario under ``features_dir`` (``**/*.feature``, sorted; cached by content)."""
    cache = ParseCache(cache_dir, "gherkin", CACHE_VERSION)
    paths = feature_files(features_dir)
    per_file: list[dict[str, Any] | list[str] | None] = []
    todo: list[tuple[int, tuple[str, str, bytes], str]] = []
    for index, path in enumerate(paths):
        shown = display_path(path)
        rel = path.relative_to(features_dir).as_posix()
        data = path.read_bytes()
        key = ParseCache.key(f"{shown}\0{rel}", sha256_bytes(data))
        cached = cache.get(key)
        per_file.append(cached if isinstance(cached, dict) else None)
        if not isinstance(cached, dict):
            todo.append((index, (shown, rel, data), key))
    fresh = parallel_map(_parse_job, [job for _, job, _ in todo], [len(j[2]) for _, j, _ in todo])
    for (index, _, key), value in zip(todo, fresh, strict=True):
        per_file[index] = value
        if isinstance(value, dict):
            cache.put(key, value)
    if write_cache:
        cache.save()
    scenarios: list[Scenario] = []
    problems: list[FeatureProblem] = []
    errors: list[str] = []
    for entry in per_file:
        if isinstance(entry, dict):
            parsed = _from_json(entry)
            scenarios.extend(parsed.scenarios)
            problems.extend(parsed.problems)
        elif entry is not None:
            errors.extend(str(v) for v in entry)
    return Suite(tuple(scenarios), tuple(problems), tuple(errors))
