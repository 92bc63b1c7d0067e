"""Error envelope, correlation ids and bearer authentication over a real socket.

The control plane runs over a hand-driven registry and a fake controller, so every error can
be provoked on purpose. Serves OC-CTL-4004, OC-CTL-4005, OC-CTL-4006, OC-CTL-4012, OC-CTL-4013
and OC-CTL-4015.
"""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Iterator

import pytest
import requests

from poolmgr.config import parse_config
from poolmgr.core.errors import ConfigError, EngineError, ErrorCode, ModelFileError, PoolError
from poolmgr.http.app import create_app
from poolmgr.telemetry.metrics import PoolMetrics
from tests.api.helpers import TWO_POOLS, AppServer, FakeController, fake_app, ready_registry

ENVELOPE = {"code", "message", "pool_id", "engine", "retriable", "retry_after_ms", "policy_label"}
TOKEN = "t0ken-for-tests-0123456789"
AUTH_CONFIG = TWO_POOLS + "manager: {auth: {token_env: POOLMGR_TEST_TOKEN}}\n"
READ_AUTH_CONFIG = (
    TWO_POOLS + "manager: {auth: {token_env: POOLMGR_TEST_TOKEN}, read_requires_auth: true}\n"
)


@pytest.fixture
def auth_server() -> Iterator[AppServer]:
    app, *_ = fake_app(AUTH_CONFIG, environ={"POOLMGR_TEST_TOKEN": TOKEN})
    with AppServer(app) as server:
        yield server


@pytest.fixture
def read_auth_server() -> Iterator[AppServer]:
    app, *_ = fake_app(READ_AUTH_CONFIG, environ={"POOLMGR_TEST_TOKEN": TOKEN})
    with AppServer(app) as server:
        yield server


# --- envelope -----------------------------------------------------------------------------


def test_oc_ctl_4004_unknown_route_is_404_envelope(
    fake_server: tuple[AppServer, FakeController],
) -> None:
    server, _ = fake_server
    response = requests.get(f"{server.url}/v2/nothing", timeout=5)
    assert response.status_code == 404
    assert set(response.json()) == ENVELOPE
    assert response.json()["code"] == "NOT_FOUND"


def test_oc_ctl_4004_wrong_method_is_405_envelope(
    fake_server: tuple[AppServer, FakeController],
) -> None:
    server, _ = fake_server
    response = requests.put(f"{server.url}/v1/pools", timeout=5)
    assert response.status_code == 405
    assert response.json()["code"] == "METHOD_NOT_ALLOWED"
    assert response.headers["Allow"] == "GET"


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/healthz", "GET, HEAD"),
        ("POST", "/readyz", "GET, HEAD"),
        ("GET", "/v1/pools/alpha/leases", "POST"),
        ("PATCH", "/v1/pools/alpha/leases/some-lease", "DELETE"),
        ("GET", "/v1/pools/alpha/leases/some-lease/renew", "POST"),
        ("DELETE", "/v1/pools/alpha/drain", "POST"),
        ("POST", "/metrics", "GET"),
        ("POST", "/openapi.json", "GET, HEAD"),
    ],
)
def test_oc_ctl_4012_every_405_names_the_methods_of_its_path(
    fake_server: tuple[AppServer, FakeController], method: str, path: str, allow: str
) -> None:
    server, _ = fake_server
    response = requests.request(method, f"{server.url}{path}", timeout=5)
    assert response.status_code == 405
    assert response.json()["code"] == "METHOD_NOT_ALLOWED"
    assert response.headers["Allow"] == allow


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_oc_ctl_4013_head_on_the_manager_health_answers_the_get_status_without_a_body(
    fake_server: tuple[AppServer, FakeController], path: str
) -> None:
    server, _ = fake_server
    assert requests.get(f"{server.url}{path}", timeout=5).status_code == 200
    response = requests.head(f"{server.url}{path}", timeout=5)
    assert (response.status_code, response.content) == (200, b"")
    assert "X-Correlation-Id" in response.headers


def test_oc_ctl_4013_head_on_readyz_while_not_ready_answers_503_without_a_body() -> None:
    config = parse_config(TWO_POOLS, "<test>")
    registry = ready_registry(config)
    app = create_app(
        registry, FakeController(), config, PoolMetrics(registry), environ={}, ready=lambda: False
    )
    with AppServer(app) as server:
        got = requests.get(f"{server.url}/readyz", timeout=5)
        head = requests.head(f"{server.url}/readyz", timeout=5)
    assert (got.status_code, got.json()["code"]) == (503, "NOT_READY")
    assert (head.status_code, head.content) == (503, b"")
    assert head.headers["Retry-After"] == got.headers["Retry-After"] == "1"


