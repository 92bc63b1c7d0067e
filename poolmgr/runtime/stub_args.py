"""The stub engine's command-line flags for a pool's fault knobs (``stub:`` in the config).

Decides how each :class:`~poolmgr.core.config.StubFaults` knob reaches
``python -m poolmgr.runtime.stub_engine``: the timed faults (OC-POOL-3010/3016), the CPU
fallback with its warning lines (OC-POOL-3012) or without them (``--silent-cpu-fallback``: the
engine that falls back without saying so, which only the post-launch GPU check catches,
OC-GPU-9504), the GPUs it claims instead of its mask (``--claim-gpus``: an engine on the wrong
GPU) and the escaping child (OC-POOL-3064). Moved out of :mod:`.engines` (at its size limit).
"""

from __future__ import annotations

from poolmgr.core.config import StubFaults

__all__ = ["stub_fault_args"]


def stub_fault_args(faults: StubFaults | None) -> list[str]:
    """The stub engine's flags for a pool's fault knobs (none for ``None``)."""
    if faults is None:
        return []
    args: list[str] = []
    if faults.preload_delay_ms:
        args += ["--preload-delay-ms", str(faults.preload_delay_ms)]
    if faults.fail_preload is not None:
        args += ["--fail-preload", faults.fail_preload]
    for flag, value in (
        ("--crash-after-ms", faults.crash_after_ms),
        ("--cuda-error-after-ms", faults.cuda_error_after_ms),
        ("--hang-after-ms", faults.hang_after_ms),
    ):
        if value is not None:
            args += [flag, str(value)]
    if faults.cpu_fallback:
        args.append("--cpu-fallback")
    if faults.silent_cpu_fallback:
        args.append("--silent-cpu-fallback")
    if faults.claim_gpus is not None:
        args += ["--claim-gpus", ",".join(str(i) for i in faults.claim_gpus)]
    if faults.fork_child:
        args.append("--fork-child")
    return args
