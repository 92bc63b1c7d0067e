"""The real CUDA engine of the GPU check: where it is, its models, what NVML sees it hold.

Decides how the ``@gpu @process`` scenarios and the GPU tests (``tests/gpu``) find what
``bench/gpu/run.sh`` prepared (OC-GPU-9509), and how they observe a real engine:

- ``POOLMGR_GPU_LLAMA_SERVER``: the CUDA ``llama-server`` the script built; a scenario's config
  names it as ``$LLAMA_SERVER`` (the pool's ``engine_bin``);
- ``POOLMGR_GPU_MODELS``: the folder of the generated models and their ``manifest.json``
  (``bench/gpu/models.py``); a config names a model as ``$MODELS/<name>.gguf``;
- ``POOLMGR_GPU_RESULTS``: where figures go, one JSON object a line in ``figures.jsonl``
  (default ``reports/gpu``); the script folds them into ``gpu.json``. A figure is a
  measurement reported, never a timed assertion.

A missing variable fails the step with a message naming it: these scenarios run only where
NVML lists a GPU (OC-GPU-9510), and there the script sets all three. The GPU memory an engine
holds is read through the product's own NVML view (:func:`poolmgr.io.nvml.read_view`) over
the engine's whole process tree, as the post-launch check reads it (OC-GPU-9504).
"""

from __future__ import annotations

import json
import os
import select
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil

from harness.live import ROOT

__all__ = [
    "BIN_VAR",
    "MODELS_VAR",
    "RESULTS_VAR",
    "gpu_bytes_of_tree",
    "llama_server",
    "model_entry",
    "models_dir",
    "record_figure",
    "start_hog",
    "stop_hog",
    "substitute",
    "write_hidden_gpu_wrapper",
]

BIN_VAR = "POOLMGR_GPU_LLAMA_SERVER"
MODELS_VAR = "POOLMGR_GPU_MODELS"
RESULTS_VAR = "POOLMGR_GPU_RESULTS"
HOG_START_TIMEOUT_S = 120.0


def _required(var: str, what: str) -> str:
    value = os.environ.get(var, "")
    assert value, f"{var} is not set: it names {what} (bench/gpu/run.sh sets it)"
    return value


def llama_server() -> str:
    """The CUDA ``llama-server`` binary named by ``POOLMGR_GPU_LLAMA_SERVER``."""
    path = Path(_required(BIN_VAR, "the CUDA llama-server binary"))
    assert path.is_file() and os.access(path, os.X_OK), f"{BIN_VAR}={path}: not an executable"
    return str(path)


def models_dir() -> Path:
    """The folder of the generated models (``POOLMGR_GPU_MODELS``), with its manifest."""
    path = Path(_required(MODELS_VAR, "the folder of the generated GGUF models"))
    assert (path / "manifest.json").is_file(), f"{MODELS_VAR}={path}: no manifest.json there"
    return path


def model_entry(name: str) -> dict[str, Any]:
    """One model of the manifest (``path``, ``weights_bytes``, ``kv_bytes_per_token`` ...)."""
    models = json.loads((models_dir() / "manifest.json").read_text())["models"]
    assert name in models, f"no model {name!r} in {models_dir()}/manifest.json: {sorted(models)}"
    entry: dict[str, Any] = models[name]
    return entry


def substitute(config_text: str) -> str:
    """``$LLAMA_SERVER`` and ``$MODELS`` in a scenario's config, replaced by the real paths."""
    text = config_text
    if "$LLAMA_SERVER" in text:
        text = text.replace("$LLAMA_SERVER", llama_server())
    if "$MODELS" in text:
        text = text.replace("$MODELS", str(models_dir()))
    return text


def record_figure(name: str, value: float, unit: str, how: str) -> None:
    """Append one measured figure to ``figures.jsonl`` in the results folder."""
    folder = Path(os.environ.get(RESULTS_VAR) or ROOT / "reports" / "gpu")
    folder.mkdir(parents=True, exist_ok=True)
    row = {"figure": name, "value": value, "unit": unit, "how": how, "at": time.time()}
    with (folder / "figures.jsonl").open("a", encoding="utf-8") as out:
        out.write(json.dumps(row) + "\n")


def gpu_bytes_of_tree(pid: int) -> dict[int, int]:
    """GPU index -> bytes NVML shows the process tree of ``pid`` holding (GPUs it holds only).

    Fails when NVML gives no view or cannot list a GPU's processes: a measurement that cannot
    be made is not a zero.
    """
    from poolmgr.io.nvml import read_view

    try:
        root = psutil.Process(pid)
        tree = {pid, *(child.pid for child in root.children(recursive=True))}
    except psutil.NoSuchProcess:
        tree = {pid}
    view = read_view()
    assert view is not None, "NVML gives no view of this host's GPUs"
    held: dict[int, int] = {}
    for gpu in view.gpus:
        assert gpu.holders is not None, f"NVML cannot list the processes on GPU {gpu.index}"
        amounts = [amount or 0 for holder, amount in gpu.holders.items() if holder in tree]
        if amounts:
            held[gpu.index] = sum(amounts)
    return held


def write_hidden_gpu_wrapper(path: Path, binary: str, *, drop_warnings: bool) -> None:
    """Write an ``engine_bin`` that runs ``binary`` with every GPU hidden from it.

    The wrapper points ``CUDA_VISIBLE_DEVICES`` at a GPU no host has and drops the
    ``--device`` flag the manager passes, so the CUDA engine starts, finds no usable GPU and
    serves from the CPU with ``/health`` 200 (the hazard seen on an H100, REFERENCE.md §7).
    With ``drop_warnings`` it also removes the engine's GPU warnings from its output, so only
    NVML can tell (OC-GPU-9504). The pool config has no environment of its own, hence a wrapper.
    """
    run = f'"{binary}" "${{args[@]}}" 2>&1'
    if drop_warnings:  # the engine and a filter in the engine's process group
        run += ' | grep --line-buffered -v -i -e "no usable GPU" -e "CUDA"'
    else:
        run = "exec " + run  # the engine itself, under the wrapper's PID
    script = f"""#!/usr/bin/env bash
# Written by harness.gpu_engine: the CUDA engine with no GPU visible (a spillover test).
export CUDA_VISIBLE_DEVICES=GPU-00000000-0000-0000-0000-000000000000
args=()
while [ "$#" -gt 0 ]; do
  if [ "$1" = --device ]; then shift 2; continue; fi
  args+=("$1"); shift
done
set -o pipefail
{run}
"""
    path.write_text(script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def start_hog(leave_bytes: int) -> tuple[subprocess.Popen[str], int]:
    """Start :mod:`harness.gpu_hog`; return it and the GPU's free bytes once it holds memory."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.gpu_hog", str(leave_bytes)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    # Bounded: wait for the one line the hog prints (or its exit, which also makes it readable).
    readable, _, _ = select.select([proc.stdout], [], [], HOG_START_TIMEOUT_S)
    line = proc.stdout.readline() if readable else ""
    if not line.startswith("free "):
        stop_hog(proc)
        error = proc.stderr.read() if proc.stderr is not None else ""
        raise AssertionError(f"the GPU memory hog did not start: {line!r} {error}")
    return proc, int(line.split()[1])


def stop_hog(proc: subprocess.Popen[str]) -> None:
    """Close the hog's standard input (it frees its memory and exits); kill it if it lingers."""
    if proc.poll() is None and proc.stdin is not None:
        proc.stdin.close()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
