"""Prometheus metrics of the pool manager, with label budgets enforced at runtime.

Decides which series exist and what values they carry:

- the catalogue (:data:`CATALOGUE`): names, types and label sets exactly as
  ``spec/metrics-contract.yaml`` lists them (OC-MET-6001; a gate compares the two);
- gauges (``pool_ready``, ``active_leases``, ``breaker_state``, ``backoff_delay_seconds``,
  ``engine_info``, VRAM and host RAM) are computed from registry snapshots at scrape time,
  so a scrape never shows a state the registry no longer holds (OC-POOL-3060, OC-POOL-3062,
  OC-POOL-3030); ``GET /metrics`` makes the text with :meth:`PoolMetrics.render_async`, a few
  pools at a time with the event loop served in between, so the loop's pauses do not grow with
  the number of pools (OC-PERF-9103);
- counters are fed by the facts the lifecycle machines tell the registry
  (:meth:`PoolMetrics.on_fact`, subscribed with :meth:`~poolmgr.core.registry.Registry.observe`):
  ``DrainCounted`` → ``drain_events_total{reason}``, ``DriverResetCounted`` →
  ``driver_resets_total``, ``Restarted`` → ``restarts_total{cause}`` (the cause of the failure
  before the restart), ``PreloadFinished`` → ``preload_outcomes_total{result}``. Nothing is
  recomputed from snapshots;
- label budgets (:data:`LABEL_BUDGETS`, OC-MET-6002): once a label of a metric has seen as
  many distinct values as its budget allows, further new values are folded into
  ``__overflow__`` and counted in ``label_overflow_total{metric,label}`` (OC-POOL-3061).
  Gauge series folded together are summed.

Every label value passes through the :class:`~poolmgr.telemetry.logs.Redactor` (OC-CTL-4007). Each
:class:`PoolMetrics` owns its own ``CollectorRegistry``, so several apps can live in one
process (tests).
"""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

import psutil
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from poolmgr.core.admission import TIERS
from poolmgr.core.admissions import Admitted, Refused
from poolmgr.core.breaker import BreakerState
from poolmgr.core.decisions import (
    DrainCounted,
    DriverResetCounted,
    PreloadFinished,
    Restarted,
)
from poolmgr.core.errors import QuotaExceeded
from poolmgr.core.inventory import GpuInventory
from poolmgr.core.registry import PoolSnapshot, Registry, Told
from poolmgr.telemetry.admission import WaitHistogram, admission_gauges, refusal_reason
from poolmgr.telemetry.redact import Redactor, default_redactor

__all__ = [
    "CATALOGUE",
    "LABEL_BUDGETS",
    "OVERFLOW",
    "RENDER_STEP",
    "LabelBudgets",
    "MetricSpec",
    "MetricType",
    "PoolMetrics",
]

OVERFLOW: Final = "__overflow__"
"""The label value that stands for every value past a budget."""


class MetricType(StrEnum):
    GAUGE = "gauge"
    COUNTER = "counter"
    HISTOGRAM = "histogram"


@dataclass(frozen=True)
class MetricSpec:
    """One row of the metrics contract; ``name`` is the name seen in the exposition text."""

    name: str
    type: MetricType
    labels: tuple[str, ...]
    help: str

    @property
    def family(self) -> str:
        """The family name prometheus-client uses (counters without ``_total``)."""
        if self.type is MetricType.COUNTER and self.name.endswith("_total"):
            return self.name[: -len("_total")]
        return self.name


_G, _C, _H = MetricType.GAUGE, MetricType.COUNTER, MetricType.HISTOGRAM

