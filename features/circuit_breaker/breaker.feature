@decision
Feature: Circuit breaker bounds restart storms
  After too many failures in a window the pool stops restarting, waits out a cool-down,
  tries once, and waits longer if that trial fails too. The pool's restart backoff starts at
  1000 ms and doubles, without jitter, so the failed starts below happen at 0, 1000 and 3000 ms
  on the scenario's simulated clock; the breaker's first cool-down would end at 33000 ms, but
  its trial waits until the failure at 0 ms has left the 60000 ms window.

  Background:
    Given a pool "chat" whose breaker opens after 3 failures within 60000 ms and first cools down for 30000 ms
    And the pool "chat" has been started

  @OC-POOL-3011 @OC-POOL-3014
  Scenario: A failure below the threshold waits for the backoff only
    When the preload of "chat" fails with cause "model_load_failed"
    Then the breaker of "chat" is "closed"
    And the pool "chat" reports state "backing_off"
    And the next restart of "chat" is due in 1000 ms
    And the pool "chat" reports no breaker trial time

  @OC-POOL-3011 @OC-POOL-3014
  Scenario: The breaker opens after the allowed number of failures and reports its trial time
    When the preload of "chat" fails 3 times in a row
    Then the breaker of "chat" is "open"
    And the pool "chat" reports state "circuit_open"
    And the pool "chat" reports when its breaker allows the next trial
    And the pool "chat" reports its breaker's next trial at 60000 ms
    And the next restart of "chat" is due in 57000 ms
    And the engine of "chat" was started at 0, 1000 and 3000 ms
    And the pool "chat" has been restarted 2 times

  @OC-POOL-3011 @OC-POOL-3014
  Scenario: An open breaker allows no restart until its trial time
    When the preload of "chat" fails 3 times in a row
    And 56999 ms pass
    Then the pool "chat" reports state "circuit_open"
    And the pool "chat" has been restarted 2 times
    When 1 ms pass
    Then the pool "chat" reports state "preloading"
    And the engine of "chat" was started at 0, 1000, 3000 and 60000 ms

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
  Scenario: A second start requested during the trial is refused
    When the preload of "chat" fails 3 times in a row
    And the next restart of "chat" comes due
    And the pool "chat" is started
    Then the request is refused with code "CONFLICT"
    And exactly 1 trial start of "chat" was ordered after the breaker opened
    And the breaker of "chat" is "half_open"

  @OC-POOL-3014
  Scenario: A successful trial closes the breaker
    When the preload of "chat" fails 3 times in a row
    And the next restart of "chat" comes due
    And the engine of "chat" finishes preloading
    Then the breaker of "chat" is "closed"
    And the pool "chat" is ready
    And the pool "chat" reports no breaker trial time

  @OC-POOL-3011 @OC-POOL-3014
  Scenario: A pool that fails again right after a successful trial re-opens its breaker at once
    When the preload of "chat" fails 3 times in a row
    And the next restart of "chat" comes due
    And the engine of "chat" finishes preloading
    And the engine of "chat" crashes
    Then the breaker of "chat" is "open"
    And the pool "chat" reports state "circuit_open"
    And the pool "chat" reports its breaker's next trial at 90000 ms

  @OC-POOL-3014
  Scenario: A failed trial re-opens the breaker with a longer cool-down
    When the preload of "chat" fails 3 times in a row
    And the next restart of "chat" comes due
    And the preload of "chat" fails with cause "model_load_failed"
    Then the breaker of "chat" is "open"
    And the breaker of "chat" now cools down for 60000 ms
    And the pool "chat" reports its breaker's next trial at 120000 ms
    And exactly 0 trial start of "chat" was ordered after the breaker opened
