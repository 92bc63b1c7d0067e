"""Steps of the operator's commands: ``poolmgr status``, bad arguments, and the health body.

``poolmgr status`` runs as a real subprocess against the scenario's live manager (and, where a
scenario says so, an address where nothing listens, or a fleet: a second real manager on
127.0.0.2 at the same port, the shape of a headless Service's pods); its table is compared with
the one the feature writes, durations (uptime, the age of an error) written as ``<duration>``
since they depend on when the step runs. The health body's shape is compared with the groups
and fields the feature lists, so a fact repeated under a second name or renamed fails the
scenario.

A name the feature makes resolve (``the name ... resolves to ...``) is resolved by the command
itself, with the system resolver: the command runs in a private mount namespace
(``unshare --mount``) whose ``/etc/hosts`` is the scenario's, so ``getaddrinfo`` answers from
the hosts file as it would from a headless Service's DNS records; nothing in the command is
doubled.

Serves OC-CTL-4020, OC-CTL-4021, OC-CTL-4024..4030 at process level (4027: any ``poolmgr``
subcommand run with bad arguments; 4028/4029: ``--dns``; 4030: ``--token-file``).

Registered in the step table with :func:`harness.registry.step` (OC-BDD-7006); every Then-step
asserts (OC-BDD-7003).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import weakref
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from harness.assertions import assert_equal
from harness.live import LiveManager, live_manager_of
from harness.registry import step
from harness.waiting import wait_until
from harness.world import PoolWorld

ROOT = Path(__file__).resolve().parents[2]
STATUS_TIMEOUT_S = 60.0
_DURATION = re.compile(r"\b\d+(?:ms|s|m\d\ds|h\d\dm|d\d\dh)\b")
_NOWHERE = "$NOWHERE"
_LIVE = "$LIVE"
_PORT = "$PORT"
HOSTS_FILE = "hosts"
"""In the scenario's temp dir: the hosts file the operator's commands resolve names with."""


def _nowhere(world: PoolWorld) -> str:
    """A local address where nothing listens (a port bound, then released), fixed per scenario."""
    if not world.gate.planted:
        with socket.create_server(("127.0.0.1", 0)) as sock:
            world.gate.planted = f"http://127.0.0.1:{sock.getsockname()[1]}"
    return world.gate.planted


def expand(world: PoolWorld, text: str) -> str:
    """``$LIVE``, ``$PORT`` and ``$NOWHERE`` in a feature's text, replaced."""
    if _LIVE in text or _PORT in text:
        url = live_manager_of(world).url
        text = text.replace(_LIVE, url).replace(_PORT, url.rsplit(":", 1)[-1])
    return text.replace(_NOWHERE, _nowhere(world)) if _NOWHERE in text else text


def _run_status(world: PoolWorld, options: str, env: dict[str, str] | None = None) -> None:
    run_poolmgr(world, ["status", *expand(world, options).split()], env)


def _resolving(world: PoolWorld, args: list[str]) -> list[str]:
    """``args`` run where ``/etc/hosts`` is the scenario's hosts file, when it wrote one."""
    hosts = world.gate.tmp / HOSTS_FILE
    if not hosts.exists():
        return args
    unshare = shutil.which("unshare")
    assert unshare, "resolving a scenario's names needs unshare (util-linux)"
    # Root needs only a mount namespace; anyone else maps itself to root in a user namespace.
    ns = ["--mount"] if os.geteuid() == 0 else ["--mount", "--map-root-user"]
    bind = 'mount --bind "$0" /etc/hosts && exec "$@"'
    return [unshare, *ns, "sh", "-c", bind, str(hosts), *args]


def run_poolmgr(world: PoolWorld, argv: list[str], env: dict[str, str] | None = None) -> None:
    """``python -m poolmgr ARGV`` as the operator runs it; its status and output recorded."""
    args = _resolving(world, [sys.executable, "-m", "poolmgr", *argv])
    base = {k: v for k, v in os.environ.items() if k != "POOLMGR_TOKEN"}
    done = subprocess.run(
        args,
        capture_output=True,
        text=True,
        timeout=STATUS_TIMEOUT_S,
        check=False,
        cwd=world.gate.tmp,
        env={**base, "PYTHONPATH": str(ROOT), **(env or {})},
    )
    world.gate.exit_code = done.returncode
    world.gate.output = done.stdout + done.stderr


