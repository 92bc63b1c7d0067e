@decision
Feature: A pool's restart delays start over only after it has served for the stable period
  The pool's backoff starts at 1000 ms and doubles, without jitter; its breaker is left at
  5 failures within 120000 ms, so it stays closed here, and heartbeats are not checked. Two
  failed preloads, at 0 and 1000 ms, make the next delay 4000 ms; the third start, at 3000 ms,
  reaches Ready. Only when the pool has then stayed Ready for the whole stable period of
  600000 ms does its next crash wait the first delay again.

  Background:
    Given a pool "chat" with 4 slots
    And the heartbeat staleness limit is 10000000 ms
    And the pool "chat" has been started
    When the preload of "chat" fails 2 times in a row
    And the next restart of "chat" comes due
    And the engine of "chat" finishes preloading

  @OC-POOL-3013
  Scenario Outline: A crash after the pool has served for the stable period waits the first delay again
    When <served> ms pass
    And the engine of "chat" crashes
    Then the pool "chat" reports state "backing_off"
    And the next restart of "chat" is due in <delay> ms

    Examples:
      | served | delay |
      | 10     | 4000  |
      | 599999 | 4000  |
      | 600000 | 1000  |

  @OC-POOL-3013
  Scenario Outline: A readiness blip restarts the stable period from when the pool serves again
    When 300000 ms pass
    And a health probe of "chat" times out
    Then the pool "chat" is not ready
    When a health probe of "chat" answers again
    Then the pool "chat" is ready
    When <served again> ms pass
    And the engine of "chat" crashes
    Then the next restart of "chat" is due in <delay> ms

    Examples:
      | served again | delay |
      | 599999       | 4000  |
      | 600000       | 1000  |
