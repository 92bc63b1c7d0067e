"""The control plane over HTTP (OC-CTL-4001..4009).

- ``app``: the factory that puts the pieces together, and the OpenAPI document built from it;
- ``routers/``: one router per resource (pools, replica sets, drain and reload, leases,
  metrics, the manager's own health);
- ``auth``: bearer authentication; ``errors``: the error envelope and the one seam that maps
  the core's typed codes (:class:`~poolmgr.core.errors.ErrorCode`) to statuses;
- ``models``: request and response bodies; ``context``: the correlation-id middleware;
  ``plane``: what the routers share; ``openapi``: the corrections to FastAPI's document.
"""
