"""Record what NVML answers on this host, for the NVML double of the unit tests (OC-GPU-9501).

Run on a GPU host (``bench/gpu/run.sh`` does)::

    python bench/gpu/record_nvml.py OUT.json

It makes the same ``pynvml`` calls as :func:`poolmgr.io.nvml.read_view` (``nvmlInit``,
``nvmlDeviceGetCount``, per GPU ``nvmlDeviceGetHandleByIndex``, ``nvmlDeviceGetName``,
``nvmlDeviceGetUUID``, ``nvmlDeviceGetMemoryInfo``, ``nvmlDeviceGetComputeRunningProcesses``,
``nvmlDeviceGetGraphicsRunningProcesses``, then ``nvmlSystemGetDriverVersion`` and
``nvmlSystemGetCudaDriverVersion_v2``) and writes each raw answer, or the ``NVMLError`` it
raised with its value, as JSON. ``harness/nvml_double.py`` answers from such a file.

The format (``poolmgr-nvml-recording/1``): ``calls`` maps each system-wide call, and each
entry of ``devices`` each per-GPU call, to an answer: ``{"returns": value}`` (``"type":
"bytes"`` when pynvml returned bytes, the text then decoded as Latin-1; structs as objects of
their fields; handles as the string ``"handle"``), ``{"raises": {"error": class name, "value":
NVML return code, "message": text}}``, or ``{"missing": true}`` when this pynvml has no such
function. Without ``pynvml`` it writes nothing; when ``nvmlInit`` fails (no driver) it
records that failure alone; both exit 2 with a message.

Only the standard library and ``pynvml``: the script must run on a bare GPU host.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import importlib.metadata
import json
import platform
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

FORMAT = "poolmgr-nvml-recording/1"
SYSTEM_CALLS = ("nvmlSystemGetDriverVersion", "nvmlSystemGetCudaDriverVersion_v2")
DEVICE_CALLS = (
    "nvmlDeviceGetName",
    "nvmlDeviceGetUUID",
    "nvmlDeviceGetMemoryInfo",
    "nvmlDeviceGetComputeRunningProcesses",
    "nvmlDeviceGetGraphicsRunningProcesses",
)
EXIT_NO_NVML = 2


def _plain(value: Any) -> Any:
    """A JSON value for what pynvml returned: structs and friendly objects as their fields."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    fields = getattr(value, "_fields_", None)
    if fields is not None:  # a ctypes structure (nvmlDeviceGetMemoryInfo)
        return {name: _plain(getattr(value, name)) for name, *_ in fields}
    if hasattr(value, "__dict__"):  # pynvml's nvmlFriendlyObject (process lists)
        return {k: _plain(v) for k, v in vars(value).items() if not k.startswith("_")}
    return repr(value)


def _error(exc: BaseException) -> dict[str, Any]:
    return {
        "error": type(exc).__name__,
        "value": getattr(exc, "value", None),
        "message": str(exc),
    }


def _answer(nvml: Any, name: str, *args: Any, handle: bool = False) -> tuple[dict[str, Any], Any]:
    """The recorded answer of one call, and its raw result (``None`` when it raised)."""
    function: Callable[..., Any] | None = getattr(nvml, name, None)
    if function is None:
        return {"missing": True}, None
    try:
        raw = function(*args)
    except Exception as exc:  # NVMLError (with its value), or a binding's own fault: recorded
        return {"raises": _error(exc)}, None
    if handle:
        return {"returns": "handle"}, raw
    if isinstance(raw, bytes):
        return {"returns": raw.decode("latin-1"), "type": "bytes"}, raw
    return {"returns": _plain(raw)}, raw


def record(nvml: Any) -> dict[str, Any]:
    """Every answer read_view's calls get on this host; ``nvmlInit`` must have succeeded."""
    calls: dict[str, Any] = {"nvmlInit": {"returns": None}}
    count_answer, count = _answer(nvml, "nvmlDeviceGetCount")
    calls["nvmlDeviceGetCount"] = count_answer
    devices: list[dict[str, Any]] = []
    for index in range(int(count or 0)):
        handle_answer, handle = _answer(nvml, "nvmlDeviceGetHandleByIndex", index, handle=True)
        device = {"nvmlDeviceGetHandleByIndex": handle_answer}
        if "returns" in handle_answer:
            for name in DEVICE_CALLS:
                device[name] = _answer(nvml, name, handle)[0]
        devices.append(device)
    for name in SYSTEM_CALLS:
        calls[name] = _answer(nvml, name)[0]
    return {"calls": calls, "devices": devices}


def _pynvml_version() -> str:
    try:
        return importlib.metadata.version("nvidia-ml-py")
    except importlib.metadata.PackageNotFoundError:  # an old pynvml installed another way
        return "unknown"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="record_nvml.py",
        description=(
            "Record NVML's raw answers on this GPU host as JSON, for the NVML double "
            "(harness/nvml_double.py). Exits 2 when NVML (nvidia-ml-py or the driver) is absent."
        ),
    )
    parser.add_argument("output", type=Path, help="the JSON file to write")
    return parser


def _write(path: Path, answers: dict[str, Any]) -> None:
    now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    document = {
        "format": FORMAT,
        "provenance": f"recorded by bench/gpu/record_nvml.py on {platform.node()} at {now}",
        "pynvml_version": _pynvml_version(),
        **answers,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        nvml = importlib.import_module("pynvml")
    except ImportError:
        print("record_nvml: NVML is absent: cannot import pynvml (nvidia-ml-py)", file=sys.stderr)
        return EXIT_NO_NVML
    try:
        nvml.nvmlInit()
    except nvml.NVMLError as exc:  # NVMLError_LibraryNotFound, _DriverNotLoaded, ...
        # The failure is itself an answer worth keeping: a host without a driver.
        _write(args.output, {"calls": {"nvmlInit": {"raises": _error(exc)}}, "devices": []})
        print(
            f"record_nvml: NVML is absent: nvmlInit failed: {exc} (recorded in {args.output})",
            file=sys.stderr,
        )
        return EXIT_NO_NVML
    try:
        answers = record(nvml)
    finally:
        nvml.nvmlShutdown()
    _write(args.output, answers)
    print(f"record_nvml: {len(answers['devices'])} GPU(s) recorded into {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