@step(
    "given",
    "a second manager is running with its embedded default config on {host} at the same port",
)
def given_second_manager(world: PoolWorld, host: str) -> None:
    """A further real manager on ``host`` at the live manager's port, stopped with the world."""
    port = int(live_manager_of(world).url.rsplit(":", 1)[-1])
    second = LiveManager()
    world.fleet.append(second)
    weakref.finalize(world, second.stop)
    second.start(None, host=host, port=port, adopt=False)
    assert_equal(second.url, f"http://{host}:{port}", "the second manager's URL")


@step("given", 'the pools "{pools}" of the second manager are ready')
def given_second_ready(world: PoolWorld, pools: str) -> None:
    assert world.fleet, "the scenario started no second manager"
    for pool in (p.strip() for p in pools.split(",")):
        world.fleet[0].wait_health(pool, lambda h: bool(h["ready"]), "ready", 30)


@step("given", 'the name "{name}" resolves to {addresses} for the operator\'s commands')
def given_name_resolves(world: PoolWorld, name: str, addresses: str) -> None:
    """A hosts file the operator's commands resolve with: one line per address, in this order."""
    ips = [a.strip() for a in addresses.replace(" and ", ",").split(",") if a.strip()]
    lines = ["127.0.0.1 localhost", *(f"{ip} {name}" for ip in ips)]
    (world.gate.tmp / HOSTS_FILE).write_text("\n".join(lines) + "\n")


@step("given", 'the file "{name}" holds "{text}" and a newline')
def given_file_holding(world: PoolWorld, name: str, text: str) -> None:
    (world.gate.tmp / name).write_text(f"{text}\n")


@step("given", 'the file "{name}" is empty')
def given_empty_file(world: PoolWorld, name: str) -> None:
    (world.gate.tmp / name).write_text("")


@step("when", "an operator runs poolmgr status with {options}")
def when_status(world: PoolWorld, options: str) -> None:
    _run_status(world, options)


@step("when", 'an operator with "{var}" holding "{token}" runs poolmgr status with {options}')
def when_status_with_token(world: PoolWorld, var: str, token: str, options: str) -> None:
    _run_status(world, options, {var: token})


@step("when", 'an operator runs "poolmgr {args}"')
def when_poolmgr(world: PoolWorld, args: str) -> None:
    run_poolmgr(world, shlex.split(args))


@step("then", "the command exits with status {code:d}")
def then_command_exit(world: PoolWorld, code: int) -> None:
    assert_equal(world.gate.exit_code, code, f"exit status; output:\n{world.gate.output}")


@step("then", 'the command says only "{line}"')
def then_command_says_only(world: PoolWorld, line: str) -> None:
    assert_equal(world.gate.output.splitlines(), [expand(world, line)], "the command's output")


@step("then", "the command drew the status table {n:d} times")
def then_drew_n_times(world: PoolWorld, n: int) -> None:
    headers = [line for line in world.gate.output.splitlines() if line.startswith("POOL ")]
    assert_equal(len(headers), n, f"tables drawn; output:\n{world.gate.output}")


def _table_rows(text: str) -> list[list[str]]:
    return [
        [c.strip() for c in line.strip().strip("|").split("|")]
        for line in text.strip().splitlines()
    ]


@step("then", "the status table shows")
def then_status_table(world: PoolWorld, docstring: str) -> None:
    """The feature's rows (``|``-separated, header first) against the command's columns."""
    expected = _table_rows(expand(world, docstring))
    assert len(expected) > 1, "the feature gives no row to compare with"
    printed = [
        line for line in world.gate.output.splitlines() if not line.startswith("poolmgr status:")
    ]
    assert printed, "the command printed no table"
    # Columns are separated by two or more spaces; a cell never holds two spaces in a row.
    cells = [re.split(r" {2,}", line.strip()) for line in printed]
    shown = [[_DURATION.sub("<duration>", c) for c in row] for row in cells]
    assert_equal(shown, expected, "status table")


