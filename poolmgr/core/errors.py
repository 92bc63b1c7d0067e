"""The pool manager's one error tree, and the typed codes its errors carry.

Decides which errors the pool manager raises and what each one means to a caller: every
error is a :class:`PoolError` whose ``code`` is an :class:`ErrorCode`, so callers branch on
the code or the class and never parse messages. The control plane maps codes onto HTTP
statuses at one seam (:mod:`poolmgr.http.errors`, OC-CTL-4004, ORCH-2006); nothing else
knows about statuses.

The tree::

    PoolError                     code                  raised by
    ├── UnknownPool               NOT_FOUND             registry
    ├── InvalidTransition         CONFLICT              lifecycle, supervisor
    ├── PoolUnready               POOL_UNREADY          registry (leases, OC-POOL-3044)
    │   └── PoolDraining          POOL_UNAVAILABLE      registry (leases of a draining pool)
    ├── CapacityExhausted         REPLICA_EXHAUSTED     leases (OC-POOL-3040)
    ├── AdmissionRefused          (abstract)            admissions (OC-ADM-*)
    │   ├── QueueFull             QUEUE_FULL            a full admission queue (OC-ADM-9002)
    │   ├── DeadlineExceeded      DEADLINE_EXCEEDED     no slot by the deadline (OC-ADM-9003)
    │   └── QuotaExceeded         QUOTA_EXCEEDED        a tenant's quota (OC-ADM-9011/9012)
    ├── InvalidRequest            INVALID_PARAMS        admissions (unknown tenant, wait too long)
    ├── UnknownLease              NOT_FOUND             leases (OC-POOL-3041)
    ├── LeaseAlreadyReturned      CONFLICT              leases (OC-POOL-3041)
    ├── PlacementError            INVALID_PARAMS        placement, preflight (OC-POOL-3020/3021)
    ├── ConfigError               CONFIG_INVALID        config loading (OC-CFG-*)
    ├── ModelFileError            MODEL_FILE_INVALID    GGUF reading (also a ValueError)
    └── EngineError               ENGINE_FAILED         engine adapters (their two roots,
                                                        EngineProtocolError and ProbeTimeout)
"""

from __future__ import annotations

import os
from enum import StrEnum


# The codes the control plane answers come first, in the order its OpenAPI document lists
# them (spec/openapi.json); the codes after them never reach a client as such (the control
# plane answers INTERNAL for them). No docstring: it would become the schema's description.
class ErrorCode(StrEnum):
    INVALID_PARAMS = "INVALID_PARAMS"
    UNAUTHORIZED = "UNAUTHORIZED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    CONFLICT = "CONFLICT"
    REPLICA_EXHAUSTED = "REPLICA_EXHAUSTED"
    INTERNAL = "INTERNAL"
    POOL_UNREADY = "POOL_UNREADY"
    POOL_UNAVAILABLE = "POOL_UNAVAILABLE"
    NOT_READY = "NOT_READY"
    QUEUE_FULL = "QUEUE_FULL"
    DEADLINE_EXCEEDED = "DEADLINE_EXCEEDED"
    QUOTA_EXCEEDED = "QUOTA_EXCEEDED"
    CONFIG_INVALID = "CONFIG_INVALID"
    MODEL_FILE_INVALID = "MODEL_FILE_INVALID"
    ENGINE_FAILED = "ENGINE_FAILED"


class PoolError(Exception):
    """The root of the tree: ``code`` is a stable machine-readable identifier."""

    code: ErrorCode = ErrorCode.INTERNAL

    def __init__(self, message: str, *, pool_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.pool_id = pool_id


class UnknownPool(PoolError):
    code = ErrorCode.NOT_FOUND


class InvalidTransition(PoolError):
    code = ErrorCode.CONFLICT


class PoolUnready(PoolError):
    """The pool cannot take work now; ``retry_after_ms`` says when it might."""

    code = ErrorCode.POOL_UNREADY

    def __init__(
        self, message: str, *, pool_id: str | None = None, retry_after_ms: int | None = None
    ) -> None:
        super().__init__(message, pool_id=pool_id)
        self.retry_after_ms = retry_after_ms


class PoolDraining(PoolUnready):
    code = ErrorCode.POOL_UNAVAILABLE


class CapacityExhausted(PoolError):
    code = ErrorCode.REPLICA_EXHAUSTED


class AdmissionRefused(PoolError):
    """A lease request that admission refused; ``reason`` names why, ``retry_after_ms`` when."""

    reason: str = ""

    def __init__(
        self, message: str, *, pool_id: str | None = None, retry_after_ms: int | None = None
    ) -> None:
        super().__init__(message, pool_id=pool_id)
        self.retry_after_ms = retry_after_ms


class QueueFull(AdmissionRefused):
    code = ErrorCode.QUEUE_FULL
    reason = "queue_full"


class DeadlineExceeded(AdmissionRefused):
    code = ErrorCode.DEADLINE_EXCEEDED
    reason = "deadline_exceeded"


class QuotaExceeded(AdmissionRefused):
    """A tenant's quota: ``reason`` is ``max_concurrent`` or ``rps``."""

    code = ErrorCode.QUOTA_EXCEEDED

    def __init__(
        self,
        message: str,
        *,
        quota: str,
        pool_id: str | None = None,
        retry_after_ms: int | None = None,
    ) -> None:
        super().__init__(message, pool_id=pool_id, retry_after_ms=retry_after_ms)
        self.reason = quota


class InvalidRequest(PoolError):
    """A request field the core refuses (an unknown tenant, a wait beyond the maximum)."""

    code = ErrorCode.INVALID_PARAMS


class UnknownLease(PoolError):
    code = ErrorCode.NOT_FOUND


class LeaseAlreadyReturned(PoolError):
    code = ErrorCode.CONFLICT


class PlacementError(PoolError):
    """A device mask, split or KV request that cannot be honoured (OC-POOL-3020/3021)."""

    code = ErrorCode.INVALID_PARAMS


class ConfigError(PoolError):
    """One or more problems in a config file; each names the file, field path and reason."""

    code = ErrorCode.CONFIG_INVALID

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class ConfigProblem:
    """One config problem: ``file: field: reason``."""

    __slots__ = ("file", "path", "reason")

    def __init__(self, file: str, path: str, reason: str) -> None:
        self.file = file
        self.path = path
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.file}: {self.path or '<root>'}: {self.reason}"

    def __repr__(self) -> str:
        return f"ConfigProblem({self.file!r}, {self.path!r}, {self.reason!r})"


class ModelFileError(PoolError, ValueError):
    """A model file that cannot be read, or lacks a key the pool manager needs.

    Also a :class:`ValueError`, as it was before the tree: callers that build an engine's
    command catch ``ValueError`` for every malformed input.
    """

    code = ErrorCode.MODEL_FILE_INVALID

    def __init__(self, path: str | os.PathLike[str], problem: str) -> None:
        self.path = os.fspath(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class EngineError(PoolError):
    """An engine that answered malformed, not at all, or too late.

    The runtime's adapters raise its subclasses (``EngineProtocolError``, ``EngineUnreachable``,
    ``ProbeTimeout``); the core only names the branch so that the tree has one root.
    """

    code = ErrorCode.ENGINE_FAILED