CATALOGUE: Final[tuple[MetricSpec, ...]] = (
    MetricSpec("pool_ready", _G, ("pool_id",), "1 while the pool is Ready, 0 otherwise."),
    MetricSpec("active_leases", _G, ("pool_id",), "Leases currently held on the pool."),
    MetricSpec("drain_events_total", _C, ("pool_id", "reason"), "Drains started, by reason."),
    MetricSpec(
        "restarts_total",
        _C,
        ("pool_id", "cause"),
        "Engine restarts, by the cause of the failure before them.",
    ),
    MetricSpec(
        "preload_outcomes_total", _C, ("pool_id", "result"), "Finished preloads, by result."
    ),
    MetricSpec("driver_resets_total", _C, ("pool_id",), "Driver or CUDA faults seen on the pool."),
    MetricSpec(
        "breaker_state",
        _G,
        ("pool_id", "state"),
        "1 for the circuit breaker's current state, 0 for the others.",
    ),
    MetricSpec(
        "backoff_delay_seconds",
        _G,
        ("pool_id",),
        "The restart delay last drawn, 0 when no restart is pending.",
    ),
    MetricSpec("vram_used_bytes", _G, ("device",), "Memory in use on the GPU."),
    MetricSpec("vram_total_bytes", _G, ("device",), "Memory size of the GPU."),
    MetricSpec("host_ram_used_bytes", _G, (), "Host memory in use."),
    MetricSpec(
        "gpus_simulated",
        _G,
        (),
        "1 when the GPUs are simulated (manager.simulate_gpus), 0 when NVML is read.",
    ),
    MetricSpec(
        "engine_info",
        _G,
        ("pool_id", "engine", "engine_version", "model_digest"),
        "Always 1; carries the pool's engine provenance.",
    ),
    MetricSpec(
        "label_overflow_total",
        _C,
        ("metric", "label"),
        "Label values folded into the overflow value.",
    ),
    MetricSpec(
        "admission_share",
        _G,
        ("tenant", "priority"),
        "The tenant's share of the tier's admissions, an EWMA over the last 100.",
    ),
    MetricSpec(
        "deadlines_met_ratio",
        _G,
        ("priority",),
        "Lease requests admitted by their deadline over those admitted or refused for want of "
        "a slot; 1 before any.",
    ),
    MetricSpec(
        "admission_queue_depth",
        _G,
        ("pool_id", "priority"),
        "Lease requests waiting for a slot of the pool.",
    ),
    MetricSpec(
        "admission_wait_seconds",
        _H,
        ("priority",),
        "How long admitted lease requests waited for their slot.",
    ),
    MetricSpec(
        "admission_refusals_total",
        _C,
        ("pool_id", "reason"),
        "Lease requests refused by admission, by reason.",
    ),
    MetricSpec(
        "quota_refusals_total",
        _C,
        ("tenant", "reason"),
        "Lease requests refused for a tenant's quota (max_concurrent or rps).",
    ),
)

LABEL_BUDGETS: Final[Mapping[str, int]] = {
    "engine": 4,
    "engine_version": 64,
    "pool_id": 256,
    "replica_id": 1024,
    "priority": 8,
    "reason": 16,
    "tenant": 256,
    "result": 4,
    "state": 8,
    "mode": 4,
    "model_id": 1024,
    "cause": 32,
    "device": 256,
    "model_digest": 1024,
    "metric": 32,
    "label": 32,
}
"""Distinct values each label may take per metric (spec/metrics.md, OC-MET-6002)."""

_SPECS: Final = {spec.name: spec for spec in CATALOGUE}
_FOLDED_MEMORY: Final = 4096  # distinct folded values remembered per metric and label
_LABEL_CACHE_SIZE: Final = 65_536  # memoised label tuples before the memo starts afresh
RENDER_STEP: Final = 64
"""Pools (or series) :meth:`PoolMetrics.render_async` handles between two yields to the loop."""


class LabelBudgets:
    """Admits label values until a label's budget is used up, then folds. Thread-safe.

    A value admitted once stays admitted. Each distinct folded value is counted once (the
    last :data:`_FOLDED_MEMORY` per metric and label are remembered; past that every fold is
    counted), so a gauge re-read at every scrape does not inflate the overflow counter.
    """

    def __init__(self, budgets: Mapping[str, int], on_fold: Callable[[str, str], None]) -> None:
        self._budgets = dict(budgets)
        self._on_fold = on_fold
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, str], set[str]] = defaultdict(set)
        self._folded: dict[tuple[str, str], dict[str, None]] = defaultdict(dict)

    def admit(self, metric: str, label: str, value: str) -> str:
        budget = self._budgets.get(label)
        if budget is None:
            return value
        key = (metric, label)
        with self._lock:
            seen = self._seen[key]
            if value in seen:
                return value
            if len(seen) < budget:
                seen.add(value)
                return value
            folded = self._folded[key]
            fresh = value not in folded
            if fresh:
                folded[value] = None
                if len(folded) > _FOLDED_MEMORY:
                    del folded[next(iter(folded))]
        if fresh:
            self._on_fold(metric, label)
        return OVERFLOW


def _host_ram_used() -> int:
    vm = psutil.virtual_memory()
    return int(vm.total - vm.available)


class _Families(Collector):
    """A fixed list of metric families, as ``generate_latest`` takes them."""

    def __init__(self, *families: Metric) -> None:
        self._families = families

    def collect(self) -> Iterable[Metric]:
        return self._families


