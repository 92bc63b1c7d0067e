@decision
Feature: The circuit breaker on its own: its window, its cool-down and its single trial
  The breaker counts failures over a sliding window. When the threshold number of failures
  lies within one window it opens and refuses every start. Its one trial start comes once the
  cool-down has passed and fewer than the threshold failures remain in the window; a trial that
  fails opens it again with a longer cool-down, a trial that reaches Ready closes it. Times are
  milliseconds on the scenario's simulated clock, counted from the start of the scenario.

  @OC-POOL-3014
  Scenario Outline: Failures open the breaker only when the threshold number lie within one window
    Given a circuit breaker that opens after 3 failures within 60000 ms and first cools down for 30000 ms
    When the breaker records failures at 0, 30000 and <third failure> ms
    Then the breaker is "<state>"
    And at <third failure> ms <in window> failures lie within the window

    Examples: the first failure leaves the window exactly one window after it happened
      | third failure | state  | in window |
      | 59999         | open   | 3         |
      | 60000         | closed | 2         |
      | 60001         | closed | 2         |

  @OC-POOL-3014
  Scenario Outline: Evenly spaced failures open the breaker only when they are closer than the window allows
    Given a circuit breaker that opens after 3 failures within 60000 ms and first cools down for 30000 ms
    When the breaker records <count> failures <gap> ms apart, the first at 0 ms
    Then the breaker is "<state>"
    And the breaker has opened <opened> times

    Examples:
      | gap   | count | state  | opened |
      | 29999 | 3     | open   | 1      |
      | 30000 | 10    | closed | 0      |
      | 60000 | 10    | closed | 0      |
      | 90000 | 10    | closed | 0      |

  @OC-POOL-3014
  Scenario: Failures below the threshold leave every start allowed
    Given a circuit breaker that opens after 3 failures within 60000 ms and first cools down for 30000 ms
    When the breaker records failures at 0 and 10000 ms
    And a start is asked for at 10000, 10000 and 20000 ms
    Then the breaker answered allowed, allowed and allowed
    And the breaker is "closed"
    And the breaker has never opened

  @OC-POOL-3014
  Scenario: A threshold of one opens the breaker on the first failure
    Given a circuit breaker that opens after 1 failures within 60000 ms and first cools down for 30000 ms
    When the breaker records a failure at 5000 ms
    Then the breaker is "open"
    And the breaker allows its next trial at 65000 ms

  @OC-POOL-3011 @OC-POOL-3014
  Scenario Outline: The trial waits for the cool-down and for room in the window, whichever comes later
    Given a circuit breaker that opens after 3 failures within 60000 ms and first cools down for 30000 ms
    When the breaker records failures at <failures> ms
    Then the breaker is "open"
    And the breaker cools down for 30000 ms
    And the breaker allows its next trial at <trial> ms
    And at <just before> ms the breaker is "open"
    And at <trial> ms the breaker is "half_open"

    Examples: opened at the third failure; the first failure leaves the window 60000 ms after it happened
      | failures           | trial | just before | decided by                                 |
      | 0, 10000 and 20000 | 60000 | 59999       | room in the window (cool-down over at 50000) |
      | 0, 20000 and 30000 | 60000 | 59999       | both, at the same moment                   |
      | 0, 50000 and 55000 | 85000 | 84999       | the cool-down (room in the window at 60000) |

  @OC-POOL-3011 @OC-POOL-3014
  Scenario: An open breaker refuses every start until its trial, then admits exactly one
    Given a circuit breaker that opens after 3 failures within 60000 ms and first cools down for 30000 ms
    When the breaker records failures at 0, 10000 and 20000 ms
    And a start is asked for at 20000, 59999, 60000, 60000, 60001 and 180000 ms
    Then the breaker answered refused, refused, allowed, refused, refused and refused
    And at 180000 ms the breaker is "half_open"

  @OC-POOL-3014
  Scenario: Failures and successes reported while the breaker is open change nothing
    Given a circuit breaker that opens after 3 failures within 60000 ms and first cools down for 30000 ms
    When the breaker records failures at 0, 50000 and 55000 ms
    And the breaker records failures at 60000 and 84999 ms
    And the breaker records a successful start at 84999 ms
    Then the breaker is "open"
    And the breaker has opened 1 times
    And the breaker allows its next trial at 85000 ms
    And at 85000 ms the breaker is "half_open"

  @OC-POOL-3014
  Scenario: A trial that reaches Ready closes the breaker and returns the cool-down to its base value
    Given a circuit breaker that opens after 3 failures within 60000 ms and first cools down for 30000 ms
    When the breaker records failures at 0, 10000 and 20000 ms
    And the trial at 60000 ms fails at once
    Then the breaker cools down for 60000 ms and allows its next trial at 120000 ms
    When the trial at 120000 ms reaches Ready at 125000 ms
    Then the breaker is "closed"
    And the breaker cools down for 30000 ms
    And the breaker names no trial time
    When a start is asked for at 125000 and 125000 ms
    Then the breaker answered allowed and allowed

  @OC-POOL-3011 @OC-POOL-3014
  Scenario: Failures from before a successful trial still count, so one more failure re-opens the breaker at once
    Given a circuit breaker that opens after 3 failures within 60000 ms and first cools down for 30000 ms
    When the breaker records failures at 0, 50000 and 55000 ms
    And the trial at 85000 ms reaches Ready at 86000 ms
    Then the breaker is "closed"
    And at 86000 ms 2 failures lie within the window
    When the breaker records a failure at 90000 ms
    Then the breaker is "open"
    And the breaker has opened 2 times
    And the breaker cools down for 30000 ms and allows its next trial at 120000 ms

  @OC-POOL-3014
  Scenario: Once the old failures have left the window a full storm is needed to open the breaker again
    Given a circuit breaker that opens after 3 failures within 60000 ms and first cools down for 30000 ms
    When the breaker records failures at 0, 50000 and 55000 ms
    And the trial at 85000 ms reaches Ready at 86000 ms
    Then at 115000 ms 0 failures lie within the window
    When the breaker records failures at 115000 and 115001 ms
    Then the breaker is "closed"
    When the breaker records a failure at 115002 ms
    Then the breaker is "open"

  @OC-POOL-3014 @OC-POOL-3019
  Scenario Outline: Each failed trial lengthens the cool-down by the configured factor, up to its ceiling
    Given a circuit breaker that opens after 3 failures within 60000 ms, first cools down for 30000 ms, and cools down <factor> times longer after each failed trial, up to <ceiling> ms
    When the breaker records failures at 0, 50000 and 55000 ms
    Then the breaker cools down for 30000 ms and allows its next trial at 85000 ms
    When the trial at 85000 ms fails at once
    Then the breaker cools down for <second> ms and allows its next trial at <second trial> ms
    When the trial at <second trial> ms fails at once
    Then the breaker cools down for <third> ms and allows its next trial at <third trial> ms
    When the trial at <third trial> ms fails at once
    Then the breaker cools down for <fourth> ms and allows its next trial at <fourth trial> ms
    And the breaker has opened 4 times

    Examples:
      | factor | ceiling | second | second trial | third  | third trial | fourth | fourth trial |
      | 2      | 200000  | 60000  | 145000       | 120000 | 265000      | 200000 | 465000       |
      | 1.5    | 900000  | 45000  | 130000       | 67500  | 197500      | 101250 | 298750       |
      | 1      | 30000   | 30000  | 115000       | 30000  | 145000      | 30000  | 175000       |
      | 1.37   | 900000  | 41100  | 126100       | 56307  | 182407      | 77141  | 259548       |

  @OC-POOL-3011 @OC-POOL-3014
  Scenario: After a failed trial the next trial also waits for room in the window
    Given a circuit breaker that opens after 3 failures within 10000 ms and first cools down for 1000 ms
    When the breaker records failures at 0, 4000 and 5000 ms
    Then the breaker allows its next trial at 10000 ms
    When the trial at 10000 ms fails at once
    Then at 10000 ms 3 failures lie within the window
    And the breaker cools down for 2000 ms and allows its next trial at 14000 ms
    And at 13999 ms the breaker is "open"
    And at 14000 ms the breaker is "half_open"

  @OC-POOL-3014
  Scenario: The default breaker opens after 5 failures within 2 minutes and cools down from 1 minute to at most 15 minutes
    Given a circuit breaker with the default settings
    When the breaker records failures at 0, 30000, 60000 and 90000 ms
    Then the breaker is "closed"
    When the breaker records a failure at 119999 ms
    Then the breaker is "open"
    And the breaker cools down for 60000 ms and allows its next trial at 179999 ms
    When the trial at 179999 ms fails at once
    Then the breaker cools down for 120000 ms and allows its next trial at 299999 ms
    When the trial at 299999 ms fails at once
    Then the breaker cools down for 240000 ms and allows its next trial at 539999 ms
    When the trial at 539999 ms fails at once
    Then the breaker cools down for 480000 ms and allows its next trial at 1019999 ms
    When the trial at 1019999 ms fails at once
    Then the breaker cools down for 900000 ms and allows its next trial at 1919999 ms

  @OC-POOL-3014
  Scenario: Five failures spread over exactly 2 minutes leave the default breaker closed
    Given a circuit breaker with the default settings
    When the breaker records failures at 0, 30000, 60000, 90000 and 120000 ms
    Then the breaker is "closed"
    And at 120000 ms 4 failures lie within the window
