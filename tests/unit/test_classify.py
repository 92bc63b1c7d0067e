"""Failure classification from engine log lines and exits.

OC-POOL-3003 (the cause of the last error), OC-POOL-3010 (driver/CUDA errors), OC-POOL-3012
(silent CPU spillover on GPU pools), OC-POOL-3002 / ORCH-3039 (VRAM OOM vs host OOM), and the
model-load, port and signal causes. The log lines are the texts llama.cpp's llama-server, vLLM
and TGI actually print.
"""

from __future__ import annotations

import signal

import pytest

from poolmgr.core.vocab import Cause
from poolmgr.runtime.classify import TAIL_LINES_IN_MESSAGE, classify_exit, scan_line

# --------------------------------------------------------------------------- scan_line

LIVE_FATAL = [
    # llama.cpp CUDA errors (ggml-cuda.cu's CUDA_CHECK)
    ("CUDA error: an illegal memory access was encountered", Cause.DRIVER_ERROR),
    ("CUDA error: unspecified launch failure", Cause.DRIVER_ERROR),
    ("  current device: 0, in function ggml_backend_cuda_synchronize at ggml-cuda.cu:2431", None),
    (
        "ggml_cuda_init: CUDA driver version is insufficient for CUDA runtime version",
        Cause.DRIVER_ERROR,
    ),
    (
        "RuntimeError: CUDA error: cudaErrorDevicesUnavailable: all CUDA-capable devices are busy",
        Cause.DRIVER_ERROR,
    ),
    ("NVRM: Xid (PCI:0000:3b:00): 79, pid=1234, GPU has fallen off the bus.", Cause.DRIVER_ERROR),
    # VRAM exhaustion
    ("CUDA error: out of memory", Cause.VRAM_OOM),
    (
        "ggml_backend_cuda_buffer_type_alloc_buffer: allocating 40960.00 MiB on device 0: "
        "cudaMalloc failed: out of memory",
        Cause.VRAM_OOM,
    ),
    ("ggml_gallocr_reserve_n: failed to allocate CUDA0 buffer of size 2147483648", Cause.VRAM_OOM),
    (
        "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a "
        "total capacity of 79.10 GiB of which 1.06 GiB is free.",
        Cause.VRAM_OOM,
    ),
    (
        "ValueError: No available memory for the cache blocks. Try increasing "
        "`gpu_memory_utilization` when initializing the engine.",
        Cause.VRAM_OOM,
    ),
    # ordinary chatter
    ("srv  update_slots: all slots are idle", None),
    ("main: server is listening on http://127.0.0.1:8080 - starting the main loop", None),
    ("llama_model_loader: - type  f32:   20 tensors", None),
    ("INFO:     Started server process [4242]", None),
    # a non-fatal warning: llama.cpp falls back to pageable host memory
    ("ggml_cuda_host_malloc: failed to allocate 512.00 MiB of pinned memory: out of memory", None),
]


@pytest.mark.parametrize(("line", "expected"), LIVE_FATAL)
def test_scan_line_classifies_live_engine_output(line: str, expected: Cause | None) -> None:
    """OC-POOL-3010 / ORCH-3039: driver errors and VRAM OOM are fatal in any pool."""
    assert scan_line(line, gpu_pool=True) is expected
    assert scan_line(line, gpu_pool=False) is expected


SPILLOVER = [
    "ggml_cuda_init: failed to initialize CUDA: no CUDA-capable device is detected",
    "warning: no usable GPU found, --gpu-layers option will be ignored",
    "RuntimeError: No CUDA GPUs are available",
]


@pytest.mark.parametrize("line", SPILLOVER)
def test_oc_pool_3012_spillover_lines_are_fatal_for_gpu_pools(line: str) -> None:
    assert scan_line(line, gpu_pool=True) is Cause.CPU_SPILLOVER


@pytest.mark.parametrize("line", SPILLOVER)
def test_oc_pool_3017_spillover_lines_are_harmless_for_cpu_pools(line: str) -> None:
    assert scan_line(line, gpu_pool=False) is None


