"""Registers the one step table (:mod:`harness.registry`) with behave and with pytest-bdd.

Both runners get every step's real function, so each reports a step at its own file and line
(``behave --dry-run -f steps.usage features``, an IDE, pytest-bdd's failure reports):

- pytest-bdd calls the table's functions as they are: the world is a fixture named ``world``
  (each function's first parameter), a ``docstring`` parameter receives the step's doc
  string and a ``datatable`` parameter its data table (rows of cells, heading row first), as
  pytest-bdd provides them; the behave adapter hands both over in the same shape.
- behave calls a step as ``func(context, **fields)``. A thin adapter turns that into
  ``func(world, **fields)``; it is made with :func:`functools.wraps`, whose ``__wrapped__``
  behave follows to find a step's location (``FileLocation.for_function`` unwraps it), so
  behave shows the real function's file and line, not the adapter's. The world lives on
  ``context`` and is created on the first step of each scenario (behave drops scenario-level
  context attributes afterwards).

``@gpu`` scenarios are skipped with the reason where NVML finds no GPU, by both runners
(:mod:`harness.gpu`). Under pytest every feature tag is a mark, and the speed tags
(``decision``, ``process``, ``gpu``) are registered even where no feature has them
(:func:`marker_names`), so ``-m gpu`` and ``-m OC-POOL-3011`` select what behave's
``--tags=@gpu`` and ``--tags=@OC-POOL-3011`` do. Serves OC-BDD-7006 (both runners execute
the same glue).
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import behave
import pytest
import pytest_bdd

import harness.steps.__all_steps__  # noqa: F401  (fills the step table)
from harness.gpu import GPU_TAG, gpu_skip_reason
from harness.registry import StepDef, StepKind, all_steps
from harness.world import PoolWorld

__all__ = [
    "apply_pytest_bdd_tag",
    "feature_tags",
    "marker_names",
    "register_behave",
    "register_pytest_bdd",
    "skip_scenario_without_gpu",
    "world_of",
]

_BEHAVE: dict[StepKind, Callable[[str], Callable[[Callable[..., None]], Any]]] = {
    "given": behave.given,
    "when": behave.when,
    "then": behave.then,
}

_PYTEST_BDD: dict[StepKind, Callable[..., Callable[[Callable[..., None]], Any]]] = {
    "given": pytest_bdd.given,
    "when": pytest_bdd.when,
    "then": pytest_bdd.then,
}


# =========================================================================== behave


def world_of(context: Any) -> PoolWorld:
    """The scenario's world, created on first use."""
    world = getattr(context, "world", None)
    if not isinstance(world, PoolWorld):
        world = PoolWorld()
        context.world = world
    return world


def _behave_adapter(defn: StepDef) -> Callable[..., None]:
    wants_docstring = "docstring" in inspect.signature(defn.func).parameters
    wants_datatable = "datatable" in inspect.signature(defn.func).parameters

    @functools.wraps(defn.func)
    def run(context: Any, **fields: Any) -> None:
        if wants_docstring:
            # behave hands a str subclass; the YAML C parser wants a plain str.
            fields["docstring"] = str(context.text or "")
        if wants_datatable:
            # pytest-bdd's shape: the rows as lists of cells, the heading row first.
            table = context.table
            rows = [] if table is None else [list(table.headings), *(list(r) for r in table)]
            fields["datatable"] = [[str(cell) for cell in row] for row in rows]
        defn.func(world_of(context), **fields)

    return run


def register_behave() -> None:
    """Register every step of the table with behave's global registry."""
    for defn in all_steps():
        _BEHAVE[defn.kind](defn.pattern)(_behave_adapter(defn))


def skip_scenario_without_gpu(scenario: Any) -> None:
    """behave ``before_scenario``: skip a ``@gpu`` scenario, with the reason, without a GPU."""
    if GPU_TAG in scenario.effective_tags:
        reason = gpu_skip_reason()
        if reason is not None:
            scenario.skip(reason=reason)


# =========================================================================== pytest-bdd


def register_pytest_bdd() -> None:
    """Register every step's function with pytest-bdd, in the module that calls this.

    pytest-bdd defines a step as a fixture in the namespace of the frame that applies its
    decorator; ``stacklevel=2`` names the caller of this function (the conftest module body).
    """
    for defn in all_steps():
        parser = pytest_bdd.parsers.parse(defn.pattern)
        _PYTEST_BDD[defn.kind](parser, stacklevel=2)(defn.func)


def apply_pytest_bdd_tag(tag: str, function: Callable[..., object]) -> bool:
    """``pytest_bdd_apply_tag``: every feature tag becomes a pytest mark of the same name.

    ``pytest tests/bdd -m decision`` selects the decision-level scenarios, ``-m process`` the
    ones that run real processes, and ``-m OC-POOL-3011`` the scenarios that prove one
    requirement (pytest's ``-m`` grammar accepts the dashes of a requirement ID). The marks are
    registered by :func:`feature_tags` in ``pytest_configure``, so ``--strict-markers`` holds.
    A ``@gpu`` scenario is also skipped with the reason where no GPU is present.
    """
    getattr(pytest.mark, tag)(function)
    if tag == GPU_TAG:
        reason = gpu_skip_reason()
        if reason is not None:
            pytest.mark.skip(reason=reason)(function)
    return True


#: The suite's speed tags (README "Tests"): registered as marks even where no feature under the
#: given folder carries one, so ``-m gpu`` is a known mark on any checkout, with or without
#: ``@gpu`` scenarios, and ``--strict-markers`` never rejects it.
SPEED_TAGS = ("decision", "process", GPU_TAG)

_TAG = re.compile(r"(?<!\S)@([^\s@]+)")


def feature_tags(features: Path) -> set[str]:
    """Every tag written in a feature file under ``features`` (to register them as marks)."""
    tags: set[str] = set()
    for path in sorted(features.rglob("*.feature")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.lstrip().startswith("@"):
                tags.update(_TAG.findall(line))
    return tags


def marker_names(features: Path) -> set[str]:
    """The marks to register for pytest-bdd: every feature tag and the speed tags."""
    return feature_tags(features) | set(SPEED_TAGS)
