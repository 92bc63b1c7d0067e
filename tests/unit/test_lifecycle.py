"""Pool lifecycle state machine: one behaviour per test, driven by a manual clock."""

from __future__ import annotations

import random

import pytest

from poolmgr.core.backoff import Backoff, BackoffPolicy, Jitter
from poolmgr.core.breaker import BreakerPolicy, BreakerState, CircuitBreaker
from poolmgr.core.clock import ManualClock
from poolmgr.core.decisions import (
    DrainCounted,
    DriverResetCounted,
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
    HeartbeatCheck,
    LeasesDrained,
    PreloadFailed,
    PreloadSucceeded,
    ProbeFailed,
    ProbeOk,
    ReloadRequested,
    StartRequested,
    Tick,
)
from poolmgr.core.lifecycle import PoolMachine
from poolmgr.core.vocab import Cause, DrainReason


def make_machine(
    clock: ManualClock,
    *,
    threshold: int = 3,
    jitter: Jitter = Jitter.NONE,
    stable_reset_ms: int = 600_000,
    preload_timeout_ms: int = 600_000,
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
        preload_timeout_ms=preload_timeout_ms,
    )


def start_ready(m: PoolMachine, pid: int = 100) -> None:
    assert m.step(StartRequested()).actions == (Spawn(m.model_ref),)
    m.step(EngineStarted(pid))
    assert m.step(PreloadSucceeded("b1234", "sha256:aa", 4)).actions == (ResizeSlots(4),)


def test_oc_pool_3001_not_ready_while_preloading() -> None:
    clock = ManualClock()
    m = make_machine(clock)
    m.step(StartRequested())
    assert m.state is PoolState.STARTING and not m.ready
    m.step(EngineStarted(42))
    assert m.state is PoolState.PRELOADING and not m.ready
    m.step(ProbeOk())  # a probe answering before the preload finished proves nothing
    assert not m.ready


def test_oc_pool_3001_ready_after_successful_preload_with_version_and_digest() -> None:
    m = make_machine(ManualClock())
    start_ready(m)
    assert m.ready and m.preload_ok
    assert (m.engine_version, m.model_digest) == ("b1234", "sha256:aa")  # slots: ResizeSlots(4)


def test_oc_pool_3003_preload_failure_records_cause_and_schedules_restart() -> None:
    clock = ManualClock(10_000)
    m = make_machine(clock)
    m.step(StartRequested())
    m.step(EngineStarted(5))
    decision = m.step(PreloadFailed(Cause.MODEL_LOAD_FAILED, "failed to load model"))
    assert not m.ready
    assert m.state is PoolState.BACKING_OFF
    assert m.last_error is not None
    assert m.last_error.cause is Cause.MODEL_LOAD_FAILED
    assert m.last_error.at_ms == 10_000
    assert KillEngine(Cause.MODEL_LOAD_FAILED) in decision.actions
    assert decision.facts == (
        PreloadFinished(PreloadResult.FAILURE, Cause.MODEL_LOAD_FAILED),
        StateChanged(PoolState.PRELOADING, PoolState.BACKING_OFF),
    )
    assert m.next_restart_at_ms == 11_000  # no jitter: first delay is the initial 1 s


def test_oc_pool_3011_restart_happens_only_when_backoff_is_due() -> None:
    clock = ManualClock()
    m = make_machine(clock)
    start_ready(m)
    m.step(EngineExited(Cause.KILLED_BY_SIGNAL, "killed by SIGKILL"))
    assert m.state is PoolState.BACKING_OFF
    clock.advance(999)
    assert m.step(Tick()).actions == ()
    clock.advance(1)
    decision = m.step(Tick())
    assert decision.actions == (Spawn("model-a", restart_cause=Cause.KILLED_BY_SIGNAL),)
    assert Restarted(Cause.KILLED_BY_SIGNAL) in decision.facts
    assert m.restart_count == 1


