@decision
Feature: Restart backoff
  A failing engine is restarted after delays that grow, up to a cap, so a broken pool does
  not hammer the machine. Time in these scenarios is simulated, so a five-minute cap is
  checked at once.

  @OC-POOL-3011
  Scenario Outline: Restart delays double up to the five-minute cap
    Given a restart backoff starting at 1000 ms, doubling, capped at 300000 ms
    When the engine has failed <failures> times in a row
    Then the last restart waited <delay> ms

    Examples:
      | failures | delay  |
      | 1        | 1000   |
      | 2        | 2000   |
      | 3        | 4000   |
      | 9        | 256000 |
      | 10       | 300000 |
      | 60       | 300000 |

  @OC-POOL-3013
  Scenario: Full-jitter delays stay between zero and the cap
    Given a restart backoff with full jitter starting at 1000 ms, doubling, capped at 300000 ms
    When the engine has failed 40 times in a row
    Then every restart delay lies between 0 and 300000 ms
    And the restart delays are spread out rather than all equal

  @OC-POOL-3013
  Scenario: The failure count resets only after the stable period
    Given a restart backoff starting at 1000 ms, doubling, capped at 300000 ms
    And the failure count resets after 600000 ms of unbroken readiness
    When the engine has failed 3 times in a row
    And the engine becomes ready
    And 599999 ms pass
    Then the failure count is 3
    When 1 ms pass
    Then the failure count is 0

  @OC-POOL-3013
  Scenario: A break in readiness restarts the stable period
    Given a restart backoff starting at 1000 ms, doubling, capped at 300000 ms
    And the failure count resets after 600000 ms of unbroken readiness
    When the engine has failed 3 times in a row
    And the engine becomes ready
    And 400000 ms pass
    And the engine stops being ready
    And the engine becomes ready
    And 400000 ms pass
    Then the failure count is 3

  @OC-POOL-3013
  Scenario: A crash right after becoming ready keeps backing off
    Given a restart backoff starting at 1000 ms, doubling, capped at 300000 ms
    When the engine has failed 3 times in a row
    And the engine becomes ready
    And 10 ms pass
    And the engine has failed 1 times in a row
    Then the last restart waited 8000 ms
