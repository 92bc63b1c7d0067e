@decision
Feature: The configured number of failed probes ends a hung engine
  Each pool configures how many failed health probes in a row mark its engine as hung. One
  failure fewer leaves the pool not ready with its engine running; that number ends the engine and
  schedules a restart.

  @OC-POOL-3016
  Scenario Outline: With a limit of <limit>, <before> failed probes keep the engine and the next one ends it
    Given a pool "svc" with 2 slots whose engine is ended after <limit> failed health probes in a row
    And the pool "svc" is ready
    When <before> health probes of "svc" fail with "error"
    Then the pool "svc" reports state "<state before>"
    And the engine of "svc" was not told to stop
    When a health probe of "svc" fails with "error"
    Then the engine of "svc" was killed because of "probe_failed"
    And the pool "svc" reports state "backing_off"
    And the last error of "svc" was recorded at 0 ms and mentions "<limit> consecutive probe failures"

    Examples:
      | limit | before | state before |
      | 1     | 0      | ready        |
      | 2     | 1      | unready      |
      | 4     | 3      | unready      |