def test_cuda_init_failure_naming_the_driver_is_a_spillover_not_a_driver_error() -> None:
    """llama.cpp carries on on the CPU whatever the CUDA-init failure's reason."""
    line = (
        "ggml_cuda_init: failed to initialize CUDA: CUDA driver version is insufficient for "
        "CUDA runtime version"
    )
    assert scan_line(line, gpu_pool=True) is Cause.CPU_SPILLOVER
    assert scan_line(line, gpu_pool=False) is None


def test_model_load_failure_is_not_live_fatal() -> None:
    assert (
        scan_line(
            "llama_model_load: error loading model: tensor data is not within the file bounds",
            gpu_pool=True,
        )
        is None
    )


def test_xid_must_be_a_word_of_its_own() -> None:
    assert scan_line("loaded tokenizer from Xidian-corpus", gpu_pool=True) is None


# --------------------------------------------------------------------------- classify_exit

TRUNCATED_GGUF_TAIL = [
    "llama_model_loader: loaded meta data with 23 key-value pairs and 21 tensors",
    "llama_model_load: error loading model: tensor 'output.weight' data is not within the "
    "file bounds, model is corrupted or incomplete",
    "llama_model_load_from_file_impl: failed to load model",
    "common_init_from_params: failed to load model '/models/tiny.gguf'",
    "srv    load_model: failed to load model, '/models/tiny.gguf'",
    "main: exiting due to model loading error",
]


def test_model_load_failure_exit_is_model_load_failed() -> None:
    cause, message = classify_exit(1, None, TRUNCATED_GGUF_TAIL, gpu_pool=False)
    assert cause is Cause.MODEL_LOAD_FAILED
    assert message.startswith("engine exited with code 1: the model failed to load")
    assert "exiting due to model loading error" in message


def test_orch_3039_vram_oom_while_loading_is_vram_oom_not_model_load_failed() -> None:
    tail = [
        "ggml_backend_cuda_buffer_type_alloc_buffer: allocating 81920.00 MiB on device 0: "
        "cudaMalloc failed: out of memory",
        "alloc_tensor_range: failed to allocate CUDA0 buffer of size 85899345920",
        "llama_model_load: error loading model: unable to allocate CUDA0 buffer",
        "llama_model_load_from_file_impl: failed to load model",
        "main: exiting due to model loading error",
    ]
    cause, message = classify_exit(1, None, tail, gpu_pool=True)
    assert cause is Cause.VRAM_OOM
    assert "cudaMalloc failed: out of memory" in message


def test_orch_3039_bad_alloc_abort_is_host_oom() -> None:
    tail = [
        "terminate called after throwing an instance of 'std::bad_alloc'",
        "  what():  std::bad_alloc",
    ]
    cause, message = classify_exit(None, signal.SIGABRT, tail, gpu_pool=True)
    assert cause is Cause.HOST_OOM
    assert "killed by SIGABRT" in message
    assert "std::bad_alloc" in message


def test_orch_3039_mmap_failure_is_host_oom() -> None:
    tail = ["llama_model_load: error loading model: mmap failed: Cannot allocate memory"]
    assert classify_exit(1, None, tail, gpu_pool=False)[0] is Cause.HOST_OOM


def test_orch_3039_sigkill_with_killed_hint_is_host_oom() -> None:
    cause, _ = classify_exit(
        -9, None, ["srv  update_slots: all slots are idle", "Killed"], gpu_pool=False
    )
    assert cause is Cause.HOST_OOM


def test_orch_3039_exit_137_with_kernel_oom_killer_line_is_host_oom() -> None:
    tail = ["Out of memory: Killed process 4242 (llama-server) total-vm:98765432kB"]
    assert classify_exit(137, None, tail, gpu_pool=True)[0] is Cause.HOST_OOM


def test_sigkill_without_memory_hints_is_killed_by_signal() -> None:
    cause, message = classify_exit(
        -9, None, ["srv  update_slots: all slots are idle"], gpu_pool=False
    )
    assert cause is Cause.KILLED_BY_SIGNAL
    assert "SIGKILL" in message


