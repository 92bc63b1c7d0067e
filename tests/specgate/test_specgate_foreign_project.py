"""The spec tooling on someone else's project, installed from this repository as a user would.

A throwaway project with its own layout (specs in ``docs/spec``, features in
``tests/acceptance``, reports in ``build``), specs written in a foreign style (IDs at the end of
bullets and in an ID column), its own product module, features and behave steps. The tooling is
installed into a fresh virtual environment from ``packaging/specgate`` (``pip install``, with
behave beside it), and the pipeline runs with that environment's commands only: extract →
review → behave → trace. Nothing of this repository's layout, venv or harness is used.

The product is first right (the gate passes), then wrong in one case of a MUST requirement
whose other scenario still passes (the gate fails, naming the scenario, its failed step and the
message).
"""

from __future__ import annotations

import os
import subprocess
import textwrap
import tomllib
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SPEC = """\
# Ticket queue

The key words MUST, SHOULD and MAY are to be read as in RFC 2119.

## Admission

* The queue **MUST** refuse a ticket when it already holds 3 tickets. [ORCH-4001]
* The queue **MUST** hand tickets out in the order they came. [ORCH-4002]

| ID | Requirement |
|----|-------------|
| ORCH-4003 | A caller **MAY** look at the next ticket without taking it. |
"""

FEATURE = """\
Feature: Ticket queue admission

  @ORCH-4001
  Scenario: A full queue refuses the next ticket
    Given a queue holding 3 tickets
    When a caller offers a ticket
    Then the ticket is refused

  @ORCH-4001
  Scenario: A queue with room takes the ticket
    Given a queue holding 2 tickets
    When a caller offers a ticket
    Then the ticket is taken

  @ORCH-4002
  Scenario: Tickets leave in the order they came
    Given an empty queue
    When tickets "a", "b" and "c" are offered
    Then the tickets taken out are "a", "b" and "c"

  @ORCH-4003
  Scenario: Looking at the next ticket leaves it in the queue
    Given an empty queue
    When tickets "a", "b" and "c" are offered
    Then the next ticket is "a" and the queue still holds 3 tickets
"""

STEPS = """\
from behave import given, then, when

from ticketq import TicketQueue


@given("a queue holding {n:d} tickets")
def queue_holding(context, n):
    context.queue = TicketQueue()
    for i in range(n):
        assert context.queue.offer(f"t{i}")


@given("an empty queue")
def empty_queue(context):
    context.queue = TicketQueue()


@when("a caller offers a ticket")
def offer_one(context):
    context.taken = context.queue.offer("new")


@when('tickets "{a}", "{b}" and "{c}" are offered')
def offer_three(context, a, b, c):
    for ticket in (a, b, c):
        assert context.queue.offer(ticket)


@then("the ticket is refused")
def refused(context):
    assert context.taken is False, f"the queue took a 4th ticket (holds {len(context.queue)})"


@then("the ticket is taken")
def taken(context):
    assert context.taken is True, "the queue refused a ticket with room for it"


@then('the tickets taken out are "{a}", "{b}" and "{c}"')
def taken_out(context, a, b, c):
    got = [context.queue.take() for _ in range(3)]
    assert got == [a, b, c], got


@then('the next ticket is "{a}" and the queue still holds {n:d} tickets')
def peeked(context, a, n):
    assert context.queue.peek() == a
    assert len(context.queue) == n
"""

PRODUCT = """\
class TicketQueue:
    LIMIT = {limit}

    def __init__(self):
        self._items = []

    def offer(self, ticket):
        if len(self._items) >= self.LIMIT:
            return False
        self._items.append(ticket)
        return True

    def take(self):
        return self._items.pop(0)

    def peek(self):
        return self._items[0]

    def __len__(self):
        return len(self._items)
"""

ENV_PY = """\
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
"""


