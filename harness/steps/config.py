"""Steps of config validation: a config file's text is checked and each refusal names the field
and the file, never echoing a secret.

Serves OC-CFG-5001..5004 and OC-POOL-3022.

Registered in the step table with :func:`harness.registry.step` (OC-BDD-7006); every Then-step
asserts (OC-BDD-7003).
"""

from __future__ import annotations

from harness.assertions import assert_config_problem
from harness.registry import step
from harness.world import PoolWorld


@step("given", 'a config file "{name}" containing')
def given_config(world: PoolWorld, name: str, docstring: str) -> None:
    world.config.source = name
    world.config.text = docstring


@step("when", "the config is checked")
def when_config_checked(world: PoolWorld) -> None:
    world.check_config()


@step("then", 'the config is refused naming the field "{path}"')
def then_config_refused(world: PoolWorld, path: str) -> None:
    assert_config_problem(world, path)


@step("then", 'the config is refused with a reason mentioning "{text}"')
def then_config_reason(world: PoolWorld, text: str) -> None:
    error = world.error
    assert error is not None, "the config was accepted"
    assert text in str(error), f"{text!r} not in {error}"


@step("then", 'no refusal repeats the text "{text}"')
def then_config_not_echoed(world: PoolWorld, text: str) -> None:
    error = world.error
    assert error is not None, "the config was accepted"
    assert text not in str(error), f"the refusal repeats {text!r}: {error}"


@step("then", "the config is accepted")
def then_config_accepted(world: PoolWorld) -> None:
    assert world.error is None, f"refused: {world.error}"
    assert world.config.parsed is not None
