"""pytest-bdd bindings: the shared step table registered by :mod:`harness.runners`.

The same functions behave runs are registered here with ``pytest_bdd.parsers.parse``; the
world is a fixture named ``world`` (the table's first parameter), and a ``docstring``
parameter receives the step's doc string, as pytest-bdd provides it. Serves OC-BDD-7006.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from harness.runners import apply_pytest_bdd_tag, feature_tags, register_pytest_bdd
from harness.world import PoolWorld
from specgate.pytest_plugin import register as register_cucumber_extras


@pytest.fixture
def world() -> PoolWorld:
    """A fresh scenario world."""
    return PoolWorld()


FEATURES = Path(__file__).resolve().parents[2] / "features"


def pytest_configure(config: pytest.Config) -> None:
    """Register every feature tag as a marker (``-m decision``, ``-m OC-POOL-3011``)."""
    for tag in sorted(feature_tags(FEATURES)):
        config.addinivalue_line("markers", f"{tag}: feature tag (harness.runners.feature_tags)")
    # --cucumberjson also gets skip reasons and deselected scenarios (for spec-trace).
    register_cucumber_extras(config)


def pytest_bdd_apply_tag(tag: str, function: Callable[..., object]) -> bool:
    """Each tag becomes a mark of the same name; ``@gpu`` also skips without a GPU."""
    return apply_pytest_bdd_tag(tag, function)


register_pytest_bdd()
