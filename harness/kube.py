"""The Kubernetes manifests of ``deploy/kubernetes/`` as the checks read them (OC-DEP-8010..8019).

- :func:`render` runs the real ``kustomize build`` on a copy of ``deploy/kubernetes/`` (so the
  gpu overlay's token file, which users create and git ignores, can be written without
  touching the checkout) and returns the objects it prints.
- :func:`schema_errors` validates one object: built-in kinds with ``kubernetes-validate``
  against the pinned Kubernetes version in strict mode (unknown fields are errors); the
  Prometheus Operator's custom resources against the schemas in
  ``deploy/kubernetes/tests/schemas/`` (kubernetes-validate knows no custom resource).
- :func:`selectors` parses a PromQL expression with ``promql-parser`` and lists the metric
  names and label matchers it selects, so alert rules can be compared with a live scrape.
- :func:`promtool` runs Prometheus' own ``promtool`` on the rules the PrometheusRule carries.

Test glue: imported by the scenario steps (:mod:`harness.steps.kubernetes`) and the pytest
checks (``tests/deploy/``); nothing in ``poolmgr/`` imports it.
"""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy" / "kubernetes"
SCHEMAS = DEPLOY / "tests" / "schemas"
ALERT_TESTS = DEPLOY / "tests" / "alerts.test.yaml"
KUBERNETES_VERSION = "1.30"
"""The oldest Kubernetes release the manifests support (the schemas they are validated with)."""
OVERLAYS = ("base", "cpu-dev", "gpu")
_TIMEOUT_S = 120
_CUSTOM = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "servicemonitor.json",
    ("monitoring.coreos.com/v1", "PrometheusRule"): "prometheusrule.json",
}

Obj = dict[str, Any]


class ToolMissing(RuntimeError):
    """A program the checks run (kustomize, promtool) is not installed."""


