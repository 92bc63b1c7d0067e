"""Steps for the Kubernetes manifests (``features/deploy/kubernetes.feature``, OC-DEP-8010..8017).

Each scenario renders a kustomize overlay with the real ``kustomize`` (:func:`harness.kube.render`)
and checks the objects against what Kubernetes accepts (the pinned schemas), against what the
manager accepts (its OpenAPI document, its config loader, its command line, ``check-config`` as
a real subprocess) and against a live manager's ``/metrics``. Then-steps compare with the
values the feature writes; the numbers that must agree (probe windows, grace periods) are read
from the rendered config and the rendered DaemonSet, never computed by the code under test.
"""

from __future__ import annotations

import contextlib
import io
import json
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

from harness import kube
from harness.assertions import assert_equal
from harness.registry import step
from harness.world import PoolWorld
from poolmgr.cli import build_parser
from poolmgr.config import parse_config
from poolmgr.core.config import Config

ROOT = Path(__file__).resolve().parents[2]
OPENAPI = ROOT / "spec" / "openapi.json"
CHECK_TIMEOUT_S = 60
MARGIN_S = 10
"""What the termination grace period keeps beyond the drain deadline and the stop grace."""


def objects_of(world: PoolWorld) -> list[kube.Obj]:
    objects = world.kube.objects
    assert objects is not None, "setup: no manifests were rendered"
    return objects


def config_of(world: PoolWorld) -> Config:
    return parse_config(kube.config_text(objects_of(world)), "<ConfigMap poolmgr-config>")


def _mounts(world: PoolWorld) -> dict[str, dict[str, Any]]:
    """The manager container's mounts by path, each with its volume."""
    volumes = {v["name"]: v for v in kube.pod_spec(objects_of(world))["volumes"]}
    return {
        m["mountPath"]: {**m, "volume": volumes[m["name"]]}
        for m in kube.container(objects_of(world)).get("volumeMounts", [])
    }


@step("when", 'the Kubernetes manifests of "{overlay}" are rendered')
def when_rendered(world: PoolWorld, overlay: str) -> None:
    world.kube.overlay = overlay
    world.kube.objects = kube.render(overlay, world.kube.tmp)


@step("when", 'the DaemonSet\'s container gets the unknown field "{field}"')
def when_unknown_field(world: PoolWorld, field: str) -> None:
    kube.container(objects_of(world))[field] = {"httpGet": {"path": "/readyz", "port": "http"}}


# --- schemas ----------------------------------------------------------------------------


@step(
    "then",
    "every rendered object validates against the schemas of Kubernetes {version}, "
    "unknown fields refused",
)
def then_all_valid(world: PoolWorld, version: str) -> None:
    errors = [e for o in objects_of(world) for e in kube.schema_errors(o, version)]
    assert_equal(errors, [], "schema errors")


@step(
    "then",
    'validation against the schemas of Kubernetes {version} refuses the DaemonSet at "{path}"',
)
def then_refused(world: PoolWorld, version: str, path: str) -> None:
    errors = kube.schema_errors(kube.find(objects_of(world), "DaemonSet", "poolmgr"), version)
    assert len(errors) == 1, f"expected one schema error, got {errors}"
    assert_equal(errors[0].split(": ")[1], path, "where the schema error is")


@step("then", "the rendered objects are exactly")
def then_objects(world: PoolWorld, datatable: list[list[str]]) -> None:
    want = sorted((kind, name) for kind, name in datatable[1:])
    got = []
    for o in objects_of(world):
        name = o["metadata"]["name"]
        if o["kind"] == "ConfigMap" and name.startswith("poolmgr-config-"):
            name = "poolmgr-config"  # the generated name carries a hash of the config
        got.append((o["kind"], name))
    assert_equal(sorted(got), want, "rendered objects")


@step("then", 'every namespaced object is in the namespace "{namespace}"')
def then_namespace(world: PoolWorld, namespace: str) -> None:
    for o in objects_of(world):
        if o["kind"] != "Namespace":
            assert_equal(o["metadata"].get("namespace"), namespace, f"namespace of {o['kind']}")


# --- probes and ports -------------------------------------------------------------------


@step("then", "the manager's container has these probes")
def then_probes(world: PoolWorld, datatable: list[list[str]]) -> None:
    c = kube.container(objects_of(world))
    got = []
    for probe, _method, _path, _port in datatable[1:]:
        handler = c.get(f"{probe}Probe")
        assert handler is not None, f"no {probe} probe"
        get = handler.get("httpGet")
        assert get is not None, f"the {probe} probe is not an HTTP GET: {handler}"
        got.append([probe, "GET", get["path"], str(get["port"])])
    assert_equal(got, datatable[1:], "probes")


