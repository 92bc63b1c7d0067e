"""Steps that prove the project's own gates: the BDD gates and the OpenAPI drift check.

- BDD gates (OC-BDD-7001..7006): a throw-away project with one planted defect
  (:mod:`harness.projects`) is checked by :func:`specgate.bdd.run`, and the finding is asserted
  by its text; the clean project must pass every gate.
- OpenAPI contract (OC-CTL-4008): ``ci/check_openapi.py`` runs as a real subprocess, against the
  committed document and against a temp copy with a planted drift (``--path``).

Registered in the step table with :func:`harness.registry.step` (OC-BDD-7006); every Then-step
asserts (OC-BDD-7003).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from harness.assertions import assert_equal
from harness.projects import build_project
from harness.registry import step
from harness.world import GatePart, PoolWorld
from specgate.bdd import run

ROOT = Path(__file__).resolve().parents[2]


CHECK_OPENAPI = ROOT / "ci" / "check_openapi.py"


COMMITTED_OPENAPI = ROOT / "spec" / "openapi.json"


CHECK_TIMEOUT_S = 60


@step("given", 'a throw-away BDD project with the planted defect "{defect}"')
def given_gate_project(world: PoolWorld, defect: str) -> None:
    world.gate.project = build_project(world.gate.tmp / "project", defect)


@step("when", "the BDD gates check the throw-away project")
def when_gates_check(world: PoolWorld) -> None:
    state = world.gate
    assert state.project, "setup: no throw-away project was built"
    state.violations = run(**state.project)


def _violations(world: PoolWorld) -> list[str]:
    found = world.gate.violations
    assert found is not None, "the gates have not checked the project"
    return found


@step("then", "the gates report no violation")
def then_no_violation(world: PoolWorld) -> None:
    assert_equal(_violations(world), [], "violations of the clean project")


@step("then", 'the gates report a violation containing "{text}"')
def then_violation(world: PoolWorld, text: str) -> None:
    found = _violations(world)
    assert any(text in v for v in found), f"no violation contains {text!r}: {found}"


def _check_openapi(state: GatePart, path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(CHECK_OPENAPI), "--path", str(path)],
        cwd=state.tmp,
        capture_output=True,
        text=True,
        timeout=CHECK_TIMEOUT_S,
        check=False,
    )
    state.exit_code = done.returncode
    state.output = done.stdout + done.stderr


@step("given", 'a copy of the committed OpenAPI document whose title says "{title}"')
def given_drifted_openapi(world: PoolWorld, title: str) -> None:
    state = world.gate
    document = json.loads(COMMITTED_OPENAPI.read_text(encoding="utf-8"))
    assert document["info"]["title"] != title, "setup: the planted title is not a drift"
    document["info"]["title"] = title
    copy = state.tmp / "openapi.json"
    copy.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    state.planted = title


@step("when", "the OpenAPI check runs against the committed document")
def when_check_committed(world: PoolWorld) -> None:
    _check_openapi(world.gate, COMMITTED_OPENAPI)


@step("when", "the OpenAPI check runs against the drifted copy")
def when_check_copy(world: PoolWorld) -> None:
    state = world.gate
    copy = state.tmp / "openapi.json"
    assert copy.exists(), "setup: no drifted copy was written"
    _check_openapi(state, copy)


@step("then", "the OpenAPI check exits with status {code:d}")
def then_check_status(world: PoolWorld, code: int) -> None:
    state = world.gate
    assert_equal(state.exit_code, code, f"exit status of check_openapi ({state.output})")


@step("then", 'the OpenAPI check says "{text}"')
def then_check_says(world: PoolWorld, text: str) -> None:
    output = world.gate.output
    assert text in output, f"{text!r} not in the check's output: {output}"


@step("then", "the OpenAPI check shows the planted line as a removed diff line")
def then_check_diff(world: PoolWorld) -> None:
    state = world.gate
    lines = state.output.splitlines()
    removed = [line for line in lines if line.startswith("-") and not line.startswith("---")]
    assert any(state.planted in line for line in removed), f"drift not shown: {state.output}"
