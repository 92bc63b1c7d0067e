"""spec-links: relative targets and GitHub-style anchors, no network."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from specgate import links
from specgate.readers.markdown import Slugger, github_slug

Write = Callable[[str, str], Path]  # the `write` fixture of conftest.py

TARGET = """# Guide

## Start up & shut down

## `poolmgr` CLI *usage*

## Notes

## Notes

<a id="custom-spot"></a>
"""


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str], str]:
    code = links.main(list(args))
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err


@pytest.mark.parametrize(
    ("heading", "slug"),
    [
        ("Start up & shut down", "start-up--shut-down"),
        ("poolmgr CLI usage", "poolmgr-cli-usage"),
        ("OC-POOL-3001: preload", "oc-pool-3001-preload"),
        ("snake_case stays", "snake_case-stays"),
        ("Ünïcode Wörds", "ünïcode-wörds"),
    ],
)
def test_github_slug_rules(heading: str, slug: str) -> None:
    assert github_slug(heading) == slug


def test_repeated_headings_get_numbered_suffixes() -> None:
    slugger = Slugger()
    assert [slugger.slug(h) for h in ["Notes", "Notes", "Notes-1", "Notes"]] == [
        "notes",
        "notes-1",
        "notes-1-1",
        "notes-2",
    ]


def test_good_links_pass(write: Write, capsys: pytest.CaptureFixture[str]) -> None:
    write("spec/guide.md", TARGET)
    write(
        "README.md",
        "See [start](spec/guide.md#start-up--shut-down), [cli](spec/guide.md#poolmgr-cli-usage),\n"
        "[second notes](spec/guide.md#notes-1), [spot](spec/guide.md#custom-spot),\n"
        "[dir](spec/), [top](#readme) and [web](https://example.org/x).\n\n# Readme\n",
    )
    code, out, err = run(capsys, "README.md", "spec")
    assert (code, out) == (0, [])
    assert "1 external link(s) not fetched" in err


def test_planted_missing_file_is_reported_with_line(
    write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    write("README.md", "Intro.\n\nSee [gone](docs/gone.md) for more.\n")
    code, out, _ = run(capsys, "README.md")
    assert code == 1
    assert out == ["README.md:3: broken link 'docs/gone.md': docs/gone.md does not exist"]


def test_planted_broken_anchor_in_another_file(
    write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    write("spec/guide.md", TARGET)
    write("spec/index.md", "# Index\n\n- [x](guide.md#notes-2)\n")
    code, out, _ = run(capsys, "spec")
    assert code == 1
    assert out == [
        "spec/index.md:3: broken link 'guide.md#notes-2': no heading or anchor '#notes-2' in "
        "spec/guide.md"
    ]


def test_planted_broken_same_file_anchor_on_a_wrapped_line(
    write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    write("a.md", "# Title\n\nA paragraph that wraps\nonto [here](#nowhere).\n")
    code, out, _ = run(capsys, "a.md")
    assert code == 1
    assert out == ["a.md:4: broken link '#nowhere': no heading or anchor '#nowhere' in a.md"]


def test_missing_path_argument_is_a_usage_error(project: Path) -> None:
    assert links.main(["nothing.md"]) == 2


def test_reference_style_and_image_links_are_checked(
    write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    write("a.md", "# A\n\n![pic](img/none.png) and [ref][r].\n\n[r]: missing.md\n")
    code, out, _ = run(capsys, "a.md")
    assert code == 1
    assert [line.split(" ")[0] for line in out] == ["a.md:3:", "a.md:3:"]
