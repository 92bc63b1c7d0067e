@decision
Feature: The failure count resets only after a stable period
  The restart delay keeps growing while the engine keeps failing. Only when the engine has
  stayed Ready without a break for the whole stable period does the failure count go back to
  zero, so an engine that crashes right after becoming Ready keeps backing off. The schedule here
  starts at 1000 ms, doubles and is capped at 300000 ms, without jitter.

  Background:
    Given a restart backoff starting at 1000 ms, doubling, capped at 300000 ms
    And the failure count resets after 600000 ms of unbroken readiness

  @OC-POOL-3013
  Scenario: The failure count resets only when the stable period is over, not a millisecond earlier
    When the engine has failed 3 times in a row
    And the engine becomes ready
    And 599999 ms pass
    Then the failure count is 3
    And the stable period is not over yet
    When 1 ms pass
    Then the failure count is 0
    And the stable period is over
    When the engine has failed 1 times in a row
    Then the last restart waited 1000 ms

  @OC-POOL-3013
  Scenario: A break in readiness restarts the stable period
    When the engine has failed 3 times in a row
    And the engine becomes ready
    And 400000 ms pass
    And the engine stops being ready
    And the engine becomes ready
    And 400000 ms pass
    Then the failure count is 3
    When 200000 ms pass
    Then the failure count is 0

  @OC-POOL-3013
  Scenario: Hearing again that the engine is ready does not restart the stable period
    When the engine has failed 3 times in a row
    And the engine becomes ready
    And 400000 ms pass
    And the engine becomes ready
    And 200000 ms pass
    Then the failure count is 0

  @OC-POOL-3013
  Scenario: A failure during the stable period ends it and counts
    When the engine has failed 3 times in a row
    And the engine becomes ready
    And 400000 ms pass
    And the engine has failed 1 times in a row
    Then the last restart waited 8000 ms
    And the failure count is 4
    When the engine becomes ready
    And 400000 ms pass
    Then the failure count is 4
    When 200000 ms pass
    Then the failure count is 0

  @OC-POOL-3013
  Scenario: A crash right after becoming ready keeps backing off
    When the engine has failed 3 times in a row
    And the engine becomes ready
    And 10 ms pass
    And the engine has failed 1 times in a row
    Then the last restart waited 8000 ms

  @OC-POOL-3013
  Scenario: Time spent not ready never counts towards the stable period
    When the engine has failed 3 times in a row
    And 700000 ms pass
    Then the failure count is 3
    And the stable period is not over yet

  @OC-POOL-3013
  Scenario: A stable period of zero resets the failure count as soon as the engine is ready
    Given the failure count resets after 0 ms of unbroken readiness
    When the engine has failed 3 times in a row
    And the engine becomes ready
    And 0 ms pass
    Then the failure count is 0

  @OC-POOL-3013
  Scenario: The default stable period is ten minutes
    Given a restart backoff with the default settings
    When the engine has failed 3 times in a row
    And the engine becomes ready
    And 599999 ms pass
    Then the failure count is 3
    When 1 ms pass
    Then the failure count is 0
