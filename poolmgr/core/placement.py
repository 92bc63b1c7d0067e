"""Placement: which GPUs a pool may use, how they are split, and how the engine is told.

Decides, before anything is launched:

* whether each pool's device mask is valid against the GPU inventory, and that no GPU sits in
  two masks unless both pools share it on purpose (OC-POOL-3020 / ORCH-3011);
* that a multi-GPU mask carries explicit per-GPU ratios: never a silent even split
  (OC-POOL-3021 / ORCH-3012), and that engines which cannot split unevenly are not asked to;
* that a GPU pool only ever sees its own GPUs and runs GPU-only, while a CPU pool, which exists
  only when the config says ``cpu: true``, sees no GPU at all (OC-POOL-3012);
* the context to launch with, per slot (one request's context): capped at the training
  context (the engine would cap it anyway) and at what fits on the smallest GPU of the split
  for all the pool's slots together (OC-POOL-3021 / ORCH-3052, OC-POOL-3070), or refused when
  the policy says so;
* what the engine is told about that context: llama.cpp and the stub split ``-c`` across their
  slots, so they get ``ctx x slots``; vLLM's ``--max-model-len`` and TGI's
  ``--max-total-tokens`` are per sequence already, so they get ``ctx`` (OC-POOL-3071).

The result is a :class:`LaunchPlan`: the environment (``CUDA_VISIBLE_DEVICES``) and the engine
flags (for llama.cpp ``--device CUDAn ... -ngl all --fit off``, so layers can never silently
move to the CPU). Pure: no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from poolmgr.core.errors import PlacementError
from poolmgr.core.inventory import GpuInventory
from poolmgr.core.kvcap import ModelShape, max_ctx_per_device
from poolmgr.core.vocab import CtxPolicy, Engine

RATIO_TOLERANCE = 1e-6
"""How far a split's ratios may sum from 1."""


class ProblemField(StrEnum):
    DEVICES = "devices"
    TENSOR_SPLIT = "tensor_split"
    CPU = "cpu"
    ENGINE = "engine"


@dataclass(frozen=True)
class MaskRequest:
    """One pool's placement request, as the config states it."""

    pool_id: str
    engine: str
    devices: tuple[int, ...]
    cpu: bool
    tensor_split: tuple[float, ...] | None
    shared: bool = False


@dataclass(frozen=True)
class PlacementProblem:
    """Why a request cannot be placed; ``field`` names the config field at fault."""

    pool_id: str
    field: str
    reason: str

    def __str__(self) -> str:
        return f"pool {self.pool_id}: {self.field}: {self.reason}"


def _fmt(values: Sequence[float]) -> str:
    return "[" + ", ".join(f"{v:g}" for v in values) + "]"


def _gpu_problems(req: MaskRequest, inventory: GpuInventory | None) -> list[PlacementProblem]:
    problems: list[PlacementProblem] = []

    def add(field: ProblemField, reason: str) -> None:
        problems.append(PlacementProblem(req.pool_id, field, reason))

    if not req.devices:
        add(
            ProblemField.DEVICES,
            "a GPU pool needs at least one GPU in its mask (set cpu: true for a CPU pool)",
        )
        return problems
    negative = sorted({d for d in req.devices if d < 0})
    if negative:
        add(ProblemField.DEVICES, f"GPU indices must be >= 0, got {negative}")
    duplicates = sorted({d for d in req.devices if req.devices.count(d) > 1})
    if duplicates:
        add(ProblemField.DEVICES, f"GPU {duplicates} listed more than once in the mask")
    if inventory is not None:
        known = sorted(inventory.indices())
        for index in dict.fromkeys(d for d in req.devices if d >= 0):
            if index not in inventory.indices():
                add(
                    ProblemField.DEVICES,
                    f"GPU {index} is not in the inventory ({inventory.source}: {known})",
                )

    split = req.tensor_split
    n = len(req.devices)
    if split is None:
        if n > 1:
            add(
                ProblemField.TENSOR_SPLIT,
                f"a mask of {n} GPUs needs explicit tensor_split ratios, one per GPU "
                "(there is no silent even split)",
            )
        return problems
    if len(split) != n:
        add(ProblemField.TENSOR_SPLIT, f"{len(split)} ratios {_fmt(split)} for {n} GPUs")
        return problems
    if any(not math.isfinite(r) or r <= 0 for r in split):
        add(ProblemField.TENSOR_SPLIT, f"every ratio must be finite and > 0, got {_fmt(split)}")
        return problems
    total = math.fsum(split)
    if abs(total - 1.0) > RATIO_TOLERANCE:
        if n == 1:
            add(ProblemField.TENSOR_SPLIT, f"a single-GPU split must be [1.0], got {_fmt(split)}")
        else:
            add(ProblemField.TENSOR_SPLIT, f"ratios {_fmt(split)} sum to {total:g}, not 1")
        return problems
    engine = _engine_or_none(req.engine)
    if (
        engine is not None
        and not engine.splits_unevenly
        and max(split) - min(split) > RATIO_TOLERANCE
    ):
        add(
            ProblemField.TENSOR_SPLIT,
            f"engine {engine} shards evenly and cannot use uneven ratios {_fmt(split)}",
        )
    return problems


