"""Device masks, split ratios, launch plans and context caps.

OC-POOL-3020 / ORCH-3011 (masks), OC-POOL-3021 / ORCH-3012 / ORCH-3052 (splits and the
smallest-GPU KV cap), OC-POOL-3012 (no silent CPU spillover; CPU pools only on request).
"""

from __future__ import annotations

import math

import pytest

from poolmgr.core.errors import PlacementError
from poolmgr.core.inventory import GpuDevice, GpuInventory
from poolmgr.core.kvcap import ModelShape
from poolmgr.core.placement import (
    LaunchPlan,
    MaskRequest,
    PlacementProblem,
    plan_launch,
    validate_masks,
)

GIB = 2**30
MIB = 2**20


def inventory(*free_gib: float) -> GpuInventory:
    return GpuInventory(
        tuple(GpuDevice(i, f"GPU-{i}", int(f * GIB), int(f * GIB)) for i, f in enumerate(free_gib))
    )


FOUR_GPUS = inventory(80, 80, 80, 80)


def gpu_pool(
    pool_id: str = "p",
    devices: tuple[int, ...] = (0,),
    split: tuple[float, ...] | None = None,
    *,
    engine: str = "llamacpp",
    shared: bool = False,
) -> MaskRequest:
    return MaskRequest(pool_id, engine, devices, cpu=False, tensor_split=split, shared=shared)


def cpu_pool(
    pool_id: str = "c",
    devices: tuple[int, ...] = (),
    split: tuple[float, ...] | None = None,
    engine: str = "llamacpp",
) -> MaskRequest:
    return MaskRequest(pool_id, engine, devices, cpu=True, tensor_split=split)


def fields(problems: list[PlacementProblem]) -> list[tuple[str, str]]:
    return [(p.pool_id, p.field) for p in problems]


# --- valid masks ----------------------------------------------------------------------------------


def test_single_gpu_mask_in_the_inventory_is_valid() -> None:
    assert validate_masks([gpu_pool(devices=(2,))], FOUR_GPUS) == []


def test_two_gpu_mask_with_explicit_ratios_is_valid() -> None:
    assert validate_masks([gpu_pool(devices=(0, 1), split=(0.6, 0.4))], FOUR_GPUS) == []


def test_single_gpu_mask_may_state_the_trivial_split() -> None:
    assert validate_masks([gpu_pool(devices=(0,), split=(1.0,))], FOUR_GPUS) == []


def test_ratios_within_the_tolerance_of_one_are_accepted() -> None:
    split = (1 / 3, 1 / 3, 1 / 3)  # sums to 0.999...9 in floating point
    assert validate_masks([gpu_pool(devices=(0, 1, 2), split=split)], FOUR_GPUS) == []


def test_disjoint_masks_of_two_pools_are_valid() -> None:
    requests = [gpu_pool("a", (0, 1), (0.5, 0.5)), gpu_pool("b", (2,))]
    assert validate_masks(requests, FOUR_GPUS) == []


def test_without_an_inventory_indices_are_not_checked_but_other_rules_are() -> None:
    assert validate_masks([gpu_pool(devices=(7,))], None) == []
    assert fields(validate_masks([gpu_pool(devices=(7, 8))], None)) == [("p", "tensor_split")]


# --- refused masks --------------------------------------------------------------------------------


def test_oc_pool_3020_a_mask_index_missing_from_the_inventory_is_refused() -> None:
    problems = validate_masks([gpu_pool(devices=(0, 5), split=(0.5, 0.5))], inventory(24, 24))
    assert fields(problems) == [("p", "devices")]
    assert "GPU 5" in problems[0].reason


def test_oc_pool_3012_a_gpu_pool_on_a_host_without_gpus_is_refused() -> None:
    problems = validate_masks([gpu_pool(devices=(0,))], GpuInventory(()))
    assert fields(problems) == [("p", "devices")]


def test_oc_pool_3020_an_empty_gpu_mask_is_refused() -> None:
    problems = validate_masks([gpu_pool(devices=())], FOUR_GPUS)
    assert fields(problems) == [("p", "devices")]
    assert "cpu" in problems[0].reason


def test_a_mask_naming_one_gpu_twice_is_refused() -> None:
    problems = validate_masks([gpu_pool(devices=(1, 1), split=(0.5, 0.5))], FOUR_GPUS)
    assert fields(problems) == [("p", "devices")]
    assert "[1]" in problems[0].reason


