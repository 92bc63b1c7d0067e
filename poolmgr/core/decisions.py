"""What the lifecycle machine decides: typed actions for the shell and typed facts for observers.

One transition of a :class:`~poolmgr.core.lifecycle.PoolMachine` answers a :class:`Decision`:

- **actions** are orders the shell must carry out (start an engine, stop or kill it, wait for
  leases) or that the registry carries out itself (void leases, resize the slot table). Each kind
  is its own frozen dataclass with exactly the data it needs, so a consumer matches on the type
  and never parses a free-text reason (in the spirit of tenacity's ``DoAttempt``/``DoSleep``);
- **facts** say what happened, for metrics and logs: a state change, a finished preload with its
  outcome, a restart with the cause of the failure before it, a counted drain with its reason, a
  driver reset, a finished reload. Observers count and log these and never diff snapshots taken
  before and after a transition to guess what the machine did.

``name`` on every class is its stable event name (logs use ``pool_<name>``). The pool states
and reload outcomes the facts speak of live here too (the machine re-exports them).

Requirements served: OC-POOL-3003 (causes), 3010 (driver resets), 3011 (restarts), 3030
(preload outcomes and restarts by cause), 3031/3032 (drains counted with their reason), 3033
(reload outcome), 3043 (leases voided when the engine is gone).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar

from poolmgr.core.vocab import Cause, DrainReason

__all__ = [
    "Action",
    "Decision",
    "DrainCounted",
    "DriverResetCounted",
    "Fact",
    "KillEngine",
    "PoolState",
    "PreloadFinished",
    "PreloadResult",
    "ReloadFinished",
    "ReloadOutcome",
    "ResizeSlots",
    "Restarted",
    "Spawn",
    "StateChanged",
    "StopEngine",
    "VoidLeases",
    "WaitForLeases",
]


# Where a pool is in its lifecycle (OC-POOL-3001, OC-POOL-3003). No docstring: the OpenAPI
# document shows this enum, and a description would change the committed contract.
class PoolState(StrEnum):
    STOPPED = "stopped"
    STARTING = "starting"
    PRELOADING = "preloading"
    READY = "ready"
    UNREADY = "unready"
    DRAINING = "draining"
    BACKING_OFF = "backing_off"
    CIRCUIT_OPEN = "circuit_open"
    FAILED = "failed"


class ReloadOutcome(StrEnum):
    IN_PROGRESS = "in_progress"
    DONE = "done"
    ROLLED_BACK = "rolled_back"


# --- actions --------------------------------------------------------------------------


@dataclass(frozen=True)
class Spawn:
    """Start an engine for ``model_ref``.

    ``restart_cause`` is the cause of the failure this start recovers from; ``None`` for a
    start that is not a restart (the first start, a reload's new model, a rollback).
    """

    model_ref: str
    restart_cause: Cause | None = None
    name: ClassVar[str] = "spawn"


@dataclass(frozen=True)
class StopEngine:
    """Graceful stop: SIGTERM to the process group, the grace period, then SIGKILL."""

    name: ClassVar[str] = "stop_engine"


@dataclass(frozen=True)
class KillEngine:
    """SIGKILL the process group now; ``cause`` is the failure that condemned the engine."""

    cause: Cause
    name: ClassVar[str] = "kill_engine"


@dataclass(frozen=True)
class VoidLeases:
    """End every active lease (the engine is gone, or a drain's deadline passed)."""

    cause: Cause
    name: ClassVar[str] = "void_leases"


@dataclass(frozen=True)
class WaitForLeases:
    """Watch the pool's leases until none is active or ``deadline_ms`` passes."""

    deadline_ms: int
    name: ClassVar[str] = "wait_for_leases"


@dataclass(frozen=True)
class ResizeSlots:
    """The accepted preload reported ``slots``: the lease table takes that many."""

    slots: int
    name: ClassVar[str] = "resize_slots"


Action = Spawn | StopEngine | KillEngine | VoidLeases | WaitForLeases | ResizeSlots


# --- facts ----------------------------------------------------------------------------


class PreloadResult(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"


@dataclass(frozen=True)
class StateChanged:
    """The pool's lifecycle state went from ``from_state`` to ``to_state``."""

    from_state: PoolState
    to_state: PoolState
    name: ClassVar[str] = "state_changed"


@dataclass(frozen=True)
class PreloadFinished:
    """A preload ended: the engine became Ready, or it failed (``cause`` says why)."""

    result: PreloadResult
    cause: Cause | None = None
    name: ClassVar[str] = "preload_finished"


@dataclass(frozen=True)
class Restarted:
    """The engine is being started again after a failure with ``cause``."""

    cause: Cause
    name: ClassVar[str] = "restarted"


@dataclass(frozen=True)
class DrainCounted:
    """A drain started (or a driver fault forced one), with its reason (OC-POOL-3032)."""

    reason: DrainReason
    name: ClassVar[str] = "count_drain"


@dataclass(frozen=True)
class DriverResetCounted:
    """The GPU driver or device misbehaved (``cause`` is a driver fault, ORCH-3038)."""

    cause: Cause
    name: ClassVar[str] = "count_driver_reset"


@dataclass(frozen=True)
class ReloadFinished:
    """A reload ended: ``outcome`` is ``done`` or ``rolled_back`` (then ``cause`` says why)."""

    outcome: ReloadOutcome
    from_model_ref: str
    to_model_ref: str
    cause: Cause | None = None
    name: ClassVar[str] = "reload_finished"


Fact = (
    StateChanged | PreloadFinished | Restarted | DrainCounted | DriverResetCounted | ReloadFinished
)


@dataclass(frozen=True)
class Decision:
    """The answer to one input: what the shell must do, and what happened."""

    actions: tuple[Action, ...] = field(default=())
    facts: tuple[Fact, ...] = field(default=())
