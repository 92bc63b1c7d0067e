@decision
Feature: Draining a pool
  A drain stops new work, lets running work finish until a deadline, then stops the engine.
  Every drain is counted with its reason.

  Background:
    Given a pool "chat" with 4 slots
    And the pool "chat" is ready with 2 slots leased

  @OC-POOL-3031 @OC-POOL-3044
  Scenario: A draining pool refuses new leases with a retry hint
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

  @OC-POOL-3031 @OC-POOL-3043
  Scenario: At the deadline the remaining leases are ended and the engine stopped
    When a drain of "chat" is requested with a deadline in 30000 ms
    And the drain deadline of "chat" passes
    Then the engine of "chat" was told to stop gracefully
    And the pool "chat" reports the last error cause "drain_deadline"
    And the pool "chat" counts 2 leases that ended as "voided"
    And the pool "chat" has 0 active leases

  @OC-POOL-3032
  Scenario: A requested drain is counted with its reason
    When a drain of "chat" is requested with a deadline in 30000 ms
    Then 1 drain of "chat" was counted with reason "api_request"

  @OC-POOL-3034
  Scenario: A second drain of a draining pool is a conflict
    When a drain of "chat" is requested with a deadline in 30000 ms
    And a drain of "chat" is requested with a deadline in 30000 ms
    Then the request is refused with code "CONFLICT"
