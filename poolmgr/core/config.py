"""The config model: what an accepted config means, as frozen typed values.

Owns the shape of a config once it has passed every check (:mod:`poolmgr.config` makes these
values, and is the only place that does). A pool's restart behaviour is held as the core's own
policy objects, :class:`~poolmgr.core.backoff.BackoffPolicy` and
:class:`~poolmgr.core.breaker.BreakerPolicy` (OC-POOL-3011), so what the config says is exactly
what the lifecycle machine runs with; engines and context policies are the core's enums
(:class:`~poolmgr.core.vocab.Engine`, :class:`~poolmgr.core.vocab.CtxPolicy`) from the file to the
launch plan. Serves OC-CFG-5001 (the typed result of a validated config), OC-CFG-5004 (the auth
token's source, never the token), OC-POOL-3017/3020/3021/3022 (a pool's placement request) and
OC-POOL-3051 (the optional model digest pin).

No field has a default here: every default lives in the JSON Schema
(``poolmgr/schema/config.schema.json``) and reaches these classes through the schema-filled
document (``poolmgr.config.build``; ``tests/unit/test_config.py`` proves the two agree). Pure:
stdlib and the core only, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from poolmgr.core.admission import TenantPolicy
from poolmgr.core.backoff import BackoffPolicy
from poolmgr.core.breaker import BreakerPolicy
from poolmgr.core.inventory import GpuDevice, GpuInventory, InventorySource
from poolmgr.core.placement import MaskRequest
from poolmgr.core.vocab import CtxPolicy, Engine

__all__ = [
    "AdmissionConfig",
    "AuthConfig",
    "Config",
    "GpuSpec",
    "ManagerConfig",
    "PoolConfig",
    "ProbePolicy",
    "StubFaults",
]


@dataclass(frozen=True)
class ProbePolicy:
    """Health probing: fast while the engine starts, slow once Ready (OC-POOL-3016)."""

    starting_interval_ms: int
    ready_interval_ms: int
    timeout_ms: int
    failure_threshold: int
    """Consecutive failed probes of a Ready engine that count as a failure."""


@dataclass(frozen=True)
class StubFaults:
    """Fault knobs of the built-in stub engine (``None`` = that fault never happens)."""

    preload_delay_ms: int
    fail_preload: str | None
    """When set, preload fails with this message."""
    crash_after_ms: int | None
    cuda_error_after_ms: int | None
    hang_after_ms: int | None
    cpu_fallback: bool
    """The stub reports that it fell back to the CPU (to exercise OC-POOL-3012)."""
    fork_child: bool
    """The stub starts a child in a session of its own (to exercise OC-POOL-3064)."""
    silent_cpu_fallback: bool
    """The stub serves from the CPU without saying so: it claims no GPU memory and prints no
    warning (only the post-launch GPU check can catch it, OC-GPU-9504)."""
    claim_gpus: tuple[int, ...] | None
    """Physical GPU indices the stub claims instead of its mask (an engine on the wrong GPU);
    ``None``: it claims its mask."""


@dataclass(frozen=True)
class AdmissionConfig:
    """A pool's admission queue (OC-ADM-9001, OC-ADM-9002, OC-ADM-9017)."""

    queue_depth: int
    max_wait_ms: int


@dataclass(frozen=True)
class PoolConfig:
    """One pool as configured."""

    id: str
    engine: Engine
    model: str
    devices: tuple[int, ...]
    """The device mask: GPU indices, in split order."""
    model_digest: str | None
    """Optional ``sha256:<hex>`` pin checked before load (ORCH-3037)."""
    cpu: bool
    shared_devices: bool
    tensor_split: tuple[float, ...] | None
    ctx: int
    ctx_policy: CtxPolicy
    slots: int
    port: int
    """0 = pick a free port at launch."""
    engine_bin: str | None
    engine_args: tuple[str, ...]
    backoff: BackoffPolicy
    breaker: BreakerPolicy
    probe: ProbePolicy
    drain_deadline_ms: int
    lease_ttl_ms: int
    admission: AdmissionConfig
    stop_grace_ms: int
    """SIGTERM to SIGKILL when the engine is stopped (OC-POOL-3031; the spec's 10 s)."""
    preload_timeout_ms: int
    """How long an engine may take to become ready before the start counts as failed."""
    stub: StubFaults | None

    def mask_request(self) -> MaskRequest:
        """This pool's placement request, as ``placement.validate_masks`` takes it."""
        return MaskRequest(
            pool_id=self.id,
            engine=self.engine,
            devices=self.devices,
            cpu=self.cpu,
            tensor_split=self.tensor_split,
            shared=self.shared_devices,
        )


@dataclass(frozen=True)
class GpuSpec:
    """One GPU of a static inventory."""

    index: int
    name: str
    total_bytes: int
    free_bytes: int

    def device(self) -> GpuDevice:
        return GpuDevice(self.index, self.name, self.total_bytes, self.free_bytes)


@dataclass(frozen=True)
class AuthConfig:
    """Where the bearer token comes from; exactly one field is set (ORCH-3035)."""

    token_env: str | None
    token_file: str | None


@dataclass(frozen=True)
class ManagerConfig:
    """The manager process itself."""

    host: str
    port: int
    heartbeat_stale_ms: int
    auth: AuthConfig | None
    """``None``: no authentication."""
    read_requires_auth: bool
    log_dir: str
    engine_host: str
    """Where engines listen (OC-DEP-8018); a wildcard address lets other hosts reach them."""
    engine_advertise_host: str | None
    """The host ``engine_url`` names; ``None``: :attr:`engine_host` itself."""
    start_concurrency: int
    """How many pools the startup wave starts at once (OC-PERF-9108)."""
    allow_test_engines: bool
    """Whether pools may use the in-process test engine (OC-PERF-9110)."""
    simulate_gpus: bool
    """The static inventory stands in for NVML at ``serve`` (OC-GPU-9508)."""


@dataclass(frozen=True)
class Config:
    """A whole accepted config."""

    manager: ManagerConfig
    inventory: tuple[GpuSpec, ...] | None
    """The static GPU inventory, or ``None`` when the config has none (use NVML)."""
    tenants: tuple[TenantPolicy, ...]
    """The configured tenants (OC-ADM-9017); the ``default`` tenant is implicit."""
    pools: tuple[PoolConfig, ...]
    source: str
    """Where the config came from (a file path, or ``<default>``)."""

    def gpu_inventory(self) -> GpuInventory | None:
        """The static inventory as :class:`poolmgr.core.inventory.GpuInventory`, if any."""
        if self.inventory is None:
            return None
        return GpuInventory(
            tuple(g.device() for g in self.inventory), source=InventorySource.STATIC
        )

    def pool(self, pool_id: str) -> PoolConfig:
        """The pool called ``pool_id``; ``KeyError`` when there is none."""
        for pool in self.pools:
            if pool.id == pool_id:
                return pool
        raise KeyError(pool_id)
