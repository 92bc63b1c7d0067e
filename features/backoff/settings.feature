@decision
Feature: Restart policy settings outside their ranges are refused by name
  The restart backoff and the circuit breaker each check their own settings: a value outside
  its range is refused with a message that names the setting and the value given, and the
  boundary value itself is accepted. Settings not named in a scenario keep their defaults:
  backoff from 1000 ms doubling to 300000 ms, stable after 600000 ms, full jitter; breaker
  opening after 5 failures within 120000 ms, cooling down for 60000 ms, doubling up to
  900000 ms. In a config file the same mistakes are refused naming the field.

  @OC-POOL-3018
  Scenario Outline: A restart backoff refuses a setting outside its range
    When a restart backoff is set up with "<setting>" at <value>
    Then the settings are refused with the message "<message>"

    Examples:
      | setting         | value     | message                                                  |
      | initial_ms      | 0         | initial_ms must be > 0, got 0                            |
      | initial_ms      | -5        | initial_ms must be > 0, got -5                           |
      | max_ms          | 999       | max_ms must be >= initial_ms (1000), got 999             |
      | multiplier      | 0.99      | multiplier must be a finite number >= 1, got 0.99        |
      | multiplier      | nan       | multiplier must be a finite number >= 1, got nan         |
      | multiplier      | inf       | multiplier must be a finite number >= 1, got inf         |
      | stable_reset_ms | -1        | stable_reset_ms must be >= 0, got -1                     |
      | jitter          | sometimes | jitter must be one of full, none, got 'sometimes'        |

  @OC-POOL-3018
  Scenario Outline: A restart backoff accepts the boundary value of each setting
    When a restart backoff is set up with "<setting>" at <value>
    Then the settings are accepted

    Examples:
      | setting         | value |
      | initial_ms      | 1     |
      | max_ms          | 1000  |
      | multiplier      | 1     |
      | multiplier      | 10    |
      | stable_reset_ms | 0     |
      | jitter          | none  |
      | jitter          | full  |

  @OC-POOL-3018 @OC-POOL-3013
  Scenario: Jitter written as a word, as a config file carries it, takes effect
    When a restart backoff is set up with "jitter" at none
    And the engine has failed 3 times in a row
    Then the last restart waited 4000 ms

  @OC-POOL-3018
  Scenario Outline: A circuit breaker refuses a setting outside its range
    When a circuit breaker is set up with "<setting>" at <value>
    Then the settings are refused with the message "<message>"

    Examples:
      | setting             | value | message                                                        |
      | failure_threshold   | 0     | failure_threshold must be >= 1, got 0                          |
      | window_ms           | 0     | window_ms must be > 0, got 0                                   |
      | cooldown_ms         | 0     | cooldown_ms must be > 0, got 0                                 |
      | cooldown_multiplier | 0.99  | cooldown_multiplier must be a finite number >= 1, got 0.99     |
      | cooldown_multiplier | nan   | cooldown_multiplier must be a finite number >= 1, got nan      |
      | cooldown_multiplier | inf   | cooldown_multiplier must be a finite number >= 1, got inf      |
      | max_cooldown_ms     | 59999 | max_cooldown_ms must be >= cooldown_ms (60000), got 59999      |

  @OC-POOL-3018
  Scenario Outline: A circuit breaker accepts the boundary value of each setting
    When a circuit breaker is set up with "<setting>" at <value>
    Then the settings are accepted

    Examples:
      | setting             | value |
      | failure_threshold   | 1     |
      | window_ms           | 1     |
      | cooldown_ms         | 1     |
      | cooldown_multiplier | 1     |
      | max_cooldown_ms     | 60000 |

  @OC-POOL-3018 @OC-CFG-5002
  Scenario Outline: The same mistakes in a config file are refused naming the field
    Given a config file "pools.yaml" whose only pool sets its <section> setting "<setting>" to <value>
    When the config is checked
    Then the config is refused naming the field "pools[0].<section>.<setting>"

    Examples:
      | section | setting           | value     |
      | backoff | initial_ms        | 0         |
      | backoff | max_ms            | 999       |
      | backoff | multiplier        | 0.99      |
      | backoff | stable_reset_ms   | -1        |
      | backoff | jitter            | sometimes |
      | breaker | failure_threshold | 0         |
      | breaker | window_ms         | 0         |
      | breaker | cooldown_ms       | 0         |
      | breaker | max_cooldown_ms   | 59999     |