def test_oc_pool_3011_breaker_opens_after_threshold_failures_and_blocks_restarts() -> None:
    clock = ManualClock()
    m = make_machine(clock, threshold=3)
    m.step(StartRequested())
    for _ in range(3):
        m.step(PreloadFailed(Cause.MODEL_LOAD_FAILED, "bad gguf"))
        if m.state is PoolState.BACKING_OFF:
            clock.advance(m.retry_after_ms() or 0)
            assert [type(a) for a in m.step(Tick()).actions] == [Spawn]
    assert m.state is PoolState.CIRCUIT_OPEN
    trial_at = m.next_restart_at_ms
    assert trial_at is not None
    clock.set(trial_at - 1)
    assert m.step(Tick()).actions == ()
    clock.set(trial_at)
    assert [type(a) for a in m.step(Tick()).actions] == [Spawn]
    assert m.state is PoolState.STARTING


def test_oc_pool_3014_failed_half_open_trial_reopens_with_longer_cooldown() -> None:
    clock = ManualClock()
    m = make_machine(clock, threshold=1)
    m.step(StartRequested())
    m.step(PreloadFailed(Cause.MODEL_LOAD_FAILED, "bad"))
    assert m.state is PoolState.CIRCUIT_OPEN
    first_cooldown = m.breaker.current_cooldown_ms
    clock.set(m.next_restart_at_ms or 0)
    m.step(Tick())
    m.step(PreloadFailed(Cause.MODEL_LOAD_FAILED, "still bad"))
    assert m.state is PoolState.CIRCUIT_OPEN
    assert first_cooldown is not None
    assert (m.breaker.current_cooldown_ms or 0) > first_cooldown


def test_oc_pool_3014_successful_trial_closes_breaker() -> None:
    clock = ManualClock()
    m = make_machine(clock, threshold=1)
    m.step(StartRequested())
    m.step(PreloadFailed(Cause.MODEL_LOAD_FAILED, "bad"))
    clock.set(m.next_restart_at_ms or 0)
    m.step(Tick())
    m.step(EngineStarted(9))
    m.step(PreloadSucceeded("v", None, 2))
    assert m.ready
    assert m.breaker.state(clock.now_ms()) is BreakerState.CLOSED


def test_oc_pool_3013_attempt_counter_survives_crash_right_after_ready() -> None:
    clock = ManualClock()
    m = make_machine(clock)
    start_ready(m)
    m.step(EngineExited(Cause.ENGINE_EXITED, "exit 1"))
    clock.advance(m.retry_after_ms() or 0)
    m.step(Tick())
    m.step(EngineStarted(101))
    m.step(PreloadSucceeded("v", None, 4))
    clock.advance(5_000)  # ready for 5 s only: far below the stable period
    m.step(ProbeOk())
    m.step(Tick())
    m.step(EngineExited(Cause.ENGINE_EXITED, "exit 1"))
    assert m.backoff.attempt == 2
    assert m.next_restart_at_ms == clock.now_ms() + 2_000


def test_oc_pool_3013_attempt_counter_resets_after_stable_period() -> None:
    clock = ManualClock()
    m = make_machine(clock, stable_reset_ms=60_000)
    start_ready(m)
    m.step(EngineExited(Cause.ENGINE_EXITED, "exit 1"))
    clock.advance(m.retry_after_ms() or 0)
    m.step(Tick())
    m.step(EngineStarted(101))
    m.step(PreloadSucceeded("v", None, 4))
    for _ in range(60):
        clock.advance(1_000)
        m.step(ProbeOk())
        m.step(Tick())
    assert m.backoff.attempt == 0


def test_oc_pool_3016_probe_timeout_makes_pool_unready_and_ok_recovers() -> None:
    clock = ManualClock()
    m = make_machine(clock)
    start_ready(m)
    m.step(ProbeFailed("no answer in 1000 ms", timed_out=True))
    assert m.state is PoolState.UNREADY and not m.ready
    assert m.last_error is not None and m.last_error.cause is Cause.PROBE_TIMEOUT
    m.step(ProbeOk())
    assert m.ready


def test_oc_pool_3016_repeated_probe_failures_kill_and_restart_engine() -> None:
    clock = ManualClock()
    m = make_machine(clock)
    start_ready(m)
    actions: tuple[object, ...] = ()
    for _ in range(3):
        actions = m.step(ProbeFailed("timeout", timed_out=True)).actions
    assert KillEngine(Cause.PROBE_TIMEOUT) in actions
    assert m.state is PoolState.BACKING_OFF
    # The exit of the engine we killed is expected and not counted twice.
    assert m.step(EngineExited(Cause.KILLED_BY_SIGNAL, "SIGKILL")).actions == ()
    assert m.backoff.attempt == 1


