"""The in-process test engine (``engine: test-inproc``): an engine double that costs no process.

Serves OC-PERF-9110 and the 1,000-pool scale tests (OC-PERF-9109). Decides how a test engine
lives inside the manager, nothing about *when* (the supervisor and the core do that):

* one HTTP server per event loop, on loopback, shared by every test engine of the manager; each
  engine answers under a path of its own (``/test-engine/<pool>/<generation>``), with llama.cpp
  server's shapes: ``GET /health`` 200 ``{"status": "ok"}``, ``GET /props`` (``build_info``, the
  engine version :data:`TEST_ENGINE_VERSION`), ``GET /slots``. So the real probe path (adapter,
  HTTP client, preload confirmation, heartbeat) is exercised; anything else answers 404. The
  server opens with the first test engine and closes with the last;
* :func:`start` is the supervisor's whole launch of a test engine: it registers the engine,
  tells the core ``EngineStarted`` and starts the pool's probes; every line it logs names it as
  a test engine (``engine: test-inproc``, the output log's marker too);
* :func:`stop` is the supervisor's signal: a SIGTERM or SIGKILL ends the engine *like an exit*
  (its probes stop, its path answers 404, and the core is told ``EngineExited`` as a real
  engine ended by that signal would be), so a pool's drain, stop and restart complete.

HTTP is parsed with ``h11`` (the protocol library uvicorn uses) over asyncio streams: a full
web framework per test engine is what this module exists to avoid.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import signal
import weakref
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import h11

from poolmgr import __version__
from poolmgr.core.events import EngineStarted
from poolmgr.runtime.incarnation import Dispatch, Incarnation, PoolRuntime
from poolmgr.runtime.process import Stop, base_url
from poolmgr.runtime.verdicts import exit_event

__all__ = ["TEST_ENGINE_PID", "TEST_ENGINE_VERSION", "running_engines", "start", "stop"]

_LOG = logging.getLogger("poolmgr.runtime.inproc")

TEST_ENGINE_VERSION = f"test-inproc-{__version__}"
"""What a test engine reports as its version (``/props`` ``build_info``)."""
TEST_ENGINE_PID = 0
"""The pid a test engine's ``EngineStarted`` carries: it has no process of its own."""
_HOST = "127.0.0.1"
_PREFIX = "/test-engine/"
_MAX_REQUEST = 16 * 1024

ProbeLoop = Callable[[PoolRuntime, Incarnation], Coroutine[Any, Any, None]]


class _Transport(asyncio.SubprocessTransport):
    """Stands where a real engine's transport would: the incarnation counts as running."""

    def get_pid(self) -> int:
        return TEST_ENGINE_PID

    def get_returncode(self) -> int | None:
        return None


@dataclass(eq=False)
class _Engine:
    """One running test engine: what it answers, and how to end it."""

    runtime: PoolRuntime
    inc: Incarnation
    dispatch: Dispatch
    path: str

    def answer(self, what: str) -> tuple[int, Any]:
        pool = self.runtime.pool
        per_slot = self.inc.plan.ctx_per_slot if self.inc.plan is not None else pool.ctx
        if what == "/health":
            return 200, {"status": "ok"}
        if what == "/props":
            return 200, {
                "build_info": TEST_ENGINE_VERSION,
                "model_path": self.inc.model_ref,
                "total_slots": pool.slots,
                "default_generation_settings": {"n_ctx": per_slot},
            }
        if what == "/slots":
            slots = [
                {"id": i, "n_ctx": per_slot, "is_processing": False} for i in range(pool.slots)
            ]
            return 200, slots
        return 404, {"error": {"code": 404, "message": "File Not Found", "type": "not_found_error"}}


