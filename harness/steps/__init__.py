"""The step modules, one per area; importing this package imports none of them.

Each module adds its steps to the table in :mod:`harness.registry`. The decision-level modules
(lifecycle, breaker, leases, backoff, placement, config, gates, metrics, gpu) never load the HTTP
server; only :mod:`~harness.steps.live`, :mod:`~harness.steps.leases_live` and
:mod:`~harness.steps.secrets` start a real manager.
:mod:`harness.steps.__all_steps__` imports every module (behave's ``__all_steps__`` pattern);
the runners import that. This package is deliberately not the aggregator: importing one
decision-level module would otherwise load every other, the HTTP server included.
"""
