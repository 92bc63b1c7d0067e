"""``poolmgr serve`` as process 1 of a PID namespace of its own, as a container runs it.

Decides how a test or scenario gets a manager that is process 1 without a container runtime:
``unshare --pid --fork --mount-proc --kill-child`` (as root; ``unshare -r`` adds a user
namespace where the caller is not root) starts ``poolmgr serve`` as process 1 of a new PID
namespace with its own ``/proc``; the network is shared, so the control plane answers on
127.0.0.1 as usual.

:class:`Pid1Manager` is a :class:`harness.live.LiveManager` (same config handling, URL, HTTP
helpers, engines found with psutil, bounded waits and teardown), with two differences:
``unshare`` ignores SIGTERM while it waits for its child, so a stop is sent to process 1
itself from outside the namespace, as a container runtime does; and :meth:`Pid1Manager.init`
is that process as the host sees it. :func:`pid_namespace_problem` says why no PID namespace
can be made here (the callers skip with that reason). Serves OC-DEP-8005, OC-DEP-8006.
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess

import psutil

from harness.live import LiveManager, LiveOwner, live_manager_of
from harness.waiting import wait_until

__all__ = ["Pid1Manager", "pid1_manager_of", "pid_namespace_problem", "unshare_prefix"]

INIT_FOUND_S = 10.0
"""Bound on finding process 1 of the new namespace (unshare forks it at once)."""


def unshare_prefix() -> list[str]:
    """The command prefix that runs a program as process 1 of a new PID namespace."""
    user_ns = [] if os.geteuid() == 0 else ["-r"]
    return ["unshare", *user_ns, "--pid", "--fork", "--mount-proc", "--kill-child"]


@functools.cache
def pid_namespace_problem() -> str | None:
    """Why a PID namespace cannot be made here (``None``: it can)."""
    if shutil.which("unshare") is None:
        return "unshare (util-linux) is not installed"
    probe = [*unshare_prefix(), "sh", "-c", 'test "$$" = 1']
    try:
        done = subprocess.run(probe, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{' '.join(probe)}: {exc}"
    if done.returncode != 0:
        return f"{' '.join(probe)} failed: {done.stderr.strip() or done.returncode}"
    return None


class Pid1Manager(LiveManager):
    """A live manager that is process 1 of its own PID namespace."""

    def __init__(self) -> None:
        super().__init__()
        self.inside: list[psutil.Process] = []
        """The namespace's processes a scenario saw before it signalled process 1."""

    def wrap(self, args: list[str]) -> list[str]:
        return [*unshare_prefix(), *args]

    def init(self) -> psutil.Process:
        """The manager, process 1 of the namespace, as the host sees it (the unshare's child)."""
        assert self.proc is not None, "the manager was not started"
        unshare = psutil.Process(self.proc.pid)

        def probe() -> psutil.Process | None:
            children = unshare.children()
            return children[0] if children else None

        return wait_until(probe, INIT_FOUND_S, "process 1 of the new PID namespace")

    def terminate(self) -> None:
        """SIGTERM to process 1, from outside the namespace (``unshare`` ignores SIGTERM)."""
        self.signal(signal.SIGTERM)

    def signal(self, sig: signal.Signals) -> None:
        self.init().send_signal(sig)

    def namespace(self) -> list[psutil.Process]:
        """Every process of the namespace, process 1 first (each remembered for the cleanup)."""
        init = self.init()
        found = [init, *init.children(recursive=True)]
        for proc in found:
            self.engines_seen.setdefault(proc.pid, proc)
        return found

    def zombies(self) -> list[int]:
        """The namespace's processes that have exited but were not waited for (host pids)."""
        out = []
        for proc in self.namespace():
            try:
                if proc.status() == psutil.STATUS_ZOMBIE:
                    out.append(proc.pid)
            except psutil.NoSuchProcess:
                continue
        return out

    def wait_exit(self, timeout_s: float) -> int:
        """The exit status of the manager (``unshare`` passes it on), waited for, bounded."""
        assert self.proc is not None, "the manager was not started"
        try:
            return self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"process 1 did not exit within {timeout_s} s") from None


def pid1_manager_of(world: LiveOwner) -> Pid1Manager:
    """The scenario's manager as process 1, made on first use and stopped with the world."""
    manager = live_manager_of(world, Pid1Manager)
    assert isinstance(manager, Pid1Manager), "this scenario's manager is not process 1"
    return manager
