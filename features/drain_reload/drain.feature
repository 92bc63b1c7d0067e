@decision
Feature: Draining a pool
  A drain stops new work, lets running work finish until a deadline, then stops the engine.
  Every drain is counted with its reason.

  Background:
    Given a pool "chat" with 4 slots
    And the pool "chat" is ready with 2 slots leased

  @OC-POOL-3031 @OC-POOL-3044
  Scenario: A draining pool refuses new leases
    When a drain of "chat" is requested with a deadline in 30000 ms
    And a client leases a slot of "chat"
    Then the request is refused with code "POOL_UNAVAILABLE"
    And the pool "chat" reports state "draining"

  @OC-POOL-3031
  Scenario: A drain waits for active leases before stopping the engine
    When a drain of "chat" is requested with a deadline in 30000 ms
    Then the engine of "chat" was not told to stop
    When every lease of "chat" is returned
    Then the engine of "chat" was told to stop gracefully
    When the engine of "chat" exits
    Then the pool "chat" reports state "stopped"
    And the pool "chat" reports its engine as "not running"
    And the pool "chat" reports its preload as "not done"
    And the pool "chat" reports as its last error "nothing"
    And the pool "chat" has no restart scheduled
    When 900000 ms pass
    Then the pool "chat" reports state "stopped"
    And 1 engine starts of "chat" were ordered

  @OC-POOL-3031 @OC-POOL-3043
  Scenario: At the deadline the remaining leases are ended and the engine stopped
    When a drain of "chat" is requested with a deadline in 30000 ms
    And the drain deadline of "chat" passes
    Then the engine of "chat" was told to stop gracefully
    And the pool "chat" reports the last error cause "drain_deadline"
    And the pool "chat" counts 2 leases that ended as "voided"
    And the pool "chat" has 0 active leases
    And the last error of "chat" was recorded at 30000 ms and says "drain deadline passed with leases active"
    When the engine of "chat" exits
    Then the pool "chat" reports state "stopped"
    And the pool "chat" reports the last error cause "drain_deadline"

  @OC-POOL-3032 @OC-CTL-4022
  Scenario: A requested drain is counted with its reason; the engine stays preloaded until it exits
    When a drain of "chat" is requested with a deadline in 30000 ms
    Then 1 drain of "chat" was counted with reason "api_request"
    And the pool "chat" reports the drain reason "api_request"
    And the pool "chat" reports its preload as "done"
    When every lease of "chat" is returned
    And the engine of "chat" exits
    Then the pool "chat" reports state "stopped"
    And the pool "chat" reports its preload as "not done"

  @OC-POOL-3034
  Scenario: A second drain of a draining pool is a conflict
    When a drain of "chat" is requested with a deadline in 30000 ms
    And a drain of "chat" is requested with a deadline in 30000 ms
    Then the request is refused with code "CONFLICT"
    And the refusal names the pool "chat" and says "pool is already draining"
    And the pool "chat" reports state "draining"
    And 1 drain of "chat" was counted with reason "api_request"

  @OC-POOL-3031
  Scenario: A deadline that passes after the engine was told to stop ends no lease
    When a drain of "chat" is requested with a deadline in 30000 ms
    And every lease of "chat" is returned
    And the drain deadline of "chat" passes
    Then the pool "chat" reports as its last error "nothing"
    And the pool "chat" counts 0 leases that ended as "voided"
    And the pool "chat" counts 2 leases that ended as "returned"

  @OC-POOL-3031
  Scenario: Returning every lease of a pool that is not draining leaves its engine running
    When every lease of "chat" is returned
    Then the engine of "chat" was not told to stop
    And the pool "chat" reports state "ready"

  @OC-POOL-3036 @OC-POOL-3043
  Scenario Outline: An engine that exits with cause <cause> during a drain ends the drain with that cause
    When a drain of "chat" is requested with a deadline in 30000 ms
    And 100 ms pass
    And the engine of "chat" exits with cause "<cause>"
    Then the pool "chat" reports state "stopped"
    And the pool "chat" reports the last error cause "<cause>"
    And the last error of "chat" was recorded at 100 ms and mentions "<cause>"
    And the pool "chat" counts 2 leases that ended as "voided"
    And the pool "chat" has 0 active leases
    When 900000 ms pass
    Then the pool "chat" reports state "stopped"
    And the pool "chat" has been restarted 0 times
    And the pool "chat" has no restart scheduled
    And 1 engine starts of "chat" were ordered

    Examples:
      | cause            |
      | killed_by_signal |
      | vram_oom         |
      | engine_exited    |

  @OC-POOL-3036 @OC-POOL-3010 @OC-POOL-3032
  Scenario: A CUDA error during a drain kills the engine and the drain ends when it has exited
    When a drain of "chat" is requested with a deadline in 30000 ms
    And the engine of "chat" writes: CUDA error: an illegal memory access was encountered
    Then the engine of "chat" was killed because of "driver_error"
    And the pool "chat" reports state "draining"
    And the pool "chat" reports the last error cause "driver_error"
    And the pool "chat" counts 2 leases that ended as "voided"
    And a driver reset of "chat" was counted
    And 1 drain of "chat" was counted with reason "api_request"
    When the engine of "chat" crashes
    Then the pool "chat" reports state "stopped"
    And the pool "chat" reports the last error cause "driver_error"
    And the pool "chat" has no restart scheduled