def test_a_negative_gpu_index_is_refused() -> None:
    problems = validate_masks([gpu_pool(devices=(-1,))], None)
    assert fields(problems) == [("p", "devices")]


def test_oc_pool_3020_overlapping_masks_are_refused_on_the_later_pool() -> None:
    requests = [gpu_pool("first", (0, 1), (0.5, 0.5)), gpu_pool("second", (1, 2), (0.5, 0.5))]
    problems = validate_masks(requests, FOUR_GPUS)
    assert fields(problems) == [("second", "devices")]
    assert "GPU 1" in problems[0].reason
    assert "first" in problems[0].reason


def test_overlap_is_refused_when_only_one_pool_says_shared() -> None:
    requests = [gpu_pool("a", (0,), shared=True), gpu_pool("b", (0,), shared=False)]
    assert fields(validate_masks(requests, FOUR_GPUS)) == [("b", "devices")]


def test_overlap_is_allowed_when_both_pools_say_shared() -> None:
    requests = [gpu_pool("a", (0,), shared=True), gpu_pool("b", (0,), shared=True)]
    assert validate_masks(requests, FOUR_GPUS) == []


def test_overlap_with_two_earlier_pools_names_each_of_them() -> None:
    requests = [
        gpu_pool("a", (3,), shared=True),
        gpu_pool("b", (3,), shared=True),
        gpu_pool("c", (3,)),
    ]
    problems = validate_masks(requests, FOUR_GPUS)
    assert fields(problems) == [("c", "devices"), ("c", "devices")]
    assert {"a", "b"} == {p.reason.split("pool ")[1].split(";")[0] for p in problems}


# --- split ratios ---------------------------------------------------------------------------------


def test_orch_3012_a_multi_gpu_mask_without_ratios_is_refused() -> None:
    """No silent even split: a two-GPU mask must say how to share the model."""
    problems = validate_masks([gpu_pool(devices=(0, 1))], FOUR_GPUS)
    assert fields(problems) == [("p", "tensor_split")]
    assert "explicit" in problems[0].reason


def test_oc_pool_3021_ratios_not_summing_to_one_are_refused() -> None:
    problems = validate_masks([gpu_pool(devices=(0, 1), split=(0.6, 0.6))], FOUR_GPUS)
    assert fields(problems) == [("p", "tensor_split")]
    assert "1.2" in problems[0].reason


def test_oc_pool_3021_ratio_count_must_match_the_mask() -> None:
    problems = validate_masks([gpu_pool(devices=(0, 1, 2), split=(0.5, 0.5))], FOUR_GPUS)
    assert fields(problems) == [("p", "tensor_split")]
    assert "2 ratios" in problems[0].reason and "3 GPUs" in problems[0].reason


@pytest.mark.parametrize("bad", [0.0, -0.2, math.nan, math.inf])
def test_each_ratio_must_be_positive_and_finite(bad: float) -> None:
    problems = validate_masks([gpu_pool(devices=(0, 1), split=(1.0 - bad, bad))], FOUR_GPUS)
    assert fields(problems) == [("p", "tensor_split")]


def test_a_single_gpu_split_other_than_one_is_refused() -> None:
    problems = validate_masks([gpu_pool(devices=(0,), split=(0.5,))], FOUR_GPUS)
    assert fields(problems) == [("p", "tensor_split")]
    assert "[1.0]" in problems[0].reason


@pytest.mark.parametrize("engine", ["vllm", "tgi"])
def test_even_sharding_engines_refuse_uneven_ratios(engine: str) -> None:
    problems = validate_masks([gpu_pool(devices=(0, 1), split=(0.7, 0.3), engine=engine)], None)
    assert fields(problems) == [("p", "tensor_split")]
    assert engine in problems[0].reason


@pytest.mark.parametrize("engine", ["vllm", "tgi"])
def test_even_sharding_engines_accept_equal_ratios(engine: str) -> None:
    assert validate_masks([gpu_pool(devices=(0, 1), split=(0.5, 0.5), engine=engine)], None) == []


def test_an_unknown_engine_is_refused() -> None:
    assert fields(validate_masks([gpu_pool(engine="triton")], FOUR_GPUS)) == [("p", "engine")]


# --- CPU pools ------------------------------------------------------------------------------------


def test_oc_pool_3012_a_cpu_pool_with_no_devices_is_valid() -> None:
    assert validate_masks([cpu_pool()], FOUR_GPUS) == []


