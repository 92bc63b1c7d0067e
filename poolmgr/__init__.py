"""poolmgr: a pool manager for LLM inference engines.

The layers, outermost first (import-linter enforces that each imports only those below it):

- ``cli``, ``serve``: the commands and the running process (composition root);
- ``http``: the control plane (app factory, one router per resource, auth, error envelope);
- ``runtime``: engine processes, probes, the supervisor loop, engine adapters, output
  classification, the stub engine;
- ``telemetry``: Prometheus metrics and JSON logs, fed by the core's facts;
- ``assemble``: config in, decision-core objects and launch plans out;
- ``config``: reading and checking config files;
- ``io``: reading the world (GGUF headers, NVML, digests, bounded YAML, token files);
- ``core``: the decisions, pure: standard library only, no I/O, time from an injected clock.
"""

__version__ = "0.1.0"
