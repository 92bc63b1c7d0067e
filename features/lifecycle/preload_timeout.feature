@decision
Feature: A preload has a deadline
  An engine that never finishes loading its model must not hold its pool in "preloading" for
  ever. Each pool says how long its engine may take to become ready; past that, the start has
  failed like any failed preload: the engine is killed, the pool waits out its restart backoff,
  and failures that keep coming open the circuit breaker.

  @OC-POOL-3063 @OC-POOL-3003
  Scenario: An engine still loading when its preload deadline passes is killed and the start counts as failed
    Given a pool "slow" with 2 slots that must finish preloading within 5000 ms
    When the pool "slow" is started
    And 4999 ms pass
    Then the pool "slow" reports state "preloading"
    And the pool "slow" reports no last error
    When 1 ms pass
    Then the pool "slow" reports state "backing_off"
    And the pool "slow" reports the last error cause "preload_timeout"
    And the last error of "slow" was recorded at 5000 ms and says "the engine did not finish preloading within 5000 ms (preload_timeout_ms; waited 5000 ms)"
    And the engine of "slow" was killed because of "preload_timeout"
    And the scrape counts 1 preloads of "slow" that ended in "failure"
    And the next restart of "slow" is due in 1000 ms

  @OC-POOL-3063 @OC-POOL-3011
  Scenario: The restart gets a fresh deadline and an engine that then loads in time makes the pool ready
    Given a pool "slow" with 2 slots that must finish preloading within 5000 ms
    When the pool "slow" is started
    And the engine of "slow" never finishes preloading, 1 starts in a row
    And the next restart of "slow" comes due
    And 4999 ms pass
    Then the pool "slow" reports state "preloading"
    When the engine of "slow" finishes preloading
    Then the pool "slow" is ready
    And the scrape counts 1 restarts of "slow" after a failure "preload_timeout"

  @OC-POOL-3063 @OC-POOL-3011
  Scenario: Engines that never finish preloading open the circuit breaker
    Given a pool "stuck" whose breaker opens after 3 failures within 600000 ms and first cools down for 60000 ms
    And the pool "stuck" must finish preloading within 2000 ms
    When the pool "stuck" is started
    And the engine of "stuck" never finishes preloading, 3 starts in a row
    Then the breaker of "stuck" is "open"
    And the pool "stuck" reports state "circuit_open"
    And the pool "stuck" reports the last error cause "preload_timeout"
    And 3 engine starts of "stuck" were ordered

  @OC-POOL-3063
  Scenario: The shortest preload deadline, one millisecond, is kept to the millisecond
    Given a pool "eager" with 1 slots that must finish preloading within 1 ms
    When 700 ms pass
    And the pool "eager" is started
    Then the pool "eager" reports state "preloading"
    When 1 ms pass
    Then the pool "eager" reports the last error cause "preload_timeout"
    And the last error of "eager" was recorded at 701 ms and says "the engine did not finish preloading within 1 ms (preload_timeout_ms; waited 1 ms)"

  @OC-POOL-3063
  Scenario: A ready pool is never failed by the preload deadline
    Given a pool "chat" with 2 slots that must finish preloading within 1000 ms
    When the pool "chat" is started
    And the engine of "chat" finishes preloading
    And 600 ms pass
    And a heartbeat arrives from "chat"
    And 600 ms pass
    Then the pool "chat" is ready
    And the pool "chat" reports no last error
