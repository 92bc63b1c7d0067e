"""Steps of config validation: a config file's text is checked and each refusal names the field
and the file, never echoing a secret.

Serves OC-CFG-5001..5011 and OC-POOL-3022. ``check-config`` and ``make-tiny-model`` run as
real ``python -m poolmgr`` subprocesses (bounded by a timeout) in the world's private temp dir;
the in-process steps parse the config text as ``serve`` does.

Registered in the step table with :func:`harness.registry.step` (OC-BDD-7006); every Then-step
asserts (OC-BDD-7003).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from harness.assertions import assert_config_problem, assert_equal
from harness.registry import step
from harness.steps.fields import rows
from harness.world import PoolWorld
from poolmgr.config import config_schema
from poolmgr.config.reference import REGENERATE, render_reference
from poolmgr.core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


@step("given", 'a config file "{name}" containing')
def given_config(world: PoolWorld, name: str, docstring: str) -> None:
    world.config.source = name
    world.config.text = docstring


@step("when", "the config is checked")
def when_config_checked(world: PoolWorld) -> None:
    world.check_config()


@step("then", 'the config is refused naming the field "{path}"')
def then_config_refused(world: PoolWorld, path: str) -> None:
    assert_config_problem(world, path)


@step("then", 'the config is refused with a reason mentioning "{text}"')
def then_config_reason(world: PoolWorld, text: str) -> None:
    error = world.error
    assert error is not None, "the config was accepted"
    assert text in str(error), f"{text!r} not in {error}"


@step("then", 'no refusal repeats the text "{text}"')
def then_config_not_echoed(world: PoolWorld, text: str) -> None:
    error = world.error
    assert error is not None, "the config was accepted"
    assert text not in str(error), f"the refusal repeats {text!r}: {error}"


@step("then", "the config is accepted")
def then_config_accepted(world: PoolWorld) -> None:
    assert world.error is None, f"refused: {world.error}"
    assert world.config.parsed is not None


@step("then", 'each of the {n:d} pools backs off by the shared anchor: "{ceilings}" ms')
def then_pools_share_backoff(world: PoolWorld, n: int, ceilings: str) -> None:
    """The restart delay ceilings of every pool, attempt by attempt, as the feature lists them."""
    config = world.config.parsed
    assert config is not None, f"refused: {world.error}"
    assert_equal(len(config.pools), n, "pools in the config")
    expected = [int(c) for c in ceilings.split(",")]
    for pool in config.pools:
        shown = [pool.backoff.ceiling_ms(attempt) for attempt in range(len(expected))]
        assert_equal(shown, expected, f"restart delay ceilings of {pool.id}")


# --------------------------------------------------------------------------- the real command
# check-config and make-tiny-model run as real subprocesses (OC-CFG-5005..5007): the config is
# written to a folder of its own and checked from another one, so relative paths are tested.

_CLI_TIMEOUT_S = 60.0


def _folder(world: PoolWorld, name: str) -> Path:
    path = world.gate.tmp / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def _poolmgr(world: PoolWorld, *args: str, cwd: Path) -> None:
    """Run ``python -m poolmgr ARGS`` in ``cwd`` (bounded); keep its status and output."""
    done = subprocess.run(
        [sys.executable, "-m", "poolmgr", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=_CLI_TIMEOUT_S,
        check=False,
    )
    world.gate.exit_code = done.returncode
    world.gate.output = done.stdout + done.stderr


def _config_path(world: PoolWorld) -> Path:
    return _folder(world, "conf") / world.config.source


@step("given", 'the model file "{name}" beside the config is written by poolmgr make-tiny-model')
def given_tiny_model(world: PoolWorld, name: str) -> None:
    _poolmgr(world, "make-tiny-model", name, cwd=_folder(world, "conf"))
    assert world.gate.exit_code == 0, world.gate.output


@step("given", 'the file "{name}" beside the config holds the text "{text}"')
def given_file_beside(world: PoolWorld, name: str, text: str) -> None:
    path = _folder(world, "conf") / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@step("when", "poolmgr check-config checks the config file from another folder")
def when_cli_checks(world: PoolWorld) -> None:
    path = _config_path(world)
    path.write_text(world.config.text, encoding="utf-8")
    _poolmgr(world, "check-config", str(path), cwd=_folder(world, "elsewhere"))


@step("when", "poolmgr check-config --no-file-checks checks the config file from another folder")
def when_cli_checks_no_files(world: PoolWorld) -> None:
    path = _config_path(world)
    path.write_text(world.config.text, encoding="utf-8")
    _poolmgr(world, "check-config", "--no-file-checks", str(path), cwd=_folder(world, "elsewhere"))


@step("then", "check-config exits with status {code:d}")
def then_cli_status(world: PoolWorld, code: int) -> None:
    assert world.gate.exit_code == code, (
        f"exit status {world.gate.exit_code}, expected {code}; output:\n{world.gate.output}"
    )


@step("then", 'check-config refuses "{field}" of the config saying "{text}"')
def then_cli_refuses(world: PoolWorld, field: str, text: str) -> None:
    prefix = f"{_config_path(world)}: {field}: "
    lines = [line for line in world.gate.output.splitlines() if line.startswith(prefix)]
    assert lines, f"no line starts with {prefix!r}; output:\n{world.gate.output}"
    assert any(text in line for line in lines), f"{text!r} not in {lines}"
    assert "Traceback" not in world.gate.output


@step("then", "check-config says the config is ok with {count:d} {noun}")
def then_cli_ok(world: PoolWorld, count: int, noun: str) -> None:
    assert noun == ("pool" if count == 1 else "pools"), f"write '{count} pool(s)', not {noun!r}"
    want = f"{_config_path(world)}: ok ({count} {noun})"
    assert world.gate.output.splitlines() == [want], world.gate.output


# --------------------------------------------------------------------------- the examples


@step("given", "a fresh copy of the example configs without their model")
def given_fresh_examples(world: PoolWorld) -> None:
    shutil.copytree(
        ROOT / "examples", world.gate.tmp / "examples", ignore=shutil.ignore_patterns("models")
    )


@step("when", "poolmgr check-config checks every example")
def when_cli_checks_examples(world: PoolWorld) -> None:
    names = sorted(p.name for p in (world.gate.tmp / "examples").glob("*.yaml"))
    _poolmgr(world, "check-config", *names, cwd=world.gate.tmp / "examples")


@step("when", "the poolmgr command the examples' comments name is run in the copy")
def when_example_command(world: PoolWorld) -> None:
    commands = {
        line.split("poolmgr ", 1)[1].strip()
        for path in (world.gate.tmp / "examples").glob("*.yaml")
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.startswith("#") and "  poolmgr " in line
    }
    assert len(commands) == 1, f"the examples name {sorted(commands)}; expected one command"
    _poolmgr(world, *commands.pop().split(), cwd=world.gate.tmp)
    assert world.gate.exit_code == 0, world.gate.output


@step("then", "check-config says of the examples")
def then_examples_verdicts(world: PoolWorld, datatable: list[list[str]]) -> None:
    want = sorted(f"{r['example']}: {r['verdict']}" for r in rows(datatable))
    got = sorted(
        line if ": ok (" in line else ": ".join(line.split(": ")[:2])
        for line in world.gate.output.splitlines()
    )
    assert got == want, f"got {got}, expected {want}"


# --------------------------------------------------------------------------- problems, exactly


@step("then", "the config is refused with exactly these problems")
def then_exact_problems(world: PoolWorld, datatable: list[list[str]]) -> None:
    error = world.error
    assert isinstance(error, ConfigError), f"expected a config refusal, got {error!r}"
    got = [(p.path, _LINE.sub("", p.reason)) for p in error.problems]
    want = [(r["field"], r["reason"]) for r in rows(datatable)]
    assert got == want, f"got {got}, expected {want}"


_LINE = re.compile(r" \(line \d+\)$")
_FIELDISH = re.compile(r"\b([a-z]+(?:_[a-z0-9]+)+)\b|\b([a-z]\w*): (?:true|false)\b")


def _schema_fields() -> set[str]:
    schema = config_schema()
    owners = [schema, *schema["$defs"].values()]
    return {name for owner in owners for name in owner.get("properties", {})}


@step("then", "every field name the refusal mentions is a field of the config schema")
def then_hints_name_real_fields(world: PoolWorld) -> None:
    error = world.error
    assert isinstance(error, ConfigError), f"expected a config refusal, got {error!r}"
    mentioned = {a or b for p in error.problems for a, b in _FIELDISH.findall(p.reason)}
    assert mentioned, f"the refusal names no field: {error}"
    unknown = sorted(mentioned - _schema_fields())
    assert unknown == [], f"the refusal names fields the schema lacks: {unknown}"


# --------------------------------------------------------------------------- the reference


@step("when", "the config reference is generated from the schema")
def when_reference(world: PoolWorld) -> None:
    world.gate.output = render_reference()


@step("then", 'it is the page committed as "{page}"')
def then_reference_committed(world: PoolWorld, page: str) -> None:
    committed = (ROOT / page).read_text(encoding="utf-8")
    assert committed == world.gate.output, f"{page} differs from the schema; run: {REGENERATE}"


@step("then", "every field of the schema has a description")
def then_every_description(world: PoolWorld) -> None:
    schema = config_schema()
    owners = [schema, *schema["$defs"].values()]
    bare = [n for o in owners for n, p in o.get("properties", {}).items() if "description" not in p]
    assert bare == [], f"fields without a description: {bare}"


@step("then", 'every optional field has a default, except "{names}"')
def then_every_default(world: PoolWorld, names: str) -> None:
    schema = config_schema()
    without = sorted(
        name
        for owner in [schema, *schema["$defs"].values()]
        for name, prop in owner.get("properties", {}).items()
        if name not in owner.get("required", []) and "default" not in prop
    )
    assert without == sorted(n.strip() for n in names.split(",")), without


@step("then", "the reference shows these fields")
def then_reference_rows(world: PoolWorld, datatable: list[list[str]]) -> None:
    page = world.gate.output
    for r in rows(datatable):
        heading = f"## `{r['section']}`"
        assert heading in page, f"no section {heading}"
        section = page.split(heading, 1)[1].split("\n## ", 1)[0]
        row = next((x for x in section.splitlines() if x.startswith(f"| `{r['field']}` |")), None)
        assert row is not None, f"no row for {r['field']} under {heading}"
        cells = [c.strip() for c in row.strip("|").split(" | ")]
        assert cells[2] == r["default"], (
            f"{r['field']}: default {cells[2]}, expected {r['default']}"
        )
        assert r["meaning mentions"] in cells[3], f"{r['field']}: {cells[3]!r}"