@step("then", 'the command says a line that starts with "{start}"')
def then_says_starting(world: PoolWorld, start: str) -> None:
    wanted = expand(world, start)
    lines = [line for line in world.gate.output.splitlines() if line.startswith(wanted)]
    assert_equal(len(lines), 1, f"lines starting with {wanted!r} in:\n{world.gate.output}")


@step("then", 'the command says "{line}"')
def then_status_says(world: PoolWorld, line: str) -> None:
    lines = world.gate.output.splitlines()
    wanted = expand(world, line)
    assert wanted in lines, f"{wanted!r} is not a line of:\n{world.gate.output}"


@step("then", 'the status JSON describes the pool "{pool}" as')
def then_status_json(world: PoolWorld, pool: str, docstring: str) -> None:
    """``field: value`` lines in the health body's names (dots for groups)."""
    doc = json.loads(world.gate.output.split("\npoolmgr status:")[0])
    rows = [r for r in doc["pools"] if r["id"] == pool]
    assert len(rows) == 1, f"pool {pool} is listed {len(rows)} times: {doc}"
    expected = dict(
        (k.strip(), v.strip())
        for k, v in (line.split(":", 1) for line in expand(world, docstring).strip().splitlines())
    )
    shown = {name: _dotted(rows[0], name) for name in expected}
    assert_equal(shown, expected, f"status JSON of {pool}")


def _dotted(row: dict[str, Any], name: str) -> str:
    value: Any = row
    for part in name.split("."):
        value = None if value is None else value[part]
    return json.dumps(value) if not isinstance(value, str) else value


@step("then", 'the live health of "{pool}" has schema version {n:d} and exactly these fields')
def then_health_shape(world: PoolWorld, pool: str, n: int, docstring: str) -> None:
    """Lines ``field`` (top level) or ``group: field, field`` (a group's fields)."""
    health = live_manager_of(world).health(pool)
    assert_equal(health.get("schema_version"), n, "schema_version")
    top: set[str] = set()
    groups: dict[str, set[str]] = {}
    for line in docstring.strip().splitlines():
        name, _, fields = line.partition(":")
        top.add(name.strip())
        if fields.strip():
            groups[name.strip()] = {f.strip() for f in fields.split(",")}
    assert_equal(sorted(health), sorted(top), f"top-level fields of the health of {pool}")
    for group, members in sorted(groups.items()):
        value = health[group]
        assert isinstance(value, dict), f"{group} of {pool} is {value!r}, not a group"
        assert_equal(sorted(value), sorted(members), f"fields of {group}")


@step("then", 'the live health of "{pool}" repeats its listing entry under the same names')
def then_health_has_entry(world: PoolWorld, pool: str) -> None:
    live = live_manager_of(world)
    entry = {e["id"]: e for e in live.get_json("/v1/pools")}[pool]
    health = live.health(pool)
    assert_equal({k: health.get(k) for k in entry}, entry, f"listing entry of {pool} in health")


@step(
    "then",
    'the live pool "{pool}" dates its last error on the wall clock, '
    "at most {s:d} s before it is read",
)
def then_error_wall_time(world: PoolWorld, pool: str, s: int) -> None:
    live = live_manager_of(world)
    first = live.health(pool)["last_error"]
    read_at = datetime.now(UTC)
    assert first is not None, f"{pool} reports no last error"
    text = first["at"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", text), (
        f"not RFC 3339 UTC: {text}"
    )
    age = (read_at - datetime.fromisoformat(text)).total_seconds()
    assert 0 <= age <= s, f"last error dated {text}, {age:.3f} s before it was read at {read_at}"
    # The same instant keeps its date: a read 50 ms later gives the same time (±1 ms rounding).
    later = read_at + timedelta(milliseconds=50)
    again = wait_until(
        lambda: live.health(pool)["last_error"] if datetime.now(UTC) >= later else None,
        5,
        "a read 50 ms later",
    )
    assert_equal(again["at_ms"], first["at_ms"], "the same error")
    drift = abs(datetime.fromisoformat(again["at"]) - datetime.fromisoformat(text))
    assert drift.total_seconds() <= 0.002, f"the date moved between reads: {text} -> {again['at']}"
