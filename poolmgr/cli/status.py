"""``poolmgr status``: the pools of one or more running managers, as a table or as JSON.

Decides what an operator sees without reading JSON from curl (OC-CTL-4024..4026): one row per
pool with its state, readiness, leases used of the slots, restarts, breaker, last error and its
age, engine and version, model and uptime, read from each manager's listing and pool health
endpoints (health schema version 2, OC-CTL-4020) over one keep-alive ``requests.Session``.
Several managers (``--url`` options, and ``--dns`` names each resolved to every address, e.g.
every pod of a headless Service, :mod:`poolmgr.cli.fleet`, OC-CTL-4028) merge into one table
with a manager column; a manager that cannot be read (refused connection, timeout, 401/403,
another answer or schema) or a name that does not resolve gets one line naming it and the
reason, and the other managers are still shown (OC-CTL-4025, OC-CTL-4029). The token comes from
``--token-env`` or ``--token-file`` (:mod:`poolmgr.cli.auth`, OC-CTL-4030).

Exit status: 0 every manager was read; 1 at least one could not be, or a name did not resolve;
2 bad arguments (a missing ``--token-env`` variable or an unreadable ``--token-file``
included). ``--watch`` redraws every few seconds until Ctrl-C (or ``--iterations`` rounds),
resolving the names again each round, and exits with the last round's status.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, TextIO

import requests

from poolmgr.cli.args import (
    DEFAULT_DNS_PORT,
    dns_target,
    manager_url,
    positive_int,
    positive_seconds,
)
from poolmgr.cli.auth import TokenError, add_token_arguments, read_token
from poolmgr.cli.fleet import Resolver, Target, expand, system_resolver

__all__ = ["DEFAULT_URL", "Reading", "add_parser", "read_manager", "status_main"]

DEFAULT_URL: Final = "http://127.0.0.1:8080"
HEALTH_SCHEMA: Final = 2
"""The pool health schema version this command reads (OC-CTL-4020)."""
_CLEAR: Final = "\x1b[H\x1b[2J"

WallClock = Callable[[], datetime]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    status = sub.add_parser(
        "status",
        help="show the pools of running managers",
        description="A table of the pools of one or more running managers.",
    )
    status.add_argument(
        "--url",
        action="append",
        type=manager_url,
        metavar="URL",
        help=f"a manager's base URL; repeat for several (default: {DEFAULT_URL})",
    )
    status.add_argument(
        "--dns",
        action="append",
        type=dns_target,
        metavar="NAME[:PORT]",
        help="a DNS name whose every address is a manager (e.g. a headless Service); "
        f"port default {DEFAULT_DNS_PORT}; repeatable, combines with --url",
    )
    add_token_arguments(status)
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.add_argument(
        "--watch",
        nargs="?",
        const=2.0,
        type=positive_seconds,
        metavar="SECONDS",
        help="redraw every SECONDS (default 2) until Ctrl-C",
    )
    status.add_argument(
        "--iterations", type=positive_int, metavar="N", help="with --watch: stop after N rounds"
    )
    status.add_argument(
        "--timeout",
        type=positive_seconds,
        default=5.0,
        metavar="SECONDS",
        help="per-request timeout (default 5)",
    )


@dataclass(frozen=True)
class Reading:
    """What one manager answered: its pools' health bodies, or why it could not be read."""

    url: str
    pools: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None


def _get(session: requests.Session, url: str, timeout: float) -> Any:
    response = session.get(url, timeout=timeout)
    if response.status_code in (401, 403):
        raise _Unreadable(
            f"{'authentication required' if response.status_code == 401 else 'token refused'}"
            f" (HTTP {response.status_code}); pass the token with --token-file or --token-env"
        )
    if response.status_code != 200:
        raise _Unreadable(f"HTTP {response.status_code} from {url}")
    try:
        return response.json()
    except ValueError:
        raise _Unreadable(f"not JSON from {url}") from None


class _Unreadable(Exception):
    """A manager answered, but not with what this command reads."""


def read_manager(session: requests.Session, url: str, timeout: float) -> Reading:
    """The listing, then each pool's health; any failure becomes the reading's error."""
    try:
        listing = _get(session, f"{url}/v1/pools", timeout)
        pools = []
        for entry in listing:
            health = _get(session, f"{url}/v1/pools/{entry['id']}/health", timeout)
            version = health.get("schema_version")
            if version != HEALTH_SCHEMA:
                raise _Unreadable(
                    f"health schema version {version!r}; this poolmgr reads {HEALTH_SCHEMA}"
                )
            pools.append(health)
    except requests.ConnectionError:
        return Reading(url, error="cannot connect (is the manager running there?)")
    except requests.Timeout:
        return Reading(url, error=f"no answer within {timeout:g} s")
    except requests.RequestException as exc:
        return Reading(url, error=f"request failed: {type(exc).__name__}")
    except _Unreadable as exc:
        return Reading(url, error=str(exc))
    except (KeyError, TypeError, AttributeError):
        return Reading(url, error="the answer is not a poolmgr pool listing")
    return Reading(url, pools)


