"""pytest-bdd bindings: the shared step table (:mod:`harness.steps`) registered via parsers.

The same functions behave runs are registered here with ``pytest_bdd.parsers.parse``; the
world is a fixture named ``world`` (the table's first parameter), and a ``docstring``
parameter receives the step's doc string, as pytest-bdd provides it. Feature tags are
requirement IDs (``@OC-POOL-3011``), not pytest markers, so they are not turned into marks.
Serves OC-BDD-7006.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pytest_bdd import given, parsers, then, when

from harness.gpu import GPU_TAG, gpu_skip_reason
from harness.steps import STEPS
from harness.world import PoolWorld

_DECORATORS = {"given": given, "when": when, "then": then}


@pytest.fixture
def world() -> PoolWorld:
    """A fresh scenario world."""
    return PoolWorld()


def pytest_bdd_apply_tag(tag: str, function: Callable[..., object]) -> bool:
    """Keep requirement-ID tags out of pytest's (strict) marker namespace.

    ``@gpu`` scenarios are skipped with the reason where no GPU is present (harness.gpu).
    """
    if tag == GPU_TAG:
        reason = gpu_skip_reason()
        if reason is not None:
            pytest.mark.skip(reason=reason)(function)
    return True


for _defn in STEPS:
    _DECORATORS[_defn.kind](parsers.parse(_defn.pattern), stacklevel=1)(_defn.func)
