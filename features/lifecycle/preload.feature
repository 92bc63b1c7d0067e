@decision
Feature: Preload gates readiness
  A pool loads its model when it starts and only then takes work. When loading fails,
  the pool says so and says why.

  Background:
    Given a pool "chat" with 2 slots

  @OC-POOL-3001
  Scenario: A pool that is still loading its model is not ready
    When the pool "chat" is started
    Then the pool "chat" is not ready
    And the pool "chat" reports state "preloading"
    And the pool "chat" reports its preload as "not done"

  @OC-POOL-3001 @OC-POOL-3044
  Scenario: A pool that is still loading its model takes no work
    When the pool "chat" is started
    And a client leases a slot of "chat"
    Then the request is refused with code "POOL_UNREADY"

  @OC-POOL-3001 @OC-POOL-3003
  Scenario: A successful preload makes the pool ready
    When the pool "chat" is started
    And the engine of "chat" finishes preloading as version "b4000"
    Then the pool "chat" is ready
    And the pool "chat" reports its preload as "done"
    And the pool "chat" reports engine version "b4000"
    And the pool "chat" reports no last error

  @OC-POOL-3001 @OC-POOL-3003
  Scenario: A failed preload leaves the pool not ready with its cause
    When the pool "chat" is started
    And the preload of "chat" fails with cause "model_load_failed"
    Then the pool "chat" is not ready
    And the pool "chat" reports its preload as "not done"
    And the pool "chat" reports the last error cause "model_load_failed"
    And the next restart of "chat" is due in 1000 ms

  @OC-POOL-3003 @OC-POOL-3051
  Scenario: A model whose digest does not match its pin is reported as such
    When the pool "chat" is started
    And the preload of "chat" fails with cause "digest_mismatch"
    Then the pool "chat" is not ready
    And the pool "chat" reports the last error cause "digest_mismatch"

  @OC-POOL-3001 @OC-POOL-3003
  Scenario: A pool becomes ready once a later preload succeeds
    When the pool "chat" is started
    And the preload of "chat" fails with cause "model_load_failed"
    And the next restart of "chat" comes due
    And the engine of "chat" finishes preloading
    Then the pool "chat" is ready
    And the pool "chat" has been restarted 1 times

  @OC-POOL-3001
  Scenario: A pool whose engine process has not started yet is starting, not ready
    Given the engine processes of "chat" start only when the scenario says so
    When the pool "chat" is started
    Then the pool "chat" reports state "starting"
    And the pool "chat" reports its engine as "not running"
    And the pool "chat" is not ready
    When the engine process of "chat" starts
    Then the pool "chat" reports state "preloading"
    And the pool "chat" reports its engine as "running"
    And the pool "chat" is not ready

  @OC-POOL-3001 @OC-POOL-3003
  Scenario: An engine that cannot be launched is a failed preload retried under the backoff
    Given the engine processes of "chat" start only when the scenario says so
    When the pool "chat" is started
    And the engine of "chat" cannot be launched
    Then the pool "chat" reports state "backing_off"
    And the pool "chat" reports the last error cause "preload_failed"
    And the pool "chat" reports its engine as "not running"
    And no stop or kill of the engine of "chat" was ordered
    And the next restart of "chat" is due in 1000 ms

  @OC-POOL-3003
  Scenario: A failed preload is reported with its cause, its message and its time
    When the pool "chat" is started
    And 250 ms pass
    And the preload of "chat" fails with cause "model_load_failed"
    Then the last error of "chat" was recorded at 250 ms and mentions "model_load_failed"
    And the engine of "chat" was killed because of "model_load_failed"
    And the scrape counts 1 preloads of "chat" that ended in "failure"
    And the scrape counts 0 preloads of "chat" that ended in "success"

  @OC-POOL-3003 @OC-POOL-3011
  Scenario: The restart after a failed preload is counted with that failure's cause
    When the pool "chat" is started
    And the preload of "chat" fails with cause "model_load_failed"
    And the next restart of "chat" comes due
    Then the scrape counts 1 restarts of "chat" after a failure "model_load_failed"
    And 2 engine starts of "chat" were ordered
    And engine start 1 of "chat" was ordered for model "stub://model-a" as a fresh start
    And engine start 2 of "chat" was ordered for model "stub://model-a" as a restart after model_load_failed
    When the engine of "chat" finishes preloading
    Then the scrape counts 1 preloads of "chat" that ended in "success"
    And the pool "chat" has 2 slots

  @OC-POOL-3001 @OC-POOL-3040
  Scenario: The pool takes as many leases as its engine reports slots
    When the pool "chat" is started
    And the engine of "chat" finishes preloading with 3 slots
    Then the pool "chat" has 3 slots
    When clients lease 4 slots of "chat"
    Then the pool "chat" has 3 active leases
