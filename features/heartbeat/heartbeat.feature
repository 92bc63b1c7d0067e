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

  @OC-POOL-3004 @OC-POOL-3003
  Scenario: Staleness is judged when the pool is read, even without a timer
    When 5001 ms pass without any timer running
    Then the pool "chat" reports state "unready"
    And the last error of "chat" was recorded at 5001 ms and mentions "no heartbeat for 5001 ms"

  @OC-POOL-3004
  Scenario: A pool read exactly at the limit without a timer is still ready
    When 5000 ms pass without any timer running
    Then the pool "chat" reports state "ready"

  @OC-POOL-3006 @OC-POOL-3004
  Scenario: After a stale heartbeat one probe restores Ready without a restart
    When 6000 ms pass
    And a heartbeat arrives from "chat"
    Then the pool "chat" reports state "ready"
    And the pool "chat" has been restarted 0 times
    And the pool "chat" reports as its last error "heartbeat_stale"

  @OC-POOL-3004 @OC-POOL-3016
  Scenario: A stale heartbeat does not replace the cause of a pool already not ready
    When a health probe of "chat" times out
    And 6000 ms pass
    Then the pool "chat" reports state "unready"
    And the pool "chat" reports the last error cause "probe_timeout"

  @OC-POOL-3004
  Scenario: A heartbeat resets the staleness limit from its own time
    When 4000 ms pass
    And a heartbeat arrives from "chat"
    And 5000 ms pass without any timer running
    Then the pool "chat" reports state "ready"
    When 1 ms pass without any timer running
    Then the pool "chat" reports state "unready"
    And the last error of "chat" was recorded at 9001 ms and mentions "no heartbeat for 5001 ms"