def test_oc_pool_3004_stale_heartbeat_makes_pool_unready() -> None:
    clock = ManualClock()
    m = make_machine(clock)
    start_ready(m)
    clock.advance(5_000)
    assert m.step(HeartbeatCheck()).facts == ()
    assert m.ready
    clock.advance(1)
    decision = m.step(HeartbeatCheck())
    assert decision.facts == (StateChanged(PoolState.READY, PoolState.UNREADY),)
    assert decision.actions == ()
    assert m.state is PoolState.UNREADY
    assert m.last_error is not None and m.last_error.cause is Cause.HEARTBEAT_STALE
    m.step(ProbeOk())
    assert m.ready


def test_oc_pool_3010_driver_error_counts_drain_and_reset_and_restarts_with_backoff() -> None:
    clock = ManualClock()
    m = make_machine(clock)
    start_ready(m)
    decision = m.step(EngineFault(Cause.DRIVER_ERROR, "CUDA error: an illegal memory access"))
    assert DriverResetCounted(Cause.DRIVER_ERROR) in decision.facts
    assert VoidLeases(Cause.DRIVER_ERROR) in decision.actions
    assert KillEngine(Cause.DRIVER_ERROR) in decision.actions
    drains = [f.reason for f in decision.facts if isinstance(f, DrainCounted)]
    assert drains == [DrainReason.DRIVER_ERROR]
    assert m.state is PoolState.BACKING_OFF and not m.ready


def test_oc_pool_3012_cpu_spillover_fails_fast_and_never_ready() -> None:
    clock = ManualClock()
    m = make_machine(clock)
    m.step(StartRequested())
    m.step(EngineStarted(3))
    m.step(EngineFault(Cause.CPU_SPILLOVER, "no usable GPU found"))
    assert m.state is PoolState.BACKING_OFF
    assert m.last_error is not None and m.last_error.cause is Cause.CPU_SPILLOVER
    # A late preload success from the killed engine must not make it Ready.
    m.step(PreloadSucceeded("v", None, 4))
    assert not m.ready


def test_oc_pool_3031_drain_waits_for_leases_then_stops_engine() -> None:
    clock = ManualClock()
    m = make_machine(clock)
    start_ready(m)
    decision = m.step(DrainRequested(DrainReason.API_REQUEST, deadline_ms=30_000))
    assert m.draining and not m.ready
    assert decision.actions == (WaitForLeases(30_000),)
    assert decision.facts == (
        DrainCounted(DrainReason.API_REQUEST),
        StateChanged(PoolState.READY, PoolState.DRAINING),
    )
    assert m.step(LeasesDrained()).actions == (StopEngine(),)
    m.step(EngineExited(Cause.ENGINE_EXITED, "terminated"))
    assert m.state is PoolState.STOPPED
    assert m.backoff.attempt == 0  # a requested stop is not a failure
    assert m.last_error is None


def test_oc_pool_3031_drain_deadline_voids_leases_and_forces_stop() -> None:
    clock = ManualClock()
    m = make_machine(clock)
    start_ready(m)
    m.step(DrainRequested(DrainReason.API_REQUEST, deadline_ms=1_000))
    actions = m.step(DeadlinePassed()).actions
    assert actions == (VoidLeases(Cause.DRAIN_DEADLINE), StopEngine())
    assert m.last_error is not None and m.last_error.cause is Cause.DRAIN_DEADLINE


def test_oc_pool_3034_second_drain_or_reload_while_draining_is_a_conflict() -> None:
    m = make_machine(ManualClock())
    start_ready(m)
    m.step(DrainRequested(DrainReason.API_REQUEST, deadline_ms=1_000))
    with pytest.raises(InvalidTransition):
        m.step(DrainRequested(DrainReason.API_REQUEST, deadline_ms=1_000))
    with pytest.raises(InvalidTransition):
        m.step(ReloadRequested("model-b", deadline_ms=1_000))