@step(
    "then",
    "every probe path is a GET operation of the control plane's OpenAPI document that needs "
    "no token",
)
def then_probe_paths(world: PoolWorld) -> None:
    doc = json.loads(OPENAPI.read_text())
    c = kube.container(objects_of(world))
    for probe in ("startup", "readiness", "liveness"):
        path = c[f"{probe}Probe"]["httpGet"]["path"]
        op = doc["paths"].get(path, {}).get("get")
        assert op is not None, f"the {probe} probe's {path} is no GET operation of the API"
        assert_equal(op.get("security", doc.get("security")), None, f"security of GET {path}")


@step(
    "then",
    'the container port "{name}" is {number:d}, the port the config\'s manager listens on, '
    'on address "{host}"',
)
def then_port(world: PoolWorld, name: str, number: int, host: str) -> None:
    ports = {p["name"]: p["containerPort"] for p in kube.container(objects_of(world))["ports"]}
    assert_equal(ports.get(name), number, f"container port {name}")
    config = config_of(world)
    assert_equal(config.manager.port, number, "the config's manager.port")
    assert_equal(config.manager.host, host, "the config's manager.host")


@step(
    "then",
    'the Service "{name}" is headless, publishes not-ready managers and forwards port '
    '{number:d} to the port "{target}"',
)
def then_service(world: PoolWorld, name: str, number: int, target: str) -> None:
    spec = kube.find(objects_of(world), "Service", name)["spec"]
    assert_equal(spec.get("clusterIP"), "None", "clusterIP")
    assert_equal(spec.get("publishNotReadyAddresses"), True, "publishNotReadyAddresses")
    assert_equal([(p["port"], p["targetPort"]) for p in spec["ports"]], [(number, target)], "ports")
    pod_labels = kube.find(objects_of(world), "DaemonSet", "poolmgr")["spec"]["template"][
        "metadata"
    ]
    for key, value in spec["selector"].items():
        assert_equal(pod_labels["labels"].get(key), value, f"pod label {key}")


# --- time ------------------------------------------------------------------------------


