"""Engine processes as the operating system sees them: reapers, groups, signals, ports.

Owns how one engine process is started and ended; it decides nothing about *when*:

* :func:`spawn_engine` starts the engine below a per-engine reaper
  (:mod:`poolmgr.runtime.reaper`): the engine runs in a process group of its own, with a
  parent-death signal, below a child subreaper that also dies with the manager and takes the
  engine's whole tree with it, abrupt kills of the manager included (OC-POOL-3015,
  OC-POOL-3064); the environment and flags are the launch plan's (OC-POOL-3020); the
  reaper's pid is registered in :data:`poolmgr.runtime.init.OWN_CHILDREN`, so that poolmgr
  as process 1 never reaps it as an orphan (OC-DEP-8006); the reaper's exit (which mirrors
  the engine's) is heard from a pidfd on the event loop, not by a thread per engine
  (:mod:`poolmgr.runtime.pidfd`, OC-PERF-9106);
* :func:`killpg` signals a whole group; :func:`kill_after_grace` is the second half of a
  graceful stop, SIGTERM then the pool's grace period ``stop_grace_ms`` then SIGKILL
  (OC-POOL-3031);
* :func:`pick_free_port` and :func:`base_url`: where the engine listens;
* :func:`shown_command`: the command line as it may be logged, with the values of secret-looking
  flags hidden (OC-CTL-4007).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from poolmgr.runtime.init import OWN_CHILDREN
from poolmgr.runtime.pidfd import use_pidfd_watcher
from poolmgr.telemetry.redact import redact_argv

__all__ = [
    "HearsEngineEnd",
    "Spawned",
    "Stop",
    "base_url",
    "kill_after_grace",
    "killpg",
    "pick_free_port",
    "reach_host",
    "shown_command",
    "spawn_engine",
]

_LOG = logging.getLogger("poolmgr.runtime.process")


class Stop(StrEnum):
    """How an engine is to be stopped."""

    TERM = "term"  # graceful: SIGTERM, grace, SIGKILL
    KILL = "kill"  # SIGKILL now


# --------------------------------------------------------------------------- spawning

_REAPER_MODULE = "poolmgr.runtime.reaper"
_REAPER_ANSWER_S = 30.0
"""Bound on the reaper's answer (its interpreter start plus the engine's fork and exec)."""
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


@dataclass(frozen=True)
class Spawned:
    """A started engine: the transport of its reaper, and the engine's own pid (its group)."""

    transport: asyncio.SubprocessTransport
    pid: int


def _reaper_env() -> dict[str, str]:
    """The manager's environment, with this poolmgr importable by the reaper's interpreter."""
    env = dict(os.environ)
    path = env.get("PYTHONPATH")
    env["PYTHONPATH"] = _PACKAGE_ROOT if not path else f"{_PACKAGE_ROOT}{os.pathsep}{path}"
    return env


async def spawn_engine(
    protocol: asyncio.SubprocessProtocol, argv: Sequence[str], env: Mapping[str, str]
) -> Spawned:
    """Start ``argv`` with ``env`` below its own reaper, output merged into ``protocol``.

    The reaper (:mod:`poolmgr.runtime.reaper`) runs in a session of its own and starts the
    engine as its child, in a process group of its own whose id is the returned ``pid``; the
    transport's exit is the reaper's, which ends only after the engine and the rest of its tree
    and mirrors the engine's exit status (OC-POOL-3015, OC-POOL-3064). A ``protocol`` that
    :class:`HearsEngineEnd` is also told the engine's return code as soon as the reaper has
    swept the tree, before the reaper's own exit (OC-PERF-9106). stdin is ``/dev/null``,
    stderr goes to stdout. Raises :class:`OSError` when the engine cannot be started.
    """
    loop = asyncio.get_running_loop()
    use_pidfd_watcher()  # the reaper's exit wakes the loop itself (OC-PERF-9106)
    ours, theirs = socket.socketpair()
    try:
        with OWN_CHILDREN.spawning():  # the reaper's exit status is ours, not an orphan's
            transport, _ = await loop.subprocess_exec(
                lambda: protocol,
                sys.executable,
                "-m",
                _REAPER_MODULE,
                str(theirs.fileno()),
                str(os.getpid()),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=_reaper_env(),
                start_new_session=True,  # Ctrl-C at the manager's terminal reaches no engine
                pass_fds=(theirs.fileno(),),
            )
            OWN_CHILDREN.add(transport.get_pid())
    except OSError:
        ours.close()
        raise
    finally:
        theirs.close()
    try:
        reply, rest = await asyncio.wait_for(_launch(loop, ours, argv, env), _REAPER_ANSWER_S)
    except (OSError, TimeoutError, ValueError) as exc:
        ours.close()
        transport.close()  # kills the reaper if it still runs
        raise OSError(f"the engine's reaper did not answer: {exc!r}") from exc
    if "pid" not in reply:
        ours.close()
        transport.close()
        raise OSError(int(reply.get("errno") or 0) or None, str(reply.get("error")))
    hook = protocol.engine_ended if isinstance(protocol, HearsEngineEnd) else None
    _hear_end(loop, ours, rest, hook)
    return Spawned(transport, int(reply["pid"]))


