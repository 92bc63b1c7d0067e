"""The stub engine's GPU claims under simulated GPUs, as a real process (OC-GPU-9508).

The manager starts each engine with ``POOLMGR_SIMULATED_GPU_CLAIMS`` naming a claims directory
and the pool's mask in ``CUDA_VISIBLE_DEVICES`` (the stub adapter's command and environment,
used here as the manager uses them). The stub must write its claim once loaded and before its
``/health`` answers 200, remove it when SIGTERM ends it, and its two faults must look as they
would to the post-launch check: ``silent_cpu_fallback`` claims nothing and prints no warning,
``claim_gpus`` claims GPUs outside the mask. Waits are bounded polls; nothing sleeps for a
fixed time.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
import requests

from harness.waiting import wait_until
from poolmgr.config import pool_config
from poolmgr.config.build import stub_faults
from poolmgr.core.gpu_truth import judge_engine
from poolmgr.core.inventory import GpuDevice, GpuInventory
from poolmgr.core.placement import plan_launch
from poolmgr.core.vocab import Engine
from poolmgr.io.simulated_gpus import CLAIMS_ENV, SimulatedGpus
from poolmgr.runtime.engines import adapter_for
from poolmgr.runtime.stub_engine import CLAIM_BYTES

WAIT_S = 10.0
"""Upper bound of any wait on the real process (generous for a loaded machine)."""
GIB = 2**30
INVENTORY = GpuInventory(tuple(GpuDevice(i, f"Sim {i}", 24 * GIB, 24 * GIB) for i in range(3)))
STUB = adapter_for(Engine.STUB)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class StubProcess:
    """A stub engine started as the manager starts it, for a GPU pool on ``devices``."""

    def __init__(self, claims: Path | None, devices: Sequence[int], **faults: object) -> None:
        pool = pool_config(
            id="sim",
            engine=Engine.STUB,
            model="stub://sim",
            devices=tuple(devices),
            cpu=False,
            slots=1,
            tensor_split=(0.5, 0.5) if len(devices) == 2 else None,
            stub=stub_faults(**faults),
        )
        plan = plan_launch(pool.mask_request(), 512, INVENTORY, None, slots=pool.slots)
        self.port = _free_port()
        argv = STUB.command(pool, plan, host="127.0.0.1", port=self.port, model_path=pool.model)
        env = {**os.environ, **STUB.env(plan, pool=pool)}
        env.pop(CLAIMS_ENV, None)
        if claims is not None:
            env[CLAIMS_ENV] = str(claims)
        self.proc = subprocess.Popen(
            argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        self.session = requests.Session()

    def health(self) -> int | None:
        try:
            return self.session.get(f"http://127.0.0.1:{self.port}/health", timeout=1).status_code
        except requests.ConnectionError:
            return None

    def wait_healthy(self) -> None:
        wait_until(lambda: self.health() == 200, timeout_s=WAIT_S, what="/health 200")

    def terminate(self) -> tuple[int, str]:
        """SIGTERM, then the exit status and everything it logged."""
        self.proc.send_signal(signal.SIGTERM)
        _, err = self.proc.communicate(timeout=WAIT_S)
        return self.proc.returncode, err

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate(timeout=WAIT_S)
        self.session.close()


@pytest.fixture
def started() -> Iterator[list[StubProcess]]:
    engines: list[StubProcess] = []
    yield engines
    for engine in engines:
        engine.stop()


@pytest.fixture
def claims(tmp_path: Path) -> Path:
    return tmp_path / "claims"


def _start(
    started: list[StubProcess], claims: Path | None, devices: Sequence[int], **faults: object
) -> StubProcess:
    engine = StubProcess(claims, devices, **faults)
    started.append(engine)
    return engine


def test_the_stub_claims_its_mask_before_health_answers_200(
    started: list[StubProcess], claims: Path
) -> None:
    engine = _start(started, claims, [0, 2], preload_delay_ms=800)
    wait_until(lambda: engine.health() == 503, timeout_s=WAIT_S, what="/health 503")
    assert not (claims / f"{engine.proc.pid}.json").exists()
    engine.wait_healthy()
    # No poll here: the claim is written before /health may answer 200.
    body = json.loads((claims / f"{engine.proc.pid}.json").read_text(encoding="utf-8"))
    assert body == {"pid": engine.proc.pid, "gpus": {"0": CLAIM_BYTES, "2": CLAIM_BYTES}}
    assert CLAIM_BYTES == 256 * 2**20


def test_the_simulated_view_shows_the_stub_on_its_gpus_and_the_check_vouches(
    started: list[StubProcess], claims: Path
) -> None:
    engine = _start(started, claims, [1])
    engine.wait_healthy()
    view = SimulatedGpus(INVENTORY, claims).read_view()
    assert [g.holders for g in view.gpus] == [{}, {engine.proc.pid: CLAIM_BYTES}, {}]
    assert view.gpus[1].free_bytes == 24 * GIB - CLAIM_BYTES
    assert judge_engine((1,), view, {engine.proc.pid}) is None


def test_sigterm_removes_the_claim(started: list[StubProcess], claims: Path) -> None:
    engine = _start(started, claims, [0])
    engine.wait_healthy()
    assert (claims / f"{engine.proc.pid}.json").exists()
    status, _ = engine.terminate()
    assert status == 0
    assert list(claims.iterdir()) == []


def test_silent_cpu_fallback_claims_nothing_and_prints_no_warning(
    started: list[StubProcess], claims: Path
) -> None:
    engine = _start(started, claims, [0], silent_cpu_fallback=True)
    engine.wait_healthy()
    view = SimulatedGpus(INVENTORY, claims).read_view()
    verdict = judge_engine((0,), view, {engine.proc.pid})
    status, log = engine.terminate()
    assert not claims.exists() or list(claims.iterdir()) == []
    assert verdict is not None and "holds no memory on its GPUs [0]" in verdict
    assert status == 0
    assert "no usable GPU" not in log and "failed to initialize CUDA" not in log


def test_claim_gpus_claims_the_named_gpus_instead_of_the_mask(
    started: list[StubProcess], claims: Path
) -> None:
    engine = _start(started, claims, [0], claim_gpus=(1,))
    engine.wait_healthy()
    body = json.loads((claims / f"{engine.proc.pid}.json").read_text(encoding="utf-8"))
    view = SimulatedGpus(INVENTORY, claims).read_view()
    assert body["gpus"] == {"1": CLAIM_BYTES}
    assert judge_engine((0,), view, {engine.proc.pid}) == (
        "the engine holds memory on GPUs [1] outside its mask [0] (found on [1])"
    )


def test_the_warned_cpu_fallback_claims_nothing_either(
    started: list[StubProcess], claims: Path
) -> None:
    engine = _start(started, claims, [0], cpu_fallback=True)
    engine.wait_healthy()
    status, log = engine.terminate()
    assert not claims.exists() or list(claims.iterdir()) == []
    assert "warning: no usable GPU found" in log
    assert status == 0


def test_without_the_variable_the_stub_writes_no_claim(started: list[StubProcess]) -> None:
    engine = _start(started, None, [0])
    engine.wait_healthy()
    status, log = engine.terminate()
    assert status == 0
    assert "simulated GPU claim" not in log
