"""Pool lifecycle state machine: one behaviour per test, driven by a manual clock."""

from __future__ import annotations

import random

import pytest

from poolmgr.core.backoff import Backoff, BackoffPolicy, Jitter
from poolmgr.core.breaker import BreakerPolicy, BreakerState, CircuitBreaker
from poolmgr.core.clock import ManualClock
from poolmgr.core.errors import InvalidTransition
from poolmgr.core.lifecycle import (
    ActionKind,
    DeadlinePassed,
    DrainRequested,
    EngineExited,
    EngineFault,
    EngineStarted,
    LeasesDrained,
    PoolMachine,
    PoolState,
    PreloadFailed,
    PreloadSucceeded,
    ProbeFailed,
    ProbeOk,
    ReloadOutcome,
    ReloadRequested,
    StartRequested,
)
from poolmgr.core.vocab import Cause, DrainReason


def make_machine(
    clock: ManualClock,
    *,
    threshold: int = 3,
    jitter: Jitter = Jitter.NONE,
    stable_reset_ms: int = 600_000,
) -> PoolMachine:
    backoff = Backoff(
        BackoffPolicy(
            initial_ms=1_000, max_ms=8_000, jitter=jitter, stable_reset_ms=stable_reset_ms
        ),
        random.Random(7),
    )
    breaker = CircuitBreaker(
        BreakerPolicy(failure_threshold=threshold, window_ms=60_000, cooldown_ms=30_000)
    )
    return PoolMachine(
        "p1",
        "model-a",
        clock,
        backoff,
        breaker,
        probe_failure_threshold=3,
        heartbeat_stale_ms=5_000,
    )


def start_ready(m: PoolMachine, pid: int = 100) -> None:
    kinds = [a.kind for a in m.handle(StartRequested())]
    assert kinds == [ActionKind.SPAWN]
    m.handle(EngineStarted(pid))
    m.handle(PreloadSucceeded("b1234", "sha256:aa", 4))


def test_oc_pool_3001_not_ready_while_preloading() -> None:
    clock = ManualClock()
    m = make_machine(clock)
    m.handle(StartRequested())
    assert m.state is PoolState.STARTING and not m.ready
    m.handle(EngineStarted(42))
    assert m.state is PoolState.PRELOADING and not m.ready
    m.handle(ProbeOk())  # a probe answering before the preload finished proves nothing
    assert not m.ready


def test_oc_pool_3001_ready_after_successful_preload_with_version_and_digest() -> None:
    m = make_machine(ManualClock())
    start_ready(m)
    assert m.ready and m.preload_ok
    assert (m.engine_version, m.model_digest, m.slots) == ("b1234", "sha256:aa", 4)


def test_oc_pool_3003_preload_failure_records_cause_and_schedules_restart() -> None:
    clock = ManualClock(10_000)
    m = make_machine(clock)
    m.handle(StartRequested())
    m.handle(EngineStarted(5))
    actions = m.handle(PreloadFailed(Cause.MODEL_LOAD_FAILED, "failed to load model"))
    assert not m.ready
    assert m.state is PoolState.BACKING_OFF
    assert m.last_error is not None
    assert m.last_error.cause is Cause.MODEL_LOAD_FAILED
    assert m.last_error.at_ms == 10_000
    assert ActionKind.KILL_ENGINE in [a.kind for a in actions]
    assert m.next_restart_at_ms == 11_000  # no jitter: first delay is the initial 1 s


def test_oc_pool_3011_restart_happens_only_when_backoff_is_due() -> None:
    clock = ManualClock()
    m = make_machine(clock)
    start_ready(m)
    m.handle(EngineExited(None, Cause.KILLED_BY_SIGNAL, "killed by SIGKILL"))
    assert m.state is PoolState.BACKING_OFF
    clock.advance(999)
    assert m.tick() == []
    clock.advance(1)
    actions = m.tick()
    assert [a.kind for a in actions] == [ActionKind.SPAWN]
    assert actions[0].model_ref == "model-a"
    assert m.restart_count == 1


