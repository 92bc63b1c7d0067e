@decision
Feature: Restart backoff schedule
  A failing engine is restarted after delays that grow by the configured factor after each
  failure, up to a cap, so a broken pool does not hammer the machine. These scenarios use the
  schedule without jitter, so each delay is exactly its ceiling. Time in these scenarios is
  simulated, so a five-minute cap is checked at once.

  @OC-POOL-3011 @OC-POOL-3019
  Scenario Outline: Restart delays double up to the five-minute cap
    Given a restart backoff starting at 1000 ms, doubling, capped at 300000 ms
    When the engine has failed <failures> times in a row
    Then the last restart waited <delay> ms

    Examples:
      | failures | delay  |
      | 1        | 1000   |
      | 2        | 2000   |
      | 3        | 4000   |
      | 4        | 8000   |
      | 9        | 256000 |
      | 10       | 300000 |
      | 60       | 300000 |
      | 1100     | 300000 |

  @OC-POOL-3011 @OC-POOL-3019
  Scenario Outline: Restart delays grow by the configured factor, rounded to whole milliseconds
    Given a restart backoff starting at <first> ms, growing <factor> times per failure, capped at <cap> ms
    When the engine has failed <failures> times in a row
    Then the last restart waited <delay> ms

    Examples: a factor of 1.5
      | first | factor | cap   | failures | delay |
      | 100   | 1.5    | 10000 | 2        | 150   |
      | 100   | 1.5    | 10000 | 4        | 338   |
      | 100   | 1.5    | 10000 | 11       | 5767  |
      | 100   | 1.5    | 10000 | 12       | 8650  |
      | 100   | 1.5    | 10000 | 13       | 10000 |

    Examples: a factor of 1 keeps the delay constant
      | first | factor | cap  | failures | delay |
      | 500   | 1      | 9000 | 1        | 500   |
      | 500   | 1      | 9000 | 8        | 500   |
      | 500   | 1      | 9000 | 1100     | 500   |

    Examples: a cap equal to the first delay keeps the delay constant
      | first | factor | cap  | failures | delay |
      | 700   | 3      | 700  | 1        | 700   |
      | 700   | 3      | 700  | 5        | 700   |

    Examples: a cap that the schedule reaches exactly
      | first | factor | cap  | failures | delay |
      | 1000  | 2      | 8000 | 3        | 4000  |
      | 1000  | 2      | 8000 | 4        | 8000  |
      | 1000  | 2      | 8000 | 5        | 8000  |

  @OC-POOL-3011
  Scenario: An engine that never failed may start at once
    Given a restart backoff starting at 1000 ms, doubling, capped at 300000 ms
    Then no restart is scheduled
    And the failure count is 0

  @OC-POOL-3011
  Scenario: The restart comes due exactly when its delay has passed
    Given a restart backoff starting at 1000 ms, doubling, capped at 300000 ms
    When 5000 ms pass
    And the engine has failed 3 times in a row
    Then the last restart waited 4000 ms
    And the restart is due in 4000 ms
    When 3999 ms pass
    Then the restart is due in 1 ms
    When 1 ms pass
    Then the restart is due now
    When 60000 ms pass
    Then the restart is due now

  @OC-POOL-3011 @OC-POOL-3013
  Scenario: Once the restart has happened nothing is scheduled, and the failures still count
    Given a restart backoff starting at 1000 ms, doubling, capped at 300000 ms
    When the engine has failed 2 times in a row
    Then the restart is due in 2000 ms
    When the engine is restarted
    Then the restart is due now
    And the failure count is 2
    When the engine has failed 1 times in a row
    Then the last restart waited 4000 ms
    And the restart is due in 4000 ms
