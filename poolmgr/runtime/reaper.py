"""The per-engine reaper: a small poolmgr process that owns one engine's whole process tree.

``python -m poolmgr.runtime.reaper CONTROL_FD MANAGER_PID`` is what the supervisor starts for
every engine (:func:`poolmgr.runtime.process.spawn_engine`). It decides nothing about pools;
it makes sure that nothing the engine starts outlives the engine or the manager (OC-POOL-3015,
OC-POOL-3064):

* it asks Linux for a parent-death signal (SIGTERM) so that it hears of the manager's death,
  SIGKILL included, and becomes a *child subreaper* (``PR_SET_CHILD_SUBREAPER``): every
  process of the engine's tree that loses its parent (a daemonised child, a child in a session
  of its own) is re-parented to the reaper instead of to init, where it can still be found;
* it reads the launch request, ``{"argv": [...], "env": {...}}``, from the socket
  ``CONTROL_FD`` and starts the engine as its child: in a process group of its own (the
  supervisor's TERM and KILL go to that group, as before), stdout and stderr inherited (the
  supervisor's output pipe), and a parent-death SIGKILL of its own. It answers
  ``{"pid": N}`` (the engine's pid) or ``{"errno": E, "error": "..."}`` when the program
  cannot be started (and then closes the socket);
* it reaps every child until the engine has exited; then, or at once when SIGTERM, SIGINT or
  SIGHUP arrives (the manager died, or someone stops the reaper), it SIGKILLs the engine's
  group and every process still below it, reaps them, lets go of the output pipe, sends
  ``{"returncode": R}`` on the socket (asyncio's convention: the exit code, or minus the
  signal), so that the manager hears the engine's end without waiting for the reaper's own
  exit (OC-PERF-9106), and exits with the engine's own exit status: the same code, or the
  same signal, so the supervisor's exit classification sees the engine's end even when the
  line is lost (OC-POOL-3029).

Its own command line names neither the engine nor the model, so whoever looks for the engine
by its command line finds the engine itself. Elsewhere than Linux the prctl calls are skipped
and only the process-group kills remain. Standard library plus psutil (the tree walk).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any

import psutil

__all__ = ["main"]

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
_PR_SET_CHILD_SUBREAPER = 36
_REQUEST_LIMIT = 4 << 20
_SWEEP_BOUND_S = 5.0
"""At most this long spent killing the rest of the tree (each round SIGKILLs what it finds)."""
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def _libc() -> Any | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


_LIBC = _libc()


def _prctl(option: int, value: int) -> None:
    if _LIBC is not None:
        _LIBC.prctl(option, value, 0, 0, 0)


def _say(text: str) -> None:
    """One line on stderr: the supervisor keeps it with the engine's output."""
    with contextlib.suppress(OSError):
        os.write(2, f"poolmgr reaper: {text}\n".encode())


def _engine_setup(reaper_pid: int) -> Callable[[], None]:
    """``preexec_fn`` of the engine: die with the reaper (the reaper is single-threaded)."""

    def setup() -> None:
        _prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL))
        if os.getppid() != reaper_pid:
            os.kill(os.getpid(), signal.SIGKILL)

    return setup


def _read_request(control: socket.socket) -> tuple[list[str], dict[str, str]]:
    data = b""
    while not data.endswith(b"\n") and len(data) < _REQUEST_LIMIT:
        chunk = control.recv(65536)
        if not chunk:
            break
        data += chunk
    request = json.loads(data)
    argv = [str(a) for a in request["argv"]]
    env = {str(k): str(v) for k, v in request["env"].items()}
    if not argv:
        raise ValueError("empty argv")
    return argv, env


def _answer(control: socket.socket, reply: dict[str, Any], *, last: bool = True) -> None:
    with contextlib.suppress(OSError):
        control.sendall(json.dumps(reply).encode() + b"\n")
    if last:
        control.close()


def _report_end(control: socket.socket, status: int | None) -> None:
    """Tell the manager how the engine ended, now that its whole tree is gone.

    The output pipe is let go first (stdout and stderr onto ``/dev/null``): the engine's and
    its tree's ends are closed already, so the manager reads the end of the output and then
    this line, without waiting for this process's own exit (OC-PERF-9106).
    """
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        os.close(devnull)
    if status is None:
        control.close()
        return
    _answer(control, {"returncode": os.waitstatus_to_exitcode(status)})


