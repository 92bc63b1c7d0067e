"""What the control plane's routers share: the objects they read and drive.

Decides the one seam between the HTTP layer and the rest of the manager: the routers read
the :class:`~poolmgr.core.registry.Registry` and the metrics directly and drive a
:class:`Controller` (the supervisor, or any object with its ``drain``, ``reload`` and
``engine_url`` methods); every JSON body they answer passes through the redactor
(OC-CTL-4007).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from fastapi.responses import JSONResponse

from poolmgr.core.config import Config
from poolmgr.core.registry import Registry
from poolmgr.http.auth import BearerAuth
from poolmgr.http.walltime import WallClock, system_wall_clock
from poolmgr.telemetry.metrics import PoolMetrics
from poolmgr.telemetry.redact import Redactor

__all__ = ["Controller", "Plane", "redacted_json"]


class Controller(Protocol):
    """What the control plane needs from the supervisor."""

    async def drain(self, pool_id: str, deadline_ms: int) -> None: ...

    async def reload(self, pool_id: str, new_model_ref: str, deadline_ms: int) -> None: ...

    def engine_url(self, pool_id: str) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Plane:
    """Everything a router needs; one per app."""

    registry: Registry
    controller: Controller
    config: Config
    metrics: PoolMetrics
    auth: BearerAuth
    ready: Callable[[], bool] | None
    """Answers ``/readyz``; ``None`` means always ready."""
    wall_clock: WallClock = system_wall_clock
    """Converts monotonic instants to wall-clock times in bodies (OC-CTL-4010, OC-CTL-4021)."""


def redacted_json(redactor: Redactor) -> type[JSONResponse]:
    """A JSON response class that passes every string through ``redactor`` (OC-CTL-4007)."""

    class RedactedJSON(JSONResponse):
        def render(self, content: Any) -> bytes:
            return super().render(redactor.redact_value(content))

    return RedactedJSON
