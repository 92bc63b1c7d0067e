@decision
Feature: The configured heartbeat staleness limit
  The staleness limit comes from the manager's configuration. A pool whose last heartbeat is
  exactly as old as the limit is still ready; one millisecond more makes it not ready.

  @OC-POOL-3004
  Scenario Outline: With a limit of <limit> ms the pool is ready at the limit and not ready just after
    Given the heartbeat staleness limit is <limit> ms
    And a pool "chat" with 2 slots
    And the pool "chat" is ready
    When <limit> ms pass
    Then the pool "chat" reports state "ready"
    When 1 ms pass
    Then the pool "chat" reports state "unready"
    And the pool "chat" reports the last error cause "heartbeat_stale"

    Examples:
      | limit |
      | 1     |
      | 2000  |
