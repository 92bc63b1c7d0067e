"""Steps of the metric label budgets (OC-MET-6002, OC-POOL-3061).

A :class:`~poolmgr.telemetry.metrics.PoolMetrics` with a small ``pool_id`` budget counts more
pools than it admits; its registry's text exposition is parsed with ``prometheus_client``.

Registered in the step table with :func:`harness.registry.step` (OC-BDD-7006); every Then-step
asserts (OC-BDD-7003).
"""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from harness.assertions import assert_equal
from harness.registry import step
from harness.steps.fields import names
from harness.world import PoolWorld
from poolmgr.telemetry.metrics import LABEL_BUDGETS, PoolMetrics


def _metrics(world: PoolWorld) -> PoolMetrics:
    metrics = world.gate.metrics
    assert metrics is not None, "setup: no metrics object was made"
    return metrics


@step("given", 'metrics that allow {n:d} distinct values of the label "{label}"')
def given_metrics_budget(world: PoolWorld, n: int, label: str) -> None:
    budgets = {**LABEL_BUDGETS, label: n}
    world.gate.metrics = PoolMetrics(world.registry, budgets=budgets)


@step("given", "metrics with the default label budgets")
def given_metrics_default(world: PoolWorld) -> None:
    world.gate.metrics = PoolMetrics(world.registry)


@step("when", 'a driver reset is counted once for each of the pools "{pools}"')
def when_count_resets(world: PoolWorld, pools: str) -> None:
    metrics = _metrics(world)
    for pool in names(pools):
        metrics.count("driver_resets_total", pool)


@step("when", 'a driver reset is counted once for each of {n:d} pools named "{prefix}1" onwards')
def when_count_many_resets(world: PoolWorld, n: int, prefix: str) -> None:
    metrics = _metrics(world)
    for i in range(1, n + 1):
        metrics.count("driver_resets_total", f"{prefix}{i}")


def _scraped(world: PoolWorld, family: str) -> dict[frozenset[tuple[str, str]], float]:
    text = _metrics(world).render().decode()
    samples: dict[frozenset[tuple[str, str]], float] = {}
    for fam in text_string_to_metric_families(text):
        for sample in fam.samples:
            if sample.name == family:
                samples[frozenset(sample.labels.items())] = sample.value
    return samples


@step("then", 'the scrape shows "{family}" for exactly {n:d} distinct pool_id values')
def then_distinct_pools(world: PoolWorld, family: str, n: int) -> None:
    pools = {dict(labels)["pool_id"] for labels in _scraped(world, family)}
    assert_equal(len(pools), n, f"distinct pool_id values of {family}")


@step("then", 'the scrape shows "{family}" of pool "{pool}" at {value:d}')
def then_series_value(world: PoolWorld, family: str, pool: str, value: int) -> None:
    series = _scraped(world, family)
    found = [v for labels, v in series.items() if dict(labels).get("pool_id") == pool]
    assert_equal(found, [float(value)], f"{family} of pool {pool}")


@step("then", 'the scrape shows no "{family}" series for the pools "{pools}"')
def then_series_absent(world: PoolWorld, family: str, pools: str) -> None:
    shown = {dict(labels).get("pool_id") for labels in _scraped(world, family)}
    leaked = sorted(p for p in names(pools) if p in shown)
    assert_equal(leaked, [], f"pools past the budget shown by {family}")


@step("then", 'the scrape counts {n:d} folds of the label "{label}" of "{metric}"')
def then_overflow_count(world: PoolWorld, n: int, label: str, metric: str) -> None:
    series = _scraped(world, "label_overflow_total")
    key = frozenset({("metric", metric), ("label", label)})
    assert_equal(series.get(key, 0.0), float(n), f"label_overflow_total{{{metric},{label}}}")
