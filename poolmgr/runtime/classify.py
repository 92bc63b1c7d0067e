"""Failure classification: which :class:`~poolmgr.core.vocab.Cause` an engine's output and exit
mean.

Decides two things from text the engine wrote and from how its process ended:

* :func:`scan_line` — whether one line of *live* engine output is fatal on its own
  (OC-POOL-3027): a CUDA or driver error (OC-POOL-3010), a VRAM out-of-memory, or, for a GPU
  pool only, the engine giving up on CUDA and carrying on on the CPU (OC-POOL-3012: the engine
  keeps serving, so its log is the only place the spillover shows);
* :func:`classify_exit` — the cause of an engine exit, with a short human summary plus the log
  lines that support it (OC-POOL-3028; the signal or exit code it ended with, OC-POOL-3029;
  OC-POOL-3003: readiness reports the cause of the last error).

VRAM OOM and host OOM are told apart by their markers (OC-POOL-3028; related: ORCH-3039):
``cudaMalloc failed: out of memory`` is the GPU, ``std::bad_alloc`` or the kernel's OOM killer
is the host. When several causes show in one tail, the most specific one wins, in this order:
VRAM OOM, host OOM, driver error, port in use, a device the host lacks (``placement_invalid``,
OC-GPU-9505), model-load failure, CPU spillover (GPU pools), signal, plain exit. A model that
fails to load *because* the GPU ran out of memory is therefore a VRAM OOM, not a generic
model-load failure.

The marker texts are those of llama.cpp's ``llama-server`` (verified with a real build) and the
Python engines (vLLM, TGI: PyTorch's ``OutOfMemoryError``, uvicorn's bind error). Pure: no I/O.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Sequence
from dataclasses import dataclass

from poolmgr.core.vocab import Cause

__all__ = ["TAIL_LINES_IN_MESSAGE", "classify_exit", "scan_line"]

TAIL_LINES_IN_MESSAGE = 3
"""How many supporting log lines :func:`classify_exit` puts in its message."""

_MAX_LINE_CHARS = 240
"""Longer log lines are shortened in messages."""


@dataclass(frozen=True)
class _Rule:
    cause: Cause
    pattern: re.Pattern[str]
    what: str
    """Short human summary used in messages."""


def _rx(*alternatives: str) -> re.Pattern[str]:
    """One pattern matching any of ``alternatives``, case ignored (only ``Xid`` minds case)."""
    # Runs only while the module is imported, before mutmut can switch a mutant on, so mutmut
    # cannot judge its mutants; applied by hand, each fails the classification scenarios (#10).
    return re.compile("|".join(alternatives), re.IGNORECASE)  # pragma: no mutate


_VRAM_OOM = _Rule(
    Cause.VRAM_OOM,
    _rx(
        r"CUDA error: out of memory",
        r"cudaMalloc failed: out of memory",
        r"failed to allocate CUDA",  # ggml: "failed to allocate CUDA0 buffer of size ..."
        r"unable to allocate CUDA\d* buffer",
        r"CUDA out of memory",  # PyTorch (vLLM, TGI)
        r"OutOfMemoryError",  # torch.cuda.OutOfMemoryError / torch.OutOfMemoryError
        r"No available memory for the cache blocks",  # vLLM KV cache does not fit
    ),
    "GPU memory exhausted (VRAM out of memory)",
)

_HOST_OOM = _Rule(
    Cause.HOST_OOM,
    _rx(
        r"std::bad_alloc",
        r"Cannot allocate memory",
        r"\bMemoryError\b",
        r"oom-kill",
        r"oom_reaper",
        r"Out of memory: Killed process",
    ),
    "host memory exhausted (host out of memory)",
)

# A bare "Killed" line (what a shell prints for SIGKILL) hints at the kernel OOM killer, but
# only together with SIGKILL.
_KILLED_HINT = re.compile(r"^\s*(?:\S+:\s*)?Killed\b", re.IGNORECASE)

_DRIVER = _Rule(
    Cause.DRIVER_ERROR,
    _rx(
        r"CUDA error",
        r"CUDA driver",
        r"cudaError\w*",
        r"CUDA-capable device\(s\) (?:is|are) busy or unavailable",
        r"GPU has fallen off the bus",
        r"Found no NVIDIA driver",
        r"NVML: Driver/library version mismatch",
    ),
    "GPU driver / CUDA error",
)
_XID = re.compile(r"\bXid\b")  # NVRM: Xid (PCI:0000:3b:00): 79, ...; case matters

_PORT = _Rule(
    Cause.PORT_IN_USE,
    _rx(r"address already in use", r"couldn't bind", r"could not bind", r"os error 98"),
    "the port is already in use",
)

_INVALID_DEVICE = _Rule(
    Cause.PLACEMENT_INVALID,
    _rx(
        r"invalid device",  # llama.cpp's argument parser: "invalid device: CUDA0"
        r"invalid device ordinal",  # CUDA runtime: a device index the host lacks
    ),
    "the engine was given a GPU this host does not have",
)

_MODEL_LOAD = _Rule(
    Cause.MODEL_LOAD_FAILED,
    _rx(
        r"failed to load model",
        r"error loading model",
        r"exiting due to model loading error",
        r"failed to open GGUF file",
    ),
    "the model failed to load",
)

_SPILLOVER = _Rule(
    Cause.CPU_SPILLOVER,
    _rx(
        r"no usable GPU found",
        r"failed to initialize CUDA",
        r"no CUDA-capable device",
        r"No CUDA GPUs are available",
    ),
    "the engine found no usable GPU and would run on the CPU",
)

# "ggml_cuda_init: failed to initialize CUDA: <reason>": whatever the reason (even "CUDA driver
# version is insufficient"), llama.cpp goes on without the GPU. For a GPU pool that is a
# spillover; for a CPU pool it is expected and harmless.
_CUDA_INIT = re.compile(r"failed to initialize CUDA", re.IGNORECASE)


def _shorten(line: str) -> str:
    text = line.strip()
    if len(text) > _MAX_LINE_CHARS:
        return text[: _MAX_LINE_CHARS - 3] + "..."
    return text


def _matches(rule: _Rule, line: str) -> bool:
    return rule.pattern.search(line) is not None


def _is_driver(line: str) -> bool:
    return _matches(_DRIVER, line) or _XID.search(line) is not None


def scan_line(line: str, *, gpu_pool: bool) -> Cause | None:
    """The cause a single line of live engine output proves fatal, or ``None``.

    Only causes that need action while the engine still runs are reported: VRAM OOM, driver
    errors, a device the host lacks (even when it reads as a CUDA error, OC-GPU-9505) and, for
    GPU pools, CPU spillover. Model-load failures are not live-fatal: they end
    in an exit, which :func:`classify_exit` classifies.
    """
    if _matches(_VRAM_OOM, line):
        return Cause.VRAM_OOM
    if _CUDA_INIT.search(line) is not None:
        return Cause.CPU_SPILLOVER if gpu_pool else None
    if _matches(_INVALID_DEVICE, line):  # even as a CUDA error: no restart brings the GPU back
        return Cause.PLACEMENT_INVALID
    if _is_driver(line):
        return Cause.DRIVER_ERROR
    if gpu_pool and _matches(_SPILLOVER, line):
        return Cause.CPU_SPILLOVER
    return None


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _effective_signal(exit_code: int | None, signal_number: int | None) -> int | None:
    """The signal that ended the process, if any.

    ``subprocess`` reports a signal as a negative return code; a shell or container runtime
    reports it as 128+N. Engines themselves exit with small codes (llama-server: 0 or 1), so a
    code in 129..159 is read as the signal it encodes.
    """
    if signal_number is not None:
        return signal_number
    if exit_code is None:
        return None
    if exit_code < 0:
        return -exit_code
    if 128 < exit_code < 160:
        return exit_code - 128
    return None


def _how_it_ended(exit_code: int | None, sig: int | None) -> str:
    if sig is not None and (exit_code is None or exit_code < 0):
        return f"killed by {_signal_name(sig)}"
    if sig is not None:
        return f"exited with code {exit_code} ({_signal_name(sig)})"
    if exit_code is None:
        return "exited (status unknown)"
    return f"exited with code {exit_code}"


def _pick(lines: Sequence[str]) -> list[str]:
    """The first supporting line (usually the root cause) and the last ones (how it ended)."""
    kept = [line for line in lines if line.strip()]
    if len(kept) <= TAIL_LINES_IN_MESSAGE:
        return kept
    return [kept[0], *kept[len(kept) - TAIL_LINES_IN_MESSAGE + 1 :]]


def _message(ended: str, what: str, lines: Sequence[str]) -> str:
    picked = [_shorten(line) for line in _pick(lines)]
    head = f"engine {ended}: {what}"
    return head if not picked else head + " | " + " | ".join(picked)


_ERRORISH = _rx(r"error", r"failed", r"invalid", r"fatal")
"""A line that reads as an error (OC-GPU-9506)."""


def _last_nonempty(tail: Sequence[str]) -> list[str]:
    """The first line that reads as an error and the last two, else the last three.

    A usage text that an engine prints after an argument error must not push the error out
    of the message (OC-GPU-9506).
    """
    kept = [line for line in tail if line.strip()]
    last = kept[-TAIL_LINES_IN_MESSAGE:]
    for at, line in enumerate(kept):
        if _ERRORISH.search(line) is not None:
            if at >= len(kept) - TAIL_LINES_IN_MESSAGE:
                return last  # already among the last lines
            return [line, *kept[len(kept) - TAIL_LINES_IN_MESSAGE + 1 :]]
    return last


def classify_exit(
    exit_code: int | None,
    signal_number: int | None,
    tail: Sequence[str],
    *,
    gpu_pool: bool,
) -> tuple[Cause, str]:
    """The cause of an engine exit and a message: a short summary plus the supporting lines.

    ``exit_code`` is the process's return code (negative when ``subprocess`` saw a signal),
    ``signal_number`` the signal when known separately, ``tail`` the last lines the engine
    wrote (oldest first). Precedence, most specific first: VRAM OOM, host OOM (also SIGKILL with
    a "Killed"/OOM-killer hint), driver error, port in use, a device the host lacks,
    model-load failure, CPU spillover
    (GPU pools only), any other signal, and finally a plain exit.
    """
    sig = _effective_signal(exit_code, signal_number)
    ended = _how_it_ended(exit_code, sig)

    def hits(test: _Rule) -> list[str]:
        return [line for line in tail if _matches(test, line)]

    vram = hits(_VRAM_OOM)
    if vram:
        return Cause.VRAM_OOM, _message(ended, _VRAM_OOM.what, vram)
    host = hits(_HOST_OOM)
    if not host and sig == signal.SIGKILL:
        host = [line for line in tail if _KILLED_HINT.search(line)]
    if host:
        return Cause.HOST_OOM, _message(ended, _HOST_OOM.what, host)
    # A failed CUDA init is a spillover (below), even when its reason names the driver; a
    # device the host lacks is a placement (below), even as a CUDA error (OC-GPU-9505).
    driver = [
        line
        for line in tail
        if _is_driver(line) and not _CUDA_INIT.search(line) and not _matches(_INVALID_DEVICE, line)
    ]
    if driver:
        return Cause.DRIVER_ERROR, _message(ended, _DRIVER.what, driver)
    for rule in (_PORT, _INVALID_DEVICE, _MODEL_LOAD):
        found = hits(rule)
        if found:
            return rule.cause, _message(ended, rule.what, found)
    if gpu_pool:
        spill = hits(_SPILLOVER)
        if spill:
            return Cause.CPU_SPILLOVER, _message(ended, _SPILLOVER.what, spill)
    if sig is not None:
        return Cause.KILLED_BY_SIGNAL, _message(
            ended, "no known failure in the log", _last_nonempty(tail)
        )
    return Cause.ENGINE_EXITED, _message(ended, "no known failure in the log", _last_nonempty(tail))
