"""How the manager hears its children end: a process file descriptor on the event loop.

Decides which child watcher asyncio uses for the processes the manager starts (the per-engine
reapers of :func:`poolmgr.runtime.process.spawn_engine`) so that an engine's exit is noticed
by the event loop itself, from a pidfd, and never by a thread blocked in ``waitpid`` per child
(OC-PERF-9106):

* Python 3.12 and later already do this: their default watcher polls a pidfd when the kernel
  has ``pidfd_open``, and falls back to a thread per child where it has not;
  :func:`use_pidfd_watcher` leaves them alone.
* Python 3.11's default, ``ThreadedChildWatcher``, blocks one thread per child, and a thread
  that wakes must then win the GIL back from the loop (up to the 5 ms switch interval) before
  the loop hears of the exit. Its ``PidfdChildWatcher`` is bound to the one loop it was
  attached to (the main thread's), which a manager run on another thread's loop (the API tests,
  an embedding program) would not be. :class:`LoopPidfdWatcher` is 3.12's watcher carried
  back: each child's pidfd is added to the loop that is running when the child is started.

Where ``pidfd_open`` is missing (not Linux, a kernel older than 5.3, a seccomp profile that
refuses it), the default watcher stays; when it fails for one child only, that child is
watched by a thread, as before. A watcher somebody set on purpose (another class than the
default) is never replaced. Standard library only.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import warnings
from collections.abc import Callable
from functools import cache
from types import TracebackType
from typing import TypeVarTuple, Unpack

__all__ = ["LoopPidfdWatcher", "pidfd_usable", "use_pidfd_watcher", "use_thread_watcher"]

_LOG = logging.getLogger("poolmgr.runtime.pidfd")

_Ts = TypeVarTuple("_Ts")


@cache
def pidfd_usable() -> bool:
    """True when this kernel lets this process open a pidfd (checked once, on itself)."""
    opener = getattr(os, "pidfd_open", None)
    if opener is None:
        return False
    try:
        os.close(opener(os.getpid()))
    except OSError:
        return False
    return True


if sys.version_info < (3, 12):  # child watchers are deprecated there, and gone in 3.14

    class LoopPidfdWatcher(asyncio.AbstractChildWatcher):
        """A child watcher that polls each child's pidfd on the loop running when it was started.

        Hand-written because Python 3.11 has no loop-independent pidfd watcher (3.12's
        ``PidfdChildWatcher`` is this class); about the same forty lines. A child whose pidfd
        cannot be opened is handed to a ``ThreadedChildWatcher`` (one thread, as before).
        """

        def __init__(self) -> None:
            self._fallback: asyncio.AbstractChildWatcher | None = None

        def __enter__(self) -> LoopPidfdWatcher:
            return self

        def __exit__(
            self,
            exc_type: type[BaseException] | None,
            exc: BaseException | None,
            tb: TracebackType | None,
        ) -> None:
            return None

        def is_active(self) -> bool:
            return True

        def close(self) -> None:
            return None

        def attach_loop(self, loop: asyncio.AbstractEventLoop | None) -> None:
            return None  # each child is watched on the loop that is running when it starts

        def add_child_handler(
            self, pid: int, callback: Callable[[int, int, Unpack[_Ts]], object], *args: *_Ts
        ) -> None:
            loop = asyncio.get_running_loop()
            try:
                pidfd = os.pidfd_open(pid)
            except OSError as exc:
                _LOG.debug("pidfd_open(%d) failed (%s): a thread waits for it", pid, exc)
                self._thread_watcher().add_child_handler(pid, callback, *args)
                return
            loop.add_reader(pidfd, self._do_wait, loop, pid, pidfd, callback, args)

        def remove_child_handler(self, pid: int) -> bool:
            return False  # asyncio never calls it on this path (3.12's watcher does the same)

        def _do_wait(
            self,
            loop: asyncio.AbstractEventLoop,
            pid: int,
            pidfd: int,
            callback: Callable[[int, int, Unpack[_Ts]], object],
            args: tuple[*_Ts],
        ) -> None:
            loop.remove_reader(pidfd)
            try:
                _, status = os.waitpid(pid, 0)
            except ChildProcessError:  # someone else took its status: asyncio's own convention
                returncode = 255
                _LOG.warning("child process %d: exit status already read; returncode 255", pid)
            else:
                returncode = os.waitstatus_to_exitcode(status)
            finally:
                os.close(pidfd)
            callback(pid, returncode, *args)

        def _thread_watcher(self) -> asyncio.AbstractChildWatcher:
            if self._fallback is None:
                self._fallback = asyncio.ThreadedChildWatcher()
            return self._fallback


def _policy() -> asyncio.AbstractEventLoopPolicy | None:
    policy = asyncio.get_event_loop_policy()
    # Only the default policy's watcher is ours to choose (uvloop and others have their own).
    return policy if type(policy) is asyncio.DefaultEventLoopPolicy else None


def use_pidfd_watcher() -> bool:
    """Watch children from pidfds on the loop where that is possible and not yet so.

    Idempotent and cheap (called before every spawn); True when children are watched from
    pidfds after the call.
    """
    if sys.version_info >= (3, 12):
        return pidfd_usable()  # the default watcher polls pidfds itself when it can
    policy = _policy()
    if policy is None or not pidfd_usable():
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        watcher = policy.get_child_watcher()
        if isinstance(watcher, LoopPidfdWatcher):
            return True
        if type(watcher) is not asyncio.ThreadedChildWatcher:
            return False  # set on purpose by someone else: theirs
        policy.set_child_watcher(LoopPidfdWatcher())
    return True


if sys.version_info < (3, 12):

    class _ChosenThreadWatcher(asyncio.ThreadedChildWatcher):
        """The thread-per-child watcher, set on purpose (so :func:`use_pidfd_watcher` keeps it)."""


def use_thread_watcher() -> None:
    """Go back to a thread blocked in ``waitpid`` per child: the old path, for comparisons
    (``bench/bench_exit.py``). Python 3.11 only; a no-op where the policy is not the default."""
    policy = _policy()
    if policy is None or sys.version_info >= (3, 12):
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        policy.set_child_watcher(_ChosenThreadWatcher())
