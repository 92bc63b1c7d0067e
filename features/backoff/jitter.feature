@decision
Feature: Full jitter on restart delays
  Each restart delay is drawn uniformly between zero and the ceiling of its attempt, both
  included, so pools that failed together do not restart in lockstep. The random source is
  injected: seeded, it gives the same delays every time, which these scenarios write down. The
  ceilings are those of the schedule: 1000 ms doubling after each failure, capped at 300000 ms.

  @OC-POOL-3013
  Scenario Outline: With the random source seeded with 7, each delay is a known draw within the ceiling of its attempt
    Given a restart backoff with full jitter starting at 1000 ms, doubling, capped at 300000 ms
    And the backoff draws from a random source seeded with 7
    When the engine has failed <failures> times in a row
    Then the last restart waited <delay> ms, within its ceiling of <ceiling> ms

    Examples:
      | failures | ceiling | delay  |
      | 1        | 1000    | 331    |
      | 2        | 2000    | 1941   |
      | 3        | 4000    | 617    |
      | 4        | 8000    | 3234   |
      | 5        | 16000   | 10664  |
      | 6        | 32000   | 1582   |
      | 7        | 64000   | 4747   |
      | 8        | 128000  | 107646 |
      | 9        | 256000  | 140478 |
      | 10       | 300000  | 49351  |
      | 11       | 300000  | 191726 |
      | 12       | 300000  | 30408  |

  @OC-POOL-3013
  Scenario Outline: Another seed gives other delays
    Given a restart backoff with full jitter starting at 1000 ms, doubling, capped at 300000 ms
    And the backoff draws from a random source seeded with 42
    When the engine has failed <failures> times in a row
    Then the last restart waited <delay> ms, within its ceiling of <ceiling> ms

    Examples:
      | failures | ceiling | delay |
      | 1        | 1000    | 654   |
      | 2        | 2000    | 228   |
      | 4        | 8000    | 6074  |

  @OC-POOL-3013
  Scenario Outline: Pools that fail together spread their restarts over the whole range of each attempt
    Given 200 pools whose restart backoffs have full jitter, starting at 1000 ms, doubling, capped at 300000 ms, each with its own random source
    When all of them fail <failures> times in a row at the same moment
    Then every pool's last restart delay lies between 0 and <ceiling> ms
    And the pools' last restart delays spread from the lowest to the highest quarter of <ceiling> ms

    Examples:
      | failures | ceiling |
      | 1        | 1000    |
      | 2        | 2000    |
      | 3        | 4000    |
      | 6        | 32000   |
      | 9        | 256000  |
      | 10       | 300000  |
      | 40       | 300000  |

  @OC-POOL-3013
  Scenario: Full-jitter delays stay between zero and the cap
    Given a restart backoff with full jitter starting at 1000 ms, doubling, capped at 300000 ms
    When the engine has failed 40 times in a row
    Then every restart delay lies between 0 and 300000 ms
    And the restart delays are spread out rather than all equal

  @OC-POOL-3013
  Scenario Outline: The default backoff starts at 1 second, doubles, caps at 5 minutes and jitters fully
    Given a restart backoff with the default settings
    And the backoff draws from a random source seeded with 7
    When the engine has failed <failures> times in a row
    Then the last restart waited <delay> ms, within its ceiling of <ceiling> ms

    Examples:
      | failures | ceiling | delay  |
      | 1        | 1000    | 331    |
      | 2        | 2000    | 1941   |
      | 9        | 256000  | 140478 |
      | 10       | 300000  | 49351  |
      | 12       | 300000  | 30408  |
