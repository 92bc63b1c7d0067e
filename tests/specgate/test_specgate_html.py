"""The HTML traceability report, rendered by headless Chromium as a reviewer would see it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from specgate import extract, trace

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


def find_chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    reason = "chromium not installed (apt-get install chromium chromium-driver)"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; required when CI is set")
    pytest.skip(reason)


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


class Dom(HTMLParser):
    """What the dumped DOM shows: requirement rows, counters and the verdict."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, dict[str, str | None]] = {}
        self.texts: dict[str, str] = {}
        self._capture: str | None = None
        self._row: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "tr" and attributes.get("data-status"):
            self._row = attributes.get("id") or ""
            self.rows[self._row] = attributes
        element_id = attributes.get("id")
        if element_id and (
            element_id.startswith("count-") or element_id in ("shown-count", "verdict")
        ):
            self._capture = element_id
            self.texts[element_id] = ""
        if tag == "span" and self._row and "badge" in (attributes.get("class") or ""):
            self._capture = f"badge:{self._row}"
            self.texts.setdefault(self._capture, "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("span", "b", "p"):
            self._capture = None
        if tag == "tr":
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._capture:
            self.texts[self._capture] += data


def dump(page: Path, fragment: str, profile: Path) -> Dom:
    chromium = find_chromium()
    done = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--dump-dom",
            page.as_uri() + fragment,
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    dom = Dom()
    dom.feed(done.stdout)
    return dom


def visible(dom: Dom) -> list[str]:
    return [rid for rid, attrs in dom.rows.items() if "hidden" not in attrs]


def test_report_shows_summary_counts_and_failing_requirement(report: Path, tmp_path: Path) -> None:
    dom = dump(report, "", tmp_path / "profile")
    counts = {k[len("count-") :]: int(v) for k, v in dom.texts.items() if k.startswith("count-")}
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
    assert dom.rows["OC-DEMO-1001"]["data-status"] == "failing"
    assert dom.texts["badge:OC-DEMO-1001"].startswith("failing")
    assert dom.rows["OC-DEMO-1006"]["data-status"] == "uncovered"
    assert dom.texts["verdict"].startswith("Gate FAILED: 5 violation")
    assert len(visible(dom)) == 7
    assert dom.texts["shown-count"] == "7"


def test_status_filter_from_the_url_hides_other_rows(report: Path, tmp_path: Path) -> None:
    dom = dump(report, "#status=failing", tmp_path / "profile")
    assert visible(dom) == ["OC-DEMO-1001", "OC-DEMO-1003", "OC-DEMO-1004"]
    assert dom.texts["shown-count"] == "3"


def test_level_and_text_filters_combine(report: Path, tmp_path: Path) -> None:
    dom = dump(report, "#level=must&q=outline", tmp_path / "profile")
    assert visible(dom) == ["OC-DEMO-1003"]


def test_report_is_self_contained(report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    assert not re.search(r"""(?:src|href)=["'](?:https?:)?//""", page)
    assert "<link" not in page
    assert "<style>" in page and "<script>" in page


def test_report_lists_linked_scenarios_with_steps(report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    row = page[page.index('<tr id="OC-DEMO-1004"') :]
    row = row[: row.index("</tr>")]
    assert "2 scenarios: 1 failed, 1 passed" in row
    assert '<span class="kw">When</span> I count 2 <span class="badge failed">failed</span>' in row
    assert 'href="../spec/demo.md#demo"' in row


def test_json_and_html_agree_on_statuses(report: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results = [str(DATA / "behave.json"), str(DATA / "pytest-bdd.json")]
    capsys.readouterr()
    trace.main(["--results", *results, "--json"])
    payload = json.loads(capsys.readouterr().out)
    page = report.read_text(encoding="utf-8")
    for req in payload["requirements"]:
        assert f'<tr id="{req["id"]}" data-status="{req["status"]}"' in page
