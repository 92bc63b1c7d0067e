"""Before an engine starts: its launch plan, the preflight verdict and the model digest.

Owns the checks that run at every ``SPAWN`` before a process exists, and the reason to refuse
the start when one fails (the core then fails the preload with that cause):

* the GPUs to place the pool on, read afresh from the GPU view at every launch (NVML, or the
  simulated GPUs the config asks for): a GPU pool whose mask names a GPU the view lacks, or a
  host with no view, is refused with ``placement_invalid``, which is not retried (OC-GPU-9502,
  OC-GPU-9503); the static inventory serves ``plan`` and ``check-config``, not ``serve``;
* the launch plan (:func:`poolmgr.assemble.plan_pool`) and, when the model's shape is known, the
  preflight verdict: a plan that does not fit fails with ``vram_insufficient`` or
  ``host_ram_insufficient`` and no process is started (OC-POOL-3002); a GPU pool never falls
  back to the CPU for want of an inventory (OC-POOL-3012, OC-POOL-3017);
* the context the launch goes ahead with, per slot and in total, told to whoever listens
  (the registry's snapshot, OC-POOL-3070);
* the SHA-256 of a local model file (:class:`~poolmgr.io.digest.DigestCache`), reported after
  the preload (OC-POOL-3050), and checked against a pinned digest before the engine reads the
  file (``digest_mismatch``, OC-POOL-3051).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections.abc import Callable

import psutil

from poolmgr.assemble import plan_pool
from poolmgr.core.config import Config, PoolConfig
from poolmgr.core.gpu_truth import serve_refusal
from poolmgr.core.inventory import GpuInventory
from poolmgr.core.vocab import Cause
from poolmgr.io.digest import DigestCache, verify
from poolmgr.runtime.gpu_view import GpuSource
from poolmgr.runtime.incarnation import Incarnation

__all__ = ["LaunchChecks", "Refusal"]

Refusal = tuple[Cause, str]
"""Why an engine is not started: the cause and a message for the operator."""

_PREFLIGHT_CAUSES = frozenset({Cause.VRAM_INSUFFICIENT, Cause.HOST_RAM_INSUFFICIENT})


class LaunchChecks:
    """Plans and checks each launch; what it learns (plan, digest) goes on the incarnation."""

    def __init__(
        self,
        config: Config,
        gpus: GpuSource,
        digests: DigestCache,
        *,
        on_ctx: Callable[[str, int, int], None] | None = None,
    ) -> None:
        """``on_ctx(pool_id, per_slot, total)`` hears the context of every launch that goes
        ahead (the registry records it for the pool's snapshot, OC-POOL-3070)."""
        self.config = config
        self._gpus = gpus
        self._digests = digests
        self._on_ctx = on_ctx

    async def prepare(self, configured: PoolConfig, inc: Incarnation) -> Refusal | None:
        """Placement, preflight and digest; the reason not to start, or ``None``.

        ``configured`` is the pool as configured; ``inc.model_ref`` may differ (a reload).
        """
        pool = dataclasses.replace(configured, model=inc.model_ref)
        inventory, missing = await self._current_inventory(pool)
        if missing is not None:
            return Cause.PLACEMENT_INVALID, missing
        host_free = int(psutil.virtual_memory().available)
        planned = await asyncio.to_thread(plan_pool, pool, inventory, host_free)
        refused = planned.problem_cause
        if refused is Cause.MODEL_LOAD_FAILED:
            return refused, f"model load refused before launch: {planned.problem}"
        if refused is not None and planned.plan is None:
            return refused, f"cannot plan the launch of pool {pool.id}: {planned.problem}"
        verdict = planned.verdict
        if verdict is not None and not verdict.fits:
            short = verdict.cause
            return (short if short in _PREFLIGHT_CAUSES else Cause.PRELOAD_FAILED), verdict.message
        if refused is not None:
            # The model's shape is known but preflight refused the plan (no usable GPU path).
            return refused, planned.problem or "preflight refused the plan"
        problem = await self._check_digest(configured, inc)
        if problem is not None:
            return problem
        inc.plan = planned.plan
        if self._on_ctx is not None and planned.plan is not None:
            self._on_ctx(pool.id, planned.plan.ctx_per_slot, planned.plan.ctx_total)
        return None

    async def _current_inventory(self, pool: PoolConfig) -> tuple[GpuInventory | None, str | None]:
        """The GPUs to place ``pool`` on, read afresh; or why its GPUs are missing (OC-GPU-9502).

        A CPU pool needs no GPU: it is planned on the static inventory, if any.
        """
        if pool.cpu:
            return self.config.gpu_inventory(), None
        view = await self._gpus.view()
        missing = serve_refusal(pool.id, pool.devices, view)
        if missing is not None or view is None:
            return None, missing
        return view.inventory(), None

    async def _check_digest(self, configured: PoolConfig, inc: Incarnation) -> Refusal | None:
        pinned = configured.model_digest if inc.model_ref == configured.model else None
        if os.path.isfile(inc.model_ref):
            try:
                inc.digest = await asyncio.to_thread(self._digests.digest, inc.model_ref)
            except OSError as exc:
                return Cause.MODEL_LOAD_FAILED, f"cannot read model {inc.model_ref}: {exc}"
        if pinned is None:
            return None
        if inc.digest is None:
            return (
                Cause.DIGEST_MISMATCH,
                f"model {inc.model_ref} is pinned to {pinned} but is not a local file whose "
                "digest can be checked",
            )
        if not verify(pinned, inc.digest):
            return (
                Cause.DIGEST_MISMATCH,
                f"model {inc.model_ref} has digest {inc.digest}, the config pins {pinned}",
            )
        return None
