"""The stub engine: a real HTTP engine process that speaks llama-server's endpoints.

``python -m poolmgr.runtime.stub_engine --port 0 --model PATH`` is the default engine of ``poolmgr
serve`` and of most scenarios. It decides nothing for the pool manager; it *behaves* like an
engine, so the supervisor's real process, socket and log handling is exercised without a GPU:

* it binds first and answers ``GET /health`` with 503 ``Loading model`` while it preloads, then
  200 ``{"status":"ok"}`` (OC-POOL-3001: never Ready before preload succeeded);
* preload reads the model file fully; a missing file, or ``--fail-preload MSG``, logs
  llama.cpp's model-load failure lines and exits 1 (OC-POOL-3002/3003). A model named
  ``stub://...`` is virtual and always loads;
* ``GET /props`` (``build_info`` = engine version, OC-POOL-3050), ``GET /slots``,
  ``POST /completion`` answer with llama-server's shapes;
* fault knobs, timed from the moment it is ready: ``--crash-after-ms`` (exit 134, like an
  abort), ``--cuda-error-after-ms`` (llama.cpp's CUDA error lines, exit 1; OC-POOL-3010),
  ``--hang-after-ms`` (accepts connections, never answers; OC-POOL-3016) and ``--cpu-fallback``
  (logs the CUDA-init failure and serves anyway, like the real engine's silent spillover;
  OC-POOL-3012; it then claims no GPU memory); ``--fork-child`` starts, before it loads, a
  child process in a session of its own that sleeps and is never waited for (an engine's helper
  that would escape a process-group kill; OC-POOL-3064), and logs ``stub-engine: forked child
  pid N``;
* simulated GPUs (OC-GPU-9508): when the manager sets ``POOLMGR_SIMULATED_GPU_CLAIMS``, the
  stub, once loaded and before ``/health`` answers 200, claims 256 MiB on each GPU of its mask
  (``CUDA_VISIBLE_DEVICES``, physical indices) in the claim file of
  :mod:`poolmgr.io.simulated_gpus`, and removes it when SIGTERM or SIGINT ends it.
  ``--silent-cpu-fallback`` claims nothing and prints no warning (the engine that falls back
  to the CPU without saying so); ``--claim-gpus 0,1`` claims those GPUs instead of the mask
  (an engine that landed on the wrong GPU);
* on demand, for a chaos run that picks its faults as it goes: SIGUSR1 prints the CUDA error
  lines of ``--cuda-error-after-ms`` and exits 1 at once; ``--check-gguf`` makes a model file
  that does not start with the GGUF magic fail its preload with llama.cpp's lines (without it
  any readable file loads, which many scenarios rely on).

Logs go to stderr, line by line. With ``--port 0`` the first line on stdout is
``stub-engine: listening on http://127.0.0.1:PORT``. SIGTERM and SIGINT end it at once with
status 0. Standard library only, so it starts in well under 0.3 s.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any

from poolmgr import __version__
from poolmgr.io.simulated_gpus import CLAIMS_ENV, remove_claim, write_claim

__all__ = ["EXIT_CRASH", "EXIT_FAILURE", "StubSettings", "main"]

EXIT_CRASH = 134
"""Exit status of ``--crash-after-ms`` (128 + SIGABRT, what a shell reports for an abort)."""
EXIT_FAILURE = 1
VIRTUAL_MODEL_PREFIX = "stub://"
_READ_CHUNK = 1 << 20
_GGUF_MAGIC = b"GGUF"
CLAIM_BYTES = 256 * 2**20
"""What the stub claims on each GPU it holds under simulated GPUs."""


class StubSettings(argparse.Namespace):
    host: str
    port: int
    model: str
    slots: int
    ctx: int
    version: str
    preload_delay_ms: int
    fail_preload: str | None
    crash_after_ms: int | None
    cuda_error_after_ms: int | None
    hang_after_ms: int | None
    cpu_fallback: bool
    fork_child: bool
    check_gguf: bool
    silent_cpu_fallback: bool
    claim_gpus: tuple[int, ...] | None


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _gpu_list(text: str) -> tuple[int, ...]:
    try:
        indices = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected GPU indices like 0,1, got {text!r}") from None
    if any(i < 0 for i in indices):
        raise argparse.ArgumentTypeError(f"GPU indices must be >= 0, got {text!r}")
    return indices


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m poolmgr.runtime.stub_engine",
        description="A stand-in inference engine speaking llama-server's HTTP endpoints.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=_non_negative, default=0, help="0 = pick a free port")
    parser.add_argument("--model", default=VIRTUAL_MODEL_PREFIX + "model")
    parser.add_argument("--slots", type=_positive, default=4)
    # The engine's whole context, split evenly across its slots as llama-server splits -c.
    parser.add_argument("--ctx", type=_positive, default=4096)
    parser.add_argument("--version", default=f"stub-{__version__}")
    parser.add_argument("--preload-delay-ms", type=_non_negative, default=0)
    parser.add_argument("--fail-preload", metavar="MSG", default=None)
    parser.add_argument("--crash-after-ms", type=_non_negative, default=None)
    parser.add_argument("--cuda-error-after-ms", type=_non_negative, default=None)
    parser.add_argument("--hang-after-ms", type=_non_negative, default=None)
    parser.add_argument("--cpu-fallback", action="store_true")
    parser.add_argument("--fork-child", action="store_true")
    parser.add_argument("--check-gguf", action="store_true")
    parser.add_argument("--silent-cpu-fallback", action="store_true")
    parser.add_argument("--claim-gpus", type=_gpu_list, default=None, metavar="I,J")
    return parser


_LOG_LOCK = threading.Lock()


def _log(line: str) -> None:
    """One whole line to stderr, never interleaved with another thread's."""
    with _LOG_LOCK:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()