def test_oc_pool_3034_reload_while_reloading_is_a_conflict() -> None:
    m = make_machine(ManualClock())
    start_ready(m)
    m.step(ReloadRequested("model-b", deadline_ms=1_000))
    with pytest.raises(InvalidTransition):
        m.step(ReloadRequested("model-c", deadline_ms=1_000))


def _reload_to_new_engine(m: PoolMachine, new_ref: str) -> None:
    m.step(ReloadRequested(new_ref, deadline_ms=1_000))
    assert m.draining
    m.step(LeasesDrained())
    spawn = m.step(EngineExited(Cause.ENGINE_EXITED, "terminated")).actions
    assert spawn == (VoidLeases(Cause.ENGINE_EXITED), Spawn(new_ref))
    m.step(EngineStarted(200))


def test_oc_pool_3033_successful_reload_switches_model_version_and_digest() -> None:
    m = make_machine(ManualClock())
    start_ready(m)
    _reload_to_new_engine(m, "model-b")
    assert m.model_ref == "model-a"  # unchanged until the new model proved itself
    facts = m.step(PreloadSucceeded("b9999", "sha256:bb", 8)).facts
    assert ReloadFinished(ReloadOutcome.DONE, "model-a", "model-b") in facts
    assert m.ready and m.model_ref == "model-b"
    assert (m.engine_version, m.model_digest) == ("b9999", "sha256:bb")
    assert m.reload is not None and m.reload.outcome is ReloadOutcome.DONE


def test_oc_pool_3033_failed_reload_rolls_back_to_previous_model() -> None:
    m = make_machine(ManualClock())
    start_ready(m)
    _reload_to_new_engine(m, "model-bad")
    decision = m.step(PreloadFailed(Cause.MODEL_LOAD_FAILED, "failed to load model"))
    assert KillEngine(Cause.MODEL_LOAD_FAILED) in decision.actions
    rolled_back = ReloadFinished(
        ReloadOutcome.ROLLED_BACK, "model-a", "model-bad", Cause.MODEL_LOAD_FAILED
    )
    assert rolled_back in decision.facts
    spawn = m.step(EngineExited(Cause.KILLED_BY_SIGNAL, "SIGKILL")).actions
    assert spawn == (Spawn("model-a"),)  # a rollback, not a restart
    assert m.reload is not None
    assert m.reload.outcome is ReloadOutcome.ROLLED_BACK
    assert m.reload.cause is Cause.MODEL_LOAD_FAILED
    m.step(EngineStarted(300))
    m.step(PreloadSucceeded("b1234", "sha256:aa", 4))
    assert m.ready and m.model_ref == "model-a"
    assert (m.engine_version, m.model_digest) == ("b1234", "sha256:aa")
    assert m.reload.outcome is ReloadOutcome.ROLLED_BACK
    assert m.backoff.attempt == 0  # the bad new model is not the pool's own failure


def test_oc_pool_3033_rollback_that_fails_too_falls_back_to_normal_restarts() -> None:
    clock = ManualClock()
    m = make_machine(clock)
    start_ready(m)
    _reload_to_new_engine(m, "model-bad")
    m.step(PreloadFailed(Cause.MODEL_LOAD_FAILED, "bad new"))
    m.step(EngineExited(Cause.KILLED_BY_SIGNAL, "SIGKILL"))
    m.step(EngineStarted(301))
    m.step(PreloadFailed(Cause.VRAM_OOM, "old model no longer fits"))
    assert m.state is PoolState.BACKING_OFF
    assert m.model_ref == "model-a"
    # A later reload is accepted again: the failed one is over.
    m.step(EngineExited(Cause.KILLED_BY_SIGNAL, "SIGKILL"))
    m.step(ReloadRequested("model-c", deadline_ms=1_000))


def test_start_requested_twice_is_a_conflict() -> None:
    m = make_machine(ManualClock())
    m.step(StartRequested())
    with pytest.raises(InvalidTransition):
        m.step(StartRequested())


