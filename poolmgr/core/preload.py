"""The preload deadline: how long an engine may take to become Ready (OC-POOL-3063).

A :class:`PreloadDeadline` is armed when an engine process of the pool has started (the pool
enters Preloading) and disarmed when its preload ends, either way. The lifecycle machine asks
it on every tick whether the deadline has passed; when it has, the machine fails the start with
the cause ``preload_timeout``: the engine is killed, the failure is counted for the backoff and
the circuit breaker like any failed preload (OC-POOL-3011), and a later restart arms a fresh
deadline. An engine that never finishes loading therefore cannot keep a pool in Preloading for
ever, and probe failures during the preload (which are not counted, OC-POOL-3016) cannot hide it.

Pure: times are milliseconds on the machine's injected clock; no I/O.
"""

from __future__ import annotations

__all__ = ["PreloadDeadline"]


class PreloadDeadline:
    """One pool's preload deadline: armed while an engine preloads, ``None`` otherwise."""

    def __init__(self, timeout_ms: int) -> None:
        if timeout_ms < 1:
            raise ValueError(f"preload_timeout_ms must be >= 1, got {timeout_ms}")
        self.timeout_ms = timeout_ms
        self.started_at_ms: int | None = None

    @property
    def due_at_ms(self) -> int | None:
        """When the running preload times out; ``None`` while no preload runs."""
        return None if self.started_at_ms is None else self.started_at_ms + self.timeout_ms

    def arm(self, now_ms: int) -> None:
        """An engine process started preloading at ``now_ms``."""
        self.started_at_ms = now_ms

    def disarm(self) -> None:
        """The preload ended (Ready, failed, or the engine is gone)."""
        self.started_at_ms = None

    def expired(self, now_ms: int) -> str | None:
        """The failure message once the deadline has passed (and disarms); else ``None``."""
        due = self.due_at_ms
        if due is None or now_ms < due:
            return None
        assert self.started_at_ms is not None
        waited = now_ms - self.started_at_ms
        self.disarm()
        return (
            f"the engine did not finish preloading within {self.timeout_ms} ms "
            f"(preload_timeout_ms; waited {waited} ms)"
        )