def _die(status: int) -> None:
    """Leave now, whatever other threads are doing (they may be blocked forever)."""
    sys.stderr.flush()
    sys.stdout.flush()
    os._exit(status)


class _State:
    """What the request handlers read; written by the main thread and the fault timers."""

    def __init__(self, settings: StubSettings) -> None:
        self.settings = settings
        self.ready = threading.Event()
        self.hung = threading.Event()
        self.never = threading.Event()  # a hung request waits on this; nothing sets it
        self.completions = 0
        self.lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "stub-engine"
    # Small JSON answers must not wait for delayed ACKs (about 40 ms each otherwise).
    disable_nagle_algorithm = True

    # ---- plumbing

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, kind: str) -> None:
        self._send(status, {"error": {"code": status, "message": message, "type": kind}})

    def log_message(self, format: str, *args: Any) -> None:
        return  # requests are logged by _log_request, in llama-server's style

    def _log_request(self, status: int) -> None:
        if self.path != "/health":
            _log(
                f"srv  log_server_r: request: {self.command} {self.path} "
                f"{self.client_address[0]} {status}"
            )

    def _gate(self) -> bool:
        """Block forever when hung; answer 503 while loading. True = go on."""
        state = self.server.state
        if state.hung.is_set():
            state.never.wait()
        if not state.ready.is_set():
            self._send(
                HTTPStatus.SERVICE_UNAVAILABLE,
                {"error": {"code": 503, "message": "Loading model", "type": "unavailable_error"}},
            )
            self._log_request(503)
            return False
        return True

    # ---- endpoints

    def do_GET(self) -> None:
        if not self._gate():
            return
        state = self.server.state
        s = state.settings
        path = self.path.split("?", 1)[0]
        if path == "/health":
            self._send(HTTPStatus.OK, {"status": "ok"})
            status = 200
        elif path == "/props":
            self._send(
                HTTPStatus.OK,
                {
                    "build_info": s.version,
                    "model_path": s.model,
                    "total_slots": s.slots,
                    "default_generation_settings": {"n_ctx": s.ctx // s.slots},
                },
            )
            status = 200
        elif path == "/slots":
            per_slot = s.ctx // s.slots
            slots = [{"id": i, "n_ctx": per_slot, "is_processing": False} for i in range(s.slots)]
            self._send(HTTPStatus.OK, slots)
            status = 200
        else:
            status = self._not_found()
        self._log_request(status)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        if not self._gate():
            return
        path = self.path.split("?", 1)[0]
        if path != "/completion":
            self._log_request(self._not_found())
            return
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("prompt", ""), str):
            self._error(
                HTTPStatus.BAD_REQUEST,
                "expected a JSON object with a string 'prompt'",
                "invalid_request_error",
            )
            self._log_request(400)
            return
        state = self.server.state
        with state.lock:
            state.completions += 1
        prompt: str = body.get("prompt", "")
        self._send(
            HTTPStatus.OK,
            {
                "content": f" stub echo: {prompt}",
                "model": state.settings.model,
                "tokens_predicted": len(prompt.split()) + 2,
                "stop": True,
            },
        )
        self._log_request(200)

    def _not_found(self) -> int:
        self._error(HTTPStatus.NOT_FOUND, "File Not Found", "not_found_error")
        return 404


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], state: _State) -> None:
        self.state = state
        super().__init__(address, _Handler)


