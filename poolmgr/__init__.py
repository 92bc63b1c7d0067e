"""poolmgr: a pool manager for LLM inference engines.

The package is split into a pure decision core (clock-driven, no I/O: ``lifecycle``,
``backoff``, ``breaker``, ``leases``, ``registry``, ``placement``, ``kvcap``, ``preflight``)
and an imperative shell that feeds it real events (config loading and the CLI today; the
supervisor, engine adapters and HTTP control plane build on the same core).
"""

__version__ = "0.1.0"
