"""``poolmgr status`` against a real ``poolmgr serve`` process over real sockets.

Serves OC-CTL-4024 (the table and the JSON state the same facts), OC-CTL-4025 (several
managers, unreadable ones named in one line, exit 1) and OC-CTL-4026 (``--watch`` redraws until
Ctrl-C or ``--iterations``). The manager is the one the process scenarios run
(:class:`harness.live.LiveManager`: ``python -m poolmgr serve --port 0``).
"""

from __future__ import annotations

import argparse
import io
import json
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from harness.live import LiveManager
from harness.waiting import wait_until
from poolmgr.cli.status import status_main

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def manager() -> Iterator[LiveManager]:
    live = LiveManager()
    live.start(None)  # the embedded default: CPU pools alpha and beta on the stub engine
    try:
        for pool in ("alpha", "beta"):
            live.wait_health(pool, lambda h: bool(h["ready"]), "ready", 30)
        yield live
    finally:
        live.stop()


def _status(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "poolmgr", "status", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )


def _args(*argv: str) -> argparse.Namespace:
    from poolmgr.cli import status as status_module

    parser = argparse.ArgumentParser()
    status_module.add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["status", *argv])


def test_oc_ctl_4024_the_table_lists_every_pool_of_the_manager(manager: LiveManager) -> None:
    done = _status("--url", manager.url)
    assert (done.returncode, done.stderr) == (0, "")
    lines = done.stdout.splitlines()
    assert re.split(r" {2,}", lines[0]) == [
        "POOL", "STATE", "READY", "LEASES", "RESTARTS", "BREAKER", "LAST ERROR", "ENGINE",
        "MODEL", "UPTIME",
    ]  # fmt: skip
    rows = [re.split(r" {2,}", line) for line in lines[1:]]
    assert [r[:9] for r in rows] == [
        ["alpha", "ready", "yes", "0/4", "0", "closed", "-", "stub stub-0.1.0", "stub://alpha"],
        ["beta", "ready", "yes", "0/4", "0", "closed", "-", "stub stub-0.1.0", "stub://beta"],
    ]
    assert all(re.fullmatch(r"\d+(ms|s|m\d\ds)", r[9]) for r in rows), rows


def test_oc_ctl_4024_json_states_the_facts_of_the_table(manager: LiveManager) -> None:
    done = _status("--url", manager.url, "--json")
    assert done.returncode == 0
    doc = json.loads(done.stdout)
    assert doc["managers"] == [{"url": manager.url, "error": None}]
    alpha = doc["pools"][0]
    assert {k: alpha[k] for k in ("id", "state", "ready", "slots_total", "model_ref")} == {
        "id": "alpha",
        "state": "ready",
        "ready": True,
        "slots_total": 4,
        "model_ref": "stub://alpha",
    }
    assert alpha["leases"] == {"active": 0} and alpha["restarts"] == {"count": 0}
    assert alpha["breaker"] == {"state": "closed"} and alpha["last_error"] is None
    assert isinstance(alpha["uptime_ms"], int) and alpha["uptime_ms"] >= 0


def test_oc_ctl_4025_an_unreachable_manager_is_one_line_and_the_others_still_show(
    manager: LiveManager,
) -> None:
    done = _status("--url", manager.url, "--url", "http://127.0.0.1:9")
    assert done.returncode == 1
    assert done.stderr == (
        "poolmgr status: http://127.0.0.1:9: cannot connect (is the manager running there?)\n"
    )
    rows = [re.split(r" {2,}", line) for line in done.stdout.splitlines()]
    assert rows[0][:2] == ["MANAGER", "POOL"]
    assert [r[:2] for r in rows[1:]] == [[manager.url, "alpha"], [manager.url, "beta"]]


def test_oc_ctl_4026_watch_redraws_until_the_iterations_are_done(manager: LiveManager) -> None:
    slept: list[float] = []
    out = io.StringIO()
    code = status_main(
        _args("--url", manager.url, "--watch", "0.5", "--iterations", "3"),
        environ={},
        sleep=slept.append,
        out=out,
        err=io.StringIO(),
    )
    assert code == 0 and slept == [0.5, 0.5]
    assert out.getvalue().count("POOL ") == 3


