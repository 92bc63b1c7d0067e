"""The closed vocabularies the whole pool manager speaks: causes, engines, policies, reasons.

``Cause`` is the vocabulary for ``last_error.cause`` (OC-POOL-3003).

Every failure the pool manager records is classified into one of these values so that
operators, metrics and scenarios can tell a VRAM OOM from a host OOM (ORCH-3039), a driver
error from a model-load failure (ORCH-3038), and a silent CPU fallback (OC-POOL-3012) from
everything else.
"""

from __future__ import annotations

from enum import StrEnum


class Cause(StrEnum):
    PRELOAD_FAILED = "preload_failed"
    MODEL_LOAD_FAILED = "model_load_failed"
    DIGEST_MISMATCH = "digest_mismatch"
    VRAM_INSUFFICIENT = "vram_insufficient"
    HOST_RAM_INSUFFICIENT = "host_ram_insufficient"
    VRAM_OOM = "vram_oom"
    HOST_OOM = "host_oom"
    DRIVER_ERROR = "driver_error"
    DRIVER_RESET = "driver_reset"
    CPU_SPILLOVER = "cpu_spillover"
    PORT_IN_USE = "port_in_use"
    KILLED_BY_SIGNAL = "killed_by_signal"
    ENGINE_EXITED = "engine_exited"
    PROBE_FAILED = "probe_failed"
    PROBE_TIMEOUT = "probe_timeout"
    HEARTBEAT_STALE = "heartbeat_stale"
    DRAIN_DEADLINE = "drain_deadline"
    RELOAD_FAILED = "reload_failed"
    PLACEMENT_INVALID = "placement_invalid"
    CIRCUIT_OPEN = "circuit_open"
    PRELOAD_TIMEOUT = "preload_timeout"

    @property
    def is_driver_fault(self) -> bool:
        """True for causes that mean the GPU driver or device misbehaved (ORCH-3038/3053)."""
        return self in (Cause.DRIVER_ERROR, Cause.DRIVER_RESET)

    @property
    def is_permanent(self) -> bool:
        """True for causes that waiting cannot fix: the pool fails, no restart (OC-GPU-9503)."""
        return self is Cause.PLACEMENT_INVALID


class Engine(StrEnum):
    LLAMACPP = "llamacpp"
    VLLM = "vllm"
    TGI = "tgi"
    STUB = "stub"
    TEST_INPROC = "test-inproc"
    """A test engine served inside the manager (no process; OC-PERF-9110): for scale tests,
    refused unless ``manager.allow_test_engines`` is true."""

    @property
    def is_test(self) -> bool:
        """Whether this engine is a test double that every report must name as such."""
        return self is Engine.TEST_INPROC

    @property
    def splits_unevenly(self) -> bool:
        """vLLM and TGI shard tensors evenly; only llama.cpp (and the stub) take ratios."""
        return self in (Engine.LLAMACPP, Engine.STUB)


class CtxPolicy(StrEnum):
    """What to do when the requested context is more than the model or the GPUs allow."""

    CAP = "cap"
    REJECT = "reject"


class DrainReason(StrEnum):
    API_REQUEST = "api_request"
    DRIVER_ERROR = "driver_error"
    RELOAD = "reload"
    SHUTDOWN = "shutdown"