def test_oc_pool_3001_preload_success_from_engine_being_killed_is_ignored() -> None:
    """Found by the stateful test: the dying engine's late success during a rollback."""
    m = make_machine(ManualClock())
    m.step(ReloadRequested("model-b", deadline_ms=1_000))  # from Stopped: spawns model-b
    m.step(EngineStarted(7))
    actions = m.step(EngineFault(Cause.DRIVER_ERROR, "CUDA error")).actions
    assert KillEngine(Cause.DRIVER_ERROR) in actions
    assert m.step(PreloadSucceeded("late", None, 1)).actions == ()  # no slots resized either
    assert not m.ready
    spawn = m.step(EngineExited(Cause.KILLED_BY_SIGNAL, "SIGKILL")).actions
    assert spawn == (Spawn("model-a"),)


def test_oc_pool_3043_engine_crash_during_drain_voids_leases_and_records_cause() -> None:
    """Found by the stateful test: a crash while draining for a reload must not keep leases."""
    m = make_machine(ManualClock())
    start_ready(m)
    m.step(ReloadRequested("model-b", deadline_ms=10_000))
    actions = m.step(EngineExited(Cause.KILLED_BY_SIGNAL, "segfault")).actions
    assert actions == (VoidLeases(Cause.KILLED_BY_SIGNAL), Spawn("model-b"))
    assert m.last_error is not None and m.last_error.cause is Cause.KILLED_BY_SIGNAL


# --- facts: what observers are told, never recomputed from snapshots -------------------


def test_oc_pool_3033_failed_reload_reports_reload_failed_with_the_underlying_cause() -> None:
    clock = ManualClock(50_000)
    m = make_machine(clock)
    start_ready(m)
    _reload_to_new_engine(m, "model-bad")
    m.step(PreloadFailed(Cause.DIGEST_MISMATCH, "digest differs"))
    assert m.last_error is not None
    assert m.last_error.cause is Cause.RELOAD_FAILED
    assert "digest_mismatch" in m.last_error.message and "model-bad" in m.last_error.message
    assert m.last_error.at_ms == 50_000
    assert m.reload is not None and m.reload.cause is Cause.DIGEST_MISMATCH


def test_oc_pool_3030_preload_outcomes_are_told_once_per_preload() -> None:
    m = make_machine(ManualClock())
    m.step(StartRequested())
    m.step(EngineStarted(1))
    first = m.step(PreloadSucceeded("v", None, 2)).facts
    assert PreloadFinished(PreloadResult.SUCCESS) in first
    again = m.step(PreloadSucceeded("v", None, 2))  # ignored by the machine
    assert again.facts == () and again.actions == ()


def test_oc_pool_3030_restarts_are_told_with_the_cause_of_the_failure_before_them() -> None:
    clock = ManualClock()
    m = make_machine(clock, threshold=10)
    start_ready(m)
    told: list[Restarted] = []
    for cause in (Cause.VRAM_OOM, Cause.ENGINE_EXITED):
        m.step(EngineExited(cause, "gone"))
        clock.advance(m.retry_after_ms() or 0)
        decision = m.step(Tick())
        assert decision.actions == (Spawn("model-a", restart_cause=cause),)
        told += [f for f in decision.facts if isinstance(f, Restarted)]
        m.step(EngineStarted(7))
        m.step(PreloadSucceeded("v", None, 4))
    assert told == [Restarted(Cause.VRAM_OOM), Restarted(Cause.ENGINE_EXITED)]
    assert m.restart_count == 2


def test_oc_pool_3032_reload_of_a_stopped_pool_counts_its_drain_and_spawns_the_new_model() -> None:
    m = make_machine(ManualClock())
    decision = m.step(ReloadRequested("model-b", deadline_ms=1_000))
    assert decision.actions == (Spawn("model-b"),)
    assert DrainCounted(DrainReason.RELOAD) in decision.facts
    assert not [f for f in decision.facts if isinstance(f, Restarted)]