def test_oc_pool_3011_breaker_opens_after_threshold_failures_and_blocks_restarts() -> None:
    clock = ManualClock()
    m = make_machine(clock, threshold=3)
    m.handle(StartRequested())
    for _ in range(3):
        m.handle(PreloadFailed(Cause.MODEL_LOAD_FAILED, "bad gguf"))
        if m.state is PoolState.BACKING_OFF:
            clock.advance(m.retry_after_ms() or 0)
            assert [a.kind for a in m.tick()] == [ActionKind.SPAWN]
    assert m.state is PoolState.CIRCUIT_OPEN
    trial_at = m.next_restart_at_ms
    assert trial_at is not None
    clock.set(trial_at - 1)
    assert m.tick() == []
    clock.set(trial_at)
    assert [a.kind for a in m.tick()] == [ActionKind.SPAWN]
    assert m.state is PoolState.STARTING


def test_oc_pool_3014_failed_half_open_trial_reopens_with_longer_cooldown() -> None:
    clock = ManualClock()
    m = make_machine(clock, threshold=1)
    m.handle(StartRequested())
    m.handle(PreloadFailed(Cause.MODEL_LOAD_FAILED, "bad"))
    assert m.state is PoolState.CIRCUIT_OPEN
    first_cooldown = m.breaker.current_cooldown_ms
    clock.set(m.next_restart_at_ms or 0)
    m.tick()
    m.handle(PreloadFailed(Cause.MODEL_LOAD_FAILED, "still bad"))
    assert m.state is PoolState.CIRCUIT_OPEN
    assert first_cooldown is not None
    assert (m.breaker.current_cooldown_ms or 0) > first_cooldown


def test_oc_pool_3014_successful_trial_closes_breaker() -> None:
    clock = ManualClock()
    m = make_machine(clock, threshold=1)
    m.handle(StartRequested())
    m.handle(PreloadFailed(Cause.MODEL_LOAD_FAILED, "bad"))
    clock.set(m.next_restart_at_ms or 0)
    m.tick()
    m.handle(EngineStarted(9))
    m.handle(PreloadSucceeded("v", None, 2))
    assert m.ready
    assert m.breaker.state(clock.now_ms()) is BreakerState.CLOSED


def test_oc_pool_3013_attempt_counter_survives_crash_right_after_ready() -> None:
    clock = ManualClock()
    m = make_machine(clock)
    start_ready(m)
    m.handle(EngineExited(1, Cause.ENGINE_EXITED, "exit 1"))
    clock.advance(m.retry_after_ms() or 0)
    m.tick()
    m.handle(EngineStarted(101))
    m.handle(PreloadSucceeded("v", None, 4))
    clock.advance(5_000)  # ready for 5 s only: far below the stable period
    m.handle(ProbeOk())
    m.tick()
    m.handle(EngineExited(1, Cause.ENGINE_EXITED, "exit 1"))
    assert m.backoff.attempt == 2
    assert m.next_restart_at_ms == clock.now_ms() + 2_000


def test_oc_pool_3013_attempt_counter_resets_after_stable_period() -> None:
    clock = ManualClock()
    m = make_machine(clock, stable_reset_ms=60_000)
    start_ready(m)
    m.handle(EngineExited(1, Cause.ENGINE_EXITED, "exit 1"))
    clock.advance(m.retry_after_ms() or 0)
    m.tick()
    m.handle(EngineStarted(101))
    m.handle(PreloadSucceeded("v", None, 4))
    for _ in range(60):
        clock.advance(1_000)
        m.handle(ProbeOk())
        m.tick()
    assert m.backoff.attempt == 0


def test_oc_pool_3016_probe_timeout_makes_pool_unready_and_ok_recovers() -> None:
    clock = ManualClock()
    m = make_machine(clock)
    start_ready(m)
    m.handle(ProbeFailed("no answer in 1000 ms", timed_out=True))
    assert m.state is PoolState.UNREADY and not m.ready
    assert m.last_error is not None and m.last_error.cause is Cause.PROBE_TIMEOUT
    m.handle(ProbeOk())
    assert m.ready


def test_oc_pool_3016_repeated_probe_failures_kill_and_restart_engine() -> None:
    clock = ManualClock()
    m = make_machine(clock)
    start_ready(m)
    actions = []
    for _ in range(3):
        actions = m.handle(ProbeFailed("timeout", timed_out=True))
    assert ActionKind.KILL_ENGINE in [a.kind for a in actions]
    assert m.state is PoolState.BACKING_OFF
    # The exit of the engine we killed is expected and not counted twice.
    assert m.handle(EngineExited(None, Cause.KILLED_BY_SIGNAL, "SIGKILL")) == []
    assert m.backoff.attempt == 1