def test_killed_hint_without_sigkill_is_not_host_oom() -> None:
    cause, _ = classify_exit(1, None, ["Killed"], gpu_pool=False)
    assert cause is Cause.ENGINE_EXITED


def test_signal_number_given_separately_is_used() -> None:
    cause, message = classify_exit(None, signal.SIGSEGV, [], gpu_pool=False)
    assert cause is Cause.KILLED_BY_SIGNAL
    assert "SIGSEGV" in message


def test_exit_code_above_128_is_read_as_the_signal_a_shell_reports() -> None:
    """The stub's simulated crash exits 134 (128 + SIGABRT)."""
    cause, message = classify_exit(
        134, None, ["stub-engine: simulated crash: aborting"], gpu_pool=False
    )
    assert cause is Cause.KILLED_BY_SIGNAL
    assert "code 134 (SIGABRT)" in message


def test_oc_pool_3010_cuda_error_exit_is_driver_error() -> None:
    tail = [
        "CUDA error: an illegal memory access was encountered",
        "  current device: 0, in function ggml_backend_cuda_synchronize at ggml-cuda.cu:2431",
        "  cudaStreamSynchronize(cuda_ctx->stream())",
    ]
    cause, message = classify_exit(None, signal.SIGABRT, tail, gpu_pool=True)
    assert cause is Cause.DRIVER_ERROR
    assert "illegal memory access" in message


def test_port_in_use_exit_is_port_in_use() -> None:
    tail = [
        "start: couldn't bind HTTP server socket, hostname: 127.0.0.1, port: 8080",
        "main: exiting due to HTTP server error",
    ]
    assert classify_exit(1, None, tail, gpu_pool=False)[0] is Cause.PORT_IN_USE


def test_uvicorn_bind_error_is_port_in_use() -> None:
    tail = [
        "ERROR:    [Errno 98] error while attempting to bind on address "
        "('127.0.0.1', 8000): address already in use"
    ]
    assert classify_exit(1, None, tail, gpu_pool=True)[0] is Cause.PORT_IN_USE


def test_oc_pool_3012_spillover_exit_on_gpu_pool_is_cpu_spillover() -> None:
    tail = [
        "ggml_cuda_init: failed to initialize CUDA: no CUDA-capable device is detected",
        "warning: no usable GPU found, --gpu-layers option will be ignored",
    ]
    assert classify_exit(0, None, tail, gpu_pool=True)[0] is Cause.CPU_SPILLOVER
    assert classify_exit(0, None, tail, gpu_pool=False)[0] is Cause.ENGINE_EXITED


def test_unexplained_exit_is_engine_exited_with_the_last_lines() -> None:
    tail = ["line one", "", "line two", "line three", "line four"]
    cause, message = classify_exit(2, None, tail, gpu_pool=False)
    assert cause is Cause.ENGINE_EXITED
    assert message.startswith("engine exited with code 2")
    assert "line four" in message
    assert "line one" not in message  # only the last few lines


def test_message_quotes_the_first_and_last_supporting_lines() -> None:
    tail = [f"CUDA error: failure number {i}" for i in range(10)]
    _, message = classify_exit(1, None, tail, gpu_pool=True)
    assert message.count("failure number") == TAIL_LINES_IN_MESSAGE
    assert "failure number 0" in message  # the first one: usually the root cause
    assert "failure number 9" in message  # the last one: how it ended
    assert "failure number 5" not in message


def test_very_long_lines_are_shortened_in_the_message() -> None:
    _, message = classify_exit(1, None, ["error loading model: " + "x" * 5000], gpu_pool=False)
    assert len(message) < 400
    assert message.endswith("...")


def test_unknown_status_and_empty_tail_is_engine_exited() -> None:
    cause, message = classify_exit(None, None, [], gpu_pool=False)
    assert cause is Cause.ENGINE_EXITED
    assert "status unknown" in message
