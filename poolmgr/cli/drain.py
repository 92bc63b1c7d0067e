"""``poolmgr drain``: drain the pools of one manager through its control plane, and wait.

Decides what the Kubernetes preStop hook (``poolmgr drain --token-file PATH``) does before the
pod is stopped (OC-CTL-4031..4035): every pool of the manager, or the ``--pool`` ones, is
drained with ``POST /v1/pools/{id}/drain`` (no body, so each pool's own ``drain_deadline_ms``
applies, OC-CTL-4014; ``--deadline-ms`` sends one deadline for all), then the command polls
each pool's health over one keep-alive session until every pool is ``stopped``. The wait is
bounded: the longest deadline plus stop grace (the engine's SIGTERM-to-SIGKILL time) the
manager answered for a pool, plus a margin of :data:`MARGIN_S`; ``--grace-ms`` stands in for
the grace of a manager whose answer does not state it.

What counts as drained: a pool the health reports ``stopped`` with no reload in progress (a
pool already stopped is accepted at once and counts). A pool another client already drains
(409) is waited for like the others; its deadline is not known, so the bound counts
``--deadline-ms`` or the manager's default of 30 s for it. A pool in the middle of a reload
(409 "a reload is in progress") is asked again at every poll, so it is drained as soon as the
reload ends (done or rolled back); one still reloading when the bound passes is not drained.

One line per pool (``ID: drained``, ``ID: not drained: REASON``); exit status 0 every pool
drained, 1 a pool not drained or the manager not read (one ``poolmgr drain: URL: REASON``
line), 2 bad arguments.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, TextIO
from urllib.parse import quote

import requests

from poolmgr.cli.args import manager_url, milliseconds, positive_seconds
from poolmgr.cli.auth import TokenError, add_token_arguments, read_token
from poolmgr.cli.status import DEFAULT_URL

__all__ = ["DEFAULT_GRACE_MS", "MARGIN_S", "add_parser", "drain_main"]

DEFAULT_GRACE_MS: Final = 10_000
"""The config's default ``stop_grace_ms``."""
UNKNOWN_DEADLINE_MS: Final = 30_000
"""The bound's deadline for a drain this command did not start (the manager's default)."""
MARGIN_S: Final = 5.0
"""Added to the bound: the engine's exit to be seen and the health to say so."""
POLL_S: Final = 0.2


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    drain = sub.add_parser(
        "drain",
        help="drain the pools of a running manager and wait until they are stopped",
        description="Drain the pools of a running manager (the preStop hook) and wait.",
    )
    drain.add_argument(
        "--url",
        type=manager_url,
        default=DEFAULT_URL,
        metavar="URL",
        help=f"the manager's base URL (default: {DEFAULT_URL})",
    )
    drain.add_argument(
        "--pool",
        action="append",
        metavar="ID",
        help="a pool to drain; repeat for several (default: every pool of the manager)",
    )
    drain.add_argument(
        "--deadline-ms",
        type=milliseconds,
        metavar="N",
        help="how long active leases may run (default: each pool's drain_deadline_ms)",
    )
    drain.add_argument(
        "--grace-ms",
        type=milliseconds,
        default=DEFAULT_GRACE_MS,
        metavar="N",
        help="the stop grace the wait allows after the deadline when the manager's answer "
        f"names none (default: {DEFAULT_GRACE_MS}, the config's default stop_grace_ms)",
    )
    add_token_arguments(drain)
    drain.add_argument(
        "--timeout",
        type=positive_seconds,
        default=5.0,
        metavar="SECONDS",
        help="per-request timeout (default 5)",
    )


class _Unreadable(Exception):
    """The manager cannot be read or refuses this command; the message says why."""


@dataclass
class _Pool:
    id: str
    path: str = ""
    """``/v1/pools/{id}``, the id quoted."""
    accepted: bool = False
    reloading: bool = False
    deadline_ms: int | None = None
    grace_ms: int | None = None
    """The engine's stop grace the manager answered (absent from older managers)."""
    line: str | None = None
    """The pool's final line; ``None`` while it is still waited for."""
    drained: bool = False

    def __post_init__(self) -> None:
        self.path = f"/v1/pools/{quote(self.id, safe='')}"


class _Client:
    """One keep-alive session to the manager; every refusal of the whole command raised."""

    def __init__(self, session: requests.Session, url: str, timeout: float) -> None:
        self.session, self.url, self.timeout = session, url, timeout

    def call(self, method: str, path: str, body: Mapping[str, Any] | None) -> requests.Response:
        try:
            response = self.session.request(
                method, f"{self.url}{path}", json=body, timeout=self.timeout
            )
        except requests.ConnectionError:
            raise _Unreadable("cannot connect (is the manager running there?)") from None
        except requests.Timeout:
            raise _Unreadable(f"no answer within {self.timeout:g} s") from None
        except requests.RequestException as exc:
            raise _Unreadable(f"request failed: {type(exc).__name__}") from None
        if response.status_code in (401, 403):
            what = "authentication required" if response.status_code == 401 else "token refused"
            raise _Unreadable(
                f"{what} (HTTP {response.status_code}); "
                "pass the token with --token-file or --token-env"
            )
        return response

    def json(self, path: str) -> Any:
        response = self.call("GET", path, None)
        if response.status_code != 200:
            raise _Unreadable(f"HTTP {response.status_code} from {self.url}{path}")
        try:
            return response.json()
        except ValueError:
            raise _Unreadable(f"not JSON from {self.url}{path}") from None


