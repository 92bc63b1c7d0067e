"""spec-lint: every error kind is reported with file:line, and a clean corpus passes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from specgate import lint

Write = Callable[[str, str], Path]  # the `write` fixture of conftest.py


CLEAN = """# Clean

The key words MUST and MAY are used as in RFC 2119.

## Rules

- [OC-C-1001] It MUST work.
- [OC-C-1002] It MAY log; see OC-C-1001 and ORCH-2101..2104 and the OC-C-* family.

```text
OC-BAD-1 inside code is not checked
```
"""


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    code = lint.main(list(args))
    return code, capsys.readouterr().out.splitlines()


def test_clean_spec_passes(write: Write, capsys: pytest.CaptureFixture[str]) -> None:
    write("spec/clean.md", CLEAN)
    assert run(capsys) == (0, [])


def test_malformed_ids_are_errors(write: Write, capsys: pytest.CaptureFixture[str]) -> None:
    write("spec/a.md", CLEAN + "\nSee OC-POOL-30 and ORCH-12.\n\n- [oc-c-1003] It MUST.\n")
    code, out = run(capsys)
    assert code == 1
    assert [line.split(" ")[:2] for line in out] == [
        ["spec/a.md:14:5:", "SG102"],
        ["spec/a.md:14:20:", "SG102"],
        ["spec/a.md:16:4:", "SG102"],
    ]


def test_duplicate_across_specs_names_both_places(
    write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    write("spec/a.md", CLEAN)
    write("spec/b.md", "## X\n\n- [OC-C-1001] It MUST again.\n")
    code, out = run(capsys)
    assert code == 1
    assert out == [
        "spec/b.md:3:3: SG103 OC-C-1001 is defined twice: here and at spec/a.md:7 "
        "(that first one is kept)"
    ]


def test_duplicate_within_one_spec(write: Write, capsys: pytest.CaptureFixture[str]) -> None:
    write("spec/a.md", CLEAN + "\n- [OC-C-1002] Again MUST.\n")
    code, out = run(capsys)
    assert code == 1
    assert out[0].startswith("spec/a.md:14:3: SG103 OC-C-1002 is defined twice")


def test_u2011_lookalike_reports_column_and_code_point(
    write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    write("spec/a.md", CLEAN + "\nRelated: ORCH\u20113010.\n")
    code, out = run(capsys)
    assert code == 1
    assert out == [
        "spec/a.md:14:14: SG101 look-alike hyphen U+2011 NON-BREAKING HYPHEN in ID-shaped token "
        '"ORCH\u20113010"; only ASCII hyphen-minus (U+002D) is allowed'
    ]


def test_spec_without_keyword_and_without_ids(
    write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    write("spec/a.md", CLEAN)
    write("spec/b.md", "# Notes\n\nJust prose.\n")
    code, out = run(capsys)
    assert code == 1
    assert [line.split(" ")[:2] for line in out] == [
        ["spec/b.md:1:1:", "SG105"],
        ["spec/b.md:1:1:", "SG106"],
    ]


def test_normative_sentence_without_id(write: Write, capsys: pytest.CaptureFixture[str]) -> None:
    write("spec/a.md", CLEAN + "\n> Note: callers\n> SHOULD retry.\n")
    code, out = run(capsys)
    assert code == 1
    assert out[0].startswith("spec/a.md:15:3: SG107 normative sentence (SHOULD)")


def test_text_nested_under_a_requirement_is_not_orphaned(
    write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    write("spec/a.md", CLEAN + "\n- [OC-C-1003] It MUST:\n  - retry, and it MUST log.\n")
    assert run(capsys) == (0, [])


def test_retired_id_defined_again(write: Write, capsys: pytest.CaptureFixture[str]) -> None:
    write("spec/a.md", CLEAN + "\n- [OC-C-1001-DEPR] Old MUST.\n")
    code, out = run(capsys)
    assert code == 1
    assert out == [
        "spec/a.md:7:3: SG104 OC-C-1001 was retired as OC-C-1001-DEPR (spec/a.md:14); "
        "a retired ID is never reused"
    ]


def test_link_reference_definition_swallowing_an_id(
    write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    write("spec/a.md", CLEAN + "\n[OC-C-1003]: It MUST vanish.\n")
    code, out = run(capsys)
    assert code == 1
    assert out[0].startswith("spec/a.md:14:1: SG109")


def test_json_output(write: Write, capsys: pytest.CaptureFixture[str]) -> None:
    write("spec/a.md", CLEAN + "\nSee ORCH-12.\n")
    assert lint.main(["--json"]) == 1
    payload = json.loads(capsys.readouterr().out)
    assert payload["ok"] is False
    assert payload["requirements"] == 2
    assert payload["diagnostics"][0]["code"] == "SG102"
    assert payload["diagnostics"][0]["line"] == 14
