"""The HTML traceability report, rendered by headless Chromium as a reviewer would see it.

Two sources: a matrix built here field by field (a failed step, a skip reason, a not-selected
scenario, durations, run metadata, a partial run), and ``spec-trace --html`` end to end on the
demo features under ``tests/specgate/data``.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import replace
from pathlib import Path
from urllib.parse import unquote

import pytest

from specgate import extract, trace
from specgate.gates.trace import Matrix, Row, Status, Violation, ViolationKind
from specgate.ids import Level
from specgate.model import Outcome, Requirement, RunInfo, Scenario, ScenarioRun, Step
from specgate.render.html import STATUS_MEANING, Links, render_html
from tests.specgate.chromium import Node, dump, parse, read_png, screenshot

DATA = Path(__file__).resolve().parent / "data"
SPEC = (
    "## Demo\n\n"
    "- [OC-DEMO-1001] The demo MUST work.\n"
    "- [OC-DEMO-1002] The demo SHOULD be plain.\n"
    "- [OC-DEMO-1003] The outline MUST count.\n"
    "- [OC-DEMO-1004] First examples MAY pass.\n"
    "- [OC-DEMO-1005] Rules are nice.\n"
    "- [ORCH-3010] No dispatch MUST happen before Ready.\n"
    "- [OC-DEMO-1006] Nobody tests this yet, but it MUST hold.\n"
)

# ----------------------------------------------------------------------------- a built matrix

FILES = {
    "spec/demo.md": "# Demo\n\n## Drain\n\n"
    "- [OC-DEMO-1001] The pool MUST drain every lease.\n"
    "- [OC-DEMO-1002] A model SHOULD load on the GPU.\n"
    "- [OC-DEMO-1003] Metrics MAY be exported.\n"
    "- [OC-DEMO-1004] This section is informative.\n",
    "features/pool/drain.feature": "Feature: Drain\n\n"
    "  @OC-DEMO-1001 @smoke\n"
    "  Scenario: Drain finishes leases\n"
    "    When the pool drains\n"
    "    Then every lease is returned\n\n"
    "  @OC-DEMO-1001\n"
    "  Scenario: Drain times out\n"
    "    When the pool drains slowly\n"
    "    Then the drain stops after the deadline\n",
    "features/gpu/load.feature": "Feature: Model loading\n\n"
    "  @OC-DEMO-1002 @gpu\n"
    "  Scenario: Model loads on the GPU\n"
    "    Given a GPU\n\n"
    "  @OC-DEMO-1003\n"
    "  Scenario: Metrics are exported\n"
    "    Then the metrics endpoint answers\n",
}
FINISH, TIMEOUT = "features/pool/drain.feature:4", "features/pool/drain.feature:9"
GPU, METRICS = "features/gpu/load.feature:4", "features/gpu/load.feature:8"
INFO = RunInfo(commit="0123abcd", date="2026-11-30T12:00:00Z", runners=("behave",), partial=True)
RED, GREEN, WHITE = (207, 34, 46), (26, 127, 55), (255, 255, 255)


def _req(rid: str, level: Level, line: int, text: str) -> Requirement:
    return Requirement(
        rid, text, text, "Drain", level, "spec/demo.md#drain", "spec/demo.md", line, "f"
    )


def _scenario(
    key: str, feature: str, name: str, tags: tuple[str, ...], steps: list[str]
) -> Scenario:
    path, line = key.split(":")
    return Scenario(
        feature=path,
        rel=path.removeprefix("features/"),
        feature_name=feature,
        name=name,
        keyword="Scenario",
        line=int(line),
        scenario_line=int(line),
        examples="",
        example_row=None,
        example_values=(),
        tags=tags,
        steps=tuple(
            Step(s.split()[0], s.split(" ", 1)[1], s.split()[0].lower(), int(line) + 1 + i)
            for i, s in enumerate(steps)
        ),
    )


def built_matrix(violations: int, info: RunInfo = INFO) -> Matrix:
    reqs = [
        _req("OC-DEMO-1001", Level.MUST, 5, "The pool MUST drain every lease."),
        _req("OC-DEMO-1002", Level.SHOULD, 6, "A model SHOULD load on the GPU."),
        _req("OC-DEMO-1003", Level.MAY, 7, "Metrics MAY be exported."),
        _req("OC-DEMO-1004", Level.INFO, 8, "This section is informative."),
    ]
    drain, load = "Drain", "Model loading"
    scenarios = (
        _scenario(FINISH, drain, "Drain finishes leases", ("OC-DEMO-1001", "smoke"),
                  ["When the pool drains", "Then every lease is returned"]),
        _scenario(TIMEOUT, drain, "Drain times out", ("OC-DEMO-1001",),
                  ["When the pool drains slowly", "Then the drain stops after the deadline"]),
        _scenario(GPU, load, "Model loads on the GPU", ("OC-DEMO-1002", "gpu"), ["Given a GPU"]),
        _scenario(METRICS, load, "Metrics are exported", ("OC-DEMO-1003",),
                  ["Then the metrics endpoint answers"]),
    )  # fmt: skip
    behave = "reports/behave.json"
    runs = {
        FINISH: ScenarioRun(Outcome.PASSED, ((behave, Outcome.PASSED),),
                            (Outcome.PASSED, Outcome.PASSED), "", duration_s=0.25),
        TIMEOUT: ScenarioRun(Outcome.FAILED, ((behave, Outcome.FAILED),),
                             (Outcome.PASSED, Outcome.FAILED),
                             "AssertionError: drain still running after 5 s",
                             duration_s=5.5),
        GPU: ScenarioRun(Outcome.SKIPPED, ((behave, Outcome.SKIPPED),), (Outcome.SKIPPED,), "",
                         reason="needs a GPU (no CUDA device)", duration_s=0.0),
        METRICS: ScenarioRun(Outcome.NOT_RUN, (), (), "", reason="not selected"),
    }  # fmt: skip
    rows = (
        Row(reqs[0], Status.FAILING, False, "f", (FINISH, TIMEOUT), 1),
        Row(reqs[1], Status.UNCOVERED, False, "f", (GPU,), 0),
        Row(reqs[2], Status.UNCOVERED, False, "f", (METRICS,), 0),
        Row(reqs[3], Status.INFO, False, "f", (), 0),
    )
    found = tuple(
        Violation(ViolationKind.MUST_NOT_PASSING, f"V{i}", f"violation number {i}")
        for i in range(1, violations + 1)
    )
    return Matrix(rows, scenarios, runs, found, (), (behave,), info)


def write_page(project: Path, matrix: Matrix, source_url: str | None = None) -> Path:
    for name, text in FILES.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text, encoding="utf-8")
    page = project / "reports/trace.html"
    page.parent.mkdir(exist_ok=True)
    page.write_text(render_html(matrix, trace._href_maker(page), source_url), encoding="utf-8")
    return page


def scenario_item(dom: Node, key: str) -> Node:
    (item,) = dom.find_all(
        lambda n: "scenario" in n.classes() and any(a.text() == key for a in _links(n))
    )
    return item


def _links(node: Node) -> list[Node]:
    return node.find_all(lambda n: n.tag == "a" and "source" in n.classes())


def first(node: Node, cls: str) -> str:
    return " ".join(node.find_all(lambda n: cls in n.classes())[0].text().split())


def test_the_rendered_page_shows_the_run_reasons_failed_step_and_durations(
    project: Path, tmp_path: Path
) -> None:
    dom = dump(write_page(project, built_matrix(2)), "", tmp_path / "profile")
    banner = dom.by_id("verdict")
    assert banner.classes() == ["banner", "fail"]
    assert banner.text().startswith("Gate FAILED: 2 violations, listed under Violations.")
    assert dom.by_id("run-commit").text() == "0123abcd"
    assert dom.by_id("run-date").text() == "2026-11-30T12:00:00Z"
    assert dom.by_id("run-runners").text() == "behave"
    assert dom.by_id("run-results").text() == "reports/behave.json"
    assert (
        dom.by_id("run-outcomes").text() == "4 scenarios: 1 passed, 1 failed, 1 skipped, 1 not-run"
    )
    assert dom.by_id("run-partial").text().startswith("partial run: 3 of 4 scenarios ran")
    timeout = scenario_item(dom, TIMEOUT)
    assert first(timeout, "failed-step") == "failed at step Then the drain stops after the deadline"
    assert first(timeout, "error") == "AssertionError: drain still running after 5 s"
    assert first(timeout, "duration") == "5.50 s"
    assert first(scenario_item(dom, GPU), "reason") == "skipped: needs a GPU (no CUDA device)"
    assert first(scenario_item(dom, METRICS), "reason") == "not run: not selected"
    assert not scenario_item(dom, FINISH).find_all(lambda n: "reason" in n.classes())


def test_file_links_are_relative_to_the_report_and_land_on_the_line(
    project: Path, tmp_path: Path
) -> None:
    page = write_page(project, built_matrix(0))
    dom = dump(page, "", tmp_path / "profile")
    hrefs = {a.text(): a.attrs["href"] for a in _links(dom)}
    assert hrefs[FINISH] == "../features/pool/drain.feature#L4"
    assert hrefs[METRICS] == "../features/gpu/load.feature#L8"
    assert hrefs["spec/demo.md:7"] == "../spec/demo.md#L7"
    assert dom.by_id("OC-DEMO-1003").find_all(lambda n: n.tag == "a")[0].attrs["href"] == (
        "../spec/demo.md#drain"
    )
    for shown, href in hrefs.items():
        path, _, line = str(href).partition("#L")
        target = (page.parent / unquote(path)).resolve()
        assert target == (project / shown.split(":")[0]).resolve()
        wanted = {FINISH: "Drain finishes leases", METRICS: "Metrics are exported"}.get(shown)
        if wanted:
            assert wanted in target.read_text(encoding="utf-8").splitlines()[int(line) - 1]


def test_a_source_url_links_files_to_the_forge_at_the_commit(project: Path, tmp_path: Path) -> None:
    url = "https://forge.example/o/r/blob/{commit}/"
    dom = dump(write_page(project, built_matrix(0), url), "", tmp_path / "profile")
    hrefs = {a.text(): a.attrs["href"] for a in _links(dom)}
    assert (
        hrefs[TIMEOUT] == "https://forge.example/o/r/blob/0123abcd/features/pool/drain.feature#L9"
    )
    assert hrefs["spec/demo.md:5"] == "https://forge.example/o/r/blob/0123abcd/spec/demo.md#L5"
    assert dom.by_id("OC-DEMO-1001").find_all(lambda n: n.tag == "a")[0].attrs["href"] == (
        "https://forge.example/o/r/blob/0123abcd/spec/demo.md#drain"
    )


def test_a_source_url_naming_the_commit_needs_a_known_commit() -> None:
    matrix = built_matrix(0, replace(INFO, commit=""))
    with pytest.raises(ValueError, match=r"names \{commit\} but this run's commit is unknown"):
        render_html(matrix, source_url="https://forge.example/o/r/blob/{commit}/")


def test_files_outside_the_project_keep_relative_links_and_names_are_quoted() -> None:
    links = Links.make(lambda path: f"rel/{path}", "https://forge.example/o/r/blob/main", "")
    assert (
        links.to("features/a b.feature", 2)
        == "https://forge.example/o/r/blob/main/features/a%20b.feature#L2"
    )
    assert links.to("/elsewhere/a.feature", 3) == "rel//elsewhere/a.feature#L3"
    assert links.to("../a.feature", 4) == "rel/../a.feature#L4"
    assert (
        Links.make(lambda path: path, None, "").to("spec/a b.md", anchor="x") == "spec/a%20b.md#x"
    )


@pytest.mark.parametrize(
    ("fragment", "rows", "scenarios"),
    [
        ("#q=times%20out", ["OC-DEMO-1001"], ["Drain times out"]),
        ("#q=%40gpu", ["OC-DEMO-1002"], ["Model loads on the GPU"]),
        ("#q=load.feature", ["OC-DEMO-1002", "OC-DEMO-1003"],
         ["Model loads on the GPU", "Metrics are exported"]),
        ("#q=OC-DEMO-1003", ["OC-DEMO-1003"], ["Metrics are exported"]),
        ("#q=drain%20smoke", ["OC-DEMO-1001"], ["Drain finishes leases"]),
        ("#q=informative", ["OC-DEMO-1004"], []),
        ("#level=must&q=lease", ["OC-DEMO-1001"], ["Drain finishes leases", "Drain times out"]),
    ],
)  # fmt: skip
def test_search_covers_ids_scenario_names_tags_and_files(
    project: Path, tmp_path: Path, fragment: str, rows: list[str], scenarios: list[str]
) -> None:
    dom = dump(write_page(project, built_matrix(0)), fragment, tmp_path / "profile")
    assert visible(dom) == rows
    items = dom.find_all(lambda n: "scenario" in n.classes() and n.shown)
    assert [item.find_all(lambda n: n.tag == "b")[0].text() for item in items] == scenarios
    assert dom.by_id("shown-count").text() == str(len(rows))


@pytest.mark.parametrize(
    ("violations", "colour", "text"),
    [(1, RED, "Gate FAILED: 1 violation,"), (0, GREEN, "Gate passed: no violations.")],
)
def test_the_screenshot_shows_a_red_banner_on_a_violation_and_green_otherwise(
    project: Path, tmp_path: Path, violations: int, colour: tuple[int, int, int], text: str
) -> None:
    page = write_page(project, built_matrix(violations))
    assert parse(page.read_text(encoding="utf-8")).by_id("verdict").text().startswith(text)
    png = read_png(screenshot(page, tmp_path / "shot.png", (1000, 700), tmp_path / "p"), 12)
    assert (png.width, png.height) == (1000, 700)
    # The banner spans the body (24 px margins) and its top padding has no text.
    band = [png.pixel(x, 6) for x in range(40, 960, 10)]
    assert all(max(abs(c - w) for c, w in zip(p, colour, strict=True)) <= 6 for p in band), band
    assert png.pixel(5, 6) == WHITE


def test_the_summary_table_says_which_info_is_a_status_and_which_a_level(project: Path) -> None:
    dom = parse(write_page(project, built_matrix(0)).read_text(encoding="utf-8"))
    (table,) = dom.find_all(lambda n: n.tag == "table" and "counts" in n.classes())
    head = [
        th.text()
        for th in table.find_all(lambda n: n.tag == "th" and n.attrs.get("scope") == "col")
    ]
    assert head == [
        "status \\ level",
        "level: must",
        "level: should",
        "level: may",
        "level: info",
        "all levels",
    ]
    rows = [
        th.text()
        for th in table.find_all(lambda n: n.tag == "th" and n.attrs.get("scope") == "row")
    ]
    assert "status: info" in rows and rows[-1] == "all statuses"
    caption = table.find_all(lambda n: n.tag == "caption")[0].text()
    assert "the row counts info-level requirements with nothing run" in caption
    assert "the column every info-level requirement whatever its status" in caption


def test_the_page_is_deterministic_self_contained_and_labelled(project: Path) -> None:
    matrix = built_matrix(1)
    page = write_page(project, matrix).read_text(encoding="utf-8")
    assert render_html(matrix, trace._href_maker(project / "reports/trace.html")) == page
    assert not re.search(r"\bsrc=", page) and "<link" not in page
    dom = parse(page)
    labels = {n.attrs["for"] for n in dom.find_all(lambda n: n.tag == "label")}
    fields = {n.attrs["id"] for n in dom.find_all(lambda n: n.tag in ("input", "select"))}
    assert fields == {"f-status", "f-level", "f-text"} and labels == fields
    assert all("scope" in th.attrs for th in dom.find_all(lambda n: n.tag == "th"))


def visible(dom: Node) -> list[str]:
    """IDs of the requirement rows not hidden by the filters."""
    rows = dom.find_all(lambda n: n.tag == "tr" and "data-status" in n.attrs and n.shown)
    return [str(row.attrs["id"]) for row in rows]


# ----------------------------------------------------------------------------- spec-trace --html


@pytest.fixture
def report(project: Path) -> Path:
    shutil.copytree(DATA / "features", project / "features")
    (project / "spec").mkdir()
    (project / "spec/demo.md").write_text(SPEC, encoding="utf-8")
    assert extract.main([]) == 0
    assert trace.main(["review", "--all"]) == 0
    results = [str(DATA / "behave.json"), str(DATA / "pytest-bdd.json")]
    assert trace.main(["--results", *results, "--html", "reports/trace.html"]) == 1
    return project / "reports/trace.html"


def test_report_shows_summary_counts_and_failing_requirement(report: Path, tmp_path: Path) -> None:
    dom = dump(report, "", tmp_path / "profile")
    cards = dom.find_all(lambda n: str(n.attrs.get("id", "")).startswith("count-"))
    counts = {str(n.attrs["id"])[len("count-") :]: int(n.text()) for n in cards}
    assert counts == {
        "covered": 3,
        "failing": 3,
        "not-run": 0,
        "uncovered": 1,
        "waived": 0,
        "suspect": 0,
        "info": 0,
        "retired": 0,
    }
    assert dom.by_id("OC-DEMO-1001").attrs["data-status"] == "failing"
    assert dom.by_id("OC-DEMO-1006").attrs["data-status"] == "uncovered"
    assert dom.by_id("verdict").text().startswith("Gate FAILED: ")
    assert len(visible(dom)) == 7
    assert dom.by_id("shown-count").text() == "7"


def test_status_filter_from_the_url_hides_other_rows(report: Path, tmp_path: Path) -> None:
    dom = dump(report, "#status=failing", tmp_path / "profile")
    assert visible(dom) == ["OC-DEMO-1001", "OC-DEMO-1003", "OC-DEMO-1004"]
    assert dom.by_id("shown-count").text() == "3"


def test_level_and_text_filters_combine(report: Path, tmp_path: Path) -> None:
    # "outline" is in OC-DEMO-1003's text and in the name of scenarios OC-DEMO-1001 (the
    # feature's tag) also has; OC-DEMO-1004 has them too, but is a MAY.
    dom = dump(report, "#level=must&q=outline", tmp_path / "profile")
    assert visible(dom) == ["OC-DEMO-1001", "OC-DEMO-1003"]


def test_report_lists_linked_scenarios_with_steps_and_links(report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    row = page[page.index('<tr id="OC-DEMO-1004"') :]
    row = row[: row.index("</tr>")]
    assert "2 scenarios: 1 failed, 1 passed" in row
    assert '<span class="kw">When</span> I count 2 <span class="badge failed">failed</span>' in row
    assert 'href="../spec/demo.md#demo"' in row
    assert '<a class="source" href="../features/sub/demo.feature#L29">' in row


def test_spec_trace_source_url_reaches_the_page(report: Path) -> None:
    results = [str(DATA / "behave.json"), str(DATA / "pytest-bdd.json")]
    url = "https://forge.example/o/r/blob/main"  # the missing "/" is added
    assert trace.main(["--results", *results, "--html", "out.html", "--source-url", url]) == 1
    dom = parse(Path("out.html").read_text(encoding="utf-8"))
    hrefs = {a.text(): a.attrs["href"] for a in _links(dom)}
    assert hrefs["features/sub/demo.feature:9"] == (
        "https://forge.example/o/r/blob/main/features/sub/demo.feature#L9"
    )
    assert hrefs["spec/demo.md:3"] == "https://forge.example/o/r/blob/main/spec/demo.md#L3"


def test_json_and_html_agree_on_statuses(report: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results = [str(DATA / "behave.json"), str(DATA / "pytest-bdd.json")]
    capsys.readouterr()
    trace.main(["--results", *results, "--json"])
    payload = json.loads(capsys.readouterr().out)
    page = report.read_text(encoding="utf-8")
    for req in payload["requirements"]:
        assert f'<tr id="{req["id"]}" data-status="{req["status"]}"' in page


def test_every_status_is_explained_under_the_summary() -> None:
    assert set(STATUS_MEANING) == {str(s) for s in Status}