class _Host:
    """The one HTTP server of a loop's test engines."""

    def __init__(self) -> None:
        self.engines: dict[str, _Engine] = {}
        self.port: int | None = None
        self._server: asyncio.Server | None = None
        self._opening: asyncio.Task[asyncio.Server] | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def open(self) -> int:
        if self._server is None:
            if self._opening is None:
                self._opening = asyncio.ensure_future(
                    asyncio.start_server(self._serve, _HOST, 0, limit=_MAX_REQUEST)
                )
            self._server = await asyncio.shield(self._opening)
            self.port = self._server.sockets[0].getsockname()[1]
        assert self.port is not None
        return self.port

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        conn = h11.Connection(h11.SERVER)
        try:
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    data = await reader.read(_MAX_REQUEST)
                    conn.receive_data(data)
                    if not data:
                        return
                    continue
                if isinstance(event, h11.Request):
                    writer.write(self._respond(conn, event))
                    await writer.drain()
                elif isinstance(event, h11.EndOfMessage):
                    if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
                        return
                    conn.start_next_cycle()
                elif isinstance(event, h11.ConnectionClosed):
                    return
        except (h11.ProtocolError, ConnectionError):
            return
        finally:
            self._writers.discard(writer)
            writer.close()

    def _respond(self, conn: h11.Connection, request: h11.Request) -> bytes:
        target = request.target.decode("latin-1").split("?", 1)[0]
        status, body = 404, {"error": {"code": 404, "message": "no such test engine"}}
        if request.method == b"GET" and target.startswith(_PREFIX):
            head, _, what = target[len(_PREFIX) :].rpartition("/")
            engine = self.engines.get(head)
            if engine is not None:
                status, body = engine.answer("/" + what)
        payload = json.dumps(body).encode()
        headers = [("content-type", "application/json"), ("content-length", str(len(payload)))]
        return b"".join(
            (
                conn.send(h11.Response(status_code=status, headers=headers)) or b"",
                conn.send(h11.Data(data=payload)) or b"",
                conn.send(h11.EndOfMessage()) or b"",
            )
        )


_HOSTS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Host] = weakref.WeakKeyDictionary()
_RUNNING: weakref.WeakKeyDictionary[Incarnation, tuple[_Host, _Engine]] = (
    weakref.WeakKeyDictionary()
)


def running_engines() -> int:
    """How many test engines run on the current event loop (for tests and benchmarks)."""
    host = _HOSTS.get(asyncio.get_running_loop())
    return 0 if host is None else len(host.engines)


async def start(
    runtime: PoolRuntime,
    inc: Incarnation,
    dispatch: Dispatch,
    probe_loop: ProbeLoop,
    life: contextvars.Context,
) -> None:
    """Launch ``inc`` as a test engine: serve it, tell the core it started, probe it.

    ``probe_loop`` is the supervisor's prober; ``life`` the logging context of the engine's
    own life (no request's correlation id).
    """
    pool_id = runtime.pool.id
    loop = asyncio.get_running_loop()
    host = _HOSTS.get(loop)
    if host is None:
        host = _HOSTS[loop] = _Host()
    port = await host.open()
    key = f"{pool_id}/{inc.generation}"
    engine = _Engine(runtime, inc, dispatch, key)
    host.engines[key] = engine
    _RUNNING[inc] = (host, engine)
    inc.transport = _Transport()
    inc.base_url = inc.advertised_url = f"{base_url(_HOST, port)}{_PREFIX}{key}"
    marker = (
        f"--- poolmgr: test engine #{inc.generation} (test-inproc, in the manager, no process) "
        f"model {inc.model_ref} on {inc.base_url}"
    )
    runtime.log.record(marker)
    fields = {"event": "engine_started", "engine": "test-inproc", "url": inc.base_url}
    _LOG.info("pool %s: test engine started: %s", pool_id, marker, extra=fields)
    if inc.stop is not None or runtime.current is not inc:
        stop(inc, inc.stop or Stop.KILL)
        return
    dispatch(pool_id, EngineStarted(TEST_ENGINE_PID))
    if not inc.ended:
        inc.probe_task = loop.create_task(
            probe_loop(runtime, inc), name=f"poolmgr-probe-{key}", context=life
        )


def stop(inc: Incarnation, how: Stop) -> bool:
    """End ``inc`` if it is a test engine, as that signal would end an engine; ``False`` when
    ``inc`` is not one (a real engine: signal its process group instead)."""
    found = _RUNNING.pop(inc, None)
    if found is None:
        return False
    host, engine = found
    host.engines.pop(engine.path, None)
    if not host.engines:
        host.close()
        loop = asyncio.get_running_loop()
        if _HOSTS.get(loop) is host:
            del _HOSTS[loop]
    if inc.probe_task is not None:
        inc.probe_task.cancel()
    sig = signal.SIGKILL if how is Stop.KILL else signal.SIGTERM
    exited = exit_event(-sig, inc.tail, gpu_pool=False)
    inc.end()
    runtime = engine.runtime
    pool_id = runtime.pool.id
    runtime.log.record(f"--- poolmgr: test engine #{inc.generation}: {exited.message}")
    fields = {"event": "engine_exited", "engine": "test-inproc", "cause": exited.cause.value}
    _LOG.info("pool %s: test engine ended: %s", pool_id, exited.message, extra=fields)

    def tell() -> None:
        if runtime.current is inc:  # only the current incarnation reports, as a real exit
            engine.dispatch(pool_id, exited)

    # Told from the loop, as a real exit is: never from inside the action that stopped it.
    asyncio.get_running_loop().call_soon(tell)
    return True