def _cpu_problems(req: MaskRequest) -> list[PlacementProblem]:
    problems: list[PlacementProblem] = []
    if req.devices:
        problems.append(
            PlacementProblem(
                req.pool_id,
                ProblemField.CPU,
                f"a CPU pool (cpu: true) must not name GPUs, got devices {list(req.devices)}",
            )
        )
    if req.tensor_split is not None:
        problems.append(
            PlacementProblem(
                req.pool_id,
                ProblemField.TENSOR_SPLIT,
                f"a CPU pool has no GPU split, got tensor_split {_fmt(req.tensor_split)}",
            )
        )
    return problems


def _engine_or_none(name: str) -> Engine | None:
    try:
        return Engine(name)
    except ValueError:
        return None


def validate_masks(
    requests: Sequence[MaskRequest], inventory: GpuInventory | None
) -> list[PlacementProblem]:
    """Every reason the requests cannot be placed together, in request order ([] = all fine).

    Without an inventory the indices are not checked against a host (the caller decides whether
    that is acceptable); all other rules still apply.
    """
    problems: list[PlacementProblem] = []
    owners: dict[int, list[MaskRequest]] = {}
    for req in requests:
        if _engine_or_none(req.engine) is None:
            known = ", ".join(e.value for e in Engine)
            problems.append(
                PlacementProblem(
                    req.pool_id,
                    ProblemField.ENGINE,
                    f"unknown engine {req.engine!r} (known: {known})",
                )
            )
        if req.cpu:
            problems.extend(_cpu_problems(req))
            continue
        problems.extend(_gpu_problems(req, inventory))
        for index in dict.fromkeys(req.devices):
            for earlier in owners.get(index, []):
                if not (earlier.shared and req.shared):
                    problems.append(
                        PlacementProblem(
                            req.pool_id,
                            ProblemField.DEVICES,
                            f"GPU {index} is already in the mask of pool {earlier.pool_id}; "
                            "two pools may hold one GPU only when both set shared_devices: true",
                        )
                    )
            owners.setdefault(index, []).append(req)
    return problems


@dataclass(frozen=True)
class LaunchPlan:
    """How to start one pool's engine: what it sees, the flags it gets, the context it uses.

    ``ctx`` and ``ctx_requested`` are per slot (one request's context); the engine holds
    :attr:`ctx_total` tokens of KV cache for its ``slots`` sequences (OC-POOL-3070).
    """

    pool_id: str
    engine: str
    cpu: bool
    visible_devices: tuple[int, ...]
    env: Mapping[str, str]
    engine_flags: tuple[str, ...]
    tensor_split: tuple[float, ...] | None
    ctx: int
    ctx_requested: int
    ctx_capped_reason: str | None
    slots: int = 1

    @property
    def ctx_per_slot(self) -> int:
        """The context one request gets (the planned ``ctx``)."""
        return self.ctx

    @property
    def ctx_total(self) -> int:
        """The context of all slots together: what the KV cache is sized for."""
        return self.ctx * self.slots

    def ctx_phrase(self) -> str:
        """``ctx 4096`` for one slot; ``ctx 2048 per slot x 2 slots = 4096 total`` otherwise."""
        return ctx_phrase(self.ctx, self.slots)


def ctx_phrase(per_slot: int, slots: int, *, always_both: bool = False) -> str:
    """Both context figures in words (one figure for one slot, unless ``always_both``)."""
    if slots == 1 and not always_both:
        return f"ctx {per_slot}"
    if slots == 1:
        return f"ctx {per_slot} per slot \u00d7 1 slot = {per_slot} total"
    return f"ctx {per_slot} per slot \u00d7 {slots} slots = {per_slot * slots} total"


def _ratio_flag(ratios: Sequence[float]) -> str:
    return ",".join(f"{r:.6g}" for r in ratios)


def _engine_flags(
    engine: Engine,
    cpu: bool,
    n_devices: int,
    split: tuple[float, ...] | None,
    ctx: int,
    slots: int,
) -> tuple[str, ...]:
    """The placement and context flags; ``ctx`` is per slot (OC-POOL-3026, OC-POOL-3071)."""
    total = ctx * slots  # llama.cpp (and the stub) split -c evenly across their -np slots
    if engine is Engine.LLAMACPP:
        if cpu:
            return ("--device", "none", "-ngl", "0", "-c", str(total))
        # After CUDA_VISIBLE_DEVICES the engine numbers the visible GPUs from 0 in mask order.
        names = ",".join(f"CUDA{i}" for i in range(n_devices))
        flags = ["--device", names, "-ngl", "all", "--fit", "off"]
        if split is not None:
            flags += ["--tensor-split", _ratio_flag(split)]
        return (*flags, "-c", str(total))
    if engine is Engine.VLLM:
        # --max-model-len bounds one sequence (prompt + output): per slot already.
        return ("--tensor-parallel-size", str(max(n_devices, 1)), "--max-model-len", str(ctx))
    if engine is Engine.TGI:
        # --max-total-tokens bounds one request (input + output): per slot already.
        return ("--num-shard", str(max(n_devices, 1)), "--max-total-tokens", str(ctx))
    return ("--ctx", str(total))


