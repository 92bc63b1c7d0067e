"""What the supervisor tells a pool about its engine's output and exit, as events.

Decides the one mapping from what an engine wrote and how it ended to the lifecycle event the
pool receives: a fatal output line becomes an ``EngineFault`` carrying the cause and the line
with the output before it (OC-POOL-3010, OC-POOL-3012, OC-POOL-3027); an exit becomes an
``EngineExited`` with the cause read from the exit status and the tail (OC-POOL-3003,
OC-POOL-3028, OC-POOL-3029). :class:`poolmgr.runtime.watch.ExitWatch` uses it on real engines,
and the decision-level scenarios use it on the lines the features write, so both hand the pool
the same event. Pure: no I/O.
"""

from __future__ import annotations

from collections import deque

from poolmgr.core.events import EngineExited, EngineFault
from poolmgr.runtime.classify import classify_exit, scan_line
from poolmgr.runtime.output import shorten, with_tail

__all__ = ["exit_event", "fault_event"]


def fault_event(line: str, tail: deque[str], *, gpu_pool: bool) -> EngineFault | None:
    """The fault a live output ``line`` reports (``tail`` holds it already), or ``None``."""
    cause = scan_line(line, gpu_pool=gpu_pool)
    if cause is None:
        return None
    return EngineFault(cause, with_tail(f"engine reported {cause}: {shorten(line)}", tail))


def exit_event(returncode: int | None, tail: deque[str], *, gpu_pool: bool) -> EngineExited:
    """The exit of an engine whose process returned ``returncode`` (negative: a signal)."""
    signal_number = -returncode if returncode is not None and returncode < 0 else None
    cause, message = classify_exit(returncode, signal_number, list(tail), gpu_pool=gpu_pool)
    return EngineExited(cause, message)
