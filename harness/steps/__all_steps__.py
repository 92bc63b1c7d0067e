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
    gpu,  # @gpu: NVML
    leases,  # slot leases
    lifecycle,  # pools: start, preload, faults, probes
    lifecycle_drain,  # pools: drain and reload
    lifecycle_states,  # pools brought into each state, late events, what they report
    live,  # @process: a real manager (loads the HTTP server)
    metrics,  # metric label budgets
    placement,  # GPU masks, launch plans, KV sizing, preflight
    secrets,  # secrets canary against a live manager (loads the HTTP server)
)

__all__ = [
    "backoff",
    "breaker",
    "config",
    "gates",
    "gpu",
    "leases",
    "lifecycle",
    "lifecycle_drain",
    "lifecycle_states",
    "live",
    "metrics",
    "placement",
    "secrets",
]