def _capped_ctx(
    req: MaskRequest,
    ctx: int,
    inventory: GpuInventory | None,
    shape: ModelShape | None,
    split: tuple[float, ...] | None,
    policy: CtxPolicy,
    margin_bytes: int,
    slots: int,
) -> tuple[int, str | None]:
    """The context per slot to run with and why it was capped (training context, then the
    smallest GPU, which must hold the KV cache of every slot)."""
    planned = ctx
    reason: str | None = None
    if shape is not None and planned > shape.train_ctx:
        if policy is CtxPolicy.REJECT:
            raise PlacementError(
                f"pool {req.pool_id}: ctx {ctx} exceeds the training context {shape.train_ctx}",
                pool_id=req.pool_id,
            )
        planned = shape.train_ctx
        reason = f"training context {shape.train_ctx}"

    if shape is not None and inventory is not None and not req.cpu:
        devices = [inventory.get(i) for i in req.devices]
        present = [d for d in devices if d is not None]
        ratios = split if split is not None else (1.0,)
        caps = max_ctx_per_device(shape, ratios, present, margin_bytes, slots=slots)
        fit = min(caps)
        if 1 <= fit < planned:
            tightest = present[caps.index(fit)].index
            per_slot = "" if slots == 1 else f" per slot \u00d7 {slots} slots"
            if policy is CtxPolicy.REJECT:
                raise PlacementError(
                    f"pool {req.pool_id}: ctx {planned} does not fit; GPU {tightest} "
                    f"fits at most {fit} tokens{per_slot}",
                    pool_id=req.pool_id,
                )
            planned = fit
            reason = f"smallest GPU {tightest} fits {fit}{per_slot}"
    return planned, reason


def plan_launch(
    req: MaskRequest,
    ctx: int,
    inventory: GpuInventory | None,
    shape: ModelShape | None,
    *,
    slots: int,
    ctx_policy: CtxPolicy = CtxPolicy.CAP,
    margin_bytes: int = 512 * 2**20,
) -> LaunchPlan:
    """Turn a valid request into a launch plan; raise :class:`PlacementError` otherwise.

    ``ctx`` is the context per slot and ``slots`` the sequences the engine serves at once; the
    KV cache is sized for ``ctx x slots`` tokens (OC-POOL-3070). The context is capped at the
    training context (``shape``) and, for GPU pools with an inventory, at what fits on every
    GPU of the split (weights share + KV share + margin within free bytes). With
    ``ctx_policy=CtxPolicy.REJECT`` exceeding either limit raises instead. When not even the
    weights fit, the context is left alone: that shortfall is preflight's verdict
    (OC-POOL-3002), not a placement error.
    """
    problems = validate_masks([req], inventory)
    if problems:
        raise PlacementError("; ".join(str(p) for p in problems), pool_id=req.pool_id)
    if ctx < 1:
        raise PlacementError(
            f"pool {req.pool_id}: ctx must be >= 1, got {ctx}", pool_id=req.pool_id
        )
    if slots < 1:
        raise PlacementError(
            f"pool {req.pool_id}: slots must be >= 1, got {slots}", pool_id=req.pool_id
        )
    try:
        policy = CtxPolicy(ctx_policy)  # a guard for untyped callers; a no-op for a CtxPolicy
    except ValueError:
        raise ValueError(f"ctx_policy must be 'cap' or 'reject', got {ctx_policy!r}") from None
    engine = Engine(req.engine)

    split: tuple[float, ...] | None = None
    if not req.cpu and len(req.devices) > 1 and req.tensor_split is not None:
        total = math.fsum(req.tensor_split)
        split = tuple(r / total for r in req.tensor_split)

    planned, reason = _capped_ctx(req, ctx, inventory, shape, split, policy, margin_bytes, slots)

    visible = () if req.cpu else tuple(req.devices)
    env = MappingProxyType(
        {
            "CUDA_VISIBLE_DEVICES": ",".join(str(i) for i in visible),
            # Number GPUs as NVML and nvidia-smi do, so that the mask means the same card.
            "CUDA_DEVICE_ORDER": "PCI_BUS_ID",
        }
    )
    return LaunchPlan(
        pool_id=req.pool_id,
        engine=engine,
        cpu=req.cpu,
        visible_devices=visible,
        env=env,
        engine_flags=_engine_flags(engine, req.cpu, len(visible), split, planned, slots),
        tensor_split=split,
        ctx=planned,
        ctx_requested=ctx,
        ctx_capped_reason=reason,
        slots=slots,
    )
