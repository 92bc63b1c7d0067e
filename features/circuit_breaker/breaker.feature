@decision
Feature: Circuit breaker bounds restart storms
  After too many failures in a window the pool stops restarting, waits out a cool-down,
  tries once, and waits longer if that trial fails too.

  Background:
    Given a pool "chat" whose breaker opens after 3 failures within 60000 ms and first cools down for 30000 ms
    And the pool "chat" has been started

  @OC-POOL-3011 @OC-POOL-3014
  Scenario: The breaker opens after the allowed number of failures
    When the preload of "chat" fails 3 times in a row
    Then the breaker of "chat" is "open"
    And the pool "chat" reports state "circuit_open"
    And the pool "chat" reports when its breaker allows the next trial
    And the pool "chat" has been restarted 2 times

  @OC-POOL-3011 @OC-POOL-3014
  Scenario: An open breaker allows no restart during its cool-down
    When the preload of "chat" fails 3 times in a row
    And 30000 ms pass
    Then the pool "chat" reports state "circuit_open"
    And the pool "chat" has been restarted 2 times

  @OC-POOL-3011
  Scenario: A restart storm is bounded in every window
    When the engine of "chat" keeps failing its preload for 900000 ms
    Then no more than 3 engine starts of "chat" fell within any 60000 ms
    And the breaker of "chat" is "open"

  @OC-POOL-3014
  Scenario: After the cool-down exactly one trial start is allowed
    When the preload of "chat" fails 3 times in a row
    And the next restart of "chat" comes due
    Then the breaker of "chat" is "half_open"
    And the pool "chat" reports state "preloading"
    And exactly 1 trial start of "chat" was ordered after the breaker opened
    When 120000 ms pass
    Then exactly 1 trial start of "chat" was ordered after the breaker opened

  @OC-POOL-3014
  Scenario: A successful trial closes the breaker
    When the preload of "chat" fails 3 times in a row
    And the next restart of "chat" comes due
    And the engine of "chat" finishes preloading
    Then the breaker of "chat" is "closed"
    And the pool "chat" is ready

  @OC-POOL-3014
  Scenario: A failed trial re-opens the breaker with a longer cool-down
    When the preload of "chat" fails 3 times in a row
    And the next restart of "chat" comes due
    And the preload of "chat" fails with cause "model_load_failed"
    Then the breaker of "chat" is "open"
    And the breaker of "chat" now cools down for 60000 ms