@step(
    "then",
    "the config's longest preload timeout is {preload:d} s and the startup probe waits "
    "{startup:d} s for the manager",
)
def then_startup(world: PoolWorld, preload: int, startup: int) -> None:
    config = config_of(world)
    longest = max(p.preload_timeout_ms for p in config.pools)
    assert_equal(longest, preload * 1000, "longest preload_timeout_ms")
    probe = kube.container(objects_of(world))["startupProbe"]
    window = probe.get("periodSeconds", 10) * probe.get("failureThreshold", 3)
    assert_equal(window, startup, "startup probe window (periodSeconds x failureThreshold)")
    # /readyz waits for every pool's first start, start_concurrency at a time (OC-PERF-9108).
    waves = -(-len(config.pools) // config.manager.start_concurrency)
    needed = waves * preload
    assert window >= needed, f"the startup probe gives up after {window} s, before {needed} s"


@step(
    "then",
    "the config's longest drain deadline is {drain:d} s and its longest stop grace {grace:d} s",
)
def then_drain(world: PoolWorld, drain: int, grace: int) -> None:
    pools = config_of(world).pools
    assert_equal(max(p.drain_deadline_ms for p in pools), drain * 1000, "longest drain deadline")
    assert_equal(max(p.stop_grace_ms for p in pools), grace * 1000, "longest stop grace")


@step(
    "then",
    "the pod's termination grace period is {seconds:d} s, at least the drain deadline plus "
    "the stop grace plus 10 s",
)
def then_termination(world: PoolWorld, seconds: int) -> None:
    got = kube.pod_spec(objects_of(world)).get("terminationGracePeriodSeconds", 30)
    assert_equal(got, seconds, "terminationGracePeriodSeconds")
    pools = config_of(world).pools
    need = (max(p.drain_deadline_ms for p in pools) + max(p.stop_grace_ms for p in pools)) / 1000
    assert got >= need + MARGIN_S, f"{got} s is less than {need} s + {MARGIN_S} s"


_SAMPLE_FIELDS = {"status.podIP": "10.244.1.7"}
"""A value of each downward-API field, for command lines that name one as $(VAR)."""


def _expanded(world: PoolWorld, argv: list[str]) -> list[str]:
    """``argv`` with every ``$(VAR)`` as Kubernetes expands it from the container's env."""
    values: dict[str, str] = {}
    for var in kube.container(objects_of(world)).get("env", []):
        field = var.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
        values[var["name"]] = var["value"] if "value" in var else _SAMPLE_FIELDS[field]
    out = []
    for arg in argv:
        for name, value in values.items():
            arg = arg.replace(f"$({name})", value)
        assert "$(" not in arg, f"{arg!r} names a variable the container does not set"
        out.append(arg)
    return out


def _parses(argv: list[str]) -> None:
    """``argv`` (without the program name) is a poolmgr command line its own parser accepts."""
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            args = build_parser().parse_args(argv)
    except SystemExit as exc:
        raise AssertionError(f"poolmgr {shlex.join(argv)}: {err.getvalue().strip()}") from exc
    assert args.command == argv[0], f"poolmgr {shlex.join(argv)} parsed as {args.command}"


@step("then", 'before the container stops, Kubernetes runs "{command}"')
def then_prestop(world: PoolWorld, command: str) -> None:
    hook = kube.container(objects_of(world)).get("lifecycle", {}).get("preStop", {})
    argv = hook.get("exec", {}).get("command")
    assert_equal(argv, shlex.split(command), "preStop exec command")
    assert argv[0] == "poolmgr", f"the preStop hook does not run poolmgr: {argv}"
    _parses(_expanded(world, argv)[1:])


# --- command and config -----------------------------------------------------------------


@step("then", 'the manager\'s container runs "{command}"')
def then_command(world: PoolWorld, command: str) -> None:
    c = kube.container(objects_of(world))
    # The image's ENTRYPOINT is poolmgr (Containerfile); the container gives its arguments.
    argv = [*(c.get("command") or ["poolmgr"]), *c.get("args", [])]
    assert_equal(argv, shlex.split(command), "the container's command line")
    _parses(_expanded(world, argv)[1:])


@step("then", 'the container\'s variable "{name}" is the pod\'s "{field}"')
def then_env_field(world: PoolWorld, name: str, field: str) -> None:
    env = {v["name"]: v for v in kube.container(objects_of(world)).get("env", [])}
    assert name in env, f"the container sets no {name}"
    assert_equal(env[name].get("valueFrom"), {"fieldRef": {"fieldPath": field}}, name)


@step("then", 'the config\'s engines listen on "{host}"')
def then_engine_bind(world: PoolWorld, host: str) -> None:
    assert_equal(config_of(world).manager.engine_host, host, "the config's manager.engine_host")


@step("then", '"{path}" in the container is the key "{key}" of the ConfigMap "{name}"')
def then_config_mount(world: PoolWorld, path: str, key: str, name: str) -> None:
    folder, _, file = path.rpartition("/")
    mount = _mounts(world).get(folder)
    assert mount is not None, f"nothing is mounted at {folder}"
    assert_equal(file, key, "the file name (a ConfigMap volume names files by key)")
    configmap = mount["volume"].get("configMap", {})
    assert_equal(
        configmap.get("name"),
        kube.find(objects_of(world), "ConfigMap", name)["metadata"]["name"],
        f"ConfigMap mounted at {folder}",
    )
    assert key in kube.find(objects_of(world), "ConfigMap", name)["data"], f"{name} has no {key}"


@step("then", 'the config passes "{command}"')
def then_check_config(world: PoolWorld, command: str) -> None:
    argv = shlex.split(command)
    assert argv[0] == "poolmgr", command
    config = world.kube.tmp / f"{world.kube.overlay}-config.yaml"
    config.write_text(kube.config_text(objects_of(world)))
    done = subprocess.run(
        [sys.executable, "-m", "poolmgr", *argv[1:], str(config)],
        capture_output=True,
        text=True,
        timeout=CHECK_TIMEOUT_S,
        check=False,
    )
    assert_equal((done.returncode, done.stderr.strip()), (0, ""), command)


@step(
    "then",
    'the config reads its token from "{path}", the key "{key}" of the Secret "{name}"',
)
def then_token(world: PoolWorld, path: str, key: str, name: str) -> None:
    auth = config_of(world).manager.auth
    assert auth is not None, "the config sets no auth"
    assert_equal(auth.token_file, path, "the config's token_file")
    folder, _, file = path.rpartition("/")
    mount = _mounts(world).get(folder)
    assert mount is not None, f"nothing is mounted at {folder}"
    assert_equal(mount["volume"].get("secret", {}).get("secretName"), name, f"Secret at {folder}")
    assert_equal(file, key, "the token file's name (a Secret volume names files by key)")
    secret = kube.find(objects_of(world), "Secret", name)
    assert key in {**secret.get("data", {}), **secret.get("stringData", {})}, f"{name} has no {key}"


@step("then", 'the config writes its logs to "{path}", a writable volume of the container')
def then_logs(world: PoolWorld, path: str) -> None:
    assert_equal(str(config_of(world).manager.log_dir), path, "the config's log_dir")
    mount = _mounts(world).get(path)
    assert mount is not None, f"nothing is mounted at {path}"
    assert_equal(mount.get("readOnly", False), False, f"{path} read-only")
    assert "emptyDir" in mount["volume"], f"{path} is not a scratch volume: {mount['volume']}"
