"""The step table: every Gherkin sentence of the suite, registered once with :func:`step`.

This module is the leaf of the harness: it imports nothing from the step modules (they import
:func:`step` from here) and nothing from either runner. Each entry pairs a ``parse``-style
pattern with the function that carries the step out; the function's first parameter is the
scenario's :class:`~harness.world.PoolWorld` (named ``world``), the others are the pattern's
fields, a ``docstring`` parameter receives the step's doc string and a ``datatable`` parameter
its data table (rows of cells, the heading row first). :mod:`harness.runners`
registers the same functions with behave and with pytest-bdd, so the two runners never carry
copied glue (OC-BDD-7006). ``specgate``'s bdd-gate reads the ``@step("then", "...")``
decorators statically; every Then-step asserts (OC-BDD-7003).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

__all__ = ["STEPS", "StepDef", "StepKind", "all_steps", "step"]

StepKind = Literal["given", "when", "then"]

StepFunc = Callable[..., None]


@dataclass(frozen=True)
class StepDef:
    """One step: its keyword, its ``parse`` pattern and the function that carries it out."""

    kind: StepKind
    pattern: str
    func: StepFunc


STEPS: list[StepDef] = []
"""Filled as the step modules are imported (:mod:`harness.steps.__all_steps__` imports them all)."""


def step(kind: StepKind, pattern: str) -> Callable[[StepFunc], StepFunc]:
    """Add a function to the step table under ``pattern``; the function is returned unchanged."""

    def register(func: StepFunc) -> StepFunc:
        STEPS.append(StepDef(kind, pattern, func))
        return func

    return register


def all_steps() -> list[StepDef]:
    """A copy of the table, for runners to register."""
    return list(STEPS)
