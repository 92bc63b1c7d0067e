"""Property tests of the fairness bound of start-time fair queuing (OC-ADM-9009).

Backlogged tenants of random weights (1..10) are served by one
:class:`~poolmgr.core.admission.AdmissionQueue` (and once through the whole
:class:`~poolmgr.core.registry.Registry`); tenants join late, leave and come back. Checked,
with exact fractions, over EVERY contiguous run of admissions during which two tenants both
stay backlogged:

    |A_i/w_i - A_j/w_j| <= 1/w_i + 1/w_j                                       (OC-ADM-9009)

and, over every window of N admissions during which the same n tenants all stay backlogged
(total weight W), each tenant's count is within the tolerance the pairwise bound implies:

    |A_i - N*w_i/W| <= 1 + (n - 2)*w_i/W    (< n - 1; at most 1 for two tenants, < 2 for three)

Derivation: summing w_j*(A_i/w_i - A_j/w_j) over j != i gives W*A_i/w_i - N, and the pairwise
bound caps each term by w_j*(1/w_i + 1/w_j), so |W*A_i/w_i - N| <= (W - w_i)/w_i + (n - 1);
multiply by w_i/W.

Checking every window is quadratic in the run, so each pair uses prefix differences: over a
run of admissions where both stay backlogged, the window difference is D(e) - D(s) with
D(k) = P_i(k)/w_i - P_j(k)/w_j, so the bound over every window is max D - min D <= bound.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from poolmgr.core.admission import AdmissionQueue, Priority, TenantBook, TenantPolicy, Ticket
from poolmgr.core.backoff import Backoff, BackoffPolicy
from poolmgr.core.breaker import BreakerPolicy, CircuitBreaker
from poolmgr.core.clock import ManualClock
from poolmgr.core.events import EngineStarted, PreloadSucceeded, StartRequested
from poolmgr.core.leases import LeaseTable
from poolmgr.core.lifecycle import PoolMachine
from poolmgr.core.registry import Registry
from poolmgr.core.vocab import Engine

FAR = 10**12
"""A deadline no test reaches: fairness is about who goes, not about who waits too long."""


@dataclass(frozen=True)
class Plan:
    """One tenant in a run: its weight, and the admission counts at which it is backlogged.

    ``spans`` holds ``(join, leave)`` pairs: the tenant is pushed tickets from the moment the
    run has made ``join`` admissions and stops being refilled after ``leave`` (its lane then
    empties: idle), so a later span is a return from idle.
    """

    weight: int
    spans: tuple[tuple[int, int], ...]


@st.composite
def plans(draw: st.DrawFn, max_tenants: int = 6, length: int = 120) -> list[Plan]:
    n = draw(st.integers(2, max_tenants))
    out = [Plan(draw(st.integers(1, 10)), ((0, length),))]  # someone is always backlogged
    for _ in range(n - 1):
        weight = draw(st.integers(1, 10))
        cuts = sorted(draw(st.lists(st.integers(0, length), min_size=2, max_size=4)))
        if len(cuts) % 2:
            cuts.append(length)
        spans = tuple((a, b) for a, b in zip(cuts[::2], cuts[1::2], strict=True) if a < b)
        out.append(Plan(weight, spans or ((0, length),)))
    return out


def backlog_runs(order: list[int], backlogged: list[list[bool]], i: int, j: int) -> list[range]:
    """Maximal runs of admission positions (prefix indices) where i and j are both backlogged.

    ``backlogged[k][t]``: tenant t had a waiting ticket when admission k was decided.
    """
    runs: list[range] = []
    start: int | None = None
    for k in range(len(order) + 1):
        both = k < len(order) and backlogged[k][i] and backlogged[k][j]
        if both and start is None:
            start = k
        elif not both and start is not None:
            runs.append(range(start, k))
            start = None
    return runs


def check_pairwise_bound(order: list[int], backlogged: list[list[bool]], w: list[int]) -> None:
    """OC-ADM-9009 over every contiguous run where both tenants of a pair stay backlogged."""
    for i, j in itertools.combinations(range(len(w)), 2):
        bound = Fraction(1, w[i]) + Fraction(1, w[j])
        for run in backlog_runs(order, backlogged, i, j):
            d = Fraction(0)
            lo = hi = d
            for k in run:
                d += Fraction(order[k] == i, w[i]) - Fraction(order[k] == j, w[j])
                lo, hi = min(lo, d), max(hi, d)
                assert hi - lo <= bound, (
                    f"tenants {i} (w={w[i]}) and {j} (w={w[j]}): lag {hi - lo} > {bound} "
                    f"within admissions {run.start}..{k}: {order[run.start : k + 1]}"
                )


def check_window_tolerance(order: list[int], backlogged: list[list[bool]], w: list[int]) -> None:
    """Every window of admissions with one unchanging set of backlogged tenants (who alone
    are admitted there): each count within 1 + (n-2)*w_i/W of N*w_i/W."""
    k = 0
    while k < len(order):
        group = backlogged[k]
        end = k
        while end < len(order) and backlogged[end] == group:
            end += 1
        members = [t for t, b in enumerate(group) if b]
        total = sum(w[t] for t in members)
        n = len(members)
        for s in range(k, end):
            counts = dict.fromkeys(members, 0)
            for e in range(s, end):
                counts[order[e]] += 1
                size = e - s + 1
                for t in members:
                    # In units of 1/W, to stay in integers: |A*W - N*w| <= W + (n-2)*w.
                    if abs(counts[t] * total - size * w[t]) > total + (n - 2) * w[t]:
                        error = abs(Fraction(counts[t]) - Fraction(size * w[t], total))
                        tolerance = 1 + Fraction((n - 2) * w[t], total)
                        raise AssertionError(
                            f"tenant {t} (w={w[t]}, W={total}, n={n}): {counts[t]} of {size} "
                            f"admissions {s}..{e}, off by {error} > {tolerance}"
                        )
        k = end


def serve(plan: list[Plan], length: int) -> tuple[list[int], list[list[bool]]]:
    """Admit ``length`` tickets from one queue, keeping each tenant backlogged in its spans.

    Returns who went at each admission and who was backlogged when it was decided.
    """
    weights = {str(t): p.weight for t, p in enumerate(plan)}
    queue = AdmissionQueue("p", 10**6, weights.__getitem__)
    ids = itertools.count(1)

    def active(t: int, k: int) -> bool:
        return any(a <= k < b for a, b in plan[t].spans)

    def refill(k: int) -> None:
        # Two tickets in the lane while active: the lane never empties between admissions.
        waiting = Counter(t.tenant for t in queue.tickets())
        for t in range(len(plan)):
            if active(t, k):
                for _ in range(2 - waiting.get(str(t), 0)):
                    ticket = Ticket(next(ids), "p", str(t), Priority.BATCH, 0, FAR)
                    queue.push(ticket)

    order: list[int] = []
    backlogged: list[list[bool]] = []
    for k in range(length):
        refill(k)
        waiting = Counter(t.tenant for t in queue.tickets())
        backlogged.append([waiting.get(str(t), 0) > 0 for t in range(len(plan))])
        chosen = queue.pick(0, lambda _: True)
        assert chosen is not None
        order.append(int(chosen.tenant))
    return order, backlogged


@settings(max_examples=150, deadline=None)
@given(plan=plans())
def test_oc_adm_9009_sfq_bound_holds_over_every_window_with_late_and_returning_tenants(
    plan: list[Plan],
) -> None:
    order, backlogged = serve(plan, 120)
    check_pairwise_bound(order, backlogged, [p.weight for p in plan])


@settings(max_examples=150, deadline=None)
@given(plan=plans())
def test_oc_adm_9009_every_window_of_n_admissions_is_within_the_derived_tolerance(
    plan: list[Plan],
) -> None:
    order, backlogged = serve(plan, 120)
    check_window_tolerance(order, backlogged, [p.weight for p in plan])


@settings(max_examples=60, deadline=None)
@given(weights=st.lists(st.integers(1, 10), min_size=2, max_size=5))
def test_oc_adm_9009_a_late_tenant_banks_no_credit(weights: list[int]) -> None:
    """The last tenant joins after 60 admissions; from then on its lag against every other
    tenant is bounded as if it had always been there (a catch-up burst would break it)."""
    last = len(weights) - 1
    plan = [Plan(w, ((0, 120),)) for w in weights[:-1]] + [Plan(weights[-1], ((60, 120),))]
    order, backlogged = serve(plan, 120)
    assert not any(b[last] for b in backlogged[:60]) and all(b[last] for b in backlogged[60:])
    check_pairwise_bound(order, backlogged, weights)
    # Its first admission comes within one round of the others (no starvation either).
    assert last in order[60 : 60 + len(weights) + sum(weights)]


def test_oc_adm_9009_the_checks_reject_an_unfair_order() -> None:
    """The checkers themselves: three in a row of one of two equal tenants (a lag of 3 > 2)
    breaks the pairwise bound, and one of the five admissions 0..4 breaks the window tolerance
    (|1 - 5/2| > 1)."""
    with pytest.raises(AssertionError, match="lag 3 > 2"):
        check_pairwise_bound([0, 1, 1, 1, 0, 0, 0], [[True, True]] * 7, [1, 1])
    with pytest.raises(AssertionError, match="off by 3/2 > 1"):
        check_window_tolerance([0, 1, 1, 1, 1, 1, 1], [[True, True]] * 7, [1, 1])
    # Both accept strict alternation, and the SFQ order of weights 2 and 1.
    check_pairwise_bound([0, 1] * 5, [[True, True]] * 10, [1, 1])
    check_window_tolerance([1, 0, 1, 1, 0, 1], [[True, True]] * 6, [1, 2])


# -- the same through the registry: one slot, released one lease at a time -------------------


def _one_slot_registry(weights: list[int]) -> Registry:
    clock = ManualClock(0)
    book = TenantBook([TenantPolicy(str(t), w, None, None, None) for t, w in enumerate(weights)], 0)
    registry = Registry(clock, book)
    machine = PoolMachine(
        "p",
        "m",
        clock,
        Backoff(BackoffPolicy(1_000, 16_000, 30_000), random.Random(1)),
        CircuitBreaker(BreakerPolicy(3, 60_000, 20_000)),
        probe_failure_threshold=2,
        heartbeat_stale_ms=FAR,
        preload_timeout_ms=600_000,
    )
    leases = LeaseTable("p", 1, random.Random(2), max_ttl_ms=FAR)
    registry.register(
        machine, leases, engine=Engine.STUB, cpu=True, ctx_per_slot=1, queue_depth=10_000,
        max_wait_ms=FAR,
    )  # fmt: skip
    registry.dispatch("p", StartRequested())
    registry.dispatch("p", EngineStarted(1))
    registry.dispatch("p", PreloadSucceeded("v", "sha256:00", 1))
    return registry


@settings(max_examples=25, deadline=None)
@given(weights=st.lists(st.integers(1, 10), min_size=2, max_size=4))
def test_oc_adm_9009_registry_admissions_keep_the_bound(weights: list[int]) -> None:
    """Every tenant queues 30 requests on a one-slot pool; the leases are returned one by one
    and the order of the grants keeps the bound over every window."""
    registry = _one_slot_registry(weights)
    holder = registry.acquire_lease("p")
    pending = []
    for _ in range(30):
        for t in range(len(weights)):
            pending.append(registry.request_lease("p", tenant=str(t), wait_ms=FAR // 2))
    order: list[int] = []
    lease = holder
    for _ in range(30):  # no tenant runs out of its 30 requests: all stay backlogged
        registry.release_lease("p", lease.lease_id)
        granted = [p for p in pending if p.future.done()]
        assert len(granted) == 1, "one returned slot must go to exactly one waiting request"
        pending.remove(granted[0])
        lease = granted[0].future.result(timeout=0)
        order.append(int(granted[0].ticket.tenant))
    check_pairwise_bound(order, [[True] * len(weights)] * len(order), weights)