def _reload_running(health: Mapping[str, Any]) -> bool:
    reload = health.get("reload")
    return isinstance(reload, dict) and reload.get("outcome") == "in_progress"


def _ask(client: _Client, pool: _Pool, deadline_ms: int | None) -> None:
    """Ask for the pool's drain; record whether it was accepted, or why not."""
    body = None if deadline_ms is None else {"deadline_ms": deadline_ms}
    response = client.call("POST", f"{pool.path}/drain", body)
    if response.status_code == 202:
        pool.accepted, pool.reloading = True, False
        answer = response.json()
        pool.deadline_ms = int(answer["deadline_ms"])
        if isinstance(answer.get("stop_grace_ms"), int):
            pool.grace_ms = answer["stop_grace_ms"]
        return
    if response.status_code == 404:
        pool.line = f"{pool.id}: not drained: the manager has no such pool"
        return
    if response.status_code == 409:
        health = client.json(f"{pool.path}/health")
        if _reload_running(health):
            pool.reloading = True  # asked again at the next poll (see the module docstring)
            return
        if health.get("state") in ("draining", "stopped"):
            pool.accepted = True  # another client's drain: waited for like ours
            return
    message = _message(response)
    pool.line = f"{pool.id}: not drained: the manager refused (HTTP {response.status_code}"
    pool.line += f": {message})" if message else ")"


def _message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("message", "")) if isinstance(body, dict) else ""


def _check(client: _Client, pool: _Pool) -> None:
    health = client.json(f"{pool.path}/health")
    if health.get("state") != "stopped" or _reload_running(health):
        return
    pool.drained = True
    error = health.get("last_error")
    if isinstance(error, dict) and error.get("cause") == "drain_deadline":
        pool.line = f"{pool.id}: drained; leases still active at the deadline were ended"
    else:
        pool.line = f"{pool.id}: drained"


def _pools(client: _Client, named: list[str] | None) -> list[_Pool]:
    if named:
        return [_Pool(pool_id) for pool_id in dict.fromkeys(named)]
    listing = client.json("/v1/pools")
    try:
        return [_Pool(str(entry["id"])) for entry in listing]
    except (KeyError, TypeError):
        raise _Unreadable("the answer is not a poolmgr pool listing") from None


def _drain(
    client: _Client,
    args: argparse.Namespace,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> list[_Pool]:
    pools = _pools(client, args.pool)
    for pool in pools:
        _ask(client, pool, args.deadline_ms)
    fallback = UNKNOWN_DEADLINE_MS if args.deadline_ms is None else args.deadline_ms
    longest = max(
        (
            (p.deadline_ms or fallback) + (p.grace_ms if p.grace_ms is not None else args.grace_ms)
            for p in pools
        ),
        default=0,
    )
    bound_s = longest / 1000 + MARGIN_S
    until = clock() + bound_s
    while True:
        waiting = [p for p in pools if p.line is None]
        for pool in waiting:
            if pool.reloading:
                _ask(client, pool, args.deadline_ms)
            if pool.accepted:
                _check(client, pool)
        waiting = [p for p in pools if p.line is None]
        if not waiting or clock() >= until:
            break
        sleep(POLL_S)
    for pool in waiting:
        why = "a reload is still in progress" if pool.reloading else "still draining"
        pool.line = f"{pool.id}: not drained: {why} after {bound_s:g} s"
    return pools


def drain_main(
    args: argparse.Namespace,
    *,
    environ: Mapping[str, str] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Run ``poolmgr drain`` with parsed ``args`` (see the module docstring for exit codes)."""
    env = os.environ if environ is None else environ
    stdout, stderr = out or sys.stdout, err or sys.stderr
    try:
        token = read_token(args, env)
    except TokenError as exc:
        print(f"poolmgr drain: {exc}", file=stderr)
        return 2
    with requests.Session() as session:
        if token:
            session.headers["Authorization"] = f"Bearer {token}"
        try:
            pools = _drain(_Client(session, args.url, args.timeout), args, clock, sleep)
        except _Unreadable as exc:
            print(f"poolmgr drain: {args.url}: {exc}", file=stderr)
            return 1
        except (ValueError, KeyError, TypeError, AttributeError):
            print(f"poolmgr drain: {args.url}: the answer is not a poolmgr answer", file=stderr)
            return 1
    for pool in pools:
        print(pool.line, file=stdout)
    return 0 if all(p.drained for p in pools) else 1
