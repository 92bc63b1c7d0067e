@decision
Feature: Leases
  A lease is one slot of a pool handed to one request. Slots are never over-committed, never
  lost, and never held forever by a client that went away.

  @OC-POOL-3040
  Scenario: A pool never hands out more leases than it has slots
    Given a pool "chat" with 2 slots
    And the pool "chat" is ready
    When clients lease 3 slots of "chat"
    Then the request is refused with code "REPLICA_EXHAUSTED"
    And the pool "chat" has 2 active leases

  @OC-POOL-3040 @OC-POOL-3041
  Scenario: Returning a lease twice is refused and the count never goes negative
    Given a pool "chat" with 2 slots
    And the pool "chat" is ready
    When a client leases a slot of "chat"
    And the client returns its lease
    Then the request is accepted
    And the pool "chat" has 0 active leases
    When the client returns the same lease again
    Then the request is refused with code "CONFLICT"
    And the pool "chat" has 0 active leases

  @OC-POOL-3041
  Scenario: Returning a lease that was never granted is refused
    Given a pool "chat" with 2 slots
    And the pool "chat" is ready
    When a client returns a lease of "chat" that was never granted
    Then the request is refused with code "NOT_FOUND"

  @OC-POOL-3042
  Scenario: A lease that is not returned expires and frees its slot
    Given a pool "chat" whose leases last 10000 ms unless renewed
    And the pool "chat" is ready
    When a client leases a slot of "chat"
    And 9999 ms pass
    Then the pool "chat" has 1 active leases
    When 1 ms pass
    Then the pool "chat" has 0 active leases
    And the pool "chat" counts 1 leases that ended as "expired"
    When the client returns its lease
    Then the request is refused with code "CONFLICT"

  @OC-POOL-3043
  Scenario: An engine crash voids the pool's leases and counts them
    Given a pool "chat" with 4 slots
    And the pool "chat" is ready with 3 slots leased
    When the engine of "chat" crashes
    Then the pool "chat" has 0 active leases
    And the pool "chat" counts 3 leases that ended as "voided"

  @OC-POOL-3044
  Scenario: A pool that is not ready refuses leases and says when to retry
    Given a pool "chat" with 2 slots
    And the pool "chat" is ready
    When the engine of "chat" crashes
    And a client leases a slot of "chat"
    Then the request is refused with code "POOL_UNREADY"
    And the refusal tells the client to retry in 1000 ms
    When 400 ms pass
    And a client leases a slot of "chat"
    Then the refusal tells the client to retry in 600 ms