@pytest.fixture(scope="module")
def tools(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the spec tooling installed from this repository (and behave)."""
    where = tmp_path_factory.mktemp("specgate-venv") / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(where)
    done = subprocess.run(
        [str(where / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
         str(ROOT / "packaging" / "specgate"), "behave>=1.2.6"],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return where / "bin"


def _project(root: Path, limit: int) -> Path:
    files = {
        "docs/spec/queue.md": SPEC,
        "tests/acceptance/queue.feature": FEATURE,
        "tests/acceptance/steps/queue_steps.py": STEPS,
        "tests/acceptance/environment.py": ENV_PY,
        "src/ticketq.py": PRODUCT.format(limit=limit),
    }
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def _env(tools: Path) -> dict[str, str]:
    """The environment a user of that venv has: nothing of this repository on the path."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{tools}{os.pathsep}{env.get('PATH', '')}"
    return env


def _run(tools: Path, project: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(tools / argv[0]), *argv[1:]],
        cwd=project, env=_env(tools), capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def _pipeline(tools: Path, project: Path) -> subprocess.CompletedProcess[str]:
    extract = _run(tools, project, "spec-extract", "--spec-dir", "docs/spec",
                   "--out-dir", "build/requirements", "--no-cache")  # fmt: skip
    assert extract.returncode == 0, extract.stdout + extract.stderr
    review = _run(tools, project, "spec-trace", "review", "--all", "--requirements",
                  "build/requirements", "--lock", "docs/trace.lock.yaml")  # fmt: skip
    assert review.returncode == 0, review.stdout + review.stderr
    behave = _run(tools, project, "behave", "--no-capture", "-f",
                   "specgate.behave_formatter:PrettyJSONFormatter",
                  "-o", "build/behave.json", "-f", "progress", "tests/acceptance")  # fmt: skip
    assert (project / "build" / "behave.json").is_file(), behave.stdout + behave.stderr
    return _run(tools, project, "spec-trace", "--requirements", "build/requirements",
                "--lock", "docs/trace.lock.yaml", "--features", "tests/acceptance",
                "--results", "build/behave.json", "--waivers", "docs/waivers.yaml",
                "--html", "build/traceability.html", "--no-cache")  # fmt: skip


def test_the_tooling_is_installed_apart_from_this_repository(tools: Path) -> None:
    where = _run(tools, tools, "python", "-c", "import specgate; print(specgate.__file__)")
    assert Path(where.stdout.strip()).is_relative_to(tools.parent), where.stdout + where.stderr
    poolmgr = _run(tools, tools, "python", "-c", "import poolmgr")
    assert poolmgr.returncode == 1 and "No module named 'poolmgr'" in poolmgr.stderr


def test_foreign_style_specs_are_extracted_with_every_id(tools: Path, tmp_path: Path) -> None:
    project = _project(tmp_path, limit=3)
    done = _run(tools, project, "spec-extract", "--spec-dir", "docs/spec",
                "--out-dir", "build/requirements", "--no-cache")  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    written = (project / "build" / "requirements" / "queue.yaml").read_text(encoding="utf-8")
    for rid, level in (("ORCH-4001", "must"), ("ORCH-4002", "must"), ("ORCH-4003", "may")):
        assert f'- id: "{rid}"\n' in written
        record = written.split(f'- id: "{rid}"\n', 1)[1].split("\n- id:", 1)[0]
        assert f'  level: "{level}"\n' in record, record
        assert '  source: "docs/spec/queue.md:' in record, record


def test_a_right_product_passes_the_gate(tools: Path, tmp_path: Path) -> None:
    project = _project(tmp_path, limit=3)
    done = _pipeline(tools, project)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "gate: passed" in done.stdout
    page = (project / "build" / "traceability.html").read_text(encoding="utf-8")
    assert "ORCH-4001" in page and "A full queue refuses the next ticket" in page


def test_a_must_with_one_failing_and_one_passing_scenario_fails_the_gate(
    tools: Path, tmp_path: Path
) -> None:
    project = _project(tmp_path, limit=4)  # takes a 4th ticket: ORCH-4001's first scenario fails
    done = _pipeline(tools, project)
    assert done.returncode == 1, done.stdout + done.stderr
    out = done.stdout
    assert "gate: FAILED" in out, out
    assert "ORCH-4001" in out
    assert "tests/acceptance/queue.feature:4" in out, out
    assert "Then the ticket is refused" in out, out
    assert "the queue took a 4th ticket (holds 4)" in out, out


def test_the_standalone_distribution_agrees_with_the_project() -> None:
    """packaging/specgate declares the same commands as the project, and each of its
    dependencies with the same version range as the project's own list."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    alone = tomllib.loads(
        (ROOT / "packaging" / "specgate" / "pyproject.toml").read_text(encoding="utf-8")
    )["project"]
    ours = {k: v for k, v in project["scripts"].items() if v.startswith("specgate.")}
    assert alone["scripts"] == ours
    assert set(alone["dependencies"]) <= set(project["dependencies"])
    assert alone["requires-python"] == project["requires-python"]
