#!/usr/bin/env python3
"""Metrics gate: a scrape must match ``spec/metrics-contract.yaml`` exactly (OC-MET-6001).

Usage: ``check_metrics_contract.py URL_OR_FILE [--contract FILE] [--token-env NAME]``.

``URL_OR_FILE`` is a ``/metrics`` URL (scraped with ``requests``; a bearer token is sent when
``--token-env`` names a variable holding one) or a file with exposition text. The gate
compares, in both directions, every metric family's exposition name, type and label set with
the contract: an exported family the contract lacks, a contract entry nothing exports, a
different type, or a different label set is drift. It also counts the distinct values of
each label per metric and fails when one exceeds its budget (OC-MET-6002), and fails when a
contract label has no budget. A family exported without any sample is checked by name and
type only (its label set cannot be seen).

Exit status: 0 no drift, 1 drift (each problem on stderr), 2 the scrape or the contract could
not be read.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import requests
import yaml
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONTRACT = ROOT / "spec" / "metrics-contract.yaml"
_SUFFIXED = {"counter": "_total"}
_SKIP_SAMPLE_SUFFIXES = ("_created",)


class GateError(Exception):
    """The inputs cannot be read (exit 2)."""


def load_contract(path: Path) -> tuple[dict[str, tuple[str, frozenset[str]]], dict[str, int]]:
    """``{name: (type, labels)}`` and the label budgets from the contract file."""
    try:
        doc: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise GateError(f"{path}: cannot read the contract: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("metrics"), list):
        raise GateError(f"{path}: expected a mapping with a 'metrics' list")
    metrics: dict[str, tuple[str, frozenset[str]]] = {}
    for i, entry in enumerate(doc["metrics"]):
        try:
            name, kind, labels = entry["name"], entry["type"], entry["labels"]
        except (KeyError, TypeError):
            raise GateError(f"{path}: metrics[{i}] needs name, type and labels") from None
        if name in metrics:
            raise GateError(f"{path}: metric {name} is listed twice")
        metrics[str(name)] = (str(kind), frozenset(str(label) for label in labels or []))
    budgets = {str(k): int(v) for k, v in (doc.get("label_budgets") or {}).items()}
    return metrics, budgets


def read_scrape(source: str, token: str | None = None) -> str:
    """The exposition text at ``source`` (an http(s) URL or a file path)."""
    if source.startswith(("http://", "https://")):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            response = requests.get(source, headers=headers, timeout=10)
        except requests.RequestException as exc:
            raise GateError(f"cannot scrape {source}: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise GateError(f"cannot scrape {source}: HTTP {response.status_code}")
        return response.text
    try:
        return Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise GateError(f"cannot read {source}: {exc.strerror or exc}") from None


def exported(
    text: str,
) -> tuple[dict[str, tuple[str, frozenset[str] | None]], dict[tuple[str, str], set[str]]]:
    """Families seen in ``text``: ``{name: (type, labels or None)}`` and label values seen."""
    families: dict[str, tuple[str, frozenset[str] | None]] = {}
    values: dict[tuple[str, str], set[str]] = defaultdict(set)
    try:
        parsed = list(text_string_to_metric_families(text))
    except ValueError as exc:
        raise GateError(f"the scrape is not valid exposition text: {exc}") from None
    for family in parsed:
        name = family.name + _SUFFIXED.get(family.type, "")
        labels: set[str] | None = None
        for sample in family.samples:
            if sample.name.endswith(_SKIP_SAMPLE_SUFFIXES):
                continue
            # A histogram's bucket bound is part of the type, not of the contract's label set.
            keys = set(sample.labels) - ({"le"} if family.type == "histogram" else set())
            labels = keys if labels is None else labels | keys
            for key, value in sample.labels.items():
                if key in keys:
                    values[(name, key)].add(value)
        families[name] = (family.type, None if labels is None else frozenset(labels))
    return families, values


def drift(
    contract: dict[str, tuple[str, frozenset[str]]],
    budgets: dict[str, int],
    families: dict[str, tuple[str, frozenset[str] | None]],
    values: dict[tuple[str, str], set[str]],
) -> list[str]:
    """Every difference between the contract and the scrape, one line each."""
    problems: list[str] = []
    for name in sorted(families.keys() - contract.keys()):
        problems.append(f"{name}: exported but not in the contract")
    for name in sorted(contract.keys() - families.keys()):
        problems.append(f"{name}: in the contract but not exported")
    for name in sorted(contract.keys() & families.keys()):
        want_type, want_labels = contract[name]
        got_type, got_labels = families[name]
        if got_type != want_type:
            problems.append(f"{name}: type {got_type}, the contract says {want_type}")
        if got_labels is not None and got_labels != want_labels:
            extra = sorted(got_labels - want_labels)
            missing = sorted(want_labels - got_labels)
            problems.append(
                f"{name}: label set {sorted(got_labels)}, the contract says {sorted(want_labels)}"
                + (f" (extra {extra})" if extra else "")
                + (f" (missing {missing})" if missing else "")
            )
    for name, (_, labels) in sorted(contract.items()):
        for label in sorted(labels - budgets.keys()):
            problems.append(f"{name}: label {label} has no budget in the contract")
    for (name, label), seen in sorted(values.items()):
        budget = budgets.get(label)
        # The overflow value stands for the values past the budget; it may add one series.
        count = len(seen - {"__overflow__"})
        if budget is not None and count > budget:
            problems.append(f"{name}: label {label} has {count} distinct values, budget {budget}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", metavar="URL_OR_FILE", help="/metrics URL or exposition file")
    parser.add_argument("--contract", type=Path, default=DEFAULT_CONTRACT, help="contract YAML")
    parser.add_argument("--token-env", metavar="NAME", help="variable holding a bearer token")
    args = parser.parse_args(argv)
    try:
        contract, budgets = load_contract(args.contract)
        token = os.environ.get(args.token_env) if args.token_env else None
        families, values = exported(read_scrape(args.source, token))
    except GateError as exc:
        print(f"check_metrics_contract: {exc}", file=sys.stderr)
        return 2
    problems = drift(contract, budgets, families, values)
    for problem in problems:
        print(f"metrics drift: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"metrics contract: ok ({len(contract)} metrics, no drift)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
