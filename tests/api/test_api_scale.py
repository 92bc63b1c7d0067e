"""Whole-registry reads at scale (OC-PERF-9103): ``/metrics`` and ``/v1/pools`` made in steps.

The stepped text must be exactly what the one-go rendering and FastAPI's own response-model
serialisation produce, for more pools than one step, with folded labels too; and a scrape must
hand the event loop back between steps (a task scheduled during it runs before it ends).
"""

from __future__ import annotations

import asyncio

import yaml
from fastapi.testclient import TestClient

from poolmgr.config import parse_config
from poolmgr.core.events import EngineExited
from poolmgr.core.vocab import Cause
from poolmgr.http.models import PoolEntry, entry_view
from poolmgr.http.routers.pools import LIST_STEP
from poolmgr.telemetry.metrics import LABEL_BUDGETS, RENDER_STEP, PoolMetrics
from poolmgr.telemetry.redact import Redactor
from tests.api.helpers import fake_app, ready_registry

POOLS = 2 * max(RENDER_STEP, LIST_STEP) + 7
"""More pools than two steps, and not a multiple of one."""


def many_pools(n: int = POOLS) -> str:
    pools = [
        {"id": f"p{i:04d}", "engine": "stub", "model": "stub://m", "devices": [], "cpu": True}
        for i in range(n)
    ]
    return yaml.safe_dump({"pools": pools})


def without_host_ram(text: bytes) -> bytes:
    """The exposition without host_ram_used_bytes, which reads the live host at each call."""
    return b"\n".join(line for line in text.split(b"\n") if b"host_ram_used_bytes " not in line)


def test_oc_perf_9103_stepped_metrics_text_equals_the_one_go_text() -> None:
    registry = ready_registry(parse_config(many_pools(), "<t>"))
    registry.dispatch("p0003", EngineExited(Cause.ENGINE_EXITED, "gone"))  # a pool not Ready
    metrics = PoolMetrics(registry, redactor=Redactor(environ={}))
    stepped = asyncio.run(metrics.render_async())
    assert without_host_ram(stepped) == without_host_ram(metrics.render())
    assert b'pool_ready{pool_id="p0003"} 0.0' in stepped
    assert stepped.count(b"# TYPE pool_ready gauge") == 1


def test_oc_perf_9103_stepped_metrics_fold_labels_past_the_budget_as_before() -> None:
    registry = ready_registry(parse_config(many_pools(), "<t>"))
    budgets = {**LABEL_BUDGETS, "pool_id": 100}
    stepped = PoolMetrics(registry, redactor=Redactor(environ={}), budgets=budgets)
    one_go = PoolMetrics(registry, redactor=Redactor(environ={}), budgets=budgets)
    text = asyncio.run(stepped.render_async())
    assert without_host_ram(text) == without_host_ram(one_go.render())
    assert f'pool_ready{{pool_id="__overflow__"}} {POOLS - 100}.0'.encode() in text


def test_oc_perf_9103_a_scrape_hands_the_loop_back_between_steps() -> None:
    registry = ready_registry(parse_config(many_pools(), "<t>"))
    metrics = PoolMetrics(registry, redactor=Redactor(environ={}))
    ran: list[str] = []

    async def scrape_while_another_task_waits() -> None:
        other = asyncio.get_running_loop().call_soon(ran.append, "other")
        await metrics.render_async()
        ran.append("scrape")
        other.cancel()

    asyncio.run(scrape_while_another_task_waits())
    assert ran == ["other", "scrape"]


def test_oc_perf_9103_stepped_listing_is_the_response_models_json() -> None:
    app, registry, _, _ = fake_app(many_pools())
    with TestClient(app) as client:
        answer = client.get("/v1/pools")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    expected = [
        PoolEntry.model_validate(entry_view(s, simulated_gpus=False)).model_dump(mode="json")
        for s in registry.snapshots()
    ]
    assert answer.json() == expected
    assert [entry["id"] for entry in answer.json()] == [f"p{i:04d}" for i in range(POOLS)]
