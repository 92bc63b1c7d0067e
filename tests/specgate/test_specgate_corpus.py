"""The fixture corpora: tool output equals the committed expected files, line by line.

tests/data/spec_corpus: a broker spec in this repo's own style (with spec-lint output);
tests/data/foreign_specs: specs written in styles found elsewhere (IDs at the end of bullets,
ID tables, heading IDs, bold IDs, several per line) with planted problems.
"""

from __future__ import annotations

import difflib
import os
import shutil
from pathlib import Path

import pytest

from specgate import extract, lint

CORPUS = Path(__file__).resolve().parents[1] / "data" / "spec_corpus"
EXPECTED = CORPUS / "expected"


@pytest.fixture
def corpus(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(CORPUS)
    monkeypatch.setenv("SPECGATE_CACHE_DIR", "")
    return CORPUS


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def assert_same_lines(got: list[str], want: list[str], where: str) -> None:
    for number, (g, w) in enumerate(zip(got, want, strict=False), start=1):
        assert g == w, f"{where}:{number}"
    assert len(got) == len(want), f"{where}: {len(got)} lines, expected {len(want)}"


def test_corpus_has_the_shapes_it_is_meant_to_exercise() -> None:
    specs = sorted((CORPUS / "spec").glob("*.md"))
    text = "\n".join(p.read_text(encoding="utf-8") for p in specs)
    assert len(specs) >= 8
    assert "\u2011" in text
    assert "-DEPR]" in text
    assert "\n#### " in text
    assert "\n| [OC-" in text
    assert "\n    - [OC-" in text
    assert "\n[OC-" in text


def test_corpus_yaml_matches_expected_line_by_line(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "requirements"
    assert extract.main(["--keep-going", "--out-dir", str(out)]) == 2
    want = sorted((EXPECTED / "requirements").glob("*.yaml"))
    assert [p.name for p in sorted(out.glob("*.yaml"))] == [p.name for p in want]
    for expected_file in want:
        assert_same_lines(lines(out / expected_file.name), lines(expected_file), expected_file.name)


def test_corpus_extract_errors_match_expected(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extract.main(["--keep-going", "--out-dir", str(tmp_path / "requirements")])
    got = capsys.readouterr().err.splitlines()
    assert_same_lines(got, lines(EXPECTED / "extract.txt"), "extract.txt")


def test_corpus_lint_output_matches_expected(
    corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert lint.main([]) == 1
    assert_same_lines(
        capsys.readouterr().out.splitlines(), lines(EXPECTED / "lint.txt"), "lint.txt"
    )


def test_regenerating_expected_yaml_is_a_no_op(corpus: Path, tmp_path: Path) -> None:
    copy = tmp_path / "requirements"
    shutil.copytree(EXPECTED / "requirements", copy)
    past = 1_000_000_000
    for path in copy.iterdir():
        os.utime(path, (past, past))
    before = {p.name: p.read_bytes() for p in copy.iterdir()}
    extract.main(["--keep-going", "--out-dir", str(copy)])
    assert {p.name: p.read_bytes() for p in copy.iterdir()} == before
    assert {p.stat().st_mtime for p in copy.iterdir()} == {past}


FOREIGN = Path(__file__).resolve().parents[1] / "data" / "foreign_specs"

FOREIGN_IDS = {
    "admission.yaml": [
        "ORCH-3101",
        "ORCH-3102",
        "ORCH-3103",
        "ORCH-3104",
        "ORCH-3110",
        "ORCH-3111",
        "ORCH-3112",
    ],
    "catalog.yaml": [
        "OC-CAT-1001",
        "OC-CAT-1002",
        "OC-CAT-1003",
        "OC-CAT-1010",
        "OC-CAT-1011",
        "ORCH-3201",
        "ORCH-3202",
        "ORCH-3203",
    ],
    "deadlines.yaml": ["ORCH-3301", "ORCH-3302", "ORCH-3303", "ORCH-3304"],
    "placement.yaml": [
        "ORCH-3401",
        "ORCH-3402",
        "ORCH-3403",
        "ORCH-3404",
        "ORCH-3405",
        "ORCH-3406",
        "ORCH-3407",
        "ORCH-3408",
    ],
    "telemetry.yaml": ["OC-TEL-2001", "OC-TEL-2003", "OC-TEL-2010"],
}


@pytest.fixture
def foreign(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(FOREIGN)
    monkeypatch.setenv("SPECGATE_CACHE_DIR", "")
    return FOREIGN


def assert_same_text(got: Path, want: Path) -> None:
    """Line-by-line comparison; the failure message is a unified diff."""
    got_lines, want_lines = lines(got), lines(want)
    diff = "\n".join(
        difflib.unified_diff(
            want_lines, got_lines, f"expected/{want.name}", f"got/{got.name}", lineterm=""
        )
    )
    assert got_lines == want_lines, f"spec-extract output differs:\n{diff}"


def test_foreign_corpus_has_the_styles_it_is_meant_to_exercise() -> None:
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted(FOREIGN.glob("spec/*.md")))
    for shape in [
        "scheduled. [ORCH-3101]",  # end of a bullet
        "[ORCH-3103] A full queue",  # two trailing IDs on one line
        "\n1. Tasks",  # numbered list
        "\n  * The rejection",  # nested bullet
        "\n| ID | Requirement |",  # ID column
        "\n| ORCH-3201 |",  # bare ID in it
        "\n### ORCH-3301 ",  # heading ID
        "\n### [ORCH-3302] ",
        "\n**ORCH-3401**:",  # bold IDs
        "\n**[ORCH-3402]**",
        "ORCH-3405: Placement MUST be fair across tenants. ORCH-3406:",  # several per line
        "`[ORCH-3490]`",  # code span
        "\n```markdown\n- [ORCH-3492]",  # code block
        "[OC\u2011TEL\u20112002]",  # look-alike hyphens
        "[OC-TEL-20]",  # malformed
    ]:
        assert shape in text, shape


def test_foreign_corpus_yaml_matches_expected_line_by_line(foreign: Path, tmp_path: Path) -> None:
    out = tmp_path / "requirements"
    assert extract.main(["--out-dir", str(out)]) == 2
    want = sorted((FOREIGN / "expected").glob("*.yaml"))
    assert [p.name for p in want] == sorted(FOREIGN_IDS)
    assert [p.name for p in sorted(out.glob("*.yaml"))] == [p.name for p in want]
    for expected_file in want:
        assert_same_text(out / expected_file.name, expected_file)


def test_foreign_corpus_every_good_id_is_written_and_none_from_code(
    foreign: Path, tmp_path: Path
) -> None:
    out = tmp_path / "requirements"
    extract.main(["--out-dir", str(out)])
    for name, wanted in FOREIGN_IDS.items():
        written = [
            line.removeprefix('- id: "').removesuffix('"')
            for line in lines(out / name)
            if line.startswith("- id: ")
        ]
        assert written == wanted, name
    everything = "".join(p.read_text(encoding="utf-8") for p in out.glob("*.yaml"))
    for in_code in ["ORCH-3490", "ORCH-3491", "ORCH-3492", "ORCH-3493", "ORCH-3494"]:
        assert in_code not in everything


def test_foreign_corpus_problems_reported_at_file_line_col_with_exit_2(
    foreign: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert extract.main(["--out-dir", str(tmp_path / "requirements")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert [line.split(" ", 2)[:2] for line in err[:-1]] == [
        ["spec/telemetry.md:8:47:", "SG101"],
        ["spec/telemetry.md:8:51:", "SG101"],
        ["spec/telemetry.md:9:4:", "SG102"],
        ["spec/telemetry.md:14:42:", "SG111"],
        ["spec/telemetry.md:16:3:", "SG103"],
    ]
    assert "U+2011 NON-BREAKING HYPHEN" in err[0]
    assert 'malformed requirement ID "OC-TEL-20"' in err[2]
    assert "cites OC-TEL-2001" in err[3]
    assert "here and at spec/telemetry.md:7 (that first one is kept)" in err[4]
    assert err[-1] == (
        "spec-extract: 5 problem(s) above lose or risk an ID; every well-formed ID is still "
        "extracted"
    )


def test_foreign_corpus_check_writes_nothing(foreign: Path, tmp_path: Path) -> None:
    out = tmp_path / "requirements"
    assert extract.main(["--check", "--out-dir", str(out)]) == 2
    assert not out.exists()