def test_oc_pool_3004_stale_heartbeat_makes_pool_unready() -> None:
    clock = ManualClock()
    m = make_machine(clock)
    start_ready(m)
    clock.advance(5_000)
    assert not m.check_heartbeat()
    assert m.ready
    clock.advance(1)
    assert m.check_heartbeat()
    assert m.state is PoolState.UNREADY
    assert m.last_error is not None and m.last_error.cause is Cause.HEARTBEAT_STALE
    m.handle(ProbeOk())
    assert m.ready


def test_oc_pool_3010_driver_error_counts_drain_and_reset_and_restarts_with_backoff() -> None:
    clock = ManualClock()
    m = make_machine(clock)
    start_ready(m)
    actions = m.handle(EngineFault(Cause.DRIVER_ERROR, "CUDA error: an illegal memory access"))
    kinds = [a.kind for a in actions]
    assert ActionKind.COUNT_DRIVER_RESET in kinds
    assert ActionKind.VOID_LEASES in kinds
    assert ActionKind.KILL_ENGINE in kinds
    drains = [a.reason for a in actions if a.kind is ActionKind.COUNT_DRAIN]
    assert drains == [DrainReason.DRIVER_ERROR.value]
    assert m.state is PoolState.BACKING_OFF and not m.ready


def test_oc_pool_3012_cpu_spillover_fails_fast_and_never_ready() -> None:
    clock = ManualClock()
    m = make_machine(clock)
    m.handle(StartRequested())
    m.handle(EngineStarted(3))
    m.handle(EngineFault(Cause.CPU_SPILLOVER, "no usable GPU found"))
    assert m.state is PoolState.BACKING_OFF
    assert m.last_error is not None and m.last_error.cause is Cause.CPU_SPILLOVER
    # A late preload success from the killed engine must not make it Ready.
    m.handle(PreloadSucceeded("v", None, 4))
    assert not m.ready


def test_oc_pool_3031_drain_waits_for_leases_then_stops_engine() -> None:
    clock = ManualClock()
    m = make_machine(clock)
    start_ready(m)
    actions = m.handle(DrainRequested(DrainReason.API_REQUEST, deadline_ms=30_000))
    assert m.draining and not m.ready
    assert [a.kind for a in actions] == [ActionKind.COUNT_DRAIN, ActionKind.WAIT_FOR_LEASES]
    assert [a.kind for a in m.handle(LeasesDrained())] == [ActionKind.STOP_ENGINE]
    m.handle(EngineExited(0, Cause.ENGINE_EXITED, "terminated"))
    assert m.state is PoolState.STOPPED
    assert m.backoff.attempt == 0  # a requested stop is not a failure
    assert m.last_error is None


def test_oc_pool_3031_drain_deadline_voids_leases_and_forces_stop() -> None:
    clock = ManualClock()
    m = make_machine(clock)
    start_ready(m)
    m.handle(DrainRequested(DrainReason.API_REQUEST, deadline_ms=1_000))
    kinds = [a.kind for a in m.handle(DeadlinePassed())]
    assert kinds == [ActionKind.VOID_LEASES, ActionKind.STOP_ENGINE]
    assert m.last_error is not None and m.last_error.cause is Cause.DRAIN_DEADLINE


def test_oc_pool_3034_second_drain_or_reload_while_draining_is_a_conflict() -> None:
    m = make_machine(ManualClock())
    start_ready(m)
    m.handle(DrainRequested(DrainReason.API_REQUEST, deadline_ms=1_000))
    with pytest.raises(InvalidTransition):
        m.handle(DrainRequested(DrainReason.API_REQUEST, deadline_ms=1_000))
    with pytest.raises(InvalidTransition):
        m.handle(ReloadRequested("model-b", deadline_ms=1_000))


def test_oc_pool_3034_reload_while_reloading_is_a_conflict() -> None:
    m = make_machine(ManualClock())
    start_ready(m)
    m.handle(ReloadRequested("model-b", deadline_ms=1_000))
    with pytest.raises(InvalidTransition):
        m.handle(ReloadRequested("model-c", deadline_ms=1_000))


def _reload_to_new_engine(m: PoolMachine, new_ref: str) -> None:
    m.handle(ReloadRequested(new_ref, deadline_ms=1_000))
    assert m.draining
    m.handle(LeasesDrained())
    spawn = m.handle(EngineExited(0, Cause.ENGINE_EXITED, "terminated"))
    assert [(a.kind, a.model_ref) for a in spawn] == [
        (ActionKind.VOID_LEASES, None),
        (ActionKind.SPAWN, new_ref),
    ]
    m.handle(EngineStarted(200))