def _preload(settings: StubSettings) -> str | None:
    """Load the model; the failure message, or ``None`` on success."""
    if settings.preload_delay_ms:
        time.sleep(settings.preload_delay_ms / 1000)  # SIGTERM still ends it at once
    if settings.fail_preload is not None:
        return settings.fail_preload
    if settings.model.startswith(VIRTUAL_MODEL_PREFIX):
        return None
    try:
        with open(settings.model, "rb", buffering=0) as handle:
            magic = handle.read(len(_GGUF_MAGIC))
            while handle.read(_READ_CHUNK):
                pass
    except OSError as exc:
        _log(f"gguf_init_from_file: failed to open GGUF file '{settings.model}' ({exc.strerror})")
        return f"failed to open {settings.model}: {exc.strerror or exc}"
    if settings.check_gguf and magic != _GGUF_MAGIC:
        shown = magic.decode("ascii", "replace")
        _log(f"gguf_init_from_file_impl: invalid magic characters: '{shown}', expected 'GGUF'")
        return f"failed to load model '{settings.model}': invalid magic characters"
    return None


_CHILD_LIFETIME_S = 600
"""How long a forked child sleeps: longer than any scenario, short if something leaks it."""


def _fork_child() -> None:
    """A child in a session of its own, left running: only a reaper can still find it."""
    child = subprocess.Popen(
        [sys.executable, "-c", f"import time; time.sleep({_CHILD_LIFETIME_S})", "stub-child"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    _log(f"stub-engine: forked child pid {child.pid}")


_CUDA_ERROR_LINES = (
    "CUDA error: an illegal memory access was encountered\n"
    "  current device: 0, in function ggml_backend_cuda_synchronize at ggml-cuda.cu:2431\n"
    "  cudaStreamSynchronize(cuda_ctx->stream())\n"
)


def _cuda_error() -> None:
    with _LOG_LOCK:
        sys.stderr.write(_CUDA_ERROR_LINES)
    _die(EXIT_FAILURE)


def _on_sigusr1(_signum: int, _frame: FrameType | None) -> None:
    # As in main's on_signal: the main thread may hold _log's lock; write to the descriptor.
    os.write(2, _CUDA_ERROR_LINES.encode())
    os._exit(EXIT_FAILURE)


def _arm_faults(state: _State) -> None:
    s = state.settings

    def crash() -> None:
        _log("stub-engine: simulated crash: aborting")
        _die(EXIT_CRASH)

    def hang() -> None:
        state.hung.set()  # before the log line: whoever reads it finds the engine hung
        _log("stub-engine: simulated hang: requests are no longer answered")

    for delay_ms, action in (
        (s.crash_after_ms, crash),
        (s.cuda_error_after_ms, _cuda_error),
        (s.hang_after_ms, hang),
    ):
        if delay_ms is not None:
            timer = threading.Timer(delay_ms / 1000, action)
            timer.daemon = True
            timer.start()


def _mask() -> tuple[int, ...]:
    """The physical GPU indices of ``CUDA_VISIBLE_DEVICES`` (entries that are not one ignored)."""
    listed = os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",")
    return tuple(int(p) for p in (part.strip() for part in listed) if p.isdecimal())


def _claim(settings: StubSettings) -> Path | None:
    """Write this engine's GPU claim when the manager simulates GPUs; the claims directory."""
    folder = os.environ.get(CLAIMS_ENV)
    if not folder or settings.silent_cpu_fallback or settings.cpu_fallback:
        return None
    gpus = settings.claim_gpus if settings.claim_gpus is not None else _mask()
    if not gpus:
        return None
    claims = Path(folder)
    try:
        path = write_claim(claims, os.getpid(), dict.fromkeys(gpus, CLAIM_BYTES))
    except OSError as exc:
        _log(f"stub-engine: cannot write the simulated GPU claim in {folder}: {exc}")
        return None
    listed = ",".join(str(i) for i in gpus)
    _log(f"stub-engine: simulated GPU claim of {CLAIM_BYTES} bytes on GPUs {listed} in {path}")
    return claims


def main(argv: Sequence[str] | None = None) -> int:
    settings = build_parser().parse_args(argv, namespace=StubSettings())
    claimed: list[Path] = []  # the claims directory, once the claim is written

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        # The main thread may be inside _log (holding its lock and stderr's buffer) when the
        # signal arrives: write straight to the file descriptor and leave without flushing.
        for folder in claimed:
            remove_claim(folder, os.getpid())  # a clean exit gives its GPU memory back
        name = signal.Signals(signum).name
        os.write(2, f"srv    operator(): received {name}, cleaning up before exit\n".encode())
        os._exit(0)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    # On demand: the CUDA error of --cuda-error-after-ms, now (a chaos run's fault).
    signal.signal(signal.SIGUSR1, _on_sigusr1)

    _log(f"build: {settings.version} (stub engine, poolmgr {__version__})")
    _log(f"system info: n_threads = 1, pid = {os.getpid()}")
    if settings.cpu_fallback:
        _log("ggml_cuda_init: failed to initialize CUDA: no CUDA-capable device is detected")
        _log("warning: no usable GPU found, --gpu-layers option will be ignored")
        _log("warning: one possible reason is that llama.cpp was compiled without GPU support")

    if settings.fork_child:
        _fork_child()
    state = _State(settings)
    try:
        server = _Server((settings.host, settings.port), state)
    except OSError as exc:
        _log(
            f"start: couldn't bind HTTP server socket, hostname: {settings.host}, "
            f"port: {settings.port} ({exc.strerror or exc})"
        )
        _log("main: exiting due to HTTP server error")
        return EXIT_FAILURE
    host, port = str(server.server_address[0]), int(server.server_address[1])
    url = f"http://{host}:{port}"
    print(f"stub-engine: listening on {url}", flush=True)
    threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
    _log(f"main: HTTP server is listening, hostname: {host}, port: {port}, http threads: 4")
    _log("main: loading model")
    _log(f"srv    load_model: loading model '{settings.model}'")

    started = time.monotonic()
    failure = _preload(settings)
    if failure is not None:
        _log(f"llama_model_load: error loading model: {failure}")
        _log(f"srv    load_model: failed to load model, '{settings.model}'")
        _log("main: failed to load model")
        _log("main: exiting due to model loading error")
        _die(EXIT_FAILURE)
    _log(f"llama_context: n_ctx = {settings.ctx}, n_seq_max = {settings.slots}")
    _log(f"srv          init: initializing slots, n_slots = {settings.slots}")
    claimed.extend(folder for folder in [_claim(settings)] if folder is not None)
    state.ready.set()
    _log(f"main: model loaded (in {(time.monotonic() - started) * 1000:.0f} ms)")
    _log(f"main: server is listening on {url} - starting the main loop")
    _log("srv  update_slots: all slots are idle")
    _arm_faults(state)
    threading.Event().wait()  # serve until a signal or a fault ends the process
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
