"""Step definitions of Python step modules, read statically (the modules are never imported).

Decides which step patterns a step module defines: string literals of step decorators or table
entries, ``@given("...")``, ``@then(parsers.parse("..."))`` or ``@step("then", "...")``, each
with its kind, module, line and function, and whether the function asserts anything (an
``assert``, a ``raise`` or a call of an ``assert*`` helper: OC-BDD-7003).
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

KINDS = ("given", "when", "then")


@dataclass(frozen=True)
class StepDefinition:
    kind: str
    pattern: str
    module: str
    line: int
    function: str
    asserts: bool


@dataclass(frozen=True)
class StepModules:
    """The step definitions found, and the modules that could not be parsed."""

    definitions: tuple[StepDefinition, ...]
    errors: tuple[str, ...]


def _literal(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Call) and node.args:  # parsers.parse("...")
        return _literal(node.args[0])
    return None


def _call_name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _decorator_step(dec: ast.expr) -> tuple[str, str] | None:
    """(kind, pattern) when ``dec`` is a step decorator with literal arguments."""
    if not isinstance(dec, ast.Call):
        return None
    name = _call_name(dec.func).lower()
    if name in KINDS and dec.args:
        pattern = _literal(dec.args[0])
        return (name, pattern) if pattern is not None else None
    if name == "step" and len(dec.args) >= 2:
        kind = _literal(dec.args[0])
        pattern = _literal(dec.args[1])
        if kind in KINDS and pattern is not None:
            return kind, pattern
    return None


def _asserts(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for node in ast.walk(fn):
        if isinstance(node, ast.Assert | ast.Raise):
            return True
        if isinstance(node, ast.Call) and _call_name(node.func).startswith("assert"):
            return True
    return False


def step_module_files(paths: Sequence[Path]) -> list[Path]:
    """The ``*.py`` files of ``paths`` (directories searched recursively, sorted)."""
    files: list[Path] = []
    for p in paths:
        files += sorted(p.rglob("*.py")) if p.is_dir() else [p]
    return files


def read_step_modules(paths: Sequence[Path]) -> StepModules:
    """Every step definition of the modules under ``paths``, in file and source order."""
    definitions: list[StepDefinition] = []
    errors: list[str] = []
    for path in step_module_files(paths):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        except SyntaxError as exc:
            errors.append(f"{path}: cannot parse: {exc}")
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for dec in node.decorator_list:
                found = _decorator_step(dec)
                if found is not None:
                    kind, pattern = found
                    definitions.append(
                        StepDefinition(
                            kind, pattern, str(path), node.lineno, node.name, _asserts(node)
                        )
                    )
    return StepModules(tuple(definitions), tuple(errors))
