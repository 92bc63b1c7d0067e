"""One router per resource of the control plane; :func:`routers` lists them for the app.

Each module builds its :class:`fastapi.APIRouter` over the shared
:class:`~poolmgr.http.plane.Plane`: pools (listings and health), replica sets, drain and
reload, leases, metrics, and the manager's own health and readiness.
"""

from fastapi import APIRouter

from poolmgr.http.plane import Plane
from poolmgr.http.routers import drain, leases, manager, metrics, pools, replicasets

__all__ = ["routers"]


def routers(plane: Plane) -> list[APIRouter]:
    """Every router of the control plane, built over ``plane``."""
    return [
        module.router(plane) for module in (pools, replicasets, drain, leases, metrics, manager)
    ]
