"""Steps of a manager's size limits in the config: how many pools one manager takes, and the
in-process test engine that only a config enabling test engines may use.

Serves OC-PERF-9109 (up to 1,000 pools; more refused naming the limit) and OC-PERF-9110 (a
test engine refused unless ``manager.allow_test_engines`` is true). The config text is made
here, the pools numbered ``p0001`` onwards, and parsed as ``serve`` does by the config steps'
When-step.

Registered in the step table with :func:`harness.registry.step` (OC-BDD-7006); every Then-step
asserts (OC-BDD-7003).
"""

from __future__ import annotations

import yaml

from harness.assertions import assert_equal
from harness.registry import step
from harness.world import PoolWorld

_MODELS = {"stub": "stub://m", "test-inproc": "test://m"}


@step("given", 'a config file "{name}" with {count:d} pools of engine "{engine}"')
def given_many_pools(world: PoolWorld, name: str, count: int, engine: str) -> None:
    pools = [
        {"id": f"p{i:04d}", "engine": engine, "model": _MODELS[engine], "devices": [], "cpu": True}
        for i in range(1, count + 1)
    ]
    world.config.source = name
    world.config.text = yaml.safe_dump({"pools": pools}, sort_keys=False)


@step("given", 'the config\'s manager section says "{setting}"')
def given_manager_setting(world: PoolWorld, setting: str) -> None:
    key, _, value = setting.partition(":")
    doc = yaml.safe_load(world.config.text)
    doc.setdefault("manager", {})[key.strip()] = yaml.safe_load(value)
    world.config.text = yaml.safe_dump(doc, sort_keys=False)


@step("then", 'the accepted config has {count:d} pools of engine "{engine}"')
def then_accepted_pools(world: PoolWorld, count: int, engine: str) -> None:
    parsed = world.config.parsed
    assert parsed is not None, f"refused: {world.error}"
    assert_equal(sorted({p.engine.value for p in parsed.pools}), [engine], "the pools' engine")
    assert_equal(len(parsed.pools), count, "pools in the accepted config")
