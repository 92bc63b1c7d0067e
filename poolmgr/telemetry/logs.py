"""Structured logs for the pool manager's shell, with every record redacted.

Decides what a log line looks like: one JSON object per line (OC-CTL-4009) with ``ts``,
``level``, ``event``, ``message``, ``pool_id``, ``engine``, ``engine_version``, ``job_id``,
``lease_id``, ``cause`` and the request's ``correlation_id`` (OC-CTL-4005), written through
the standard :mod:`logging` machinery so any library's records get the same shape; and that
every record (message, arguments, extras, exception text) passes through the one
:class:`~poolmgr.telemetry.redact.Redactor` before it is written (OC-CTL-4007). What counts
as a secret is decided in :mod:`poolmgr.telemetry.redact`; its names are re-exported here
for the modules that configure logging and redaction together.

Also decides where a line's context comes from when the code that logs does not spell it out
(OC-POOL-3073, OC-POOL-3074): three context variables, set by the shell for the work they
describe and copied by asyncio into the tasks that work starts:

* :data:`correlation_id`, the request whose actions are being carried out (set by the HTTP
  layer, and by the supervisor for the actions a request caused, never for an engine's own
  life: its output, probes and exit);
* :data:`log_pool`, the pool whose engine the work is about;
* :data:`pool_identity`, how to look up a pool's engine and engine version, so that every line
  naming a pool names its engine and version too (``null`` until the engine has told it).
"""

from __future__ import annotations

import atexit
import contextlib
import contextvars
import datetime as _dt
import json
import logging
import logging.handlers
import queue
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Final, TextIO

from poolmgr.telemetry.redact import Redactor

__all__ = [
    "LOG_FIELDS",
    "JsonFormatter",
    "PoolIdentity",
    "RedactionFilter",
    "configure_logging",
    "correlation_id",
    "fresh_context",
    "log_pool",
    "log_scope",
    "pool_identity",
    "stop_logging",
]

LOG_FIELDS: Final = (
    "event",
    "pool_id",
    "engine",
    "engine_version",
    "job_id",
    "lease_id",
    "cause",
    "correlation_id",
)
"""Context fields every log line carries (``null`` where they do not apply)."""

correlation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "poolmgr_correlation_id", default=None
)
"""The correlation id of the request being served; the formatter adds it to each line."""

log_pool: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "poolmgr_log_pool", default=None
)
"""The pool the current work is about; the formatter adds it to lines that name no pool."""

PoolIdentity = Callable[[str], tuple[str, str | None] | None]
"""``identity(pool_id)``: the pool's engine and engine version (``None``: no such pool)."""

pool_identity: contextvars.ContextVar[PoolIdentity | None] = contextvars.ContextVar(
    "poolmgr_pool_identity", default=None
)
"""How the formatter finds the engine and engine version of a line's pool."""


@contextlib.contextmanager
def log_scope(pool_id: str | None, correlation: str | None) -> Iterator[None]:
    """Lines logged inside are about ``pool_id`` and were caused by request ``correlation``."""
    pool_token = log_pool.set(pool_id)
    cid_token = correlation_id.set(correlation)
    try:
        yield
    finally:
        correlation_id.reset(cid_token)
        log_pool.reset(pool_token)


def fresh_context(pool_id: str | None, correlation: str | None = None) -> contextvars.Context:
    """A copy of the current context with the pool and correlation id set to these values.

    For tasks and callbacks that outlive the code starting them (an engine's output, probes
    and exit watch): they must not inherit a request's correlation id (OC-POOL-3074).
    """
    ctx = contextvars.copy_context()
    ctx.run(log_pool.set, pool_id)
    ctx.run(correlation_id.set, correlation)
    return ctx


# Attributes every LogRecord has; anything else on a record came in through ``extra=``.
_RECORD_ATTRS: Final = frozenset(
    vars(logging.LogRecord("x", logging.INFO, __file__, 0, "", None, None)).keys()
    | {"message", "asctime", "taskName", "color_message"}  # uvicorn's coloured duplicate
)