def test_oc_ctl_4004_unexpected_exception_is_500_internal_without_details(
    fake_server: tuple[AppServer, FakeController],
) -> None:
    server, controller = fake_server
    controller.fail_with = RuntimeError("kaboom-detail-that-must-stay-inside")
    response = requests.post(
        f"{server.url}/v1/pools/alpha/drain", json={"deadline_ms": 5}, timeout=5
    )
    assert response.status_code == 500
    body = response.json()
    assert set(body) == ENVELOPE and body["code"] == "INTERNAL"
    assert "kaboom" not in response.text
    assert "Traceback" not in response.text and "RuntimeError" not in response.text
    assert response.headers["X-Correlation-Id"] in body["message"]


def test_oc_ctl_4003_drain_passes_the_deadline_to_the_controller(
    fake_server: tuple[AppServer, FakeController],
) -> None:
    server, controller = fake_server
    response = requests.post(
        f"{server.url}/v1/pools/beta/drain", json={"deadline_ms": 2_500}, timeout=5
    )
    assert response.status_code == 202
    assert controller.calls == [("drain", "beta", "2500")]


def test_oc_ctl_4003_reload_defaults_to_the_pools_drain_deadline(
    fake_server: tuple[AppServer, FakeController],
) -> None:
    server, controller = fake_server
    response = requests.post(
        f"{server.url}/v1/pools/alpha/reload", json={"new_model_ref": "stub://x"}, timeout=5
    )
    assert response.status_code == 202
    configured = parse_config(TWO_POOLS, "<t>").pool("alpha").drain_deadline_ms
    assert controller.calls == [("reload", "alpha", "stub://x", str(configured))]
    assert response.json()["deadline_ms"] == configured


def test_oc_ctl_4004_controller_conflict_maps_to_409(
    fake_server: tuple[AppServer, FakeController],
) -> None:
    from poolmgr.core.errors import InvalidTransition

    server, controller = fake_server
    controller.fail_with = InvalidTransition("a reload is in progress", pool_id="alpha")
    response = requests.post(
        f"{server.url}/v1/pools/alpha/reload", json={"new_model_ref": "stub://y"}, timeout=5
    )
    assert response.status_code == 409
    assert response.json()["message"] == "a reload is in progress"
    assert response.json()["retriable"] is False


@pytest.mark.parametrize(
    "error",
    [
        ConfigError([]),
        ModelFileError("/models/m.gguf", "kaboom-detail-that-must-stay-inside"),
        EngineError("kaboom-detail-that-must-stay-inside"),
    ],
    ids=["config", "model-file", "engine"],
)
def test_oc_ctl_4004_a_typed_error_without_a_status_is_500_internal(
    fake_server: tuple[AppServer, FakeController], error: PoolError
) -> None:
    server, controller = fake_server
    controller.fail_with = error
    response = requests.post(
        f"{server.url}/v1/pools/alpha/drain", json={"deadline_ms": 5}, timeout=5
    )
    assert response.status_code == 500
    body = response.json()
    assert set(body) == ENVELOPE and body["code"] == "INTERNAL"
    assert "kaboom" not in response.text
    assert response.headers["X-Correlation-Id"] in body["message"]


def test_oc_ctl_4004_every_error_stands_in_one_tree_and_only_wire_codes_have_statuses() -> None:
    from poolmgr.http.errors import STATUS_OF
    from poolmgr.runtime.engines import EngineProtocolError, EngineUnreachable, ProbeTimeout

    for cls in (ConfigError, ModelFileError, EngineProtocolError, EngineUnreachable, ProbeTimeout):
        assert issubclass(cls, PoolError), cls
    assert issubclass(ModelFileError, ValueError)
    assert {c.code for c in (ConfigError, ModelFileError, EngineError)}.isdisjoint(STATUS_OF)
    assert list(STATUS_OF) == [c for c in ErrorCode if c in STATUS_OF]


# --- correlation ids ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v1/pools"), ("GET", "/v1/pools/nosuch/health"), ("GET", "/nowhere")],
)
def test_oc_ctl_4005_correlation_id_is_echoed(
    fake_server: tuple[AppServer, FakeController], method: str, path: str
) -> None:
    server, _ = fake_server
    response = requests.request(
        method, f"{server.url}{path}", headers={"X-Correlation-Id": "req-42.a"}, timeout=5
    )
    assert response.headers["X-Correlation-Id"] == "req-42.a"


