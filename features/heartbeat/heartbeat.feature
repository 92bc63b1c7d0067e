@decision
Feature: Heartbeats
  A pool whose engine has stopped answering health probes is not ready, even when nothing
  else has been reported.

  Background:
    Given the heartbeat staleness limit is 5000 ms
    And a pool "chat" with 2 slots
    And the pool "chat" is ready

  @OC-POOL-3004
  Scenario: A heartbeat at the limit still counts
    When 5000 ms pass
    Then the pool "chat" is ready

  @OC-POOL-3004 @OC-POOL-3003
  Scenario: A heartbeat older than the limit makes the pool not ready
    When 5001 ms pass
    Then the pool "chat" is not ready
    And the pool "chat" reports the last error cause "heartbeat_stale"

  @OC-POOL-3004
  Scenario: Regular heartbeats keep the pool ready
    When 4000 ms pass
    And a heartbeat arrives from "chat"
    And 4000 ms pass
    Then the pool "chat" is ready

  @OC-POOL-3004 @OC-POOL-3044
  Scenario: A pool with a stale heartbeat takes no work
    When 6000 ms pass
    And a client leases a slot of "chat"
    Then the request is refused with code "POOL_UNREADY"

  @OC-POOL-3004
  Scenario: A pool is ready again once heartbeats return
    When 6000 ms pass
    And a heartbeat arrives from "chat"
    Then the pool "chat" is ready
