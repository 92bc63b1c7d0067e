"""Imports every step module, so the step table in :mod:`harness.registry` is complete.

behave's ``__all_steps__`` pattern: this module only imports (the runners import it); the step
modules register their steps as they are imported. Serves OC-BDD-7006 (one table for both
runners).
"""

from harness.steps import (
    admission,  # admission on its own: queued lease requests, tiers, tenants, deadlines
    admission_live,  # @process: long polls, disconnects and drains against a live manager
    backoff,  # the restart backoff on its own
    breaker,  # circuit breaker and restart storms
    classify,  # engine output and exits read into failure causes
    config,  # config validation
    container,  # the container image and poolmgr as PID 1
    drain_cmd,  # @process: poolmgr drain
    gates,  # BDD gates and the OpenAPI drift check
    gguf_model,  # the model file: its GGUF header, damaged or not, and the shape read
    gpu,  # @gpu: NVML
    gpu_check,  # @process: bench/gpu/run.sh --check, with NVML hidden
    gpu_cuda,  # @gpu @process: a real manager with the CUDA llama-server (bench/gpu/run.sh)
    gpu_live,  # @process: GPU truth at serve (simulated GPUs or none; loads the HTTP server)
    gpu_truth,  # a GPU pool's mask and its engine against the driver's view (OC-GPU-95xx)
    gpu_view,  # the NVML view read from recorded NVML answers
    kubernetes,  # the Kubernetes manifests, rendered by kustomize
    kubernetes_pod,  # @process: the pod they run: privileges, GPU nodes, monitoring, engines
    leases,  # slot leases
    leases_live,  # @process: renewal, input edges, drain default (loads the HTTP server)
    leases_table,  # one pool's lease bookkeeping on its own
    lifecycle,  # pools: start, preload, faults, probes
    lifecycle_drain,  # pools: drain and reload
    lifecycle_live,  # @process: engine process trees, preload deadlines (loads the HTTP server)
    lifecycle_states,  # pools brought into each state, late events, what they report
    live,  # @process: a real manager (loads the HTTP server)
    metrics,  # metric label budgets
    placement,  # GPU masks, launch plans, KV sizing
    placement_plans,  # each engine's flags, exact placement refusals, per-GPU memory split
    plan_logs,  # the plan command and the log lines, against a live manager
    plane_live,  # @process: kept-alive connections, the log writer at a stop
    preflight,  # the memory verdict before a launch
    registry_entry,  # the registry as its readers see it: entries, listing, observers
    retry_breaker,  # the circuit breaker on its own
    retry_settings,  # restart policy settings refused or accepted
    scale_config,  # how many pools one manager takes, and the in-process test engine
    secrets,  # secrets canary against a live manager (loads the HTTP server)
    startup_live,  # @process: probes while pools start, the startup wave
    startup_wave,  # the startup wave on its own: which pools start when, and when it is done
    status,  # @process: poolmgr status and the health body's shape
    tenants_config,  # tenants and admission queues in the config
)

__all__ = [
    "admission",
    "admission_live",
    "backoff",
    "breaker",
    "classify",
    "config",
    "container",
    "drain_cmd",
    "gates",
    "gguf_model",
    "gpu",
    "gpu_check",
    "gpu_cuda",
    "gpu_live",
    "gpu_truth",
    "gpu_view",
    "kubernetes",
    "kubernetes_pod",
    "leases",
    "leases_live",
    "leases_table",
    "lifecycle",
    "lifecycle_drain",
    "lifecycle_live",
    "lifecycle_states",
    "live",
    "metrics",
    "placement",
    "placement_plans",
    "plan_logs",
    "plane_live",
    "preflight",
    "registry_entry",
    "retry_breaker",
    "retry_settings",
    "scale_config",
    "secrets",
    "startup_live",
    "startup_wave",
    "status",
    "tenants_config",
]