class _Tree:
    """The engine and everything below the reaper: kills and reaps it."""

    def __init__(self, engine_pid: int) -> None:
        self.engine_pid = engine_pid
        self.status: int | None = None  # the engine's wait status, once reaped

    def reap_ready(self, block: bool) -> bool:
        """Reap children; True once none is left. Records the engine's status."""
        while True:
            try:
                pid, status = os.waitpid(-1, 0 if block else os.WNOHANG)
            except ChildProcessError:
                return True
            if pid == 0:
                return False
            if pid == self.engine_pid:
                self.status = status
                if block:
                    return False

    def kill_all(self) -> None:
        """SIGKILL the engine's group and every process below the reaper, until none is left.

        Hand-written over psutil's tree walk: the processes may fork while they are being
        killed, so it repeats (bounded) until no child is left to reap and a walk finds nothing
        alive. It reaps with ``waitpid`` itself (never psutil's ``wait``, which would take the
        engine's exit status away from :meth:`reap_ready`).
        """
        with contextlib.suppress(OSError):
            os.killpg(self.engine_pid, signal.SIGKILL)
        if self.reap_ready(block=False):
            # No child at all: then nothing is below the reaper either (an orphan of the tree
            # would be its child, it being the subreaper), and the walk is skipped: the
            # common end of an engine, heard by the manager that much sooner (OC-PERF-9106).
            return
        me = psutil.Process()
        deadline = time.monotonic() + _SWEEP_BOUND_S
        while time.monotonic() < deadline:
            alive = 0
            with contextlib.suppress(psutil.Error):
                for proc in me.children(recursive=True):
                    with contextlib.suppress(psutil.Error):
                        if proc.status() != psutil.STATUS_ZOMBIE:
                            proc.kill()
                            alive += 1
            if self.reap_ready(block=False) and not alive:
                return
            time.sleep(0.002)


def _exit_like(status: int | None) -> int:
    """Leave with the engine's exit status: its code, or death by the same signal."""
    if status is None:
        return 1
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core file of the reaper
        with contextlib.suppress(ValueError, OSError):  # SIGKILL and SIGSTOP have no handler
            signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [sig])
        os.kill(os.getpid(), sig)
        return 128 + sig  # a signal whose default is not to end the process
    return os.waitstatus_to_exitcode(status)


def main(args: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if args is None else args)
    if len(args) != 2:
        _say("usage: python -m poolmgr.runtime.reaper CONTROL_FD MANAGER_PID")
        return 2
    try:
        manager_pid = int(args[1])
        control = socket.socket(fileno=int(args[0]))
    except (ValueError, OSError) as exc:
        _say(f"CONTROL_FD must be an open socket and MANAGER_PID a pid: {exc}")
        return 2
    _prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM))
    if os.getppid() != manager_pid:
        _say("the manager is gone; no engine started")
        return 1
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)
    stopping: list[int] = []

    def on_stop(signum: int, _frame: FrameType | None) -> None:
        stopping.append(signum)

    for sig in _STOP_SIGNALS:
        signal.signal(sig, on_stop)
    try:
        argv, env = _read_request(control)
        engine = subprocess.Popen(
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            process_group=0,
            preexec_fn=_engine_setup(os.getpid()),
        )
    except OSError as exc:
        _answer(control, {"errno": exc.errno or 0, "error": exc.strerror or str(exc)})
        return 127
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        _answer(control, {"errno": 0, "error": f"bad launch request: {exc}"})
        return 2
    _answer(control, {"pid": engine.pid}, last=False)  # the engine's end follows
    tree = _Tree(engine.pid)

    # From here a stop signal (the manager's death) kills the tree at once.
    def on_stop_now(signum: int, _frame: FrameType | None) -> None:
        stopping.append(signum)
        tree.kill_all()

    for sig in _STOP_SIGNALS:
        signal.signal(sig, on_stop_now)
    if stopping:
        tree.kill_all()
    while tree.status is None:  # reap until the engine is gone
        if tree.reap_ready(block=True) and tree.status is None:
            break  # no child at all: nothing left to wait for
    tree.kill_all()
    _report_end(control, tree.status)
    return _exit_like(tree.status)


if __name__ == "__main__":
    raise SystemExit(main())
