"""pytest-bdd bindings: the shared step table registered by :mod:`harness.runners`.

The same functions behave runs are registered here with ``pytest_bdd.parsers.parse``; the
world is a fixture named ``world`` (the table's first parameter), and a ``docstring``
parameter receives the step's doc string, as pytest-bdd provides it. Serves OC-BDD-7006.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from harness.runners import apply_pytest_bdd_tag, register_pytest_bdd
from harness.world import PoolWorld


@pytest.fixture
def world() -> PoolWorld:
    """A fresh scenario world."""
    return PoolWorld()


def pytest_bdd_apply_tag(tag: str, function: Callable[..., object]) -> bool:
    """Requirement-ID tags are not pytest marks; ``@gpu`` skips without a GPU (harness.gpu)."""
    return apply_pytest_bdd_tag(tag, function)


register_pytest_bdd()
