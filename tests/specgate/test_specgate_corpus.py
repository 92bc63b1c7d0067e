"""The fixture corpus (tests/data/spec_corpus): tool output equals the committed expected/."""

from __future__ import annotations

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