def _row(url: str, h: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    err = h["last_error"]
    last_error = None
    if err is not None:
        age_ms = round((now - datetime.fromisoformat(err["at"])).total_seconds() * 1000)
        last_error = {"cause": err["cause"], "message": err["message"], "at": err["at"]}
        last_error["age_ms"] = max(0, age_ms)
    return {
        "manager": url,
        "id": h["id"],
        "state": h["state"],
        "ready": h["ready"],
        "leases": {"active": h["leases"]["active"]},
        "slots_total": h["slots_total"],
        "restarts": {"count": h["restarts"]["count"]},
        "breaker": {"state": h["breaker"]["state"]},
        "last_error": last_error,
        "engine": h["engine"],
        "engine_version": h["engine_version"],
        "model_ref": h["model_ref"],
        "uptime_ms": h["uptime_ms"],
    }


def duration(ms: int) -> str:
    """A short human duration: ``850ms``, ``42s``, ``3m05s``, ``2h07m``, ``3d04h``."""
    if ms < 1000:
        return f"{ms}ms"
    s = ms // 1000
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def _cells(row: Mapping[str, Any], with_manager: bool) -> list[str]:
    err = row["last_error"]
    version = row["engine_version"]
    cells = [
        row["id"],
        row["state"],
        "yes" if row["ready"] else "no",
        f"{row['leases']['active']}/{row['slots_total']}",
        str(row["restarts"]["count"]),
        row["breaker"]["state"],
        "-" if err is None else f"{err['cause']} ({duration(err['age_ms'])} ago)",
        row["engine"] if version is None else f"{row['engine']} {version}",
        row["model_ref"],
        "-" if row["uptime_ms"] is None else duration(row["uptime_ms"]),
    ]
    return [row["manager"], *cells] if with_manager else cells


_HEADER: Final = [
    "POOL",
    "STATE",
    "READY",
    "LEASES",
    "RESTARTS",
    "BREAKER",
    "LAST ERROR",
    "ENGINE",
    "MODEL",
    "UPTIME",
]


def table(rows: Sequence[Mapping[str, Any]], with_manager: bool) -> str:
    """Rows as left-aligned columns (hand-written: ten columns need no table library)."""
    lines = [(["MANAGER"] if with_manager else []) + _HEADER]
    lines += [_cells(r, with_manager) for r in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines
    )


@dataclass(frozen=True)
class _Io:
    """Where a round reads names and the time, and where it writes."""

    resolve: Resolver
    wall: WallClock
    out: TextIO
    err: TextIO


def _round(session: requests.Session, args: argparse.Namespace, io: _Io) -> int:
    targets = [Target(name, port) for name, port in args.dns or []]
    found, unresolved = expand(targets, io.resolve)
    urls: list[str] = list(args.url or ([] if targets else [DEFAULT_URL]))
    urls += [u for u in found if u not in urls]
    readings = [read_manager(session, url, args.timeout) for url in urls]
    now = io.wall()
    rows = [_row(r.url, h, now) for r in readings for h in r.pools]
    failed = [(r.url, r.error) for r in readings if r.error is not None]
    failed += [(str(u.target), u.reason) for u in unresolved]
    if args.json:
        doc = {
            "managers": [{"url": r.url, "error": r.error} for r in readings],
            "names": [{"name": str(u.target), "error": u.reason} for u in unresolved],
            "pools": rows,
        }
        print(json.dumps(doc, indent=2), file=io.out)
    else:
        print(table(rows, with_manager=len(urls) > 1 or bool(targets)), file=io.out)
        for where, why in failed:
            print(f"poolmgr status: {where}: {why}", file=io.err)
    io.out.flush()
    return 1 if failed else 0


def status_main(
    args: argparse.Namespace,
    *,
    environ: Mapping[str, str] | None = None,
    wall: WallClock = lambda: datetime.now(UTC),
    sleep: Callable[[float], None] = time.sleep,
    out: TextIO | None = None,
    err: TextIO | None = None,
    resolve: Resolver = system_resolver,
) -> int:
    """Run ``poolmgr status`` with parsed ``args`` (see the module docstring for exit codes)."""
    env = os.environ if environ is None else environ
    stdout, stderr = out or sys.stdout, err or sys.stderr
    if args.iterations is not None and args.watch is None:
        print("poolmgr status: --iterations needs --watch", file=stderr)
        return 2
    try:
        token = read_token(args, env)
    except TokenError as exc:
        print(f"poolmgr status: {exc}", file=stderr)
        return 2
    io = _Io(resolve, wall, stdout, stderr)
    with requests.Session() as session:
        if token:
            session.headers["Authorization"] = f"Bearer {token}"
        if args.watch is None:
            return _round(session, args, io)
        code, rounds = 0, 0
        try:
            while True:
                if stdout.isatty():
                    print(_CLEAR, end="", file=stdout)
                elif rounds:
                    print(file=stdout)  # a blank line between rounds in a log or a pipe
                code = _round(session, args, io)
                rounds += 1
                if args.iterations is not None and rounds >= args.iterations:
                    return code
                sleep(args.watch)
        except KeyboardInterrupt:
            return code
