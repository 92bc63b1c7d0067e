@process
Feature: Engine log lines an operator can filter
  The manager writes one JSON object per log line. Every line about an engine (its start, its
  readiness, its faults, its exit, its stop) names the pool, the engine and the engine's
  version, which is null until the engine has told it. A request's correlation id is on the
  lines of the actions that request caused, from the request until the pool is ready or
  stopped again, and on no other line: not on what the engine does later on its own, not on
  what a later request causes, not on the shutdown.

  Background:
    Given the manager is running with this config
      """
      pools:
        - id: rl
          engine: stub
          model: stub://rl-1
          devices: []
          cpu: true
          slots: 1
          drain_deadline_ms: 0
          engine_args: ["--version", "stub-pinned-7"]
      """
    And the live pools "rl" are ready

  @OC-POOL-3073
  Scenario: Every engine line names the pool, the engine and, once known, its version
    When a client reloads the live pool "rl" onto "stub://rl-2" with the correlation id "reload-A"
    Then the live pool "rl" becomes ready on "stub://rl-2"
    And every engine line the manager logged names the pool "rl", the engine "stub" and, once the engine has told it, the version "stub-pinned-7"

  @OC-POOL-3074
  Scenario: Each reload's correlation id is on that reload's lines and on no other
    When a client reloads the live pool "rl" onto "stub://rl-2" with the correlation id "reload-A"
    Then the live pool "rl" becomes ready on "stub://rl-2"
    When a client reloads the live pool "rl" onto "stub://rl-3" with the correlation id "reload-B"
    Then the live pool "rl" becomes ready on "stub://rl-3"
    And the manager's "engine_started" lines about "rl" carry the correlation ids "none, reload-A, reload-B"
    And the manager's "engine_exited" lines about "rl" carry the correlation ids "reload-A, reload-B"
    And the manager's "pool_reload_finished" lines about "rl" carry the correlation ids "reload-A, reload-B"
    And no log line carrying "reload-A" comes after a line carrying "reload-B"