class _Collector(Collector):
    def __init__(self, owner: PoolMetrics) -> None:
        self._owner = owner

    def collect(self) -> Iterable[Metric]:
        return self._owner.collect()


class PoolMetrics:
    """The metrics of one manager: counters fed by core facts, gauges read at scrape time."""

    def __init__(
        self,
        registry: Registry,
        *,
        inventory: Callable[[], GpuInventory | None] | None = None,
        redactor: Redactor | None = None,
        host_ram_used: Callable[[], int] = _host_ram_used,
        budgets: Mapping[str, int] = LABEL_BUDGETS,
        simulated_gpus: bool = False,
    ) -> None:
        self.registry = registry
        self._simulated_gpus = simulated_gpus
        self._inventory = inventory
        self._redactor = redactor or default_redactor()
        self._host_ram_used = host_ram_used
        self._lock = threading.Lock()
        self._counters: dict[str, dict[tuple[str, ...], float]] = {
            spec.name: {} for spec in CATALOGUE if spec.type is MetricType.COUNTER
        }
        # Per pool, by raw (unfolded) labels: what the health endpoint shows.
        self._per_pool: dict[str, dict[str, dict[str, int]]] = {}
        self._label_cache: dict[tuple[str, tuple[str, ...]], tuple[str, ...]] = {}
        self.budgets = LabelBudgets(budgets, self._count_fold)
        self.waits = WaitHistogram()
        self.collector_registry = CollectorRegistry(auto_describe=False)
        self.collector_registry.register(_Collector(self))
        registry.observe(self.on_fact)

    # --- counters -----------------------------------------------------------------

    def _count_fold(self, metric: str, label: str) -> None:
        self._add("label_overflow_total", (metric, label), 1)

    def _add(self, name: str, labels: tuple[str, ...], amount: float) -> None:
        with self._lock:
            series = self._counters[name]
            series[labels] = series.get(labels, 0.0) + amount

    def _labels(self, name: str, values: Iterable[str]) -> tuple[str, ...]:
        """Redacted, budget-checked label values (memoised: admission never changes)."""
        raw = tuple(values)
        key = (name, raw)
        found = self._label_cache.get(key)
        if found is not None:
            return found
        spec = _SPECS[name]
        admitted = tuple(
            self.budgets.admit(name, label, self._redactor.redact(value))
            for label, value in zip(spec.labels, raw, strict=True)
        )
        if len(self._label_cache) >= _LABEL_CACHE_SIZE:
            self._label_cache.clear()
        self._label_cache[key] = admitted
        return admitted

    def count(self, name: str, pool_id: str, value: str | None = None) -> None:
        """Add one to counter ``name`` for ``pool_id`` (and its second label ``value``)."""
        raw = (pool_id,) if value is None else (pool_id, value)
        self._add(name, self._labels(name, raw), 1)
        with self._lock:
            by_value = self._per_pool.setdefault(pool_id, {}).setdefault(name, {})
            key = value or ""
            by_value[key] = by_value.get(key, 0) + 1

    def on_fact(self, pool_id: str, fact: Told) -> None:
        """Count what the lifecycle machines and admission told (the registry calls this for
        every fact)."""
        match fact:
            case Admitted(ticket=ticket, waited_ms=waited):
                self.waits.observe(ticket.priority, waited / 1000.0)
            case Refused(ticket=ticket, error=error):
                reason = refusal_reason(error)
                self.count("admission_refusals_total", pool_id, reason)
                if isinstance(error, QuotaExceeded):
                    labels = self._labels("quota_refusals_total", (ticket.tenant, reason))
                    self._add("quota_refusals_total", labels, 1)
            case DrainCounted(reason=reason):
                self.count("drain_events_total", pool_id, reason.value)
            case DriverResetCounted():
                self.count("driver_resets_total", pool_id)
            case Restarted(cause=cause):
                self.count("restarts_total", pool_id, cause.value)
            case PreloadFinished(result=result):
                self.count("preload_outcomes_total", pool_id, result.value)
            case _:
                pass  # state changes and reload outcomes are for logs and health, not counters

    def pool_counters(self, pool_id: str) -> dict[str, dict[str, int]]:
        """Counters for one pool by raw label value (for the health endpoint)."""
        with self._lock:
            found = self._per_pool.get(pool_id, {})
            return {name: dict(values) for name, values in found.items()}

    # --- exposition ---------------------------------------------------------------

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.collector_registry)

    def collect(self) -> Iterator[Metric]:
        gauges = self._new_gauges()
        for snap in self.registry.snapshots():
            self._pool_gauges(snap, self._putter(gauges))
        yield from self._families(self._manager_gauges(gauges))

    async def render_async(self, step: int = RENDER_STEP) -> bytes:
        """:meth:`render`'s text, made on the event loop in steps of ``step`` pools or series.

        Between steps the loop serves other requests, so a scrape's longest pause does not
        grow with the number of pools (OC-PERF-9103); each pool's series still come from one
        snapshot of it. The text is prometheus-client's own, family by family.
        """
        gauges = self._new_gauges()
        put = self._putter(gauges)
        ids = self.registry.ids()
        for start in range(0, len(ids), step):
            for snap in self.registry.snapshots(ids[start : start + step]):
                self._pool_gauges(snap, put)
            await asyncio.sleep(0)
        out: list[bytes] = []
        for family in self._families(self._manager_gauges(gauges)):
            samples = family.samples
            for start in range(0, max(len(samples), 1), step):
                part = Metric(family.name, family.documentation, family.type, family.unit)
                part.samples = samples[start : start + step]
                text = generate_latest(_Families(part))
                # Every part repeats the family's two header lines (HELP, TYPE): keep one.
                out.append(text if start == 0 else text.split(b"\n", 2)[2])
                await asyncio.sleep(0)
        return b"".join(out)

    def _new_gauges(self) -> dict[str, dict[tuple[str, ...], float]]:
        return {
            spec.name: defaultdict(float) for spec in CATALOGUE if spec.type is MetricType.GAUGE
        }

    def _putter(
        self, gauges: dict[str, dict[tuple[str, ...], float]]
    ) -> Callable[[str, Iterable[str], float], None]:
        def put(name: str, raw: Iterable[str], value: float) -> None:
            gauges[name][self._labels(name, raw)] += value

        return put

    def _manager_gauges(
        self, gauges: dict[str, dict[tuple[str, ...], float]]
    ) -> dict[str, dict[tuple[str, ...], float]]:
        """Add the gauges that are not per pool: admission, VRAM, host RAM."""
        put = self._putter(gauges)
        admission_gauges(self.registry.admission_view(), put)
        inventory = self._inventory() if self._inventory is not None else None
        if inventory is not None:
            for device in inventory.devices:
                used = device.total_bytes - device.free_bytes
                put("vram_used_bytes", (str(device.index),), float(used))
                put("vram_total_bytes", (str(device.index),), float(device.total_bytes))
        put("host_ram_used_bytes", (), float(self._host_ram_used()))
        put("gpus_simulated", (), 1.0 if self._simulated_gpus else 0.0)  # OC-GPU-9508
        return gauges

    def _families(self, gauges: dict[str, dict[tuple[str, ...], float]]) -> Iterator[Metric]:
        with self._lock:
            counters = {name: dict(series) for name, series in self._counters.items()}
        for spec in CATALOGUE:
            family: GaugeMetricFamily | CounterMetricFamily
            if spec.type is MetricType.HISTOGRAM:
                yield self._wait_histogram(spec)
                continue
            if spec.type is MetricType.GAUGE:
                family = GaugeMetricFamily(spec.name, spec.help, labels=spec.labels)
                series = gauges[spec.name]
            else:
                family = CounterMetricFamily(spec.family, spec.help, labels=spec.labels)
                series = counters[spec.name]
            for labels, value in sorted(series.items()):
                family.add_metric(list(labels), value)
            yield family

    def _wait_histogram(self, spec: MetricSpec) -> HistogramMetricFamily:
        family = HistogramMetricFamily(spec.name, spec.help, labels=spec.labels)
        for tier in TIERS:
            buckets, total = self.waits.series(tier)
            family.add_metric(list(self._labels(spec.name, (tier.value,))), buckets, total)
        return family

    @staticmethod
    def _pool_gauges(snap: PoolSnapshot, put: Callable[[str, Iterable[str], float], None]) -> None:
        pid = snap.pool_id
        put("pool_ready", (pid,), 1.0 if snap.ready else 0.0)
        put("active_leases", (pid,), float(snap.active_leases))
        for state in BreakerState:
            put("breaker_state", (pid, state.value), 1.0 if snap.breaker_state is state else 0.0)
        pending = snap.next_restart_at_ms is not None and snap.backoff_delay_ms is not None
        delay = (snap.backoff_delay_ms or 0) / 1000.0 if pending else 0.0
        put("backoff_delay_seconds", (pid,), delay)
        if snap.engine_version is not None:
            put(
                "engine_info",
                (pid, snap.engine, snap.engine_version, snap.model_digest or ""),
                1.0,
            )
