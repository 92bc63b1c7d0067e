"""Imports every step module, so the step table in :mod:`harness.registry` is complete.

behave's ``__all_steps__`` pattern: this module only imports (the runners import it); the step
modules register their steps as they are imported. Serves OC-BDD-7006 (one table for both
runners).
"""

from harness.steps import (
    backoff,  # the restart backoff on its own
    breaker,  # circuit breaker and restart storms
    config,  # config validation
    gates,  # BDD gates and the OpenAPI drift check
    gguf_model,  # the model file: its GGUF header, damaged or not, and the shape read
    gpu,  # @gpu: NVML
    leases,  # slot leases
    lifecycle,  # pools: start, preload, faults, probes, drain, reload
    live,  # @process: a real manager (loads the HTTP server)
    metrics,  # metric label budgets
    placement,  # GPU masks, launch plans, KV sizing, preflight
    placement_plans,  # each engine's flags, exact placement refusals, per-GPU memory split
    secrets,  # secrets canary against a live manager (loads the HTTP server)
)

__all__ = [
    "backoff",
    "breaker",
    "config",
    "gates",
    "gguf_model",
    "gpu",
    "leases",
    "lifecycle",
    "live",
    "metrics",
    "placement",
    "placement_plans",
    "secrets",
]
