"""Assertion helpers shared by both BDD runners: each one fails with a message a reviewer reads.

Serves OC-BDD-7003 (every Then asserts): Then-steps call these ``assert_*`` helpers or use
``assert`` directly.
"""

from __future__ import annotations

from harness.world import PoolWorld
from poolmgr.core.errors import ConfigError, PoolError


def assert_equal(actual: object, expected: object, what: str) -> None:
    assert actual == expected, f"{what}: expected {expected!r}, got {actual!r}"


def assert_refused(world: PoolWorld, code: str) -> PoolError:
    """The last request was refused with a typed error carrying ``code``."""
    error = world.error
    assert isinstance(error, PoolError), f"expected a refusal with code {code}, got {error!r}"
    assert error.code == code, f"expected code {code}, got {error.code}: {error.message}"
    return error


def assert_no_refusal(world: PoolWorld) -> None:
    assert world.error is None, f"expected no refusal, got {world.error!r}"


def assert_config_problem(world: PoolWorld, field_path: str) -> ConfigError:
    """The config was refused, and one problem names ``field_path`` and the file."""
    error = world.error
    assert isinstance(error, ConfigError), f"expected a config refusal, got {error!r}"
    paths = [p.path for p in error.problems]
    assert field_path in paths, f"no problem names {field_path!r}; problems: {error}"
    for problem in error.problems:
        assert problem.file.startswith(world.config.source), f"file not named: {problem}"
        assert problem.reason, f"problem without a reason: {problem!r}"
    return error
