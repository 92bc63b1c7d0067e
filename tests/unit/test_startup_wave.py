"""The startup wave's decisions (OC-PERF-9107, OC-PERF-9108), from facts alone."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from poolmgr.core.decisions import (
    DrainCounted,
    PoolState,
    PreloadFinished,
    PreloadResult,
    StateChanged,
)
from poolmgr.core.startup import StartupWave
from poolmgr.core.vocab import Cause, DrainReason

OK = PreloadFinished(PreloadResult.SUCCESS)
FAILED = PreloadFinished(PreloadResult.FAILURE, Cause.PRELOAD_FAILED)
TO_STARTING = StateChanged(PoolState.STOPPED, PoolState.STARTING)


def test_oc_perf_9108_starts_at_most_the_concurrency_in_config_order() -> None:
    wave = StartupWave(["a", "b", "c", "d", "e"], 2)
    assert wave.take_starts() == ["a", "b"]
    assert wave.take_starts() == []
    assert wave.told("a", TO_STARTING) is False  # still starting
    assert wave.told("a", StateChanged(PoolState.STARTING, PoolState.PRELOADING)) is False
    assert wave.take_starts() == []
    assert wave.told("b", OK) is True
    assert wave.take_starts() == ["c"]
    assert wave.starting == {"a", "c"}
    assert wave.waiting == ("d", "e")


def test_oc_perf_9107_a_failed_first_start_finishes_it_and_done_needs_every_pool() -> None:
    wave = StartupWave(["a", "b"], 8)
    assert wave.take_starts() == ["a", "b"]
    assert wave.told("a", FAILED) is True
    assert (wave.finished, wave.done) == (1, False)
    # A later fact of a finished pool (its restart) changes nothing.
    assert wave.told("a", TO_STARTING) is False
    assert wave.told("b", OK) is True
    assert (wave.finished, wave.done) == (2, True)


def test_oc_perf_9107_a_drain_during_the_start_finishes_it() -> None:
    wave = StartupWave(["a"], 1)
    wave.take_starts()
    assert wave.told("a", StateChanged(PoolState.STARTING, PoolState.DRAINING)) is True
    assert wave.done


def test_oc_perf_9108_a_waiting_pool_drained_by_an_operator_is_never_started() -> None:
    wave = StartupWave(["a", "b"], 1)
    assert wave.take_starts() == ["a"]
    assert wave.told("b", DrainCounted(DrainReason.API_REQUEST)) is True
    assert wave.told("a", OK) is True
    assert wave.take_starts() == []
    assert wave.done


def test_oc_perf_9108_a_refused_start_frees_its_place() -> None:
    wave = StartupWave(["a", "b"], 1)
    wave.take_starts()
    assert wave.settle("a", PoolState.STARTING) is False
    assert wave.settle("a", PoolState.READY) is True
    assert wave.take_starts() == ["b"]


def test_oc_perf_9107_no_pools_is_done_at_once_and_concurrency_below_one_is_refused() -> None:
    assert StartupWave([], 8).done
    with pytest.raises(ValueError, match="start concurrency must be >= 1, got 0"):
        StartupWave(["a"], 0)


@given(
    n=st.integers(0, 12),
    limit=st.integers(1, 5),
    order=st.lists(st.integers(0, 11), max_size=40),
)
def test_oc_perf_9108_never_more_than_the_limit_starting_and_every_pool_ends_finished(
    n: int, limit: int, order: list[int]
) -> None:
    ids = [f"p{i}" for i in range(n)]
    wave = StartupWave(ids, limit)
    wave.take_starts()
    for i in order:  # pools finish in an arbitrary order; facts of others are ignored
        wave.told(f"p{i}", OK)
        wave.take_starts()
        assert len(wave.starting) <= limit
    while not wave.done:  # bounded: each round finishes at least one starting pool
        assert wave.starting, "the wave stalled with nothing starting"
        for pool_id in sorted(wave.starting):
            wave.told(pool_id, FAILED)
        wave.take_starts()
        assert len(wave.starting) <= limit
    assert wave.finished == n
