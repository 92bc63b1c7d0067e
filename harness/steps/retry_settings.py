"""Steps of the restart policies' settings: values outside their ranges are refused, naming the
setting and the value given; the boundary values are accepted
(:class:`~poolmgr.core.backoff.BackoffPolicy`, :class:`~poolmgr.core.breaker.BreakerPolicy`),
and the same mistakes in a config file are refused naming the field.

Serves OC-POOL-3018 (decision level).

Registered in the step table with :func:`harness.registry.step` (OC-BDD-7006); every Then-step
asserts (OC-BDD-7003).
"""

from __future__ import annotations

from harness.assertions import assert_equal
from harness.registry import step
from harness.world import PoolWorld
from poolmgr.core.backoff import BackoffPolicy
from poolmgr.core.breaker import BreakerPolicy

_WHOLE = {
    "initial_ms",
    "max_ms",
    "stable_reset_ms",
    "failure_threshold",
    "window_ms",
    "cooldown_ms",
    "max_cooldown_ms",
}
_FRACTIONAL = {"multiplier", "cooldown_multiplier"}


def _value(setting: str, text: str) -> object:
    """The setting's value as the feature writes it: whole ms, a factor, or a word."""
    if setting in _WHOLE:
        return int(text)
    if setting in _FRACTIONAL:
        return float(text)
    return text


def _set_up(
    world: PoolWorld, make: type[BackoffPolicy] | type[BreakerPolicy], setting: str, text: str
) -> None:
    world.retry.refusal = None
    try:
        policy = make(**{setting: _value(setting, text)})  # type: ignore[arg-type]
    except ValueError as exc:
        world.retry.refusal = exc
    else:
        if isinstance(policy, BackoffPolicy):
            world.set_backoff(policy)
    world.retry.settings_tried = True


@step("when", 'a restart backoff is set up with "{setting}" at {value}')
def backoff_set_up(world: PoolWorld, setting: str, value: str) -> None:
    _set_up(world, BackoffPolicy, setting, value)


@step("when", 'a circuit breaker is set up with "{setting}" at {value}')
def breaker_set_up(world: PoolWorld, setting: str, value: str) -> None:
    _set_up(world, BreakerPolicy, setting, value)


@step("then", 'the settings are refused with the message "{message}"')
def then_settings_refused(world: PoolWorld, message: str) -> None:
    assert world.retry.settings_tried, "setup: set a policy up first"
    refusal = world.retry.refusal
    assert refusal is not None, "the settings were accepted"
    assert_equal(str(refusal), message, "refusal")


@step("then", "the settings are accepted")
def then_settings_accepted(world: PoolWorld) -> None:
    assert world.retry.settings_tried, "setup: set a policy up first"
    assert world.retry.refusal is None, f"refused: {world.retry.refusal}"


@step(
    "given",
    'a config file "{name}" whose only pool sets its {section} setting "{setting}" to {value}',
)
def given_config_setting(
    world: PoolWorld, name: str, section: str, setting: str, value: str
) -> None:
    assert section in ("backoff", "breaker"), f"scenario error: no {section} settings"
    world.config.source = name
    world.config.text = (
        "pools:\n"
        "  - id: dev\n"
        "    engine: stub\n"
        "    model: stub://tiny\n"
        "    devices: []\n"
        "    cpu: true\n"
        f"    {section}: {{{setting}: {value}}}\n"
    )
