"""Registers the one step table (:mod:`harness.steps`) with behave.

behave calls a step as ``func(context, **fields)``; the table's functions take the scenario's
:class:`~harness.world.PoolWorld` instead. The world lives on ``context`` and is created on the
first step of each scenario (behave drops scenario-level context attributes afterwards), so
no ``environment.py`` is needed. A ``docstring`` parameter receives the step's doc string.
Serves OC-BDD-7006 (both runners execute the same glue).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from behave import given, then, when

from harness.steps import STEPS, StepDef
from harness.world import PoolWorld

_DECORATORS: dict[str, Callable[[str], Callable[[Callable[..., None]], Any]]] = {
    "given": given,
    "when": when,
    "then": then,
}


def world_of(context: Any) -> PoolWorld:
    """The scenario's world, created on first use."""
    world = getattr(context, "world", None)
    if not isinstance(world, PoolWorld):
        world = PoolWorld()
        context.world = world
    return world


def _adapt(defn: StepDef) -> Callable[..., None]:
    wants_docstring = "docstring" in inspect.signature(defn.func).parameters

    def run(context: Any, **fields: Any) -> None:
        if wants_docstring:
            # behave hands a str subclass; the YAML C parser wants a plain str.
            fields["docstring"] = str(context.text or "")
        defn.func(world_of(context), **fields)

    run.__name__ = defn.func.__name__
    run.__doc__ = defn.func.__doc__
    return run


def register_all() -> None:
    """Register every step of the table with behave's global registry."""
    for defn in STEPS:
        _DECORATORS[defn.kind](defn.pattern)(_adapt(defn))
