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
  Scenario: An engine crash voids the pool's leases and counts exactly those
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

  @OC-POOL-3045
  Scenario: A holder renews its lease for a lifetime of its own and keeps the slot that long
    Given a pool "chat" whose leases last 10000 ms unless renewed
    And the pool "chat" is ready
    When a client leases a slot of "chat"
    And 6000 ms pass
    And the client renews its lease for 8000 ms
    Then the request is accepted
    And the lease held on "chat" expires at 14000 ms
    When 7999 ms pass
    Then the pool "chat" has 1 active leases
    When 1 ms pass
    Then the pool "chat" has 0 active leases
    And the pool "chat" counts 1 leases that ended as "expired"

  @OC-POOL-3045 @OC-POOL-3041
  Scenario: A renewal without a lifetime gets the pool's, and a returned lease cannot be renewed
    Given a pool "chat" whose leases last 10000 ms unless renewed
    And the pool "chat" is ready
    When a client leases a slot of "chat"
    And 4000 ms pass
    And the client renews its lease
    Then the lease held on "chat" expires at 14000 ms
    When the client returns its lease
    And the client renews the lease it returned
    Then the request is refused because that lease was already "returned"

  @OC-POOL-3048
  Scenario: A lease lasts the lifetime the client asks for and names the client's job
    Given a pool "chat" whose leases last 10000 ms unless renewed
    And the pool "chat" is ready
    When 500 ms pass
    And a client for job "job-7" leases a slot of "chat" for 2000 ms
    Then the lease granted on "chat" is for job "job-7" and expires at 2500 ms
    When 1999 ms pass
    Then the pool "chat" has 1 active leases
    When 1 ms pass
    Then the pool "chat" has 0 active leases
    And the pool "chat" counts 1 leases that ended as "expired"

  @OC-POOL-3044
  Scenario: A draining pool refuses new leases, naming the pool
    Given a pool "chat" with 2 slots
    And the pool "chat" is ready with 1 slots leased
    When a drain of "chat" is requested with a deadline in 30000 ms
    And a client leases a slot of "chat"
    Then the request is refused with code "POOL_UNAVAILABLE"
    And the refusal names the pool "chat" and says "pool 'chat' is draining and takes no new leases"
    And the refusal gives no retry time
    And the pool "chat" has 1 active leases

  @OC-POOL-3044 @OC-POOL-3047
  Scenario: A pool that was never started refuses leases and gives no retry time
    Given a pool "chat" with 2 slots
    When a client leases a slot of "chat"
    Then the request is refused with code "POOL_UNREADY"
    And the refusal names the pool "chat" and says "pool 'chat' is stopped, not ready"
    And the refusal gives no retry time

  @OC-POOL-3047
  Scenario: The retry hint counts down to the restart and is absent once the engine restarts
    Given a pool "chat" with 2 slots
    And the pool "chat" is ready
    When the engine of "chat" crashes
    And 999 ms pass
    And a client leases a slot of "chat"
    Then the refusal tells the client to retry in 1 ms
    And the refusal names the pool "chat" and says "pool 'chat' is backing_off, not ready"
    When 1 ms pass
    And a client leases a slot of "chat"
    Then the request is refused with code "POOL_UNREADY"
    And the refusal names the pool "chat" and says "pool 'chat' is preloading, not ready"
    And the refusal gives no retry time

  @OC-POOL-3047
  Scenario: A restart that is overdue but not yet made gives a retry hint of zero, never less
    Given a pool "chat" with 2 slots
    And the pool "chat" is ready
    When the engine of "chat" crashes
    And 1500 ms pass before the manager next checks its pools
    And a client leases a slot of "chat"
    Then the request is refused with code "POOL_UNREADY"
    And the refusal tells the client to retry in 0 ms

  @OC-POOL-3041
  Scenario Outline: A refused return leaves every lease count unchanged
    Given a pool "chat" with 3 slots
    And the pool "chat" is ready with 2 slots leased
    When the client returns its lease
    And <the bad return>
    Then the request is refused with code "<code>"
    And the registry lists these pools
      """
      | pool | state | ready | slots | free slots | active leases |
      | chat | ready | yes   | 3     | 2          | 1             |
      """
    And the pool "chat" counts 1 leases that ended as "returned"
    And the pool "chat" counts 0 leases that ended as "expired"
    And the pool "chat" counts 0 leases that ended as "voided"

    Examples:
      | the bad return                                         | code      |
      | the client returns the same lease again                | CONFLICT  |
      | a client returns a lease of "chat" that was never granted | NOT_FOUND |

  @OC-POOL-3041 @OC-POOL-3049
  Scenario: A pool remembers how its 4096 most recently ended leases ended
    Given a pool "chat" with 1 slots
    And the pool "chat" is ready
    When clients lease and return 4097 slots of "chat", one after another
    And the client returns lease number 2 again
    Then the request is refused because that lease was already "returned"
    When the client returns lease number 1 again
    Then the request is refused with code "NOT_FOUND"
    And the pool "chat" counts 4097 leases that ended as "returned"
    And the pool "chat" has 0 active leases
