"""Steps for the container image and poolmgr as process 1 (features/deploy/container.feature).

Two kinds of scenario:

- the image definition, read statically (no network, so no build, where the suite runs):
  ``Containerfile`` parsed with ``dockerfile-parse`` (:mod:`harness.containerfile`), kept in
  the world's gate part; its variants, the engine build, the user and the command, the last
  handed to poolmgr's own argument parser (OC-DEP-8001..8004);
- ``@process``: a real ``poolmgr serve`` as process 1 of a PID namespace of its own
  (:class:`harness.pid1.Pid1Manager`, the scenario's live manager, so the live steps of
  :mod:`harness.steps.live` apply to it), signalled from outside the namespace as a container
  runtime does, its per-engine reapers killed with real SIGKILLs (OC-DEP-8005..8007).

Every wait is bounded; every Then-step compares with the values the feature states.
Registered in the step table with :func:`harness.registry.step` (OC-BDD-7006).
"""

from __future__ import annotations

import json
import shlex
import signal

import psutil

from harness.assertions import assert_equal
from harness.containerfile import (
    CONTAINERFILE,
    Containerfile,
    command_line,
    parse_with_poolmgr,
    read_containerfile,
)
from harness.pid1 import Pid1Manager, pid1_manager_of, pid_namespace_problem
from harness.registry import step
from harness.steps.fields import names, rows
from harness.waiting import wait_until
from harness.world import PoolWorld

_KEY = "containerfile"


def _image(world: PoolWorld) -> Containerfile:
    image = world.gate.project.get(_KEY)
    assert isinstance(image, Containerfile), "setup: no image definition was read"
    return image


def _cmake_builds(image: Containerfile, variant: str) -> tuple[str, list[str]]:
    runs = "\n".join(image.chosen_by("VARIANT", variant)["engine"].values("RUN")).replace('"', "")
    builds = [line.strip(" \\&") for line in runs.splitlines() if "cmake --build" in line]
    return runs, builds


# --------------------------------------------------------------------------- the definition


@step("given", "the image definition of the repository")
def given_image(world: PoolWorld) -> None:
    world.gate.project[_KEY] = read_containerfile(CONTAINERFILE)


@step("then", 'the build argument "{arg}" is "{value}" unless given')
def then_arg_default(world: PoolWorld, arg: str, value: str) -> None:
    assert_equal(_image(world).global_args.get(arg), value, f"default of {arg}")


@step("then", 'the build argument "{arg}" picks these stages:')
def then_variant_stages(world: PoolWorld, arg: str, datatable: list[list[str]]) -> None:
    image = _image(world)
    for row in rows(datatable):
        chosen = image.chosen_by(arg, row["value"])
        got = {"engine": chosen["engine"].name, "runtime": chosen[image.final.name].name}
        want = {"engine": row["engine stage"], "runtime": row["runtime stage"]}
        assert_equal(got, want, f"{arg}={row['value']}")


@step(
    "then",
    'the engine of the variant "{variant}" is built as the "{target}" target alone, '
    'configured with "{flags}"',
)
def then_engine_build(world: PoolWorld, variant: str, target: str, flags: str) -> None:
    runs, builds = _cmake_builds(_image(world), variant)
    assert builds, f"variant {variant}: no cmake --build"
    for build in builds:
        assert f"--target {target} " in f"{build} ", f"variant {variant} builds more: {build}"
    missing = [flag for flag in flags.split() if flag not in runs]
    assert_equal(missing, [], f"variant {variant}: configure flags missing")


@step("then", 'the engine of the variant "{variant}" is configured without "{flag}"')
def then_engine_without(world: PoolWorld, variant: str, flag: str) -> None:
    runs, _ = _cmake_builds(_image(world), variant)
    assert_equal(flag in runs, False, f"variant {variant} configured with {flag}")


@step("then", 'the image runs as the user "{user}"')
def then_user(world: PoolWorld, user: str) -> None:
    assert_equal(_image(world).final.last("USER"), user, "USER of the final stage")


@step("then", 'the container\'s command line is "{cmdline}"')
def then_cmdline(world: PoolWorld, cmdline: str) -> None:
    assert_equal(shlex.join(command_line(_image(world).final)), cmdline, "ENTRYPOINT + CMD")