class RedactionFilter(logging.Filter):
    """Masks secrets in a record's message, arguments, extras and exception text."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        r = self.redactor
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not lose the record
            message = f"{record.msg!r} {record.args!r}"
        record.msg = r.redact(message)
        record.args = None
        for key, value in list(vars(record).items()):
            if key not in _RECORD_ATTRS:
                setattr(record, key, r.redact_value(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = r.redact(record.exc_text)
        record.exc_info = None  # the (redacted) text is what gets written
        if record.stack_info:
            record.stack_info = r.redact(record.stack_info)
        return True


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return str(value)


class JsonFormatter(logging.Formatter):
    """One JSON object per record; the context fields are always present (OC-CTL-4009)."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        ts = _dt.datetime.fromtimestamp(record.created, tz=_dt.UTC)
        line: dict[str, Any] = {
            "ts": ts.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        extras = {k: v for k, v in vars(record).items() if k not in _RECORD_ATTRS}
        for field in LOG_FIELDS:
            line[field] = extras.pop(field, None)
        if line["event"] is None:
            line["event"] = "log"
        if line["correlation_id"] is None:
            line["correlation_id"] = correlation_id.get()
        if line["pool_id"] is None:
            line["pool_id"] = log_pool.get()
        if line["pool_id"] is not None and (
            line["engine"] is None or line["engine_version"] is None
        ):
            _add_identity(line)
        for key, value in sorted(extras.items()):
            line.setdefault(key, value)
        exc = record.exc_text
        if exc is None and record.exc_info:
            exc = self.formatException(record.exc_info)
        if exc:
            line["exception"] = exc
        if self.redactor is not None:
            line = self.redactor.redact_value(line)
        return json.dumps(_jsonable(line), ensure_ascii=False, separators=(",", ":"))


def _add_identity(line: dict[str, Any]) -> None:
    """Fill in the engine and version of the line's pool, where the line lacks them."""
    identity = pool_identity.get()
    if identity is None:
        return
    try:
        known = identity(str(line["pool_id"]))
    except Exception:  # a lookup must never lose the line
        return
    if known is None:
        return
    engine, version = known
    if line["engine"] is None:
        line["engine"] = engine
    if line["engine_version"] is None:
        line["engine_version"] = version


class _Handoff(logging.handlers.QueueHandler):
    """Runs on the thread that logs: keeps what only that thread knows, hands the rest over.

    The message is rendered with its arguments (they may change once the call returns), an
    exception is rendered to text, and the context variables of the logging task (correlation
    id, pool, the pool's engine and version) are copied onto the record; the JSON line, the
    redaction and the writes happen on the writer thread (OC-PERF-9102).
    """

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not lose the record
            message = f"{record.msg!r} {record.args!r}"
        record.msg, record.args = message, None
        if record.exc_info and not record.exc_text:
            record.exc_text = _PLAIN.formatException(record.exc_info)
        record.exc_info = None
        fields = vars(record)
        if fields.get("correlation_id") is None:
            record.correlation_id = correlation_id.get()
        if fields.get("pool_id") is None:
            record.pool_id = log_pool.get()
        pool_id = fields.get("pool_id")
        if pool_id is not None and (
            fields.get("engine") is None or fields.get("engine_version") is None
        ):
            known: dict[str, Any] = {
                "pool_id": pool_id,
                "engine": fields.get("engine"),
                "engine_version": fields.get("engine_version"),
            }
            _add_identity(known)
            record.engine, record.engine_version = known["engine"], known["engine_version"]
        return record


_PLAIN: Final = logging.Formatter()
_CHATTY_CLIENTS: Final = ("httpx", "httpcore")
"""Libraries that log each HTTP request at info; kept at warning (:func:`configure_logging`)."""


class _JsonLines(logging.Handler):
    """The writer thread's one handler: each record is formatted and redacted once, then the
    same line goes to every output (stderr and the log file)."""

    def __init__(self, redactor: Redactor, outputs: list[TextIO]) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter(redactor))
        self.outputs = outputs

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + "\n"
            for out in self.outputs:
                out.write(line)
                out.flush()
        except Exception:
            self.handleError(record)


class _Installed:
    """What :func:`configure_logging` set up, so that the next call or the stop undoes it."""

    def __init__(self) -> None:
        self.handler: logging.Handler | None = None
        self.listener: logging.handlers.QueueListener | None = None
        self.files: list[TextIO] = []
        self.lock = threading.Lock()

    def stop(self) -> None:
        """Write every record handed over so far, then close the log file (idempotent)."""
        with self.lock:
            if self.handler is not None:
                logging.getLogger().removeHandler(self.handler)
                self.handler = None
            if self.listener is not None:
                self.listener.stop()  # drains the queue before it returns
                self.listener = None
            for out in self.files:
                out.close()
            self.files = []


_INSTALLED: Final = _Installed()


def stop_logging() -> None:
    """Flush every log record handed over so far and close the log file (OC-PERF-9102).

    :func:`configure_logging` registers it to run at exit; ``poolmgr serve`` also calls it when
    it stops. Records logged afterwards go nowhere until logging is configured again.
    """
    _INSTALLED.stop()


atexit.register(stop_logging)


def configure_logging(
    redactor: Redactor,
    *,
    level: int = logging.INFO,
    stream: TextIO | None = None,
    log_file: Path | None = None,
) -> list[TextIO]:
    """Send every record through redaction and the JSON formatter (stderr, and ``log_file``).

    The thread that logs only hands the record over (:class:`_Handoff`); one writer thread
    formats, redacts and writes it (OC-PERF-9102). Replaces what a previous call installed;
    returns the outputs written to.
    """
    _INSTALLED.stop()
    outputs: list[TextIO] = [stream or sys.stderr]
    files: list[TextIO] = []
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        files.append(log_file.open("a", encoding="utf-8"))
    outputs += files
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    listener = logging.handlers.QueueListener(records, _JsonLines(redactor, outputs))
    handoff = _Handoff(records)
    with _INSTALLED.lock:
        _INSTALLED.handler, _INSTALLED.listener, _INSTALLED.files = handoff, listener, files
    listener.start()
    root = logging.getLogger()
    root.addHandler(handoff)
    root.setLevel(level)
    # uvicorn's own loggers propagate to the root, so they come out as JSON lines too.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    # httpx logs every request at info: for the engine client that is a line per health probe
    # of every pool (a third of an idle manager's log writing, bench/bench_idle.py). Its
    # warnings still come through; the probe's outcome is the core's fact, logged as such.
    for name in _CHATTY_CLIENTS:
        logging.getLogger(name).setLevel(logging.WARNING)
    return outputs