def test_every_state_change_is_told_from_where_to_where() -> None:
    clock = ManualClock()
    m = make_machine(clock)
    seen = [m.state]
    for received in (
        StartRequested(),
        EngineStarted(1),
        PreloadSucceeded("v", None, 4),
        ProbeFailed("slow", timed_out=True),
        ProbeOk(),
        DrainRequested(DrainReason.API_REQUEST, deadline_ms=1_000),
        LeasesDrained(),
        EngineExited(Cause.ENGINE_EXITED, "terminated"),
    ):
        for fact in m.step(received).facts:
            if isinstance(fact, StateChanged):
                assert fact.from_state is seen[-1]
                seen.append(fact.to_state)
    assert seen == [
        PoolState.STOPPED,
        PoolState.STARTING,
        PoolState.PRELOADING,
        PoolState.READY,
        PoolState.UNREADY,
        PoolState.READY,
        PoolState.DRAINING,
        PoolState.STOPPED,
    ]
    assert seen[-1] is m.state


def test_a_refused_request_changes_nothing_and_tells_nothing() -> None:
    m = make_machine(ManualClock())
    start_ready(m)
    m.step(DrainRequested(DrainReason.API_REQUEST, deadline_ms=1_000))
    before = (m.state, m.drain_reason, m.reload)
    with pytest.raises(InvalidTransition):
        m.step(ReloadRequested("model-b", deadline_ms=1_000))
    assert (m.state, m.drain_reason, m.reload) == before
    assert m.step(ProbeOk()).facts == ()


# --- the preload deadline (OC-POOL-3063) -------------------------------------------------


def test_oc_pool_3063_a_preload_past_its_deadline_is_killed_and_counted_as_a_failure() -> None:
    clock = ManualClock(1_000)
    m = make_machine(clock, preload_timeout_ms=5_000)
    m.step(StartRequested())
    clock.advance(200)
    m.step(EngineStarted(7))  # the deadline counts from here: 1_200 + 5_000
    clock.set(6_199)
    assert m.step(Tick()).actions == ()
    assert m.state is PoolState.PRELOADING and m.last_error is None
    clock.set(6_200)
    decision = m.step(Tick())
    assert decision.actions == (
        VoidLeases(Cause.PRELOAD_TIMEOUT),
        KillEngine(Cause.PRELOAD_TIMEOUT),
    )
    assert decision.facts == (
        PreloadFinished(PreloadResult.FAILURE, Cause.PRELOAD_TIMEOUT),
        StateChanged(PoolState.PRELOADING, PoolState.BACKING_OFF),
    )
    assert m.last_error is not None and m.last_error.cause is Cause.PRELOAD_TIMEOUT
    assert "5000 ms" in m.last_error.message and m.last_error.at_ms == 6_200
    assert m.next_restart_at_ms == 7_200
    # The killed engine's exit is expected: it neither fails the pool again nor is counted.
    assert m.step(EngineExited(Cause.KILLED_BY_SIGNAL, "killed")).actions == ()
    assert m.breaker.failures_in_window(clock.now_ms()) == 1


def test_oc_pool_3063_each_restart_gets_a_fresh_deadline_and_timeouts_open_the_breaker() -> None:
    clock = ManualClock()
    m = make_machine(clock, threshold=3, preload_timeout_ms=2_000)
    m.step(StartRequested())
    for attempt in range(3):
        m.step(EngineStarted(100 + attempt))
        clock.advance(1_999)
        m.step(Tick())
        assert m.state is PoolState.PRELOADING, f"attempt {attempt}: timed out early"
        clock.advance(1)
        m.step(Tick())
        assert m.last_error is not None and m.last_error.cause is Cause.PRELOAD_TIMEOUT
        if attempt < 2:
            assert m.state is PoolState.BACKING_OFF
            at = m.next_restart_at_ms
            assert at is not None
            clock.set(at)
            assert m.step(Tick()).actions == (Spawn("model-a", Cause.PRELOAD_TIMEOUT),)
    assert m.state is PoolState.CIRCUIT_OPEN
    assert m.breaker.state(clock.now_ms()) is BreakerState.OPEN


def test_oc_pool_3063_a_ready_pool_has_no_preload_deadline() -> None:
    clock = ManualClock()
    m = make_machine(clock, preload_timeout_ms=1_000)
    start_ready(m)
    for _ in range(4):
        clock.advance(999)
        m.step(ProbeOk())
        assert m.step(Tick()).actions == ()
    assert m.ready and m.preload_deadline.due_at_ms is None
