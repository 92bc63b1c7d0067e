"""Steps of launch plans per engine, exact placement refusals and the per-GPU memory split.

Serves OC-POOL-3012, 3017, 3020..3023, 3025 and 3026 (decision level): each engine's flags and
environment compared with the feature's text, every problem of a refused placement compared
row by row, and the weights and KV cache each GPU holds at the planned context compared with
byte counts written in the feature.

Registered in the step table with :func:`harness.registry.step` (OC-BDD-7006); every Then-step
asserts (OC-BDD-7003).
"""

from __future__ import annotations

from harness.assertions import assert_equal, assert_refused
from harness.registry import step
from harness.steps.fields import floats, ints, rows
from harness.world import GIB, PoolWorld
from poolmgr.core.kvcap import kv_bytes_per_gpu, split_layers, weights_bytes_per_gpu
from poolmgr.core.placement import LaunchPlan, MaskRequest

MIB = 2**20

_ENGINES = {"llama.cpp": "llamacpp", "vLLM": "vllm", "TGI": "tgi", "the stub engine": "stub"}
"""The engines by the names the features use; any other name is passed on as written."""


def _engine(name: str) -> str:
    return _ENGINES.get(name, name)


def _plan(world: PoolWorld) -> LaunchPlan:
    plan_ = world.placement.plan
    assert plan_ is not None, f"no plan: {world.error!r}"
    return plan_


# --------------------------------------------------------------------------- the host and pools


@step("given", "the host has GPU {index:d} with {mib:d} MiB free")
def given_gpu_mib(world: PoolWorld, index: int, mib: int) -> None:
    world.placement.gpus[index] = mib * MIB


@step("given", "the host has GPU {index:d} of {total:d} GiB with {free:d} GiB free")
def given_gpu_sized(world: PoolWorld, index: int, total: int, free: int) -> None:
    world.placement.gpus[index] = free * GIB
    world.placement.totals[index] = total * GIB


@step("given", 'pool "{pool}" runs "{engine}" on GPUs "{devices}" split by "{ratios}"')
def given_engine_split(world: PoolWorld, pool: str, engine: str, devices: str, ratios: str) -> None:
    world.placement.masks[pool] = MaskRequest(
        pool, _engine(engine), ints(devices), False, floats(ratios)
    )


@step("given", 'pool "{pool}" runs "{engine}" as a declared CPU pool')
def given_engine_cpu(world: PoolWorld, pool: str, engine: str) -> None:
    world.placement.masks[pool] = MaskRequest(pool, _engine(engine), (), True, None)


@step("given", 'pool "{pool}" declares itself a CPU pool but names GPUs "{devices}"')
def given_cpu_with_gpus(world: PoolWorld, pool: str, devices: str) -> None:
    world.placement.masks[pool] = MaskRequest(pool, "llamacpp", ints(devices), True, None)


@step("given", 'pool "{pool}" declares itself a CPU pool with the ratios "{ratios}"')
def given_cpu_with_ratios(world: PoolWorld, pool: str, ratios: str) -> None:
    world.placement.masks[pool] = MaskRequest(pool, "llamacpp", (), True, floats(ratios))


# --------------------------------------------------------------------------- what was decided


@step("then", "the placement is refused with exactly these problems:")
def then_problems(world: PoolWorld, datatable: list[list[str]]) -> None:
    want = [(r["pool"], r["field"], r["reason"]) for r in rows(datatable)]
    got = [(p.pool_id, str(p.field), p.reason) for p in world.placement.problems]
    assert got == want, "problems differ:\n  got:  " + "\n        ".join(map(str, got))


@step("then", 'the launch of "{pool}" is refused as invalid because "{reason}"')
def then_refused_because(world: PoolWorld, pool: str, reason: str) -> None:
    assert world.placement.plan is None, "a plan was made"
    error = assert_refused(world, "INVALID_PARAMS")
    assert_equal(error.pool_id, pool, "pool named by the refusal")
    assert reason in error.message, f"refusal {error.message!r} does not say {reason!r}"


@step("then", 'the engine is started with the flags "{flags}"')
def then_flags(world: PoolWorld, flags: str) -> None:
    assert_equal(" ".join(_plan(world).engine_flags), flags, "engine flags")


@step("then", "the engine is started with the environment:")
def then_env(world: PoolWorld, datatable: list[list[str]]) -> None:
    want = {r["variable"]: r["value"] for r in rows(datatable)}
    assert_equal(dict(_plan(world).env), want, "engine environment")


@step("then", "at the planned context each GPU of the mask holds:")
def then_per_gpu(world: PoolWorld, datatable: list[list[str]]) -> None:
    plan_, shape = _plan(world), world.placement.shape
    assert shape is not None, "setup: describe the model first"
    want = [
        (int(r["GPU"]), int(r["layers"]), int(r["weight bytes"]), int(r["KV cache bytes"]))
        for r in rows(datatable)
    ]
    ratios = plan_.tensor_split or (1.0,)
    got = list(
        zip(
            plan_.visible_devices,
            split_layers(shape.n_layers, ratios),
            weights_bytes_per_gpu(shape, ratios),
            kv_bytes_per_gpu(shape, plan_.ctx_total, ratios),  # every slot's cache
            strict=True,
        )
    )
    assert_equal(got, want, "GPU, layers, weight bytes, KV cache bytes")


@step("then", "the plan reports:")
def then_plan_report(world: PoolWorld, datatable: list[list[str]]) -> None:
    table = rows(datatable)
    assert len(table) == 1, f"setup: one row of expected values, got {len(table)}"
    want = table[0]
    plan_ = _plan(world)
    runs_on = "the CPU" if plan_.cpu else "GPUs " + ",".join(str(i) for i in plan_.visible_devices)
    split = plan_.tensor_split
    got = {
        "pool": plan_.pool_id,
        "engine": str(plan_.engine),
        "runs on": runs_on,
        "ratios": "none" if split is None else ",".join(f"{r:g}" for r in split),
        "context asked": str(plan_.ctx_requested),
        "context planned": str(plan_.ctx),
    }
    assert_equal(got, {**want, "engine": _engine(want["engine"])}, "plan report")
