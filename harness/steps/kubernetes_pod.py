"""Steps for the pod the Kubernetes manifests run (``features/deploy/kubernetes.feature``).

Privileges (OC-DEP-8014), GPU nodes and evictions (OC-DEP-8015), monitoring (OC-DEP-8016,
OC-DEP-8017: the alert rules against a live ``/metrics``) and engines reachable from other
pods (OC-DEP-8018, against a live manager over real sockets). Split from
:mod:`harness.steps.kubernetes`, which renders the manifests and owns the helpers used here.
"""

from __future__ import annotations

import errno
import json
import socket
import urllib.parse

import requests

from harness import kube
from harness.assertions import assert_equal
from harness.live import live_manager_of
from harness.registry import step
from harness.steps.kubernetes import OPENAPI, config_of, objects_of
from harness.world import PoolWorld
from poolmgr.core.breaker import BreakerState
from poolmgr.core.decisions import PreloadResult

_VOCABULARY: dict[str, frozenset[str]] = {
    "state": frozenset(s.value for s in BreakerState),
    "result": frozenset(r.value for r in PreloadResult),
}
"""The values the manager writes for the labels the alert rules match on."""


# --- privileges -------------------------------------------------------------------------


@step("then", "the pod runs as user {uid:d} and group {gid:d}, never as root")
def then_user(world: PoolWorld, uid: int, gid: int) -> None:
    ctx = kube.pod_spec(objects_of(world)).get("securityContext", {})
    assert_equal(
        (ctx.get("runAsNonRoot"), ctx.get("runAsUser"), ctx.get("runAsGroup")),
        (True, uid, gid),
        "pod securityContext (runAsNonRoot, runAsUser, runAsGroup)",
    )
    for c in kube.pod_spec(objects_of(world))["containers"] + kube.pod_spec(objects_of(world)).get(
        "initContainers", []
    ):
        own = c.get("securityContext", {})
        assert own.get("runAsUser", uid) != 0, f"container {c['name']} runs as root"


@step(
    "then",
    "the manager's container cannot gain privileges, has no capabilities and a read-only "
    "root filesystem",
)
def then_locked_down(world: PoolWorld) -> None:
    for c in kube.pod_spec(objects_of(world))["containers"] + kube.pod_spec(objects_of(world)).get(
        "initContainers", []
    ):
        ctx = c.get("securityContext", {})
        assert_equal(
            (
                ctx.get("allowPrivilegeEscalation"),
                ctx.get("capabilities", {}).get("drop"),
                ctx.get("readOnlyRootFilesystem"),
            ),
            (False, ["ALL"], True),
            f"securityContext of {c['name']}",
        )


@step("then", "the pod gets no Kubernetes API token")
def then_no_api_token(world: PoolWorld) -> None:
    assert_equal(
        kube.pod_spec(objects_of(world)).get("automountServiceAccountToken"),
        False,
        "automountServiceAccountToken",
    )


# --- GPU nodes --------------------------------------------------------------------------


@step("then", 'the DaemonSet selects nodes labelled "{label}" = "{value}"')
def then_node_selector(world: PoolWorld, label: str, value: str) -> None:
    assert_equal(
        kube.pod_spec(objects_of(world)).get("nodeSelector"), {label: value}, "nodeSelector"
    )


@step("then", 'the DaemonSet tolerates the taint "{key}" with effect "{effect}"')
def then_toleration(world: PoolWorld, key: str, effect: str) -> None:
    got = [
        (t.get("key"), t.get("operator"), t.get("effect"))
        for t in kube.pod_spec(objects_of(world)).get("tolerations", [])
    ]
    assert_equal(got, [(key, "Exists", effect)], "tolerations")


@step("then", 'the manager\'s container asks the NVIDIA device plugin for {n:d} "{resource}"')
def then_gpu_resource(world: PoolWorld, n: int, resource: str) -> None:
    limits = kube.container(objects_of(world)).get("resources", {}).get("limits", {})
    assert_equal(limits.get(resource), n, f"limits.{resource}")


@step("then", 'the manager\'s container runs the image "{image}"')
def then_image(world: PoolWorld, image: str) -> None:
    spec = kube.pod_spec(objects_of(world))
    images = {c["image"] for c in spec["containers"] + spec.get("initContainers", [])}
    assert_equal(images, {image}, "images of the pod")


@step("then", "the pool disruption budget lets at most {n:d} manager be evicted at a time")
def then_pdb(world: PoolWorld, n: int) -> None:
    spec = kube.find(objects_of(world), "PodDisruptionBudget", "poolmgr")["spec"]
    assert_equal(spec.get("maxUnavailable"), n, "maxUnavailable")
    labels = kube.find(objects_of(world), "DaemonSet", "poolmgr")["spec"]["template"]["metadata"][
        "labels"
    ]
    for key, value in spec["selector"]["matchLabels"].items():
        assert_equal(labels.get(key), value, f"pod label {key} the budget selects")