def test_oc_pool_3033_successful_reload_switches_model_version_and_digest() -> None:
    m = make_machine(ManualClock())
    start_ready(m)
    _reload_to_new_engine(m, "model-b")
    assert m.model_ref == "model-a"  # unchanged until the new model proved itself
    m.handle(PreloadSucceeded("b9999", "sha256:bb", 8))
    assert m.ready and m.model_ref == "model-b"
    assert (m.engine_version, m.model_digest) == ("b9999", "sha256:bb")
    assert m.reload is not None and m.reload.outcome is ReloadOutcome.DONE


def test_oc_pool_3033_failed_reload_rolls_back_to_previous_model() -> None:
    m = make_machine(ManualClock())
    start_ready(m)
    _reload_to_new_engine(m, "model-bad")
    actions = m.handle(PreloadFailed(Cause.MODEL_LOAD_FAILED, "failed to load model"))
    assert ActionKind.KILL_ENGINE in [a.kind for a in actions]
    spawn = m.handle(EngineExited(None, Cause.KILLED_BY_SIGNAL, "SIGKILL"))
    assert [(a.kind, a.model_ref) for a in spawn] == [(ActionKind.SPAWN, "model-a")]
    assert m.reload is not None
    assert m.reload.outcome is ReloadOutcome.ROLLED_BACK
    assert m.reload.cause is Cause.MODEL_LOAD_FAILED
    m.handle(EngineStarted(300))
    m.handle(PreloadSucceeded("b1234", "sha256:aa", 4))
    assert m.ready and m.model_ref == "model-a"
    assert (m.engine_version, m.model_digest) == ("b1234", "sha256:aa")
    assert m.reload.outcome is ReloadOutcome.ROLLED_BACK
    assert m.backoff.attempt == 0  # the bad new model is not the pool's own failure


def test_oc_pool_3033_rollback_that_fails_too_falls_back_to_normal_restarts() -> None:
    clock = ManualClock()
    m = make_machine(clock)
    start_ready(m)
    _reload_to_new_engine(m, "model-bad")
    m.handle(PreloadFailed(Cause.MODEL_LOAD_FAILED, "bad new"))
    m.handle(EngineExited(None, Cause.KILLED_BY_SIGNAL, "SIGKILL"))
    m.handle(EngineStarted(301))
    m.handle(PreloadFailed(Cause.VRAM_OOM, "old model no longer fits"))
    assert m.state is PoolState.BACKING_OFF
    assert m.model_ref == "model-a"
    # A later reload is accepted again: the failed one is over.
    m.handle(EngineExited(None, Cause.KILLED_BY_SIGNAL, "SIGKILL"))
    m.handle(ReloadRequested("model-c", deadline_ms=1_000))


def test_start_requested_twice_is_a_conflict() -> None:
    m = make_machine(ManualClock())
    m.handle(StartRequested())
    with pytest.raises(InvalidTransition):
        m.handle(StartRequested())


def test_oc_pool_3001_preload_success_from_engine_being_killed_is_ignored() -> None:
    """Found by the stateful test: the dying engine's late success during a rollback."""
    m = make_machine(ManualClock())
    m.handle(ReloadRequested("model-b", deadline_ms=1_000))  # from Stopped: spawns model-b
    m.handle(EngineStarted(7))
    actions = m.handle(EngineFault(Cause.DRIVER_ERROR, "CUDA error"))
    assert ActionKind.KILL_ENGINE in [a.kind for a in actions]
    m.handle(PreloadSucceeded("late", None, 1))
    assert not m.ready
    spawn = m.handle(EngineExited(None, Cause.KILLED_BY_SIGNAL, "SIGKILL"))
    assert [(a.kind, a.model_ref) for a in spawn] == [(ActionKind.SPAWN, "model-a")]


def test_oc_pool_3043_engine_crash_during_drain_voids_leases_and_records_cause() -> None:
    """Found by the stateful test: a crash while draining for a reload must not keep leases."""
    m = make_machine(ManualClock())
    start_ready(m)
    m.handle(ReloadRequested("model-b", deadline_ms=10_000))
    actions = m.handle(EngineExited(139, Cause.KILLED_BY_SIGNAL, "segfault"))
    assert [a.kind for a in actions] == [ActionKind.VOID_LEASES, ActionKind.SPAWN]
    assert m.last_error is not None and m.last_error.cause is Cause.KILLED_BY_SIGNAL
