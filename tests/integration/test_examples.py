"""The examples on a fresh clone, served for real (OC-CFG-5006, OC-CFG-5007).

A copy of ``examples/`` without its model, the command its comment names, then
``poolmgr serve`` on ``cpu-dev.yaml`` started from another folder: the llama.cpp pool loads the
tiny model with the real ``llama-server`` and becomes ready. Every wait is bounded.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from harness.waiting import wait_until
from poolmgr.serve import LISTENING_PREFIX
from tests.llama import needs_llama_server

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
SERVE = [sys.executable, "-m", "poolmgr", "serve", "--port", "0", "--config"]


@pytest.fixture
def fresh_examples(tmp_path: Path) -> Path:
    """``examples/`` as a fresh clone has it, plus the model its comment says to make."""
    shutil.copytree(
        ROOT / "examples", tmp_path / "examples", ignore=shutil.ignore_patterns("models")
    )
    made = subprocess.run(
        [sys.executable, "-m", "poolmgr", "make-tiny-model", "examples/models/tiny.gguf"],
        cwd=tmp_path,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    return tmp_path / "examples"


@pytest.fixture
def serving(fresh_examples: Path, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = subprocess.Popen(
        [*SERVE, str(fresh_examples / "cpu-dev.yaml")],
        cwd=elsewhere,  # relative model paths are from the config's folder, not from here
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        readable, _, _ = select.select([proc.stdout], [], [], 30.0)
        assert readable, "poolmgr serve printed no listening line within 30 s"
        line = proc.stdout.readline()
        assert line.startswith(LISTENING_PREFIX), line
        yield proc, line[len(LISTENING_PREFIX) :].strip()
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


@pytest.mark.slow
@needs_llama_server
def test_oc_cfg_5006_cpu_dev_example_serves_the_tiny_model_with_llama_server(
    serving: tuple[subprocess.Popen[str], str],
) -> None:
    proc, url = serving

    def ready() -> dict[str, object] | None:
        body = requests.get(f"{url}/v1/pools/dev-llama/health", timeout=5).json()
        return body if body.get("ready") else None

    health = wait_until(ready, 60.0, "dev-llama (llama-server on the tiny model) to be ready")
    assert health["engine"] == "llamacpp"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