@step(
    "then",
    'poolmgr\'s own argument parser accepts it as the command "{command}" '
    'with the config file "{path}"',
)
def then_parser_accepts(world: PoolWorld, command: str, path: str) -> None:
    parsed = parse_with_poolmgr(command_line(_image(world).final))
    assert_equal((parsed.status, parsed.message), (0, ""), "poolmgr's parser")
    assert parsed.args is not None
    assert_equal((parsed.args.command, parsed.args.config), (command, path), "parsed")


@step("then", 'the image\'s writable folders are "{folders}"')
def then_volumes(world: PoolWorld, folders: str) -> None:
    values = _image(world).final.values("VOLUME")
    got = [folder for value in values for folder in json.loads(value)]
    assert_equal(got, names(folders), "VOLUME folders")


@step("then", 'the image\'s working directory is "{path}"')
def then_workdir(world: PoolWorld, path: str) -> None:
    assert_equal(_image(world).final.last("WORKDIR"), path, "WORKDIR of the final stage")


@step("then", 'the image sets "{name}" to "{value}"')
def then_env(world: PoolWorld, name: str, value: str) -> None:
    pairs = (pair for line in _image(world).final.values("ENV") for pair in line.split())
    env = dict(pair.split("=", 1) for pair in pairs if "=" in pair)
    assert_equal(env.get(name), value, f"ENV {name}")


# --------------------------------------------------------------------------- process 1


def _pid1(world: PoolWorld) -> Pid1Manager:
    return pid1_manager_of(world)


def _orphans_logged(live: Pid1Manager) -> list[dict[str, object]]:
    lines = (json.loads(line) for line in live.stderr().splitlines() if line.startswith("{"))
    return [line for line in lines if line.get("event") == "orphan_reaped"]


@step("given", "the manager is running as process 1 of its own PID namespace with this config")
def given_pid1_manager(world: PoolWorld, docstring: str) -> None:
    problem = pid_namespace_problem()
    assert problem is None, f"setup: no PID namespace can be made here: {problem}"
    _pid1(world).start(docstring)


@step("when", 'the per-engine reaper of the live pool "{pool}" is killed with SIGKILL')
def kill_reaper(world: PoolWorld, pool: str) -> None:
    live = _pid1(world)
    engine = live.engine_of(str(live.health(pool)["model_ref"]))
    reaper = engine.parent()
    assert reaper is not None, f"engine {engine.pid} has no parent"
    assert "poolmgr.runtime.reaper" in reaper.cmdline(), f"not a reaper: {reaper.cmdline()}"
    live.killed_pids.append(engine.pid)  # the engine dies of its parent-death signal
    reaper.kill()


@step("then", "the orphaned engine is gone, reaped by the manager, within {seconds:d} seconds")
def then_orphan_reaped(world: PoolWorld, seconds: int) -> None:
    live = _pid1(world)
    assert live.killed_pids, "setup: no engine was orphaned"
    pid = live.killed_pids[-1]

    def gone() -> bool:  # a zombie still exists: only a wait removes it
        return not psutil.pid_exists(pid)

    wait_until(gone, seconds, f"engine {pid} reaped (not left a zombie)")
    assert_equal(live.zombies(), [], "zombies left in the namespace")


@step("then", 'the manager has logged {count:d} reaped orphan ended by "{sig}"')
def then_orphans_logged(world: PoolWorld, count: int, sig: str) -> None:
    logged = [(o["event"], o["signal"]) for o in _orphans_logged(_pid1(world))]
    assert_equal(logged, [("orphan_reaped", int(signal.Signals[sig]))] * count, "orphans")


@step("then", "the manager has logged no reaped orphan")
def then_no_orphans(world: PoolWorld) -> None:
    assert_equal(_orphans_logged(_pid1(world)), [], "orphans reaped")


@step("when", "process 1 is sent {sig} from outside its namespace")
def send_signal(world: PoolWorld, sig: str) -> None:
    live = _pid1(world)
    live.inside = live.namespace()
    live.signal(signal.Signals[sig])


@step("then", "the manager exits with status {code:d} within {seconds:d} seconds")
def then_exit(world: PoolWorld, code: int, seconds: int) -> None:
    assert_equal(_pid1(world).wait_exit(seconds), code, "exit status of process 1")


@step("then", "no process that ran in its namespace is left")
def then_none_left(world: PoolWorld) -> None:
    live = _pid1(world)
    assert len(live.inside) >= 3, f"setup: manager, reaper and engine expected: {live.inside}"
    left = [p.pid for p in live.inside if p.is_running()]
    assert_equal(left, [], "processes left")
