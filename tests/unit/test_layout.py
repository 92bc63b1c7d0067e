"""The layout's size rules (#9), enforced rather than hoped for.

A module over ~500 lines or a function over ~80 lines is usually several concepts sharing a
name. Either may stay that long only with a ``# size: <why>`` comment: for a module anywhere
in its first 40 lines, for a function on the line above its ``def`` (or its decorators) or
among its first lines. The import rules live in pyproject.toml (import-linter, run by
``lint-imports`` in ci/test.sh).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("poolmgr", "specgate", "harness")
MODULE_LIMIT = 500
FUNCTION_LIMIT = 80
MARK = "# size:"


def _modules() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def _explained(lines: list[str], start: int, end: int) -> bool:
    """A ``# size:`` comment on a line of ``lines[start:end]`` (0-based, clipped)."""
    return any(MARK in line for line in lines[max(start, 0) : max(end, 0)])


def _long_functions(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    found = []
    for node in ast.walk(ast.parse(text, filename=str(path))):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        assert node.end_lineno is not None
        length = node.end_lineno - node.lineno + 1
        if length <= FUNCTION_LIMIT:
            continue
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        # the line above the def/decorators, or the first few lines of the body
        above = _explained(lines, first - 2, first - 1)
        if above or _explained(lines, node.lineno, node.lineno + 6):
            continue
        found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({length} lines)")
    return found


def test_the_packages_exist() -> None:
    assert len(_modules()) > 20


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_module_is_short_or_says_why(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    if len(lines) > MODULE_LIMIT:
        assert _explained(lines, 0, 40), (
            f"{path.relative_to(ROOT)} has {len(lines)} lines (> {MODULE_LIMIT}): split it, "
            f"or say why it is one concept with a '{MARK}' comment near its top"
        )


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_functions_are_short_or_say_why(path: Path) -> None:
    long = _long_functions(path)
    assert not long, f"functions over {FUNCTION_LIMIT} lines without a '{MARK}' comment: {long}"


def test_the_rule_catches_a_long_function(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(FUNCTION_LIMIT + 5))
    bad = tmp_path / "bad.py"
    bad.write_text(f"def f() -> None:\n{body}\n", encoding="utf-8")
    ok = tmp_path / "ok.py"
    ok.write_text(f"# size: a table that reads best in one place\ndef f() -> None:\n{body}\n")
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        assert [s.split(" ")[1] for s in _long_functions(bad)] == ["f"]
        assert _long_functions(ok) == []
    finally:
        ROOT = saved
