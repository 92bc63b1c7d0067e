"""``poolmgr drain`` against a real ``poolmgr serve`` process over real sockets.

Serves OC-CTL-4031 (every pool drained through the control plane), OC-CTL-4032 (the wait is
bounded by the longest deadline, the grace and the margin, on the clock the command is given:
a pool still draining at the bound is not drained, exit 1) and OC-CTL-4035 (a manager that
cannot be read). The manager is the one the process scenarios run
(:class:`harness.live.LiveManager`).
"""

from __future__ import annotations

import argparse
import io
import socket

import pytest

from harness.live import LiveManager
from poolmgr.cli.drain import MARGIN_S, POLL_S, drain_main

pytestmark = pytest.mark.slow

_POOL = '{{id: {0}, engine: stub, model: "stub://{0}", devices: [], cpu: true, slots: 1, {1}}}'
CONFIG = "pools:\n" + "".join(
    f"  - {_POOL.format(pool, f'drain_deadline_ms: {ms}, stop_grace_ms: {grace}')}\n"
    for pool, ms, grace in (("long", 600_000, 7_000), ("short", 1000, 0))
)


def _args(*argv: str) -> argparse.Namespace:
    from poolmgr.cli import drain

    parser = argparse.ArgumentParser()
    drain.add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["drain", *argv])


class _Clock:
    """The command's clock: each poll's sleep moves it on by a minute, so no test waits
    minutes; the first waits (bounded) until ``short`` is stopped, so that the drain of a pool
    with nothing to wait for ends in the command's first minute whatever the machine's load."""

    def __init__(self, live: LiveManager) -> None:
        self.live = live
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        if not self.slept:
            self.live.wait_health("short", lambda h: h["state"] == "stopped", "stopped", 10)
        self.slept.append(seconds)
        self.now += 60.0


def test_oc_ctl_4032_a_pool_still_draining_at_the_bound_is_not_drained() -> None:
    live = LiveManager()
    try:
        live.start(CONFIG)
        for pool in ("long", "short"):
            live.wait_health(pool, lambda h: bool(h["ready"]), "ready", 30)
        lease = live.request("POST", "/v1/pools/long/leases", json={})
        assert lease.status_code == 201, lease.text
        live.lease_ids.append(f"/v1/pools/long/leases/{lease.json()['lease_id']}")
        clock, out, err = _Clock(live), io.StringIO(), io.StringIO()
        args = _args("--url", live.url, "--grace-ms", "0")  # the manager's answers name grace
        code = drain_main(args, environ={}, clock=clock, sleep=clock.sleep, out=out, err=err)
        bound = 600 + 7 + MARGIN_S  # long's deadline + long's stop grace + the margin
        assert (code, err.getvalue()) == (1, "")
        assert out.getvalue().splitlines() == [
            f"long: not drained: still draining after {bound:g} s",
            "short: drained",
        ]
        assert clock.slept == [POLL_S] * 11  # 11 minutes of polls pass the 612 s bound
        assert live.health("long")["state"] == "draining"
    finally:
        live.stop()


def test_oc_ctl_4035_a_manager_that_cannot_be_reached_is_one_line_and_status_1() -> None:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    out, err = io.StringIO(), io.StringIO()
    assert drain_main(_args("--url", url), environ={}, out=out, err=err) == 1
    assert (out.getvalue(), err.getvalue()) == (
        "",
        f"poolmgr drain: {url}: cannot connect (is the manager running there?)\n",
    )
