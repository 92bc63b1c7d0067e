"""Engine output: the protocol that reads it, the tails that keep it, the log file that holds it.

Owns the bytes an engine writes, not what they mean (that is :mod:`poolmgr.runtime.classify`):

* :class:`EngineOutput`, the asyncio subprocess protocol that receives one engine's merged
  stdout and stderr, splits it into lines (cutting runs without a newline), flushes what is
  left when the pipe closes, and notices the engine's exit the moment its reaper reports it
  (or, failing that, the reaper ends), never by polling (OC-POOL-3003, OC-PERF-9106, and
  through the core OC-POOL-3043);
* :class:`OutputLog`, a pool's output across restarts: each line redacted (OC-CTL-4007), kept in
  a bounded tail and appended to ``log_dir/<pool_id>.log`` as written, and also handed to the
  manager's structured log at DEBUG level (logger ``poolmgr.engine.output``, event
  ``engine_output``) with the pool, so that it can be filtered like every other engine line
  (OC-POOL-3073);
* :func:`with_tail`, a fault's message followed by the engine's last output lines, which is what
  readiness reports as the last error (OC-POOL-3003, OC-POOL-3010, OC-POOL-3012).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import IO

from poolmgr.telemetry.redact import default_redactor

__all__ = ["TAIL_LINES", "EngineOutput", "OutputLog", "new_tail", "shorten", "with_tail"]

_LOG = logging.getLogger("poolmgr.runtime.output")
_ENGINE_OUTPUT = logging.getLogger("poolmgr.engine.output")
_MARKER = "--- poolmgr: "
"""How the lines the manager itself adds to an engine's log begin."""

TAIL_LINES = 200
"""Lines of engine output kept in memory per pool (and per engine incarnation)."""
_MAX_LINE_BYTES = 16 * 1024
"""A longer run of output without a newline is cut into lines of this size."""
_TAIL_IN_MESSAGE = 5
"""Output lines appended to a fault's message (last_error, OC-POOL-3003)."""
_MESSAGE_LINE_CHARS = 240


def new_tail() -> deque[str]:
    """An empty tail of the last :data:`TAIL_LINES` output lines."""
    return deque(maxlen=TAIL_LINES)


def shorten(line: str) -> str:
    """``line`` stripped, and cut to a length a message can carry."""
    text = line.strip()
    if len(text) <= _MESSAGE_LINE_CHARS:
        return text
    return text[: _MESSAGE_LINE_CHARS - 3] + "..."


def with_tail(message: str, tail: deque[str]) -> str:
    """``message`` followed by the engine's last few output lines (OC-POOL-3003)."""
    lines = [shorten(line) for line in tail if line.strip()][-_TAIL_IN_MESSAGE:]
    if not lines:
        return message
    return message + " | last output: " + " | ".join(lines)


class EngineOutput(asyncio.SubprocessProtocol):
    """Receives one engine's merged stdout/stderr, line by line, and notices its exit.

    ``process_exited`` fires when the child itself ends, whoever still holds its pipe (on
    Python 3.11 ``Process.wait()`` would also wait for every pipe to close, so a grandchild
    keeping the pipe open would hide the exit).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, on_line: Callable[[str], None]) -> None:
        self._on_line = on_line
        self._partial = bytearray()
        self.exited: asyncio.Future[None] = loop.create_future()
        """Set when the engine's end is known: reported by its reaper, or the reaper's exit."""
        self.returncode: int | None = None
        """The engine's return code as its reaper reported it (minus the signal)."""
        self.reaper_exited: asyncio.Future[None] = loop.create_future()
        self.eof: asyncio.Future[None] = loop.create_future()

    def pipe_data_received(self, fd: int, data: bytes | str) -> None:
        self._partial += data.encode() if isinstance(data, str) else data
        while True:
            end = self._partial.find(b"\n")
            if end < 0:
                break
            raw = bytes(self._partial[:end])
            del self._partial[: end + 1]
            self._emit(raw)
        while len(self._partial) > _MAX_LINE_BYTES:
            raw = bytes(self._partial[:_MAX_LINE_BYTES])
            del self._partial[:_MAX_LINE_BYTES]
            self._emit(raw)

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        self.flush()
        if not self.eof.done():
            self.eof.set_result(None)

    def engine_ended(self, returncode: int) -> None:
        """The reaper's report: the engine ended with ``returncode``, its tree is gone."""
        if self.returncode is None:
            self.returncode = returncode
        if not self.exited.done():
            self.exited.set_result(None)

    def process_exited(self) -> None:
        if not self.reaper_exited.done():
            self.reaper_exited.set_result(None)
        if not self.exited.done():
            self.exited.set_result(None)

    def flush(self) -> None:
        if self._partial:
            raw = bytes(self._partial)
            self._partial.clear()
            self._emit(raw)

    def _emit(self, raw: bytes) -> None:
        line = raw.decode("utf-8", "replace").rstrip("\r")
        try:
            self._on_line(line)
        except Exception:  # a bug in line handling must not kill the output pipe
            _LOG.exception("engine output handler failed")


class OutputLog:
    """One pool's engine output across restarts: a bounded tail and ``<pool_id>.log``.

    Lines are redacted before they are kept, since engine output may echo secrets
    (OC-CTL-4007). A log file that cannot be written is given up with one warning; the tail
    goes on.
    """

    def __init__(self, pool_id: str, path: Path) -> None:
        self.pool_id = pool_id
        self.path = path
        self.tail = new_tail()
        self._file: IO[str] | None = None

    def open(self) -> None:
        """Open the log file for appending, line-buffered (its folder must exist)."""
        self._file = self.path.open("a", encoding="utf-8", buffering=1)

    def record(self, line: str) -> str:
        """Redact ``line``, keep it in the tail and append it to the file; the redacted line."""
        line = default_redactor().redact(line)
        self.tail.append(line)
        # The manager's own markers ("--- poolmgr: engine #2 ...") have INFO lines of their own.
        if not line.startswith(_MARKER) and _ENGINE_OUTPUT.isEnabledFor(logging.DEBUG):
            fields = {"event": "engine_output", "pool_id": self.pool_id}
            _ENGINE_OUTPUT.debug("%s", line, extra=fields)
        if self._file is not None:
            try:
                self._file.write(line + "\n")
            except (OSError, ValueError):
                _LOG.warning("pool %s: cannot write %s", self.pool_id, self.path)
                self._file = None
        return line

    def close(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None
