"""The pool lifecycle state machine: what a pool is doing and what must happen next.

A :class:`PoolMachine` consumes events (preload outcomes, engine exits, probe results,
heartbeats, drain and reload requests, deadlines) and the passage of time (:meth:`tick`),
and answers with :class:`Action` values for the supervisor to carry out (spawn an engine,
stop it, void leases, count a drain). It does no I/O and never sleeps: time comes from the
injected clock, jitter from the backoff's injected RNG.

Invariant (OC-POOL-3001): the machine is Ready only while the engine incarnation it is
watching has reported a successful preload and no fatal failure has come after it.

Requirements served: OC-POOL-3001, 3002, 3003, 3004, 3010, 3011, 3012, 3013, 3014, 3016,
3031, 3032, 3033, 3034.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from poolmgr.core.backoff import Backoff
from poolmgr.core.breaker import BreakerState, CircuitBreaker
from poolmgr.core.clock import Clock
from poolmgr.core.errors import InvalidTransition
from poolmgr.core.vocab import Cause, DrainReason


class PoolState(StrEnum):
    STOPPED = "stopped"
    STARTING = "starting"
    PRELOADING = "preloading"
    READY = "ready"
    UNREADY = "unready"
    DRAINING = "draining"
    BACKING_OFF = "backing_off"
    CIRCUIT_OPEN = "circuit_open"


# States in which an engine process may be alive.
_ENGINE_STATES = frozenset(
    {PoolState.STARTING, PoolState.PRELOADING, PoolState.READY, PoolState.UNREADY}
)


class ReloadOutcome(StrEnum):
    IN_PROGRESS = "in_progress"
    DONE = "done"
    ROLLED_BACK = "rolled_back"


# --- events ---------------------------------------------------------------------------


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
    exit_code: int | None
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


# --- actions --------------------------------------------------------------------------


class ActionKind(StrEnum):
    SPAWN = "spawn"  # start an engine for ``model_ref``
    STOP_ENGINE = "stop_engine"  # SIGTERM, grace, SIGKILL of the process group
    KILL_ENGINE = "kill_engine"  # SIGKILL of the process group now
    VOID_LEASES = "void_leases"  # end every active lease (engine gone or drain forced)
    WAIT_FOR_LEASES = "wait_for_leases"  # until zero or ``deadline_ms``
    COUNT_DRAIN = "count_drain"  # drain_events_total{reason}
    COUNT_DRIVER_RESET = "count_driver_reset"


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    model_ref: str | None = None
    reason: str | None = None
    deadline_ms: int | None = None


@dataclass(frozen=True)
class LastError:
    cause: Cause
    message: str
    at_ms: int


@dataclass(frozen=True)
class ReloadStatus:
    outcome: ReloadOutcome
    from_model_ref: str
    to_model_ref: str
    cause: Cause | None = None
    message: str | None = None


class PoolMachine:
    """Lifecycle of one pool. Not thread-safe on its own: the registry serialises access."""

    def __init__(
        self,
        pool_id: str,
        model_ref: str,
        clock: Clock,
        backoff: Backoff,
        breaker: CircuitBreaker,
        *,
        probe_failure_threshold: int = 3,
        heartbeat_stale_ms: int = 5_000,
    ) -> None:
        if probe_failure_threshold < 1:
            raise ValueError("probe_failure_threshold must be >= 1")
        if heartbeat_stale_ms < 1:
            raise ValueError("heartbeat_stale_ms must be >= 1")
        self.pool_id = pool_id
        self.model_ref = model_ref
        self.clock = clock
        self.backoff = backoff
        self.breaker = breaker
        self.probe_failure_threshold = probe_failure_threshold
        self.heartbeat_stale_ms = heartbeat_stale_ms

        self.state = PoolState.STOPPED
        self.preload_ok = False
        self.last_error: LastError | None = None
        self.restart_count = 0
        self.engine_version: str | None = None
        self.model_digest: str | None = None
        self.slots = 0
        self.pid: int | None = None
        self.last_heartbeat_ms: int | None = None
        self.consecutive_probe_failures = 0
        self.drain_reason: DrainReason | None = None
        self.drain_deadline_ms: int | None = None
        self.reload: ReloadStatus | None = None
        self._reload_target: str | None = None
        self._rollback_pending = False
        self._engine_expected_exit = False
        self._stop_after_drain = False

    # --- derived views ------------------------------------------------------------

    @property
    def ready(self) -> bool:
        return self.state is PoolState.READY

    @property
    def draining(self) -> bool:
        return self.state is PoolState.DRAINING

    @property
    def live(self) -> bool:
        """An engine process is believed to be running."""
        return self.pid is not None

    @property
    def next_restart_at_ms(self) -> int | None:
        if self.state is PoolState.BACKING_OFF:
            return self.backoff.next_restart_at_ms
        if self.state is PoolState.CIRCUIT_OPEN:
            return self.breaker.next_trial_at_ms
        return None

    def retry_after_ms(self) -> int | None:
        """How long a client should wait before asking again, from the restart schedule."""
        at = self.next_restart_at_ms
        if at is None:
            return None
        return max(0, at - self.clock.now_ms())

    # --- the machine --------------------------------------------------------------

    def handle(self, event: Event) -> list[Action]:
        """Apply one event; return what the supervisor must do."""
        now = self.clock.now_ms()
        match event:
            case StartRequested():
                if self.state is not PoolState.STOPPED:
                    raise InvalidTransition(
                        f"pool is {self.state}, not stopped", pool_id=self.pool_id
                    )
                return self._spawn(now, self.model_ref, count_restart=False)
            case EngineStarted(pid=pid):
                if self.state is PoolState.STARTING:
                    self.pid = pid
                    self.state = PoolState.PRELOADING
                return []
            case PreloadSucceeded():
                return self._preload_succeeded(now, event)
            case PreloadFailed(cause=cause, message=message):
                if self.state not in (PoolState.STARTING, PoolState.PRELOADING):
                    return []
                if self._engine_expected_exit:
                    return []  # from the engine being killed; its exit is what counts
                return self._fatal(now, cause, message, engine_alive=self.pid is not None)
            case EngineExited(exit_code=_, cause=cause, message=message):
                return self._engine_exited(now, cause, message)
            case EngineFault(cause=cause, message=message):
                if self.state not in _ENGINE_STATES and self.state is not PoolState.DRAINING:
                    return []
                return self._fatal(now, cause, message, engine_alive=True)
            case ProbeOk():
                return self._probe_ok(now)
            case ProbeFailed(message=message, timed_out=timed_out):
                return self._probe_failed(now, message, timed_out)
            case DrainRequested(reason=reason, deadline_ms=deadline):
                return self._drain(now, reason, deadline, stop_after=True)
            case LeasesDrained():
                if self.state is PoolState.DRAINING and not self._engine_expected_exit:
                    return self._stop_engine()
                return []
            case DeadlinePassed():
                if self.state is PoolState.DRAINING and not self._engine_expected_exit:
                    self.last_error = LastError(
                        Cause.DRAIN_DEADLINE, "drain deadline passed with leases active", now
                    )
                    return [
                        Action(ActionKind.VOID_LEASES, reason=Cause.DRAIN_DEADLINE.value),
                        *self._stop_engine(),
                    ]
                return []
            case ReloadRequested(new_model_ref=new_ref, deadline_ms=deadline):
                return self._reload(now, new_ref, deadline)
        raise AssertionError(f"unhandled event {event!r}")  # pragma: no cover

    def tick(self) -> list[Action]:
        """Let time pass: restarts that are due, stable-period resets, stale heartbeats."""
        now = self.clock.now_ms()
        self.backoff.observe(now)
        if self.state is PoolState.BACKING_OFF and self.backoff.due(now):
            if not self.breaker.allow_start(now):
                # The breaker opened while we were backing off; wait for its trial instead.
                self.state = PoolState.CIRCUIT_OPEN
                return []
            self.backoff.clear_schedule()
            return self._spawn(now, self.model_ref, count_restart=True)
        if self.state is PoolState.CIRCUIT_OPEN and self.breaker.state(now) is (
            BreakerState.HALF_OPEN
        ):
            if self.breaker.allow_start(now):
                self.backoff.clear_schedule()
                return self._spawn(now, self.model_ref, count_restart=True)
            return []
        self.check_heartbeat()
        return []

    def check_heartbeat(self) -> bool:
        """Mark a Ready pool Unready when its heartbeat is stale (OC-POOL-3004).

        Produces no actions, so readers (health, lease admission) may call it at any time.
        Returns True when the pool was marked stale by this call.
        """
        now = self.clock.now_ms()
        if (
            self.state is PoolState.READY
            and self.last_heartbeat_ms is not None
            and now - self.last_heartbeat_ms > self.heartbeat_stale_ms
        ):
            self.state = PoolState.UNREADY
            self.backoff.on_not_ready(now)
            age = now - self.last_heartbeat_ms
            self.last_error = LastError(
                Cause.HEARTBEAT_STALE,
                f"no heartbeat for {age} ms (limit {self.heartbeat_stale_ms} ms)",
                now,
            )
            return True
        return False

    # --- transitions --------------------------------------------------------------

    def _spawn(self, now: int, model_ref: str, *, count_restart: bool) -> list[Action]:
        self.backoff.on_not_ready(now)
        self.state = PoolState.STARTING
        self.preload_ok = False
        self.pid = None
        self.consecutive_probe_failures = 0
        self._engine_expected_exit = False
        if count_restart:
            self.restart_count += 1
        return [Action(ActionKind.SPAWN, model_ref=model_ref)]

    def _preload_succeeded(self, now: int, event: PreloadSucceeded) -> list[Action]:
        if self.state not in (PoolState.STARTING, PoolState.PRELOADING):
            return []
        if self._engine_expected_exit:
            # The engine that reports this is one we already ordered killed (OC-POOL-3001).
            return []
        self.preload_ok = True
        self.state = PoolState.READY
        self.last_heartbeat_ms = now
        self.consecutive_probe_failures = 0
        self.engine_version = event.engine_version
        self.model_digest = event.model_digest
        self.slots = event.slots
        self.backoff.on_ready(now)
        self.breaker.record_success(now)
        if self._reload_target is not None and self.reload is not None:
            if self._rollback_pending:
                self._rollback_pending = False
            else:
                self.model_ref = self._reload_target
                self.reload = ReloadStatus(
                    ReloadOutcome.DONE, self.reload.from_model_ref, self._reload_target
                )
            self._reload_target = None
        return []

    def _fatal(self, now: int, cause: Cause, message: str, *, engine_alive: bool) -> list[Action]:
        """A failure that ends this engine incarnation; schedules the restart."""
        self.preload_ok = False
        self.last_error = LastError(cause, message, now)
        actions: list[Action] = []
        if cause.is_driver_fault:
            actions.append(Action(ActionKind.COUNT_DRIVER_RESET, reason=cause.value))
            actions.append(Action(ActionKind.COUNT_DRAIN, reason=DrainReason.DRIVER_ERROR.value))
        actions.append(Action(ActionKind.VOID_LEASES, reason=cause.value))
        if engine_alive and self.pid is not None and not self._engine_expected_exit:
            self._engine_expected_exit = True
            actions.append(Action(ActionKind.KILL_ENGINE, reason=cause.value))
        if not engine_alive:
            self.pid = None
        if self.state is PoolState.DRAINING:
            # The drain goes on; the engine's exit completes it.
            return actions

        if self._reload_target is not None and not self._rollback_pending:
            # The new model failed: go back to the one that worked (OC-POOL-3033).
            assert self.reload is not None
            self.reload = ReloadStatus(
                ReloadOutcome.ROLLED_BACK,
                self.reload.from_model_ref,
                self._reload_target,
                cause,
                message,
            )
            self.model_ref = self.reload.from_model_ref
            self._rollback_pending = True
            self.state = PoolState.STARTING
            self.consecutive_probe_failures = 0
            if self.pid is None:
                return [*actions, Action(ActionKind.SPAWN, model_ref=self.model_ref)]
            # Spawn once the failed engine has exited (see _engine_exited).
            return actions
        if self._rollback_pending:
            # The previous model failed as well: the reload is over; normal restarts apply.
            self._rollback_pending = False
            self._reload_target = None

        self.breaker.record_failure(now)
        self.backoff.on_failure(now)
        if self.breaker.state(now) is BreakerState.OPEN:
            self.state = PoolState.CIRCUIT_OPEN
        else:
            self.state = PoolState.BACKING_OFF
        return actions

    def _engine_exited(self, now: int, cause: Cause, message: str) -> list[Action]:
        was_expected = self._engine_expected_exit
        self._engine_expected_exit = False
        self.pid = None
        if self.state is PoolState.DRAINING:
            self.preload_ok = False
            # The engine is gone: whatever was still in flight on it is lost (OC-POOL-3043).
            actions = [Action(ActionKind.VOID_LEASES, reason=cause.value)]
            if not was_expected:
                self.last_error = LastError(cause, message, now)
            if self._reload_target is not None:
                self.state = PoolState.STOPPED
                return [*actions, *self._spawn(now, self._reload_target, count_restart=False)]
            if self._stop_after_drain:
                self.state = PoolState.STOPPED
            return actions
        if was_expected:
            if self._rollback_pending and self.state is PoolState.STARTING:
                return [Action(ActionKind.SPAWN, model_ref=self.model_ref)]
            return []
        if self.state not in _ENGINE_STATES:
            return []
        return self._fatal(now, cause, message, engine_alive=False)

    def _probe_ok(self, now: int) -> list[Action]:
        self.last_heartbeat_ms = now
        self.consecutive_probe_failures = 0
        if self.state is PoolState.UNREADY and self.preload_ok:
            self.state = PoolState.READY
            self.backoff.on_ready(now)
        return []

    def _probe_failed(self, now: int, message: str, timed_out: bool) -> list[Action]:
        if self.state not in (PoolState.READY, PoolState.UNREADY):
            return []
        self.consecutive_probe_failures += 1
        cause = Cause.PROBE_TIMEOUT if timed_out else Cause.PROBE_FAILED
        if self.consecutive_probe_failures >= self.probe_failure_threshold:
            text = f"{self.consecutive_probe_failures} consecutive probe failures: {message}"
            return self._fatal(now, cause, text, engine_alive=True)
        # A single timeout already means the engine is not serving (OC-POOL-3016).
        self.state = PoolState.UNREADY
        self.backoff.on_not_ready(now)
        self.last_error = LastError(cause, message, now)
        return []

    def _drain(
        self, now: int, reason: DrainReason, deadline_ms: int, *, stop_after: bool
    ) -> list[Action]:
        if self.state is PoolState.DRAINING:
            raise InvalidTransition("pool is already draining", pool_id=self.pool_id)
        if self._reload_target is not None:
            raise InvalidTransition("a reload is in progress", pool_id=self.pool_id)
        self.drain_reason = reason
        self.drain_deadline_ms = deadline_ms
        self.backoff.on_not_ready(now)
        self._stop_after_drain = stop_after
        actions = [Action(ActionKind.COUNT_DRAIN, reason=reason.value)]
        if self.pid is None and self.state not in _ENGINE_STATES:
            # Nothing running (backing off, circuit open, stopped): drained at once.
            self.state = PoolState.STOPPED
            self.preload_ok = False
            self.backoff.clear_schedule()
            return actions
        self.state = PoolState.DRAINING
        self.preload_ok = False
        actions.append(Action(ActionKind.WAIT_FOR_LEASES, deadline_ms=deadline_ms))
        return actions

    def _reload(self, now: int, new_ref: str, deadline_ms: int) -> list[Action]:
        if self._reload_target is not None:
            raise InvalidTransition("a reload is already in progress", pool_id=self.pool_id)
        if self.state is PoolState.DRAINING:
            raise InvalidTransition("pool is draining", pool_id=self.pool_id)
        old_ref = self.model_ref
        self.reload = ReloadStatus(ReloadOutcome.IN_PROGRESS, old_ref, new_ref)
        if self.pid is None and self.state not in _ENGINE_STATES:
            self._reload_target = new_ref
            self.backoff.clear_schedule()
            self.state = PoolState.STOPPED
            return [
                Action(ActionKind.COUNT_DRAIN, reason=DrainReason.RELOAD.value),
                *self._spawn(now, new_ref, count_restart=False),
            ]
        actions = self._drain(now, DrainReason.RELOAD, deadline_ms, stop_after=False)
        self._reload_target = new_ref
        return actions

    def _stop_engine(self) -> list[Action]:
        """Graceful stop: SIGTERM, grace period, then SIGKILL (the supervisor's job)."""
        self._engine_expected_exit = True
        return [Action(ActionKind.STOP_ENGINE)]
