"""Structured logs and secret redaction for the pool manager's shell.

Decides two things:

- what a log line looks like: one JSON object per line (OC-CTL-4009) with ``ts``, ``level``,
  ``event``, ``message``, ``pool_id``, ``engine``, ``engine_version``, ``job_id``,
  ``lease_id``, ``cause`` and the request's ``correlation_id`` (OC-CTL-4005), written through
  the standard :mod:`logging` machinery so any library's records get the same shape;
- what counts as a secret and how it is masked (OC-CTL-4007): bearer tokens, the values of
  environment variables whose names end in ``_TOKEN`` or ``_KEY`` or contain ``SECRET``,
  secrets registered explicitly (the control-plane token), credentials embedded in URLs
  (``https://user:pass@host`` becomes ``https://***@host``) and credential-looking query
  parameters. The same :class:`Redactor` is applied to every log record, every response body
  and every metric label value.

Masking by pattern is written by hand here: no maintained library does log, body and label
redaction with one rule set.
"""

from __future__ import annotations

import contextvars
import datetime as _dt
import json
import logging
import os
import re
import sys
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final, TextIO

__all__ = [
    "LOG_FIELDS",
    "MASK",
    "JsonFormatter",
    "RedactionFilter",
    "Redactor",
    "configure_logging",
    "correlation_id",
    "default_redactor",
    "is_sensitive_env_name",
]

MASK: Final = "***"
"""What a secret is replaced with."""

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

_SENSITIVE_NAME = re.compile(r"(?:_TOKEN|_KEY)$|SECRET", re.IGNORECASE)
_BEARER = re.compile(r"(?i)\b(bearer)(\s+)[A-Za-z0-9._~+/=\-]+")
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/?#@\s]+@")
_QUERY_SECRET = re.compile(
    r"(?i)([?&;][^=&;#\s]*(?:token|key|secret|password|passwd|signature|sig)[^=&;#\s]*=)"
    r"[^&;#\s]+"
)

#: Secrets shorter than this are not masked as bare substrings (a two-letter "secret" would
#: shred every message); patterns (bearer, URL credentials) still apply to them.
MIN_SECRET_LEN: Final = 4


def is_sensitive_env_name(name: str) -> bool:
    """True for environment variable names whose values are treated as secrets."""
    return bool(_SENSITIVE_NAME.search(name))


class Redactor:
    """Masks secrets in text, in nested JSON-like values and in label values. Thread-safe."""

    def __init__(
        self, secrets: Iterable[str] = (), *, environ: Mapping[str, str] | None = None
    ) -> None:
        self._lock = threading.Lock()
        self._secrets: tuple[str, ...] = ()
        env = os.environ if environ is None else environ
        self.add(*(value for name, value in env.items() if is_sensitive_env_name(name)))
        self.add(*secrets)

    def add(self, *secrets: str) -> None:
        """Register literal secrets; each is masked wherever it appears."""
        fresh = {s for s in secrets if len(s) >= MIN_SECRET_LEN}
        if not fresh:
            return
        with self._lock:
            merged = set(self._secrets) | fresh
            # Longest first, so a secret that contains another is masked whole.
            self._secrets = tuple(sorted(merged, key=lambda s: (-len(s), s)))

    def redact(self, text: str) -> str:
        """``text`` with every known secret and credential pattern replaced by ``***``."""
        out = text
        for secret in self._secrets:
            if secret in out:
                out = out.replace(secret, MASK)
        if "://" in out:
            out = _URL_USERINFO.sub(rf"\1{MASK}@", out)
        if "=" in out:
            out = _QUERY_SECRET.sub(rf"\1{MASK}", out)
        if "earer" in out or "EARER" in out:
            out = _BEARER.sub(rf"\1\2{MASK}", out)
        return out

    def redact_value(self, value: Any) -> Any:
        """Redact every string inside a JSON-like value (dicts, lists, tuples, scalars)."""
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, Mapping):
            return {
                (self.redact(k) if isinstance(k, str) else k): self.redact_value(v)
                for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return [self.redact_value(v) for v in value]
        return value

    def contains_secret(self, text: str) -> bool:
        """True when :meth:`redact` would change ``text``."""
        return self.redact(text) != text


_DEFAULT: Redactor | None = None
_DEFAULT_LOCK = threading.Lock()


def default_redactor() -> Redactor:
    """The process-wide redactor (built from the environment on first use)."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = Redactor()
        return _DEFAULT


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


_INSTALLED: list[logging.Handler] = []


def configure_logging(
    redactor: Redactor,
    *,
    level: int = logging.INFO,
    stream: TextIO | None = None,
    log_file: Path | None = None,
) -> list[logging.Handler]:
    """Send every record through redaction and the JSON formatter (stderr, and ``log_file``).

    Replaces the handlers a previous call installed; returns the new ones.
    """
    root = logging.getLogger()
    for old in _INSTALLED:
        root.removeHandler(old)
        old.close()
    _INSTALLED.clear()
    handlers: list[logging.Handler] = [logging.StreamHandler(stream or sys.stderr)]
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
    for handler in handlers:
        handler.addFilter(RedactionFilter(redactor))
        handler.setFormatter(JsonFormatter(redactor))
        root.addHandler(handler)
        _INSTALLED.append(handler)
    root.setLevel(level)
    # uvicorn's own loggers propagate to the root, so they come out as JSON lines too.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    return handlers