def test_oc_ctl_4005_correlation_id_is_generated_when_absent(
    fake_server: tuple[AppServer, FakeController],
) -> None:
    server, _ = fake_server
    first = requests.get(f"{server.url}/v1/pools/nosuch/health", timeout=5)
    second = requests.get(f"{server.url}/v1/pools/nosuch/health", timeout=5)
    ids = [first.headers["X-Correlation-Id"], second.headers["X-Correlation-Id"]]
    assert all(uuid.UUID(i).version == 4 for i in ids)
    assert ids[0] != ids[1]


def test_oc_ctl_4005_overlong_correlation_id_is_replaced(
    fake_server: tuple[AppServer, FakeController],
) -> None:
    server, _ = fake_server
    response = requests.get(
        f"{server.url}/healthz", headers={"X-Correlation-Id": "x" * 500}, timeout=5
    )
    assert uuid.UUID(response.headers["X-Correlation-Id"]).version == 4


def test_oc_ctl_4005_correlation_id_on_internal_errors(
    fake_server: tuple[AppServer, FakeController],
) -> None:
    server, controller = fake_server
    controller.fail_with = ValueError("boom")
    response = requests.post(
        f"{server.url}/v1/pools/alpha/drain",
        json={"deadline_ms": 1},
        headers={"X-Correlation-Id": "trace-500"},
        timeout=5,
    )
    assert response.status_code == 500
    assert response.headers["X-Correlation-Id"] == "trace-500"


# --- authentication -----------------------------------------------------------------------


def test_oc_ctl_4006_mutation_without_token_is_401(auth_server: AppServer) -> None:
    response = requests.post(
        f"{auth_server.url}/v1/pools/alpha/drain", json={"deadline_ms": 1}, timeout=5
    )
    assert response.status_code == 401
    assert response.json()["code"] == "UNAUTHORIZED"
    # OC-CTL-4015: prose about the token is vocabulary, not a value, and reads as written.
    assert response.json()["message"] == "a bearer token is required"
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert "X-Correlation-Id" in response.headers


def test_oc_ctl_4006_mutation_with_wrong_token_is_403(auth_server: AppServer) -> None:
    response = requests.post(
        f"{auth_server.url}/v1/pools/alpha/leases",
        headers={"Authorization": f"Bearer {TOKEN}x"},
        timeout=5,
    )
    assert response.status_code == 403
    assert response.json()["code"] == "FORBIDDEN"


def test_oc_ctl_4006_mutation_with_the_token_is_accepted(auth_server: AppServer) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    granted = requests.post(f"{auth_server.url}/v1/pools/alpha/leases", headers=headers, timeout=5)
    assert granted.status_code == 201
    lease_id = granted.json()["lease_id"]
    path = f"/v1/pools/alpha/leases/{lease_id}"
    assert requests.delete(f"{auth_server.url}{path}", timeout=5).status_code == 401
    assert (
        requests.delete(f"{auth_server.url}{path}", headers=headers, timeout=5).status_code == 204
    )


def test_oc_ctl_4006_auth_is_checked_before_the_body(auth_server: AppServer) -> None:
    response = requests.post(
        f"{auth_server.url}/v1/pools/alpha/drain", json={"deadline_ms": "soon"}, timeout=5
    )
    assert response.status_code == 401


def test_oc_ctl_4006_reads_are_open_unless_configured(auth_server: AppServer) -> None:
    assert requests.get(f"{auth_server.url}/v1/pools", timeout=5).status_code == 200
    assert requests.get(f"{auth_server.url}/metrics", timeout=5).status_code == 200


def test_oc_ctl_4006_read_requires_auth_protects_reads(read_auth_server: AppServer) -> None:
    url = read_auth_server.url
    assert requests.get(f"{url}/v1/pools", timeout=5).status_code == 401
    assert requests.get(f"{url}/v1/pools/alpha/health", timeout=5).status_code == 401
    assert requests.get(f"{url}/metrics", timeout=5).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert requests.get(f"{url}/v1/replicasets", headers=wrong, timeout=5).status_code == 403
    right = {"Authorization": f"Bearer {TOKEN}"}
    assert requests.get(f"{url}/v1/pools", headers=right, timeout=5).status_code == 200
    assert requests.get(f"{url}/healthz", timeout=5).status_code == 200  # liveness stays open


def test_oc_ctl_4006_tokens_are_compared_in_constant_time(
    auth_server: AppServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        seen.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    requests.post(
        f"{auth_server.url}/v1/pools/alpha/leases",
        headers={"Authorization": "Bearer guess"},
        timeout=5,
    )
    assert seen == [(b"guess", TOKEN.encode())]


def test_oc_ctl_4006_missing_token_source_refuses_to_build_the_app() -> None:
    with pytest.raises(ConfigError) as caught:
        fake_app(AUTH_CONFIG, environ={})
    assert "POOLMGR_TEST_TOKEN" in str(caught.value)