def test_oc_ctl_4026_ctrl_c_ends_the_watch_with_the_last_rounds_status(
    manager: LiveManager,
) -> None:
    def interrupted(_: float) -> None:
        raise KeyboardInterrupt

    err = io.StringIO()
    code = status_main(
        _args("--url", manager.url, "--url", "http://127.0.0.1:9", "--watch"),
        environ={},
        sleep=interrupted,
        out=io.StringIO(),
        err=err,
    )
    assert code == 1 and err.getvalue().count("cannot connect") == 1


def _sigint_as_at_a_terminal() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_oc_ctl_4026_sigint_on_a_real_watch_exits_cleanly(manager: LiveManager) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "poolmgr", "status", "--url", manager.url, "--watch", "0.05"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        # As at a terminal: a test run started in the background (nohup ... &) ignores SIGINT,
        # and an ignored signal stays ignored across exec, so Ctrl-C would never reach it.
        preexec_fn=_sigint_as_at_a_terminal,
    )
    assert proc.stdout is not None
    seen: list[str] = []

    def two_tables() -> bool:
        assert proc.stdout is not None
        seen.append(proc.stdout.readline())
        return sum(line.startswith("POOL ") for line in seen) >= 2

    wait_until(two_tables, 30, "two tables drawn")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "Traceback" not in err


class _OldManager(BaseHTTPRequestHandler):
    """Answers a listing and a version-1 health body (no schema_version)."""

    def do_GET(self) -> None:
        body = [{"id": "old"}] if self.path == "/v1/pools" else {"id": "old", "restart_count": 0}
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_: object) -> None:
        pass


def test_oc_ctl_4025_a_manager_of_another_health_schema_is_named_not_misread() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OldManager)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        err = io.StringIO()
        code = status_main(_args("--url", url), environ={}, out=io.StringIO(), err=err)
    finally:
        server.shutdown()
        server.server_close()
    assert code == 1
    assert err.getvalue() == (
        f"poolmgr status: {url}: health schema version None; this poolmgr reads 2\n"
    )


def test_oc_ctl_4024_the_age_of_an_error_is_read_on_the_given_wall_clock() -> None:
    from poolmgr.cli.status import _row, duration

    health = {
        "id": "p", "state": "backing_off", "ready": False, "leases": {"active": 0},
        "slots_total": 1, "restarts": {"count": 2}, "breaker": {"state": "closed"},
        "engine": "stub", "engine_version": None, "model_ref": "stub://p", "uptime_ms": None,
        "last_error": {"cause": "engine_exited", "message": "m", "at": "2026-12-01T11:58:55.000Z"},
    }  # fmt: skip
    row = _row("u", health, datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC))
    assert row["last_error"]["age_ms"] == 65_000
    assert duration(65_000) == "1m05s" and duration(999) == "999ms"
    assert duration(7_380_000) == "2h03m" and duration(90_000_000) == "1d01h"


def test_oc_ctl_4028_a_name_of_two_managers_at_one_port_reads_both(manager: LiveManager) -> None:
    """Two real managers at the same port on 127.0.0.1 and 127.0.0.2, as a headless Service's
    pods are; the command's resolver seam answers for the name (the system resolver's part is
    the feature's, which resolves through a private /etc/hosts)."""
    port = int(manager.url.rsplit(":", 1)[-1])
    second = LiveManager()
    try:
        second.start(None, host="127.0.0.2", port=port, adopt=False)
        for pool in ("alpha", "beta"):
            second.wait_health(pool, lambda h: bool(h["ready"]), "ready", 30)
        asked: list[tuple[str, int]] = []

        def resolve(name: str, at: int) -> list[str]:
            asked.append((name, at))
            return ["127.0.0.2", "127.0.0.1", "127.0.0.2"]

        out, err = io.StringIO(), io.StringIO()
        args = _args("--dns", f"fleet.test:{port}", "--json")
        assert status_main(args, environ={}, out=out, err=err, resolve=resolve) == 0, err.getvalue()
        doc = json.loads(out.getvalue())
        first, other = f"http://127.0.0.1:{port}", f"http://127.0.0.2:{port}"
        assert asked == [("fleet.test", port)]
        assert doc["managers"] == [{"url": first, "error": None}, {"url": other, "error": None}]
        assert [(r["manager"], r["id"]) for r in doc["pools"]] == [
            (first, "alpha"), (first, "beta"), (other, "alpha"), (other, "beta"),
        ]  # fmt: skip
        assert doc["names"] == []
    finally:
        second.stop()
