"""The pool lifecycle state machine: what a pool is doing and what must happen next.

A :class:`PoolMachine` has one transition function, :meth:`PoolMachine.step`. It consumes an
input (an observed event: preload outcomes, engine exits, probe results, heartbeats, drain and
reload requests, deadlines; or :class:`Tick`, the passage of time; or :class:`HeartbeatCheck`)
and answers a :class:`~poolmgr.core.decisions.Decision`: typed actions for the shell to carry
out (spawn an engine with its restart cause, stop it gracefully, kill it, void leases, resize
the slots, wait for leases) and typed facts for observers (state changed, preload finished,
restarted with a cause, drain counted with its reason, driver reset, reload finished). It does
no I/O and never sleeps: time comes from the injected clock, jitter from the backoff's injected
RNG; whether and when to restart is the :class:`~poolmgr.core.restarts.RestartPolicy`'s answer.

The inputs live in :mod:`poolmgr.core.events`; the pool states, actions and facts in
:mod:`poolmgr.core.decisions`.

Invariant (OC-POOL-3001): the machine is Ready only while the engine incarnation it is
watching has reported a successful preload and no fatal failure has come after it.

Requirements served: OC-POOL-3001, 3002, 3003, 3004, 3010, 3011, 3012, 3013, 3014, 3016,
3031, 3032, 3033, 3034, 3063 (the preload deadline, :mod:`poolmgr.core.preload`), OC-GPU-9503.
"""

from __future__ import annotations

from dataclasses import dataclass

from poolmgr.core.backoff import Backoff
from poolmgr.core.breaker import CircuitBreaker
from poolmgr.core.clock import Clock
from poolmgr.core.decisions import (
    Action,
    Decision,
    DrainCounted,
    DriverResetCounted,
    Fact,
    KillEngine,
    PoolState,
    PreloadFinished,
    PreloadResult,
    ReloadFinished,
    ReloadOutcome,
    ResizeSlots,
    Restarted,
    Spawn,
    StateChanged,
    StopEngine,
    VoidLeases,
    WaitForLeases,
)
from poolmgr.core.errors import InvalidTransition
from poolmgr.core.events import (
    DeadlinePassed,
    DrainRequested,
    EngineExited,
    EngineFault,
    EngineStarted,
    Event,
    HeartbeatCheck,
    Input,
    LeasesDrained,
    PreloadFailed,
    PreloadSucceeded,
    ProbeFailed,
    ProbeOk,
    ReloadRequested,
    StartRequested,
    Tick,
)
from poolmgr.core.preload import PreloadDeadline
from poolmgr.core.restarts import Gate, RestartPolicy
from poolmgr.core.vocab import Cause, DrainReason

__all__ = ["LastError", "PoolMachine", "ReloadStatus"]