@runtime_checkable
class HearsEngineEnd(Protocol):
    """A subprocess protocol that wants the engine's end as soon as the reaper reports it."""

    def engine_ended(self, returncode: int) -> None:
        """The engine ended with ``returncode`` (minus the signal) and its tree is gone."""


async def _launch(
    loop: asyncio.AbstractEventLoop,
    sock: socket.socket,
    argv: Sequence[str],
    env: Mapping[str, str],
) -> tuple[dict[str, Any], bytes]:
    """Send the launch request to the reaper; its one-line JSON answer, and what followed."""
    sock.setblocking(False)
    request = json.dumps({"argv": list(argv), "env": dict(env)}).encode() + b"\n"
    await loop.sock_sendall(sock, request)
    data = b""
    while b"\n" not in data:
        chunk = await loop.sock_recv(sock, 65536)
        if not chunk:
            raise ValueError(f"the reaper closed its socket (answered {data!r})")
        data += chunk
    line, rest = data.split(b"\n", 1)
    reply: dict[str, Any] = json.loads(line)
    return reply, rest


def _hear_end(
    loop: asyncio.AbstractEventLoop,
    sock: socket.socket,
    data: bytes,
    hook: Callable[[int], None] | None,
) -> None:
    """Read the reaper's last line, ``{"returncode": R}``, on the loop; hand R to ``hook``.

    The reaper sends it once the engine's whole tree is gone, before its own (slower) exit
    (OC-PERF-9106). The socket is closed at that line or at its end (a reaper killed outright
    sends none: then only the reaper's exit tells).
    """
    buffer = bytearray(data)
    fd = sock.fileno()

    def finish() -> None:
        loop.remove_reader(fd)
        sock.close()
        line = bytes(buffer).split(b"\n", 1)[0]
        try:
            code = json.loads(line)["returncode"] if b"\n" in buffer else None
        except (ValueError, KeyError, TypeError):
            _LOG.warning("the reaper's last line is not understood: %r", line[:200])
            code = None
        if isinstance(code, int) and hook is not None:
            hook(code)

    def readable() -> None:
        try:
            chunk = sock.recv(4096)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        buffer.extend(chunk)
        if not chunk or b"\n" in buffer:
            finish()

    loop.add_reader(fd, readable)
    if b"\n" in buffer:
        finish()


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


_LOOPBACK = {"0.0.0.0": "127.0.0.1", "::": "::1"}


def reach_host(bind_host: str) -> str:
    """The address this host reaches an engine bound to ``bind_host`` at: loopback for a
    wildcard address, else the address itself (OC-DEP-8018)."""
    return _LOOPBACK.get(bind_host, bind_host)


def base_url(host: str, port: int) -> str:
    """``http://host:port``, with an IPv6 host in brackets."""
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


# --------------------------------------------------------------------------- the command line


def shown_command(argv: list[str]) -> str:
    """The command line as it may be logged: secret flag values hidden (OC-CTL-4007)."""
    return " ".join(redact_argv(argv))
