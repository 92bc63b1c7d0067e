"""The manager's own process limits: enough open files for 1,000 pools (OC-PERF-9109).

Each pool holds files open for as long as the manager runs: its output log, its engine's pipes
and the probe's connection to the engine (both ends of it, for an in-process test engine). At
1,000 pools that is several thousand descriptors, above the soft limit of 1,024 many systems
start a process with. :func:`raise_open_file_limit` lifts the soft limit of open files to the
hard limit, which an unprivileged process may do, once at ``poolmgr serve``'s start; the limit
is inherited by the engines it starts, which is what they would get from a shell raised the
same way.
"""

from __future__ import annotations

import resource

__all__ = ["raise_open_file_limit"]


def raise_open_file_limit() -> tuple[int, int]:
    """Lift the soft ``RLIMIT_NOFILE`` to the hard one; returns the (old, new) soft limits.

    A hard limit of "unlimited" is not a value the kernel takes for open files: the soft limit
    is then left as it is. A refusal (a sandbox that forbids it) leaves it too.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft == hard:
        return soft, soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError):
        return soft, soft
    return soft, hard
