"""Typed errors raised by the decision core.

Each error carries a stable ``code`` (the control plane maps these onto its error envelope,
ORCH-2006) so callers never have to parse messages.
"""

from __future__ import annotations

import os


class PoolError(Exception):
    """Base class: ``code`` is a stable machine-readable identifier."""

    code = "INTERNAL"

    def __init__(self, message: str, *, pool_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.pool_id = pool_id


class UnknownPool(PoolError):
    code = "NOT_FOUND"


class InvalidTransition(PoolError):
    code = "CONFLICT"


class PoolUnready(PoolError):
    """The pool cannot take work now; ``retry_after_ms`` says when it might."""

    code = "POOL_UNREADY"

    def __init__(
        self, message: str, *, pool_id: str | None = None, retry_after_ms: int | None = None
    ) -> None:
        super().__init__(message, pool_id=pool_id)
        self.retry_after_ms = retry_after_ms


class PoolDraining(PoolUnready):
    code = "POOL_UNAVAILABLE"


class CapacityExhausted(PoolError):
    code = "REPLICA_EXHAUSTED"


class UnknownLease(PoolError):
    code = "NOT_FOUND"


class LeaseAlreadyReturned(PoolError):
    code = "CONFLICT"


class PlacementError(PoolError):
    """A device mask, split or KV request that cannot be honoured (OC-POOL-3020/3021)."""

    code = "INVALID_PARAMS"


class ConfigError(Exception):
    """One or more problems in a config file; each names the file, field path and reason."""

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


class ModelFileError(ValueError):
    """A model file that cannot be read, or lacks a key the pool manager needs."""

    def __init__(self, path: str | os.PathLike[str], problem: str) -> None:
        self.path = os.fspath(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")