def test_oc_pool_3012_a_cpu_pool_naming_gpus_is_refused() -> None:
    problems = validate_masks([cpu_pool(devices=(0,))], FOUR_GPUS)
    assert fields(problems) == [("c", "cpu")]


def test_a_cpu_pool_with_a_split_is_refused() -> None:
    assert fields(validate_masks([cpu_pool(split=(1.0,))], None)) == [("c", "tensor_split")]


def test_a_cpu_pool_does_not_claim_gpus_against_other_pools() -> None:
    requests = [cpu_pool("c"), gpu_pool("g", (0,))]
    assert validate_masks(requests, FOUR_GPUS) == []


# --- launch plans ---------------------------------------------------------------------------------


def test_oc_pool_3020_llamacpp_plan_on_mask_2_3_renumbers_devices_after_the_remap() -> None:
    plan = plan_launch(gpu_pool(devices=(2, 3), split=(0.6, 0.4)), 4096, FOUR_GPUS, None, slots=1)
    assert plan.env["CUDA_VISIBLE_DEVICES"] == "2,3"
    assert plan.visible_devices == (2, 3)
    assert plan.engine_flags == (
        "--device",
        "CUDA0,CUDA1",
        "-ngl",
        "all",
        "--fit",
        "off",
        "--tensor-split",
        "0.6,0.4",
        "-c",
        "4096",
    )


def test_gpu_plan_numbers_cuda_devices_like_nvml() -> None:
    plan = plan_launch(gpu_pool(devices=(1,)), 2048, FOUR_GPUS, None, slots=1)
    assert plan.env["CUDA_DEVICE_ORDER"] == "PCI_BUS_ID"


def test_oc_pool_3012_llamacpp_gpu_plan_keeps_every_layer_on_the_gpu() -> None:
    flags = plan_launch(gpu_pool(devices=(0,)), 2048, FOUR_GPUS, None, slots=1).engine_flags
    assert flags[flags.index("-ngl") + 1] == "all"
    assert flags[flags.index("--fit") + 1] == "off"
    assert "--tensor-split" not in flags


def test_oc_pool_3012_cpu_plan_hides_every_gpu() -> None:
    plan = plan_launch(cpu_pool(), 2048, FOUR_GPUS, None, slots=1)
    assert plan.cpu is True
    assert plan.visible_devices == ()
    assert plan.env["CUDA_VISIBLE_DEVICES"] == ""
    assert plan.engine_flags == ("--device", "none", "-ngl", "0", "-c", "2048")
    assert plan.tensor_split is None


def test_plan_normalises_the_split() -> None:
    split = (0.7000001, 0.3)  # within tolerance, not exactly 1
    plan = plan_launch(gpu_pool(devices=(0, 1), split=split), 1024, FOUR_GPUS, None, slots=1)
    assert plan.tensor_split is not None
    assert math.isclose(sum(plan.tensor_split), 1.0, abs_tol=1e-12)


@pytest.mark.parametrize(
    ("engine", "expected"),
    [
        ("vllm", ("--tensor-parallel-size", "2", "--max-model-len", "8192")),
        ("tgi", ("--num-shard", "2", "--max-total-tokens", "8192")),
        ("stub", ("--ctx", "8192")),
    ],
)
def test_other_engines_get_their_own_flags(engine: str, expected: tuple[str, ...]) -> None:
    req = gpu_pool(devices=(0, 1), split=(0.5, 0.5), engine=engine)
    plan = plan_launch(req, 8192, FOUR_GPUS, None, slots=1)
    assert plan.engine_flags == expected
    assert plan.env["CUDA_VISIBLE_DEVICES"] == "0,1"


def test_plan_refuses_an_invalid_mask_with_a_placement_error() -> None:
    with pytest.raises(PlacementError) as info:
        plan_launch(gpu_pool(devices=(0, 9)), 2048, FOUR_GPUS, None, slots=1)
    assert info.value.code == "INVALID_PARAMS"
    assert info.value.pool_id == "p"
    assert "GPU 9" in str(info.value)


def test_plan_refuses_a_non_positive_context() -> None:
    with pytest.raises(PlacementError):
        plan_launch(gpu_pool(), 0, FOUR_GPUS, None, slots=1)


def test_plan_refuses_an_unknown_ctx_policy() -> None:
    with pytest.raises(ValueError, match="ctx_policy"):
        plan_launch(gpu_pool(), 1024, FOUR_GPUS, None, ctx_policy="shrug", slots=1)