def tool(name: str) -> str:
    """The path of ``name``: the venv's own first (bootstrap puts kustomize there), then PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise ToolMissing(f"{name} is not installed (ci/bootstrap.sh installs it)")
    return found


_RENDERED: dict[tuple[str, str], list[Obj]] = {}
"""Renderings already made in this process, by overlay and the digest of deploy/kubernetes/."""


def _tree_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in DEPLOY.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(DEPLOY)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def render(overlay: str, workdir: Path) -> list[Obj]:
    """``kustomize build`` of ``overlay`` ("base" or an overlay's folder name) on a copy.

    Each scenario gets its own deep copy; kustomize runs once per overlay and content of
    ``deploy/kubernetes/`` in a process (the suite renders each overlay many times).
    """
    if overlay not in OVERLAYS:
        raise ValueError(f"unknown overlay {overlay!r} (known: {', '.join(OVERLAYS)})")
    key = (overlay, _tree_digest())
    if key not in _RENDERED:
        _RENDERED[key] = _build(overlay, workdir)
    return copy.deepcopy(_RENDERED[key])


def _build(overlay: str, workdir: Path) -> list[Obj]:
    copy = workdir / "kubernetes"
    if not copy.exists():
        shutil.copytree(DEPLOY, copy)
        token = copy / "overlays" / "gpu" / "token"
        if not token.exists():
            token.write_text("test-token-written-by-harness-kube\n")
    target = copy / "base" if overlay == "base" else copy / "overlays" / overlay
    done = subprocess.run(
        [tool("kustomize"), "build", str(target)],
        capture_output=True,
        text=True,
        timeout=_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"kustomize build {overlay} failed: {done.stderr.strip()}")
    return [o for o in yaml.safe_load_all(done.stdout) if o]


def find(objects: Sequence[Obj], kind: str, name: str) -> Obj:
    """The one object of ``kind`` whose name is ``name`` (or ``name-<hash>`` for generated ones)."""
    hits = [
        o
        for o in objects
        if o.get("kind") == kind
        and (o["metadata"]["name"] == name or o["metadata"]["name"].startswith(name + "-"))
    ]
    assert len(hits) == 1, f"{len(hits)} {kind} objects named {name!r}"
    return hits[0]


def container(objects: Sequence[Obj], name: str = "poolmgr") -> Obj:
    """The container ``name`` of the DaemonSet ``poolmgr``."""
    spec = find(objects, "DaemonSet", "poolmgr")["spec"]["template"]["spec"]
    hits = [c for c in spec["containers"] if c["name"] == name]
    assert len(hits) == 1, f"{len(hits)} containers named {name!r}"
    found: Obj = hits[0]
    return found


def pod_spec(objects: Sequence[Obj]) -> Obj:
    spec: Obj = find(objects, "DaemonSet", "poolmgr")["spec"]["template"]["spec"]
    return spec


def config_text(objects: Sequence[Obj]) -> str:
    """The config file the managers read: ``config.yaml`` of the ConfigMap ``poolmgr-config``."""
    text: str = find(objects, "ConfigMap", "poolmgr-config")["data"]["config.yaml"]
    return text


def schema_errors(obj: Obj, version: str = KUBERNETES_VERSION) -> list[str]:
    """Why ``obj`` does not validate (empty when it does)."""
    where = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
    custom = _CUSTOM.get((obj.get("apiVersion", ""), obj.get("kind", "")))
    if custom is not None:
        schema = json.loads((SCHEMAS / custom).read_text())
        validator = jsonschema.Draft202012Validator(schema)
        return [
            f"{where}: {'.'.join(str(p) for p in e.absolute_path)}: {e.message}"
            for e in validator.iter_errors(obj)
        ]
    import kubernetes_validate  # type: ignore[import-untyped]  # no type hints shipped

    try:
        kubernetes_validate.validate(obj, version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        path = ".".join(str(p) for p in exc.path)
        return [f"{where}: {path}: {exc.message}"]
    except kubernetes_validate.SchemaNotFoundError as exc:
        return [f"{where}: no schema: {exc.message}"]
    return []


@dataclass(frozen=True)
class Selector:
    """One vector selector of a PromQL expression: a metric name and its label matchers."""

    metric: str
    matchers: tuple[tuple[str, str, str], ...]
    """(label, operator, value) for each matcher other than the metric name."""


def selectors(expr: str) -> list[Selector]:
    """Every vector selector of ``expr``, in the order they appear."""
    import promql_parser

    out: list[Selector] = []

    def walk(node: Any) -> Iterator[Any]:
        yield node
        for attr in ("lhs", "rhs", "expr", "param", "vector_selector"):
            child = getattr(node, attr, None)
            if child is not None and not isinstance(child, str | int | float):
                yield from walk(child)
        for arg in getattr(node, "args", None) or []:
            yield from walk(arg)

    ops = {"Equal": "=", "NotEqual": "!=", "Re": "=~", "NotRe": "!~"}
    for node in walk(promql_parser.parse(expr)):
        if type(node).__name__ != "VectorSelector":
            continue
        matchers = tuple(
            (m.name, ops[str(m.op).rsplit(".", 1)[-1]], m.value)
            for m in node.matchers.matchers
            if m.name != "__name__"
        )
        out.append(Selector(node.name, matchers))
    return out


def alert_rules(objects: Sequence[Obj]) -> list[Obj]:
    """The alerting rules of the PrometheusRule ``poolmgr``, in order."""
    spec = find(objects, "PrometheusRule", "poolmgr")["spec"]
    return [r for g in spec["groups"] for r in g["rules"] if "alert" in r]


def promtool(
    objects: Sequence[Obj], workdir: Path, *command: str
) -> subprocess.CompletedProcess[str]:
    """``promtool check rules`` or ``promtool test rules`` on the PrometheusRule's rules.

    The rules go to ``workdir/poolmgr.rules.yaml``, the name the unit tests of
    ``deploy/kubernetes/tests/alerts.test.yaml`` load; ``test`` runs those tests.
    """
    rules = workdir / "poolmgr.rules.yaml"
    rules.write_text(yaml.safe_dump(find(objects, "PrometheusRule", "poolmgr")["spec"]))
    if command == ("check",):
        argv = [tool("promtool"), "check", "rules", str(rules)]
    elif command == ("test",):
        shutil.copy(ALERT_TESTS, workdir / ALERT_TESTS.name)
        argv = [tool("promtool"), "test", "rules", str(workdir / ALERT_TESTS.name)]
    else:
        raise ValueError(f"unknown promtool command {command!r}")
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=_TIMEOUT_S, check=False, cwd=workdir
    )


@dataclass
class KubePart:
    """What a deploy scenario rendered: the overlay's objects and a private temp dir."""

    overlay: str = ""
    objects: list[Obj] | None = None
    _tmp: Path | None = None

    @property
    def tmp(self) -> Path:
        if self._tmp is None:
            self._tmp = Path(tempfile.mkdtemp(prefix="kube-world-"))
            weakref.finalize(self, shutil.rmtree, self._tmp, ignore_errors=True)
        return self._tmp