# States in which an engine process may be alive.
_ENGINE_STATES = frozenset(
    {PoolState.STARTING, PoolState.PRELOADING, PoolState.READY, PoolState.UNREADY}
)
_PRELOADING_STATES = frozenset({PoolState.STARTING, PoolState.PRELOADING})
_WAITING = {PoolState.BACKING_OFF: Gate.BACKOFF, PoolState.CIRCUIT_OPEN: Gate.TRIAL}
_WAITING_STATE = {gate: state for state, gate in _WAITING.items()}


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
        probe_failure_threshold: int,
        heartbeat_stale_ms: int,
        preload_timeout_ms: int,
    ) -> None:
        if probe_failure_threshold < 1:
            raise ValueError("probe_failure_threshold must be >= 1")
        if heartbeat_stale_ms < 1:
            raise ValueError("heartbeat_stale_ms must be >= 1")
        self.pool_id = pool_id
        self.model_ref = model_ref
        self.clock = clock
        self.restarts = RestartPolicy(backoff, breaker)
        self.probe_failure_threshold = probe_failure_threshold
        self.heartbeat_stale_ms = heartbeat_stale_ms
        self.preload_deadline = PreloadDeadline(preload_timeout_ms)

        self._state = PoolState.STOPPED
        self.preload_ok = False
        self.last_error: LastError | None = None
        self.restart_count = 0
        self.engine_version: str | None = None
        self.model_digest: str | None = None
        self.pid: int | None = None
        self.last_heartbeat_ms: int | None = None
        self.consecutive_probe_failures = 0
        self.drain_reason: DrainReason | None = None
        self.reload: ReloadStatus | None = None
        self._reload_target: str | None = None
        self._rollback_pending = False
        self._engine_expected_exit = False
        self._stop_after_drain = False
        self._restart_cause: Cause | None = None  # the failure the scheduled restart follows
        # What the current step decided (filled by the transitions, emptied by step()).
        self._actions: list[Action] = []
        self._facts: list[Fact] = []

    # --- derived views ------------------------------------------------------------

    @property
    def state(self) -> PoolState:
        return self._state

    @property
    def backoff(self) -> Backoff:
        return self.restarts.backoff

    @property
    def breaker(self) -> CircuitBreaker:
        return self.restarts.breaker

    @property
    def ready(self) -> bool:
        return self._state is PoolState.READY

    @property
    def draining(self) -> bool:
        return self._state is PoolState.DRAINING

    @property
    def live(self) -> bool:
        """An engine process is believed to be running."""
        return self.pid is not None

    @property
    def next_restart_at_ms(self) -> int | None:
        gate = _WAITING.get(self._state)
        return None if gate is None else self.restarts.next_start_at_ms(gate)

    def retry_after_ms(self) -> int | None:
        """How long a client should wait before asking again, from the restart schedule."""
        at = self.next_restart_at_ms
        if at is None:
            return None
        return max(0, at - self.clock.now_ms())

    # --- the one transition function ------------------------------------------------

    def step(self, received: Input) -> Decision:
        """Apply one input; answer what the shell must do and what happened.

        Raises :class:`~poolmgr.core.errors.InvalidTransition` (changing nothing) for a
        request the pool cannot take in its state.
        """
        self._actions, self._facts = [], []
        now = self.clock.now_ms()
        match received:
            case Tick():
                self._tick(now)
            case HeartbeatCheck():
                self._check_heartbeat(now)
            case _:
                self._handle(now, received)
        decision = Decision(tuple(self._actions), tuple(self._facts))
        self._actions, self._facts = [], []
        return decision

    def _handle(self, now: int, event: Event) -> None:
        match event:
            case StartRequested():
                ok = self._state in (PoolState.STOPPED, PoolState.FAILED)
                if not ok or self._engine_expected_exit:  # its exit would fail the new start
                    what = "its engine has not exited yet" if ok else "not stopped"
                    raise InvalidTransition(f"pool is {self._state}, {what}", pool_id=self.pool_id)
                self._spawn(now, self.model_ref)
            case EngineStarted(pid=pid):
                if self._state is PoolState.STARTING:
                    self.pid = pid
                    self._enter(PoolState.PRELOADING)
            case PreloadSucceeded():
                self._preload_succeeded(now, event)
            case PreloadFailed(cause=cause, message=message):
                # After a kill ordered by us, the engine's exit is what counts.
                if self._state in _PRELOADING_STATES and not self._engine_expected_exit:
                    self._fatal(now, cause, message, engine_alive=self.pid is not None)
            case EngineExited(cause=cause, message=message):
                self._engine_exited(now, cause, message)
            case EngineFault(cause=cause, message=message):
                if self._state in _ENGINE_STATES or self._state is PoolState.DRAINING:
                    self._fatal(now, cause, message, engine_alive=True)
            case ProbeOk():
                self._probe_ok(now)
            case ProbeFailed(message=message, timed_out=timed_out):
                self._probe_failed(now, message, timed_out)
            case DrainRequested(reason=reason, deadline_ms=deadline):
                self._drain(now, reason, deadline, stop_after=True)
            case LeasesDrained():
                if self._state is PoolState.DRAINING and not self._engine_expected_exit:
                    self._stop_engine()
            case DeadlinePassed():
                if self._state is PoolState.DRAINING and not self._engine_expected_exit:
                    self.last_error = LastError(
                        Cause.DRAIN_DEADLINE, "drain deadline passed with leases active", now
                    )
                    self._do(VoidLeases(Cause.DRAIN_DEADLINE))
                    self._stop_engine()
            case ReloadRequested(new_model_ref=new_ref, deadline_ms=deadline):
                self._reload(now, new_ref, deadline)
            case _:  # pragma: no cover
                raise AssertionError(f"unhandled event {event!r}")

    def _tick(self, now: int) -> None:
        """Restarts that are due, stable-period resets, stale heartbeats."""
        self.restarts.observe(now)
        gate = _WAITING.get(self._state)
        if gate is None:
            self._check_heartbeat(now)
            self._check_preload_deadline(now)
            return
        still = self.restarts.poll(now, gate)
        if still is None:
            self._spawn(now, self.model_ref, restart=True)
        elif still is not gate:
            # The breaker opened while we were backing off; wait for its trial instead.
            self._enter(_WAITING_STATE[still])

    def _check_heartbeat(self, now: int) -> None:
        """Mark a Ready pool Unready when its heartbeat is stale (OC-POOL-3004)."""
        if (
            self._state is PoolState.READY
            and self.last_heartbeat_ms is not None
            and now - self.last_heartbeat_ms > self.heartbeat_stale_ms
        ):
            self._enter(PoolState.UNREADY)
            self.restarts.not_ready(now)
            age = now - self.last_heartbeat_ms
            self.last_error = LastError(
                Cause.HEARTBEAT_STALE,
                f"no heartbeat for {age} ms (limit {self.heartbeat_stale_ms} ms)",
                now,
            )

    def _check_preload_deadline(self, now: int) -> None:
        """Fail a preload that outlived ``preload_timeout_ms`` (OC-POOL-3063).

        The deadline is armed exactly while the pool is Preloading (:meth:`_enter`), so it
        alone says whether a preload runs.
        """
        if not self._engine_expected_exit:
            message = self.preload_deadline.expired(now)
            if message is not None:
                self._fatal(now, Cause.PRELOAD_TIMEOUT, message, engine_alive=True)

    # --- recording decisions --------------------------------------------------------

    def _do(self, action: Action) -> None:
        self._actions.append(action)

    def _tell(self, fact: Fact) -> None:
        self._facts.append(fact)

    def _enter(self, state: PoolState) -> None:
        if state is not self._state:
            self._tell(StateChanged(self._state, state))
            self._state = state
            if state is PoolState.PRELOADING:
                self.preload_deadline.arm(self.clock.now_ms())
            else:
                self.preload_deadline.disarm()

    # --- transitions --------------------------------------------------------------

    def _spawn(self, now: int, model_ref: str, *, restart: bool = False) -> None:
        self.restarts.not_ready(now)
        self._enter(PoolState.STARTING)
        self.preload_ok = False
        self.pid = None
        self.consecutive_probe_failures = 0
        self._engine_expected_exit = False
        cause = self._restart_cause if restart else None
        if restart:
            self.restart_count += 1
            if cause is not None:
                self._tell(Restarted(cause))
        self._do(Spawn(model_ref, restart_cause=cause))

    def _preload_succeeded(self, now: int, event: PreloadSucceeded) -> None:
        if self._state not in _PRELOADING_STATES:
            return
        if self._engine_expected_exit:
            # The engine that reports this is one we already ordered killed (OC-POOL-3001).
            return
        self.preload_ok = True
        self._enter(PoolState.READY)
        self.last_heartbeat_ms = now
        self.consecutive_probe_failures = 0
        self.engine_version = event.engine_version
        self.model_digest = event.model_digest
        self.restarts.started(now)
        self._do(ResizeSlots(event.slots))
        self._tell(PreloadFinished(PreloadResult.SUCCESS))
        if self._reload_target is not None and self.reload is not None:
            if self._rollback_pending:
                self._rollback_pending = False
            else:
                self.model_ref = self._reload_target
                self.reload = ReloadStatus(
                    ReloadOutcome.DONE, self.reload.from_model_ref, self._reload_target
                )
                self._tell(ReloadFinished(ReloadOutcome.DONE, *self._reload_refs()))
            self._reload_target = None

    def _reload_refs(self) -> tuple[str, str]:
        assert self.reload is not None
        return self.reload.from_model_ref, self.reload.to_model_ref

    def _fatal(self, now: int, cause: Cause, message: str, *, engine_alive: bool) -> None:
        """A failure that ends this engine incarnation; schedules the restart."""
        if self._state in _PRELOADING_STATES:
            self._tell(PreloadFinished(PreloadResult.FAILURE, cause))
        self.preload_ok = False
        self.last_error = LastError(cause, message, now)
        if cause.is_driver_fault:
            self._tell(DriverResetCounted(cause))
            self._tell(DrainCounted(DrainReason.DRIVER_ERROR))
        self._do(VoidLeases(cause))
        if engine_alive and self.pid is not None and not self._engine_expected_exit:
            self._engine_expected_exit = True
            self._do(KillEngine(cause))
        if not engine_alive:
            self.pid = None
        if self._state is PoolState.DRAINING:
            return  # the drain goes on; the engine's exit completes it

        if self._reload_target is not None and not self._rollback_pending:
            self._roll_back(now, cause, message)
            return
        if self._rollback_pending:
            # The previous model failed as well: the reload is over; normal restarts apply.
            self._rollback_pending = False
            self._reload_target = None

        if cause.is_permanent:  # waiting cannot fix it: no restart, no breaker count
            self._enter(PoolState.FAILED)
            return
        self._restart_cause = cause
        gate = self.restarts.failed(now)
        self._enter(_WAITING_STATE[gate])

    def _roll_back(self, now: int, cause: Cause, message: str) -> None:
        """The reload's new model failed: go back to the one that worked (OC-POOL-3033).

        The health report shows ``reload_failed`` as the last error, with the underlying
        cause in the reload status and in the message.
        """
        assert self.reload is not None and self._reload_target is not None
        self.reload = ReloadStatus(
            ReloadOutcome.ROLLED_BACK,
            self.reload.from_model_ref,
            self._reload_target,
            cause,
            message,
        )
        self.last_error = LastError(
            Cause.RELOAD_FAILED,
            f"reload to {self._reload_target} failed ({cause}), rolling back: {message}",
            now,
        )
        self._tell(ReloadFinished(ReloadOutcome.ROLLED_BACK, *self._reload_refs(), cause))
        self.model_ref = self.reload.from_model_ref
        self._rollback_pending = True
        self._enter(PoolState.STARTING)
        self.consecutive_probe_failures = 0
        if self.pid is None:
            self._do(Spawn(self.model_ref))
        # Otherwise spawn once the failed engine has exited (see _engine_exited).

    def _engine_exited(self, now: int, cause: Cause, message: str) -> None:
        was_expected = self._engine_expected_exit
        self._engine_expected_exit = False
        self.pid = None
        if self._state is PoolState.DRAINING:
            self.preload_ok = False
            # The engine is gone: whatever was still in flight on it is lost (OC-POOL-3043).
            self._do(VoidLeases(cause))
            if not was_expected:
                self.last_error = LastError(cause, message, now)
            if self._reload_target is not None:
                self._enter(PoolState.STOPPED)
                self._spawn(now, self._reload_target)
            elif self._stop_after_drain:
                self._enter(PoolState.STOPPED)
            return
        if was_expected:
            if self._rollback_pending and self._state is PoolState.STARTING:
                self._do(Spawn(self.model_ref))
            return
        if self._state in _ENGINE_STATES:
            self._fatal(now, cause, message, engine_alive=False)

    def _probe_ok(self, now: int) -> None:
        self.last_heartbeat_ms = now
        self.consecutive_probe_failures = 0
        if self._state is PoolState.UNREADY and self.preload_ok:
            self._enter(PoolState.READY)
            self.restarts.ready_again(now)

    def _probe_failed(self, now: int, message: str, timed_out: bool) -> None:
        if self._state not in (PoolState.READY, PoolState.UNREADY):
            return
        self.consecutive_probe_failures += 1
        cause = Cause.PROBE_TIMEOUT if timed_out else Cause.PROBE_FAILED
        if self.consecutive_probe_failures >= self.probe_failure_threshold:
            text = f"{self.consecutive_probe_failures} consecutive probe failures: {message}"
            self._fatal(now, cause, text, engine_alive=True)
            return
        # A single timeout already means the engine is not serving (OC-POOL-3016).
        self._enter(PoolState.UNREADY)
        self.restarts.not_ready(now)
        self.last_error = LastError(cause, message, now)

    def _drain(self, now: int, reason: DrainReason, deadline_ms: int, *, stop_after: bool) -> None:
        if self._state is PoolState.DRAINING:
            raise InvalidTransition("pool is already draining", pool_id=self.pool_id)
        if self._reload_target is not None:
            raise InvalidTransition("a reload is in progress", pool_id=self.pool_id)
        self.drain_reason = reason
        self.restarts.not_ready(now)
        self._stop_after_drain = stop_after
        self._tell(DrainCounted(reason))
        # preload_ok stays: the engine did preload and still serves its leases (OC-CTL-4022);
        # it turns false when that engine exits or fails, or a new one is spawned.
        if self.pid is None and self._state not in _ENGINE_STATES:
            # Nothing running (backing off, circuit open, stopped): drained at once.
            self._enter(PoolState.STOPPED)
            self.restarts.cancel()
            return
        self._enter(PoolState.DRAINING)
        self._do(WaitForLeases(deadline_ms))

    def _reload(self, now: int, new_ref: str, deadline_ms: int) -> None:
        if self._reload_target is not None:
            raise InvalidTransition("a reload is already in progress", pool_id=self.pool_id)
        if self._state is PoolState.DRAINING:
            raise InvalidTransition("pool is draining", pool_id=self.pool_id)
        self.reload = ReloadStatus(ReloadOutcome.IN_PROGRESS, self.model_ref, new_ref)
        if self.pid is None and self._state not in _ENGINE_STATES:
            self._reload_target = new_ref
            self.restarts.cancel()
            self._enter(PoolState.STOPPED)
            self._tell(DrainCounted(DrainReason.RELOAD))
            self._spawn(now, new_ref)
            return
        self._drain(now, DrainReason.RELOAD, deadline_ms, stop_after=False)
        self._reload_target = new_ref

    def _stop_engine(self) -> None:
        """Graceful stop: SIGTERM, grace period, then SIGKILL (the supervisor's job)."""
        self._engine_expected_exit = True
        self._do(StopEngine())
