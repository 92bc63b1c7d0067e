"""A stand-in ``pynvml`` module that answers from a recording of a real host (OC-GPU-9501).

A double of the outside world for the NVML adapter's unit tests only: the recordings in
``tests/data/nvml/`` are written by ``bench/gpu/record_nvml.py`` on a GPU host (its docstring
gives the format), or by hand in exactly that format where no GPU run has happened yet (their
``provenance`` says so). :func:`load_double` builds a module whose functions answer each call
from the recording:

* a recorded error is raised as the real ``pynvml.NVMLError`` subclass for its value, so the
  adapter meets the exceptions it meets on a host;
* like the library, every call other than ``nvmlInit`` raises ``NVMLError_Uninitialized``
  before ``nvmlInit`` succeeded or after ``nvmlShutdown``; the double counts both calls;
* a call the recording does not cover raises :class:`RecordingGap` and is listed in
  :attr:`NvmlDouble.gaps`, so a test sees that its recording no longer matches the code.
"""

from __future__ import annotations

import json
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pynvml  # type: ignore[import-untyped]  # nvidia-ml-py ships no type hints

__all__ = ["FORMAT", "NvmlDouble", "RecordingGap", "load_double"]

FORMAT = "poolmgr-nvml-recording/1"
_SYSTEM = ("nvmlDeviceGetCount", "nvmlSystemGetDriverVersion", "nvmlSystemGetCudaDriverVersion_v2")
_DEVICE = (
    "nvmlDeviceGetName",
    "nvmlDeviceGetUUID",
    "nvmlDeviceGetMemoryInfo",
    "nvmlDeviceGetComputeRunningProcesses",
    "nvmlDeviceGetGraphicsRunningProcesses",
)


class RecordingGap(LookupError):
    """The code made a call that the recording has no answer for."""


@dataclass(frozen=True)
class _Handle:
    """What the double's ``nvmlDeviceGetHandleByIndex`` returns: the GPU's place in the file."""

    index: int


def _value(answer: dict[str, Any]) -> Any:
    raw = answer["returns"]
    if answer.get("type") == "bytes":
        return str(raw).encode("latin-1")
    if isinstance(raw, dict):  # a struct (memory info): attribute access like ctypes'
        return types.SimpleNamespace(**raw)
    if isinstance(raw, list):  # a process list of pynvml's friendly objects
        return [types.SimpleNamespace(**p) if isinstance(p, dict) else p for p in raw]
    return raw


@dataclass
class NvmlDouble:
    """The recording, the module that answers from it, and what the code under test did."""

    recording: dict[str, Any]
    source: str
    init_calls: int = 0
    shutdown_calls: int = 0
    initialised: bool = False
    calls: list[str] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)
    module: types.ModuleType = field(init=False)

    def __post_init__(self) -> None:
        self.module = self._build()

    def _answer(self, name: str, answer: dict[str, Any] | None) -> Any:
        self.calls.append(name)
        if answer is None:
            self.gaps.append(name)
            raise RecordingGap(f"{self.source}: the recording has no answer for {name}")
        if "raises" in answer:
            raise pynvml.NVMLError(int(answer["raises"]["value"]))
        return _value(answer)

    def _initialised(self, name: str) -> None:
        if not self.initialised:
            self.calls.append(name)
            raise pynvml.NVMLError(pynvml.NVML_ERROR_UNINITIALIZED)

    def _init(self) -> None:
        self.init_calls += 1
        self._answer("nvmlInit", self.recording["calls"].get("nvmlInit"))
        self.initialised = True

    def _shutdown(self) -> None:
        self.shutdown_calls += 1
        self._initialised("nvmlShutdown")
        self.calls.append("nvmlShutdown")
        self.initialised = False

    def _system(self, name: str) -> Any:
        def call() -> Any:
            self._initialised(name)
            return self._answer(name, self.recording["calls"].get(name))

        return call

    def _device_answer(self, index: int, name: str) -> dict[str, Any] | None:
        devices: list[dict[str, Any]] = self.recording["devices"]
        answer: dict[str, Any] | None = devices[index].get(name) if index < len(devices) else None
        return answer

    def _handle(self, index: int) -> _Handle:
        self._initialised("nvmlDeviceGetHandleByIndex")
        self._answer(
            "nvmlDeviceGetHandleByIndex", self._device_answer(index, "nvmlDeviceGetHandleByIndex")
        )
        return _Handle(index)

    def _device(self, name: str) -> Any:
        def call(handle: _Handle) -> Any:
            self._initialised(name)
            return self._answer(name, self._device_answer(handle.index, name))

        return call

    def _build(self) -> types.ModuleType:
        module = types.ModuleType("pynvml", f"NVML double answering from {self.source}")
        for name in dir(pynvml):  # the real error classes and return codes
            if name.startswith(("NVMLError", "NVML_ERROR_", "NVML_SUCCESS")):
                setattr(module, name, getattr(pynvml, name))
        module.nvmlInit = self._init  # type: ignore[attr-defined]
        module.nvmlShutdown = self._shutdown  # type: ignore[attr-defined]
        module.nvmlDeviceGetHandleByIndex = self._handle  # type: ignore[attr-defined]
        for name in _SYSTEM:
            if self.recording["calls"].get(name, {}).get("missing") is not True:
                setattr(module, name, self._system(name))
        for name in _DEVICE:
            setattr(module, name, self._device(name))
        return module


def load_double(path: Path) -> NvmlDouble:
    """The double for the recording at ``path``; a clear error when it is not one."""
    recording = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(recording, dict) or recording.get("format") != FORMAT:
        raise ValueError(f"{path}: not an NVML recording (format {FORMAT!r} expected)")
    for key in ("provenance", "calls", "devices"):
        if key not in recording:
            raise ValueError(f"{path}: the NVML recording lacks {key!r}")
    return NvmlDouble(recording, source=path.name)
