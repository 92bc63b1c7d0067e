@decision
Feature: Drains, shutdown drains and reloads from every state
  A drain of a pool whose engine runs waits for its leases and then stops the engine; a drain of
  a pool with no engine running ends at once and cancels the restart it was waiting for. The
  manager's shutdown drains every pool the same way, with reason "shutdown". A reload of a pool
  with no engine running starts the new model at once.

  Background:
    Given a pool "chat" with 2 slots

  @OC-POOL-3035 @OC-POOL-3032
  Scenario Outline: A drain of a pool in state <state>, with no engine running, ends at once
    Given the pool "chat" has reached state "<state>"
    When a drain of "chat" is requested with a deadline in 30000 ms
    Then the request is accepted
    And the pool "chat" reports state "stopped"
    And the pool "chat" has no restart scheduled
    And 1 drain of "chat" was counted with reason "api_request"
    When 900000 ms pass
    Then the pool "chat" reports state "stopped"
    And <starts> engine starts of "chat" were ordered

    Examples:
      | state        | starts |
      | stopped      | 0      |
      | backing_off  | 1      |
      | circuit_open | 5      |

  @OC-POOL-3031 @OC-POOL-3032
  Scenario Outline: A drain of a pool in state <state>, with its engine running, stops the engine
    Given the pool "chat" has reached state "<state>"
    When a drain of "chat" is requested with a deadline in 30000 ms
    Then the pool "chat" reports state "draining"
    And the pool "chat" is not ready
    And the engine of "chat" was not told to stop
    And 1 drain of "chat" was counted with reason "api_request"
    When every lease of "chat" is returned
    Then the engine of "chat" was told to stop gracefully
    When the engine of "chat" exits
    Then the pool "chat" reports state "stopped"
    And the pool "chat" has no restart scheduled

    Examples:
      | state      |
      | preloading |
      | ready      |
      | unready    |

  @OC-POOL-3037 @OC-POOL-3032
  Scenario Outline: A shutdown drain of a pool in state <state> ends it stopped
    Given the pool "chat" has reached state "<state>"
    When the manager drains "chat" for shutdown with a deadline in 10000 ms
    Then the request is accepted
    And the pool "chat" reports state "<while draining>"
    And 1 drain of "chat" was counted with reason "shutdown"
    When the drain of "chat" completes
    Then the pool "chat" reports state "stopped"
    And the pool "chat" has no restart scheduled
    When 900000 ms pass
    Then the pool "chat" reports state "stopped"
    And <starts> engine starts of "chat" were ordered

    Examples:
      | state        | while draining | starts |
      | stopped      | stopped        | 0      |
      | preloading   | draining       | 1      |
      | ready        | draining       | 1      |
      | unready      | draining       | 1      |
      | backing_off  | stopped        | 1      |
      | circuit_open | stopped        | 5      |

  @OC-POOL-3037 @OC-POOL-3031
  Scenario: A shutdown drain refuses new leases and ends them at its deadline
    Given the pool "chat" is ready with 2 slots leased
    When the manager drains "chat" for shutdown with a deadline in 10000 ms
    And a client leases a slot of "chat"
    Then the request is refused with code "POOL_UNAVAILABLE"
    When the drain deadline of "chat" passes
    Then the engine of "chat" was told to stop gracefully
    And the pool "chat" counts 2 leases that ended as "voided"
    And the last error of "chat" was recorded at 10000 ms and mentions "deadline"

  @OC-POOL-3037 @OC-POOL-3034
  Scenario: A shutdown drain of a pool that is already draining is a conflict
    Given the pool "chat" has reached state "draining"
    When the manager drains "chat" for shutdown with a deadline in 10000 ms
    Then the request is refused with code "CONFLICT"
    And the pool "chat" reports state "draining"
    And 0 drain of "chat" was counted with reason "shutdown"
    And 1 drain of "chat" was counted with reason "api_request"

  @OC-POOL-3038 @OC-POOL-3033
  Scenario Outline: A reload of a pool in state <state> starts the new model at once
    Given the pool "chat" has reached state "<state>"
    When a reload of "chat" to model "stub://model-b" is requested
    Then the request is accepted
    And the pool "chat" reports state "preloading"
    And the pool "chat" has no restart scheduled
    And <starts> engine starts of "chat" were ordered
    And 1 drain of "chat" was counted with reason "reload"
    And engine start <starts> of "chat" was ordered for model "stub://model-b" as a fresh start
    And the reload of "chat" is reported as "in_progress"
    When the engine of "chat" finishes preloading as version "b2000"
    Then the pool "chat" is ready
    And the pool "chat" serves model "stub://model-b"
    And the pool "chat" reports engine version "b2000"
    And the reload of "chat" is reported as "done"
    And the pool "chat" has been restarted <restarts> times

    Examples:
      | state        | starts | restarts |
      | stopped      | 1      | 0        |
      | backing_off  | 2      | 0        |
      | circuit_open | 6      | 4        |

  @OC-POOL-3038 @OC-POOL-3039
  Scenario: A reload of a stopped pool whose new model fails starts the previous model
    When a reload of "chat" to model "stub://model-b" is requested
    And the preload of "chat" fails with cause "model_load_failed"
    And the engine of "chat" exits
    Then the reload of "chat" is reported as "rolled_back"
    And the pool "chat" reports state "preloading"
    And the pool "chat" serves model "stub://model-a"
    And the pool "chat" reports the last error cause "reload_failed"

  @OC-POOL-3035 @OC-POOL-3031
  Scenario: A drain waits for an engine that was killed but has not exited yet
    When the pool "chat" is started
    And the preload of "chat" fails with cause "model_load_failed"
    And a drain of "chat" is requested with a deadline in 30000 ms
    Then the pool "chat" reports state "draining"
    When the engine of "chat" exits
    Then the pool "chat" reports state "stopped"
    And the pool "chat" has no restart scheduled
    And the pool "chat" reports the last error cause "model_load_failed"

  @OC-POOL-3038 @OC-POOL-3033
  Scenario: A reload waits for an engine that was killed but has not exited yet
    When the pool "chat" is started
    And the preload of "chat" fails with cause "model_load_failed"
    And a reload of "chat" to model "stub://model-b" is requested
    Then the pool "chat" reports state "draining"
    And 1 engine starts of "chat" were ordered
    When the engine of "chat" exits
    Then the pool "chat" reports state "preloading"
    And engine start 2 of "chat" was ordered for model "stub://model-b" as a fresh start
