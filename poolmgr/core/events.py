"""What a pool's lifecycle machine is told: observed events, the passage of time, heartbeat checks.

The supervisor observes engines (process exits, output lines, health probes) and the control
plane forwards requests (drain, reload); each becomes one of these frozen records, fed to
:meth:`~poolmgr.core.lifecycle.PoolMachine.step` through the registry. :class:`Tick` stands for
time passing and :class:`HeartbeatCheck` for a reader asking whether the heartbeat went stale.

Requirements served: OC-POOL-3001, 3003, 3004, 3010, 3012, 3016, 3031, 3033 (the inputs their
decisions are made from).
"""

from __future__ import annotations

from dataclasses import dataclass

from poolmgr.core.vocab import Cause, DrainReason

__all__ = [
    "DeadlinePassed",
    "DrainRequested",
    "EngineExited",
    "EngineFault",
    "EngineStarted",
    "Event",
    "HeartbeatCheck",
    "Input",
    "LeasesDrained",
    "PreloadFailed",
    "PreloadSucceeded",
    "ProbeFailed",
    "ProbeOk",
    "ReloadRequested",
    "StartRequested",
    "Tick",
]


@dataclass(frozen=True)
class StartRequested:
    """Start the pool (from Stopped)."""


@dataclass(frozen=True)
class EngineStarted:
    """The engine process exists and is loading its model."""

    pid: int


@dataclass(frozen=True)
class PreloadSucceeded:
    engine_version: str
    model_digest: str | None
    slots: int


@dataclass(frozen=True)
class PreloadFailed:
    cause: Cause
    message: str


@dataclass(frozen=True)
class EngineExited:
    """The engine process ended; ``message`` says how (exit status or signal) and why."""

    cause: Cause
    message: str


@dataclass(frozen=True)
class EngineFault:
    """The engine is alive but reported something fatal (CUDA error, CPU fallback)."""

    cause: Cause
    message: str


@dataclass(frozen=True)
class ProbeOk:
    """A health probe answered 200; this is also the heartbeat."""


@dataclass(frozen=True)
class ProbeFailed:
    message: str
    timed_out: bool = False


@dataclass(frozen=True)
class DrainRequested:
    reason: DrainReason
    deadline_ms: int


@dataclass(frozen=True)
class LeasesDrained:
    """Active leases reached zero during a drain."""


@dataclass(frozen=True)
class DeadlinePassed:
    """The drain deadline passed with leases still active."""


@dataclass(frozen=True)
class ReloadRequested:
    new_model_ref: str
    deadline_ms: int


Event = (
    StartRequested
    | EngineStarted
    | PreloadSucceeded
    | PreloadFailed
    | EngineExited
    | EngineFault
    | ProbeOk
    | ProbeFailed
    | DrainRequested
    | LeasesDrained
    | DeadlinePassed
    | ReloadRequested
)


@dataclass(frozen=True)
class Tick:
    """Time passed: restarts that are due, stable-period resets, stale heartbeats."""


@dataclass(frozen=True)
class HeartbeatCheck:
    """Only check the heartbeat's age (OC-POOL-3004); never yields actions, so readers
    (health, lease admission) may send it at any time."""


Input = Event | Tick | HeartbeatCheck