# --- context caps ---------------------------------------------------------------------------------


def llama8b(train_ctx: int = 131072, weights_gib: int = 16) -> ModelShape:
    """32 layers, 8 KV heads of 128, f16 cache: 4096 KV bytes per layer per token."""
    return ModelShape(32, 8, 128, 2.0, train_ctx, weights_gib * GIB)


def test_context_without_a_shape_is_planned_as_requested() -> None:
    plan = plan_launch(gpu_pool(), 65536, FOUR_GPUS, None, slots=1)
    assert (plan.ctx, plan.ctx_requested, plan.ctx_capped_reason) == (65536, 65536, None)


def test_context_above_the_training_context_is_capped_to_it() -> None:
    plan = plan_launch(gpu_pool(), 131072, FOUR_GPUS, llama8b(train_ctx=2048), slots=1)
    assert (plan.ctx, plan.ctx_requested) == (2048, 131072)
    assert plan.ctx_capped_reason == "training context 2048"
    assert plan.engine_flags[-2:] == ("-c", "2048")


def test_context_above_the_training_context_is_refused_under_the_reject_policy() -> None:
    with pytest.raises(PlacementError, match="training context"):
        plan_launch(
            gpu_pool(), 4096, FOUR_GPUS, llama8b(train_ctx=2048), ctx_policy="reject", slots=1
        )


def test_orch_3052_context_is_capped_so_the_smallest_gpu_fits() -> None:
    inv = inventory(24, 80)
    margin = 512 * MIB
    plan = plan_launch(
        gpu_pool(devices=(0, 1), split=(0.5, 0.5)),
        131072,
        inv,
        llama8b(weights_gib=40),
        margin_bytes=margin,
        slots=1,
    )
    # GPU 0: 24 GiB - 20 GiB weights - margin, 16 layers x 4096 B per token.
    expected = (24 * GIB - 20 * GIB - margin) // (16 * 4096)
    assert expected < 131072
    assert plan.ctx == expected
    assert plan.ctx_capped_reason == f"smallest GPU 0 fits {expected}"
    assert plan.engine_flags[-1] == str(expected)


def test_oc_pool_3021_the_tightest_gpu_is_named_even_when_it_is_not_the_first() -> None:
    inv = GpuInventory(
        (GpuDevice(0, "big", 80 * GIB, 80 * GIB), GpuDevice(1, "busy", 80 * GIB, 12 * GIB))
    )
    plan = plan_launch(gpu_pool(devices=(0, 1), split=(0.5, 0.5)), 131072, inv, llama8b(), slots=1)
    assert plan.ctx_capped_reason is not None
    assert plan.ctx_capped_reason.startswith("smallest GPU 1 fits")


def test_context_that_does_not_fit_is_refused_under_the_reject_policy() -> None:
    with pytest.raises(PlacementError, match="GPU 0"):
        plan_launch(
            gpu_pool(devices=(0, 1), split=(0.5, 0.5)),
            131072,
            inventory(24, 80),
            llama8b(weights_gib=40),
            ctx_policy="reject",
            slots=1,
        )


def test_context_that_fits_is_not_capped() -> None:
    plan = plan_launch(gpu_pool(devices=(0,)), 8192, inventory(80), llama8b(), slots=1)
    assert (plan.ctx, plan.ctx_capped_reason) == (8192, None)


def test_when_not_even_the_weights_fit_the_context_is_left_for_preflight_to_refuse() -> None:
    plan = plan_launch(gpu_pool(devices=(0,)), 8192, inventory(8), llama8b(weights_gib=16), slots=1)
    assert (plan.ctx, plan.ctx_capped_reason) == (8192, None)


def test_cpu_pools_are_only_capped_by_the_training_context() -> None:
    plan = plan_launch(cpu_pool(), 8192, inventory(1), llama8b(train_ctx=4096), slots=1)
    assert (plan.ctx, plan.ctx_capped_reason) == (4096, "training context 4096")


def test_launch_plan_is_a_frozen_value() -> None:
    plan = plan_launch(gpu_pool(), 1024, FOUR_GPUS, None, slots=1)
    assert isinstance(plan, LaunchPlan)
    with pytest.raises(AttributeError):
        plan.ctx = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        plan.env["CUDA_VISIBLE_DEVICES"] = "0,1,2,3"  # type: ignore[index]