# --- monitoring -------------------------------------------------------------------------


@step("then", 'the ServiceMonitor scrapes "{path}" on the port "{port}" of the Service "{service}"')
def then_scrape(world: PoolWorld, path: str, port: str, service: str) -> None:
    monitor = kube.find(objects_of(world), "ServiceMonitor", "poolmgr")["spec"]
    assert_equal(
        [(e.get("path"), e.get("port")) for e in monitor["endpoints"]], [(path, port)], "endpoints"
    )
    svc = kube.find(objects_of(world), "Service", service)
    assert port in [p["name"] for p in svc["spec"]["ports"]], f"{service} has no port {port}"
    for key, value in monitor["selector"]["matchLabels"].items():
        assert_equal(svc["metadata"].get("labels", {}).get(key), value, f"label {key} of {service}")
    doc = json.loads(OPENAPI.read_text())
    assert "get" in doc["paths"].get(path, {}), f"{path} is no GET operation of the API"


@step("then", 'the scrape sends the key "{key}" of the Secret "{name}" as its bearer token')
def then_scrape_token(world: PoolWorld, key: str, name: str) -> None:
    endpoint = kube.find(objects_of(world), "ServiceMonitor", "poolmgr")["spec"]["endpoints"][0]
    assert_equal(
        endpoint.get("authorization"),
        {"type": "Bearer", "credentials": {"name": name, "key": key}},
        "the scrape's authorization",
    )
    assert_equal(
        kube.find(objects_of(world), "Secret", name)["metadata"]["name"], name, "Secret name"
    )
    assert_equal(config_of(world).manager.read_requires_auth, True, "read_requires_auth")


@step("then", "the alert rules are exactly")
def then_alerts(world: PoolWorld, datatable: list[list[str]]) -> None:
    got = []
    for rule in kube.alert_rules(objects_of(world)):
        found = kube.selectors(rule["expr"])
        assert len(found) == 1, f"{rule['alert']} selects {len(found)} metrics"
        matchers = ",".join(f'{k}{op}"{v}"' for k, op, v in found[0].matchers)
        got.append(
            [
                rule["alert"],
                found[0].metric,
                matchers,
                rule.get("for", ""),
                rule["labels"]["severity"],
            ]
        )
    assert_equal(got, datatable[1:], "alert rules")


@step("then", "every metric the alert rules name is a family of the live manager's /metrics scrape")
def then_alert_metrics_live(world: PoolWorld) -> None:
    families = live_manager_of(world).metric_families()
    for rule in kube.alert_rules(objects_of(world)):
        for sel in kube.selectors(rule["expr"]):
            assert sel.metric in families, f"{rule['alert']}: {sel.metric} is not exported"


@step("then", "every label the alert rules match on is a label of that family in the live scrape")
def then_alert_labels_live(world: PoolWorld) -> None:
    families = live_manager_of(world).metric_families()
    for rule in kube.alert_rules(objects_of(world)):
        for sel in kube.selectors(rule["expr"]):
            labels = {k for s in families[sel.metric].samples for k in s.labels}
            for label, _op, value in sel.matchers:
                assert label in labels, f"{rule['alert']}: {sel.metric} has no label {label}"
                assert label in _VOCABULARY, f"{rule['alert']}: no known values for {label}"
                assert value in _VOCABULARY[label], (
                    f"{rule['alert']}: {label}={value!r} is never written"
                )


# --- engines reachable from other pods (OC-DEP-8018) ------------------------------------


def _engine_url(world: PoolWorld) -> urllib.parse.SplitResult:
    response = live_manager_of(world).last
    assert response is not None, "no answer yet"
    assert_equal(response.status_code, 201, f"lease status: {response.text}")
    url = response.json().get("engine_url")
    assert isinstance(url, str), f"the lease names no engine: {response.text}"
    return urllib.parse.urlsplit(url)


@step("then", 'the lease answer names the engine at the host "{host}"')
def then_engine_host(world: PoolWorld, host: str) -> None:
    assert_equal(_engine_url(world).hostname, host, "host of engine_url")


@step("then", 'the engine the lease names answers "GET {path}" with status {status:d}')
def then_engine_answers(world: PoolWorld, path: str, status: int) -> None:
    url = _engine_url(world)
    answer = requests.get(f"{url.scheme}://{url.netloc}{path}", timeout=5)
    assert_equal(answer.status_code, status, f"GET {url.netloc}{path}")


@step("then", 'the engine the lease names refuses connections at the host "{host}"')
def then_engine_refuses(world: PoolWorld, host: str) -> None:
    port = _engine_url(world).port
    assert port is not None, "engine_url has no port"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        code = sock.connect_ex((host, port))
    assert_equal(errno.errorcode.get(code, str(code)), "ECONNREFUSED", f"connect to {host}:{port}")
