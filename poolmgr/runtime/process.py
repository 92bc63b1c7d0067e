"""Engine processes as the operating system sees them: groups, parent death, signals, ports.

Owns how one engine process is started and ended; it decides nothing about *when*:

* :func:`spawn_in_group` starts the engine in its own process group (a new session), so a stop
  or a kill reaches everything the engine forked, with a parent-death signal set through libc
  ``prctl`` so that no engine outlives the manager, abrupt kills included (OC-POOL-3015); the
  environment and flags are the launch plan's (OC-POOL-3020);
* :func:`killpg` signals a whole group; :func:`kill_after_grace` is the second half of a
  graceful stop, SIGTERM then a grace period then SIGKILL (OC-POOL-3031);
* :func:`pick_free_port` and :func:`base_url`: where the engine listens;
* :func:`shown_command`: the command line as it may be logged, with the values of secret-looking
  flags hidden (OC-CTL-4007).
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from enum import StrEnum
from typing import Any

from poolmgr.telemetry.redact import redact_argv

__all__ = [
    "DEFAULT_STOP_GRACE_S",
    "Stop",
    "base_url",
    "kill_after_grace",
    "killpg",
    "pick_free_port",
    "shown_command",
    "spawn_in_group",
]

_LOG = logging.getLogger("poolmgr.runtime.process")

DEFAULT_STOP_GRACE_S = 5.0
"""Time between SIGTERM and SIGKILL when an engine is stopped gracefully."""


class Stop(StrEnum):
    """How an engine is to be stopped."""

    TERM = "term"  # graceful: SIGTERM, grace, SIGKILL
    KILL = "kill"  # SIGKILL now


# --------------------------------------------------------------------------- parent death

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _load_libc() -> Any | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


# Loaded once, before any fork: the child must not load libraries between fork and exec.
_LIBC = _load_libc()


def _child_setup(parent_pid: int) -> Callable[[], None]:
    """``preexec_fn`` for an engine: die with SIGKILL when the manager dies (OC-POOL-3015).

    Linux delivers the parent-death signal when the thread that forked the child ends, which
    for the supervisor is its event-loop thread. If the manager died between ``fork`` and
    ``prctl`` the child is already orphaned, so it checks its parent afterwards and ends
    itself. Elsewhere the process-group cleanup in
    :meth:`~poolmgr.runtime.supervisor.Supervisor.stop` is what remains.
    """

    def setup() -> None:
        if _LIBC is not None:
            _LIBC.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() != parent_pid:
            os.kill(os.getpid(), signal.SIGKILL)

    return setup


async def spawn_in_group(
    protocol: asyncio.SubprocessProtocol, argv: Sequence[str], env: Mapping[str, str]
) -> asyncio.SubprocessTransport:
    """Start ``argv`` in a process group of its own, output merged into ``protocol``.

    stdin is ``/dev/null``; stderr goes to stdout. Raises :class:`OSError` when the program
    cannot be started. The process group id is the returned transport's pid.
    """
    loop = asyncio.get_running_loop()
    transport, _ = await loop.subprocess_exec(
        lambda: protocol,
        *argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=dict(env),
        start_new_session=True,  # its own process group: stop and kill reach it all
        preexec_fn=_child_setup(os.getpid()),
    )
    return transport


# --------------------------------------------------------------------------- signals


def killpg(pgid: int | None, sig: signal.Signals) -> bool:
    """Signal a whole process group; False when nothing was there to signal."""
    if pgid is None:
        return False
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


async def kill_after_grace(
    pgid: int | None, gone: asyncio.Event, grace_s: float, pool_id: str
) -> None:
    """SIGKILL the group when the grace period passes before ``gone`` is set (OC-POOL-3031)."""
    try:
        await asyncio.wait_for(gone.wait(), grace_s)
    except TimeoutError:
        _LOG.warning("pool %s: engine ignored SIGTERM for %.1f s: SIGKILL", pool_id, grace_s)
        killpg(pgid, signal.SIGKILL)


# --------------------------------------------------------------------------- addresses


def pick_free_port(host: str = "127.0.0.1") -> int:
    """A port that is free on ``host`` right now (the kernel picks it by binding port 0)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def base_url(host: str, port: int) -> str:
    """``http://host:port``, with an IPv6 host in brackets."""
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


# --------------------------------------------------------------------------- the command line


def shown_command(argv: list[str]) -> str:
    """The command line as it may be logged: secret flag values hidden (OC-CTL-4007)."""
    return " ".join(redact_argv(argv))
