"""Process-level steps: the scenarios tagged ``@process`` run the real manager.

Each step talks to a real ``poolmgr serve`` subprocess (:class:`~harness.live.LiveManager`)
over real sockets: its HTTP control plane, its ``/metrics`` text, and the stub-engine processes
it starts (seen with psutil, killed with real signals). Waiting is bounded polling of the API.
The world's manager is created by :func:`harness.live.live_manager_of` on first use and stopped
after the scenario (see that module for the teardown). This module,
:mod:`harness.steps.secrets` and :mod:`harness.steps.leases_live` are the only step modules
that load the HTTP server.

Serves OC-CTL-4001..4006, OC-POOL-3003, 3005, 3010, 3011, 3015, 3017, 3030, 3031, 3034, 3040,
3041, 3050, 3060, 3062 and OC-MET-6001 at process level.

Registered in the step table with :func:`harness.registry.step` (OC-BDD-7006); every Then-step
asserts (OC-BDD-7003).
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path
from typing import Any

import requests
import yaml
from prometheus_client.parser import text_string_to_metric_families

from harness.assertions import assert_equal
from harness.live import LiveManager, live_manager_of
from harness.registry import step
from harness.steps.fields import names
from harness.world import PoolWorld

ROOT = Path(__file__).resolve().parents[2]


METRICS_CONTRACT = ROOT / "spec" / "metrics-contract.yaml"


READY_TIMEOUT_S = 15.0


FAULT_TIMEOUT_S = 15.0


def _last(world: PoolWorld) -> requests.Response:
    response = live_manager_of(world).last
    assert response is not None, "no request has been made yet"
    return response


def _engine_port(live: LiveManager, model_ref: str) -> int:
    cmdline = live.engine_of(model_ref).cmdline()
    return int(cmdline[cmdline.index("--port") + 1])


@step("given", "the manager is running with its embedded default config")
def given_default_manager(world: PoolWorld) -> None:
    live_manager_of(world).start(None)


@step("given", "the manager is running with this config")
def given_manager_with_config(world: PoolWorld, docstring: str) -> None:
    live_manager_of(world).start(docstring)


@step("given", 'the manager is running with "{var}" holding the token "{token}" and this config')
def given_manager_with_token(world: PoolWorld, var: str, token: str, docstring: str) -> None:
    live_manager_of(world).start(docstring, env={var: token})


@step("given", 'a model file "{name}" of {size:d} bytes')
def given_model_file(world: PoolWorld, name: str, size: int) -> None:
    data = random.Random(world.seed).randbytes(size)
    (live_manager_of(world).tmp / name).write_bytes(data)


@step("given", 'the live pools "{pools}" are ready')
def given_live_pools_ready(world: PoolWorld, pools: str) -> None:
    live = live_manager_of(world)
    for pool in names(pools):
        live.wait_health(pool, lambda h: bool(h["ready"]), "ready", READY_TIMEOUT_S)


@step("when", "a client lists the live pools")
def list_pools(world: PoolWorld) -> None:
    live_manager_of(world).request("GET", "/v1/pools")


@step("when", 'a client leases a slot of the live pool "{pool}"')
def lease_live(world: PoolWorld, pool: str) -> None:
    live = live_manager_of(world)
    response = live.request("POST", f"/v1/pools/{pool}/leases", json={})
    if response.status_code == 201:
        live.lease_ids.append(f"/v1/pools/{pool}/leases/{response.json()['lease_id']}")


@step("when", "the client returns its live lease")
def return_live_lease(world: PoolWorld) -> None:
    live = live_manager_of(world)
    assert live.lease_ids, "setup: no lease was granted"
    live.request("DELETE", live.lease_ids[-1])


@step("when", 'a client drains the live pool "{pool}" with a deadline of {ms:d} ms')
def drain_live(world: PoolWorld, pool: str, ms: int) -> None:
    live_manager_of(world).request("POST", f"/v1/pools/{pool}/drain", json={"deadline_ms": ms})


@step("when", 'a client drains the live pool "{pool}" presenting the bearer token "{token}"')
def drain_live_with_token(world: PoolWorld, pool: str, token: str) -> None:
    live_manager_of(world).request(
        "POST",
        f"/v1/pools/{pool}/drain",
        json={"deadline_ms": 1_000},
        headers={"Authorization": f"Bearer {token}"},
    )


@step("when", 'a client asks for the health of the live pool "{pool}" with correlation id "{cid}"')
def health_with_correlation(world: PoolWorld, pool: str, cid: str) -> None:
    live = live_manager_of(world)
    live.sent_correlation_id = cid
    live.request("GET", f"/v1/pools/{pool}/health", headers={"X-Correlation-Id": cid})


@step("when", 'a client asks for the health of the live pool "{pool}" without a correlation id')
def health_without_correlation(world: PoolWorld, pool: str) -> None:
    live = live_manager_of(world)
    live.sent_correlation_id = None
    live.request("GET", f"/v1/pools/{pool}/health")


@step("when", 'the engine process of the live pool "{pool}" is killed with SIGKILL')
def kill_live_engine(world: PoolWorld, pool: str) -> None:
    live = live_manager_of(world)
    engine = live.engine_of(str(live.health(pool)["model_ref"]))
    live.killed_pids.append(engine.pid)
    engine.kill()
    engine.wait(10)


@step("when", "the running manager is told to stop")
def stop_live(world: PoolWorld) -> None:
    live = live_manager_of(world)
    assert_equal(len(live.engines()) > 0, True, "engines running before the stop")
    live.stop()


@step("then", "the answer has status {status:d}")
def then_status(world: PoolWorld, status: int) -> None:
    response = _last(world)
    assert_equal(response.status_code, status, f"status of {response.request.method} answer")


@step("then", 'the answer is an error envelope with status {status:d} and code "{code}"')
def then_envelope(world: PoolWorld, status: int, code: str) -> None:
    response = _last(world)
    assert_equal(response.status_code, status, "status")
    assert "Traceback" not in response.text, f"a traceback leaked: {response.text}"
    body: dict[str, Any] = response.json()
    assert_equal(body.get("code"), code, "envelope code")
    assert isinstance(body.get("message"), str) and body["message"], f"no message: {body}"
    assert isinstance(body.get("retriable"), bool), f"no retriable flag: {body}"


@step("then", 'the envelope names the pool "{pool}"')
def then_envelope_pool(world: PoolWorld, pool: str) -> None:
    assert_equal(_last(world).json().get("pool_id"), pool, "envelope pool_id")


@step("then", "the answer echoes the correlation id it was sent")
def then_correlation_echoed(world: PoolWorld) -> None:
    sent = live_manager_of(world).sent_correlation_id
    assert sent, "setup: no correlation id was sent"
    assert_equal(_last(world).headers.get("X-Correlation-Id"), sent, "X-Correlation-Id")


@step("then", "the answer carries a generated correlation id")
def then_correlation_generated(world: PoolWorld) -> None:
    value = _last(world).headers.get("X-Correlation-Id", "")
    assert len(value) >= 8, f"no generated X-Correlation-Id: {value!r}"


@step("then", "the lease answer names an engine URL that answers a probe")
def then_lease_engine_url(world: PoolWorld) -> None:
    body = _last(world).json()
    url = body.get("engine_url")
    assert isinstance(url, str) and url.startswith("http://"), f"no engine URL: {body}"
    health = requests.get(f"{url}/health", timeout=5)
    assert_equal(health.status_code, 200, f"status of {url}/health")


@step("then", 'the live pool listing names "{ids}" in this order')
def then_listing_order(world: PoolWorld, ids: str) -> None:
    response = _last(world)
    assert_equal(response.status_code, 200, "listing status")
    assert_equal([p["id"] for p in response.json()], names(ids), "pool ids in order")


@step("then", 'the live replica-set listing names "{ids}" in this order')
def then_replicasets_order(world: PoolWorld, ids: str) -> None:
    body = live_manager_of(world).get_json("/v1/replicasets")
    assert_equal([p["id"] for p in body], names(ids), "replica-set ids in order")


@step("then", "every listed pool is a ready CPU pool with {free:d} of {total:d} slots free")
def then_listing_slots(world: PoolWorld, free: int, total: int) -> None:
    pools = _last(world).json()
    assert pools, "the listing is empty"
    for pool in pools:
        where = f"pool {pool['id']}"
        assert_equal(pool["cpu"], True, f"{where}: cpu")
        assert_equal(pool["ready"], True, f"{where}: ready")
        assert_equal((pool["slots_free"], pool["slots_total"]), (free, total), f"{where}: slots")


@step("then", "every listed pool reports the version its engine process announces")
def then_listing_versions(world: PoolWorld) -> None:
    live = live_manager_of(world)
    pools = _last(world).json()
    assert pools, "the listing is empty"
    for pool in pools:
        model = live.health(pool["id"])["model_ref"]
        port = _engine_port(live, model)
        props = requests.get(f"http://127.0.0.1:{port}/props", timeout=5).json()
        assert props.get("build_info"), f"engine of {pool['id']} announces no version"
        assert_equal(pool["engine_version"], props["build_info"], f"{pool['id']} version")


@step("then", 'the live pool "{pool}" reports the sha256 digest of the file "{name}"')
def then_digest(world: PoolWorld, pool: str, name: str) -> None:
    live = live_manager_of(world)
    expected = "sha256:" + hashlib.sha256((live.tmp / name).read_bytes()).hexdigest()
    listed = {p["id"]: p for p in live.get_json("/v1/pools")}
    assert_equal(listed[pool]["model_digest"], expected, f"listed digest of {pool}")
    assert_equal(live.health(pool)["model_digest"], expected, f"health digest of {pool}")


@step("then", 'the live health of "{pool}" says live, ready, not draining, state "{state}"')
def then_health_flags(world: PoolWorld, pool: str, state: str) -> None:
    h = live_manager_of(world).health(pool)
    assert_equal((h["live"], h["ready"], h["draining"]), (True, True, False), "live/ready/draining")
    assert_equal(h["state"], state, "state")
    assert_equal(h["preload_ok"], True, "preload_ok")


@step(
    "then", 'the live health of "{pool}" shows no last error, a "{breaker}" breaker, {n:d} restarts'
)
def then_health_errors(world: PoolWorld, pool: str, breaker: str, n: int) -> None:
    h = live_manager_of(world).health(pool)
    assert_equal(h["last_error"], None, "last_error")
    assert_equal(h["breaker"]["state"], breaker, "breaker state")
    assert_equal(h["restarts"]["count"], n, "restarts.count")


@step("then", 'the live health of "{pool}" shows a heartbeat at most {ms:d} ms old')
def then_health_heartbeat(world: PoolWorld, pool: str, ms: int) -> None:
    age = live_manager_of(world).health(pool)["heartbeat_age_ms"]
    assert isinstance(age, int) and 0 <= age <= ms, f"heartbeat age {age!r} not in [0, {ms}]"


@step("then", 'the live health of "{pool}" shows {n:d} active leases of {slots:d} slots')
def then_health_leases(world: PoolWorld, pool: str, n: int, slots: int) -> None:
    h = live_manager_of(world).health(pool)
    assert_equal(h["leases"]["active"], n, "leases.active")
    assert_equal(h["slots_total"], slots, "slots_total")
    assert_equal(h["slots_free"], slots - n, "slots_free")


@step(
    "then",
    'the live health of "{pool}" states a context of {per_slot:d} per slot and {total:d} in total',
)
def then_health_ctx(world: PoolWorld, pool: str, per_slot: int, total: int) -> None:
    h = live_manager_of(world).health(pool)
    assert_equal(h["ctx"], {"per_slot": per_slot, "total": total}, "ctx")


@step("then", 'the live pool "{pool}" becomes not ready with the last error cause "{cause}"')
def then_becomes_unready(world: PoolWorld, pool: str, cause: str) -> None:
    h = live_manager_of(world).wait_health(
        pool, lambda h: not h["ready"], "not ready after the fault", FAULT_TIMEOUT_S
    )
    assert h["last_error"] is not None, f"no last error reported: {h}"
    assert_equal(h["last_error"]["cause"], cause, "last error cause")
    assert_equal(h["preload_ok"], False, "preload_ok while not ready")


@step("then", 'the live pool "{pool}" is ready again after {n:d} restart on a new engine process')
def then_ready_again(world: PoolWorld, pool: str, n: int) -> None:
    live = live_manager_of(world)
    h = live.wait_health(pool, lambda h: bool(h["ready"]), "ready again", FAULT_TIMEOUT_S)
    assert_equal(h["restarts"]["count"], n, "restarts.count")
    engine = live.engine_of(str(h["model_ref"]))
    assert engine.pid not in live.killed_pids, f"engine {engine.pid} is the killed one"


@step("then", 'the live pool "{pool}" reports the last error cause "{cause}"')
def then_last_error(world: PoolWorld, pool: str, cause: str) -> None:
    h = live_manager_of(world).wait_health(
        pool, lambda h: h["last_error"] is not None, "a last error", FAULT_TIMEOUT_S
    )
    assert_equal(h["last_error"]["cause"], cause, "last error cause")
    assert_equal(h["ready"], False, "ready after the error")


@step("then", 'the live pool "{pool}" is draining')
def then_draining(world: PoolWorld, pool: str) -> None:
    h = live_manager_of(world).health(pool)
    assert_equal((h["draining"], h["ready"]), (True, False), "draining/ready")


@step("then", 'the live pool "{pool}" ends stopped after a drain for "{reason}"')
def then_drained(world: PoolWorld, pool: str, reason: str) -> None:
    h = live_manager_of(world).wait_health(
        pool, lambda h: h["state"] == "stopped", "stopped after the drain", FAULT_TIMEOUT_S
    )
    assert_equal((h["live"], h["ready"], h["draining"]), (False, False, False), "flags")
    assert_equal(h["drain_reason"], reason, "drain_reason")


def _samples(world: PoolWorld) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    out: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(live_manager_of(world).metrics_text()):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


@step("then", 'the live metric "{name}" of "{pool}" is {value:d}')
def then_metric(world: PoolWorld, name: str, pool: str, value: int) -> None:
    got = _samples(world).get((name, frozenset({("pool_id", pool)})))
    assert_equal(got, float(value), f'{name}{{pool_id="{pool}"}}')


@step("then", 'the live metrics count {n:d} drain of "{pool}" with reason "{reason}"')
def then_metric_drain(world: PoolWorld, n: int, pool: str, reason: str) -> None:
    key = ("drain_events_total", frozenset({("pool_id", pool), ("reason", reason)}))
    assert_equal(_samples(world).get(key), float(n), f"drains of {pool} for {reason}")


@step("then", "every metric family the live manager exports is listed in the metrics contract")
def then_metrics_in_contract(world: PoolWorld) -> None:
    contract = yaml.safe_load(METRICS_CONTRACT.read_text())
    listed = {m["name"]: (m["type"], frozenset(m["labels"])) for m in contract["metrics"]}
    families = live_manager_of(world).metric_families()
    assert families, "the manager exports no metric"
    for name, family in families.items():
        assert name in listed, f"{name} is exported but not in the metrics contract"
        kind, labels = listed[name]
        assert_equal(family.type, kind, f"type of {name}")
        for s in family.samples:
            if s.name in (family.name, name):
                assert_equal(frozenset(s.labels), labels, f"labels of {name}")


@step("then", "the manager exited with status {code:d}")
def then_exit_status(world: PoolWorld, code: int) -> None:
    outcome = live_manager_of(world).stopped
    assert outcome is not None, "the manager was not stopped"
    assert_equal(outcome.exit_code, code, "exit status")


@step("then", "no engine process outlived the manager")
def then_no_leftover(world: PoolWorld) -> None:
    live = live_manager_of(world)
    outcome = live.stopped
    assert outcome is not None, "the manager was not stopped"
    assert live.engines_seen, "no engine process was ever seen"
    assert_equal(outcome.leftover_engines, (), "engine pids alive after the manager exited")


@step("then", 'the live engine info metric of "{pool}" carries the engine and version it reports')
def then_engine_info(world: PoolWorld, pool: str) -> None:
    health = live_manager_of(world).health(pool)
    expected = {
        ("pool_id", pool),
        ("engine", str(health["engine"])),
        ("engine_version", str(health["engine_version"])),
    }
    series = [
        labels
        for (name, labels), value in _samples(world).items()
        if name == "engine_info" and value == 1.0 and ("pool_id", pool) in labels
    ]
    assert series, f"no engine_info series for {pool}"
    assert any(expected <= labels for labels in series), f"engine_info {series} lacks {expected}"
    assert all("model_digest" in dict(labels) for labels in series), "engine_info has no digest"


@step("then", 'the live metrics count {n:d} successful preload of "{pool}"')
def then_preload_outcomes(world: PoolWorld, n: int, pool: str) -> None:
    key = ("preload_outcomes_total", frozenset({("pool_id", pool), ("result", "success")}))
    assert_equal(_samples(world).get(key), float(n), f"successful preloads of {pool}")


@step("then", "the live metrics report the host memory in use")
def then_host_ram(world: PoolWorld) -> None:
    used = _samples(world).get(("host_ram_used_bytes", frozenset()))
    assert used is not None and used > 0, f"host_ram_used_bytes is {used}"
