@decision
Feature: A hung engine is not ready
  An engine can stay alive while it no longer answers. Health probes are the heartbeat: a probe
  that times out makes the pool not ready at once, and a few in a row end the engine so that it
  is restarted.

  Background:
    Given a CPU pool "chat" with 2 slots
    And the pool "chat" is ready

  @OC-POOL-3016 @OC-POOL-3003
  Scenario: One probe that times out makes the pool not ready
    When a health probe of "chat" times out
    Then the pool "chat" is not ready
    And the pool "chat" reports state "unready"
    And the pool "chat" reports the last error cause "probe_timeout"
    And the last error of "chat" was recorded at 0 ms and mentions "no answer"
    And the engine of "chat" was not told to stop

  @OC-POOL-3016
  Scenario: The pool is ready again when the engine answers again
    When a health probe of "chat" times out
    And a health probe of "chat" answers again
    Then the pool "chat" is ready

  @OC-POOL-3016 @OC-POOL-3011
  Scenario: Probes that keep timing out end the engine and schedule a restart
    When a health probe of "chat" times out
    And a health probe of "chat" times out
    And a health probe of "chat" times out
    Then the engine of "chat" was killed
    And the pool "chat" reports state "backing_off"
    And the pool "chat" reports the last error cause "probe_timeout"

  @OC-POOL-3016 @OC-POOL-3044
  Scenario: A hung pool takes no new leases
    When a health probe of "chat" times out
    And a client leases a slot of "chat"
    Then the request is refused with code "POOL_UNREADY"

  @OC-POOL-3016 @OC-POOL-3003
  Scenario: One probe that answers with an error makes the pool not ready
    When a health probe of "chat" answers with an error
    Then the pool "chat" reports state "unready"
    And the pool "chat" reports the last error cause "probe_failed"
    And the engine of "chat" was not told to stop

  @OC-POOL-3016 @OC-POOL-3011
  Scenario Outline: The third failed probe in a row (<failure>) ends the engine with cause <cause>
    When 2 health probes of "chat" fail with "<failure>"
    Then the pool "chat" reports state "unready"
    And the engine of "chat" was not told to stop
    When a health probe of "chat" fails with "<failure>"
    Then the engine of "chat" was killed because of "<cause>"
    And the pool "chat" reports state "backing_off"
    And the pool "chat" reports the last error cause "<cause>"
    And the last error of "chat" was recorded at 0 ms and mentions "3 consecutive probe failures"
    And the next restart of "chat" is due in 1000 ms
    When the next restart of "chat" comes due
    Then the scrape counts 1 restarts of "chat" after a failure "<cause>"

    Examples:
      | failure | cause         |
      | timeout | probe_timeout |
      | error   | probe_failed  |

  @OC-POOL-3006
  Scenario: One good probe restores Ready without a new preload or a restart
    When a health probe of "chat" times out
    And a health probe of "chat" answers again
    Then the pool "chat" reports state "ready"
    And the pool "chat" has been restarted 0 times
    And 1 engine starts of "chat" were ordered
    And the scrape counts 1 preloads of "chat" that ended in "success"
    And the pool "chat" reports as its last error "probe_timeout"

  @OC-POOL-3006 @OC-POOL-3016
  Scenario: Probe failures that are not in a row never end the engine
    When 2 health probes of "chat" fail with "timeout"
    And a health probe of "chat" answers again
    And 2 health probes of "chat" fail with "error"
    Then the pool "chat" reports state "unready"
    And the engine of "chat" was not told to stop
    When a health probe of "chat" fails with "timeout"
    Then the engine of "chat" was killed because of "probe_timeout"
