@decision
Feature: A pool whose GPU is missing fails for good
  A GPU the host lacks does not come back by waiting. A pool refused for that reason (cause
  placement_invalid: NVML does not show a GPU of its mask, or the engine says it was given a
  device it does not have) enters the state failed: its leases end, the restart backoff does
  not restart it and the circuit breaker counts no failure for it, so it never opens. It stays
  failed until the pool is started again, after the operator fixed the config or the host.
  Every other failure is still retried under the backoff.

  Background:
    Given a pool "chat" with 2 slots

  @OC-GPU-9503
  Scenario: A launch refused for a missing GPU leaves the pool failed, however long one waits
    Given the pool "chat" has been started
    When the preload of "chat" fails with cause "placement_invalid"
    Then the pool "chat" reports state "failed"
    And the pool "chat" is not ready
    And the pool "chat" reports the last error cause "placement_invalid"
    And the pool "chat" has no restart scheduled
    And the breaker of "chat" counts 0 failures within its window
    And the breaker of "chat" is "closed"
    When 24 hours pass, a minute at a time
    Then the pool "chat" reports state "failed"
    And 1 engine starts of "chat" were ordered
    And the pool "chat" has been restarted 0 times
    And the pool "chat" has no restart scheduled
    And the breaker of "chat" is "closed"
    And the scrape counts 1 preloads of "chat" that ended in "failure"

  @OC-GPU-9503
  Scenario Outline: Only a missing GPU fails a pool for good; <cause> is retried
    Given the pool "chat" has been started
    When the preload of "chat" fails with cause "<cause>"
    Then the pool "chat" reports state "<state>"
    And the breaker of "chat" counts <failures> failures within its window
    When 1000 ms pass
    Then <starts> engine starts of "chat" were ordered
    And the pool "chat" has been restarted <restarts> times

    Examples:
      | cause             | state       | failures | starts | restarts |
      | placement_invalid | failed      | 0        | 1      | 0        |
      | model_load_failed | backing_off | 1        | 2      | 1        |
      | cpu_spillover     | backing_off | 1        | 2      | 1        |
      | driver_error      | backing_off | 1        | 2      | 1        |

  @OC-GPU-9503 @OC-POOL-3043
  Scenario: A ready engine that exits for a missing device ends its leases and the pool fails
    Given the pool "chat" is ready with 2 slots leased
    When the engine of "chat" exits with cause "placement_invalid"
    Then the pool "chat" reports state "failed"
    And the pool "chat" reports the last error cause "placement_invalid"
    And the pool "chat" reports its engine as "not running"
    And the pool "chat" counts 2 leases that ended as "voided"
    And the pool "chat" has 0 active leases
    And the pool "chat" has no restart scheduled
    And the breaker of "chat" counts 0 failures within its window

  @OC-GPU-9503
  Scenario: A running engine that reports a missing device is killed and the pool stays failed after its exit
    Given the pool "chat" is ready with 2 slots leased
    When the engine of "chat" reports a fatal fault with cause "placement_invalid"
    Then the engine of "chat" was killed because of "placement_invalid"
    And the pool "chat" reports state "failed"
    And the pool "chat" counts 2 leases that ended as "voided"
    When the engine of "chat" exits
    Then the pool "chat" reports state "failed"
    And the pool "chat" reports the last error cause "placement_invalid"
    And the pool "chat" has no restart scheduled
    And the breaker of "chat" counts 0 failures within its window

  @OC-GPU-9503 @OC-POOL-3009
  Scenario: A failed pool can be started again, as a fresh start
    Given the pool "chat" has reached state "failed"
    When a start of "chat" is requested
    Then the request is accepted
    And the pool "chat" reports state "preloading"
    And 2 engine starts of "chat" were ordered
    And engine start 2 of "chat" was ordered for model "stub://model-a" as a fresh start
    When the engine of "chat" finishes preloading
    Then the pool "chat" is ready

  @OC-GPU-9503 @OC-POOL-3009
  Scenario: A failed pool is started again only once its killed engine has exited
    Given the pool "chat" is ready
    When the engine of "chat" reports a fatal fault with cause "placement_invalid"
    And a start of "chat" is requested
    Then the request is refused with code "CONFLICT"
    And the refusal names the pool "chat" and says "pool is failed, its engine has not exited yet"
    And the pool "chat" reports state "failed"
    And 1 engine starts of "chat" were ordered
    When the engine of "chat" exits
    And a start of "chat" is requested
    Then the request is accepted
    And the pool "chat" reports state "preloading"
    And 2 engine starts of "chat" were ordered

  @OC-GPU-9505 @OC-GPU-9503
  Scenario: An engine that writes that its device is invalid is killed, and the pool fails without a driver reset
    Given the pool "chat" is ready with 2 slots leased
    When the engine of "chat" writes: CUDA error: invalid device ordinal
    Then the engine of "chat" was killed because of "placement_invalid"
    And the pool "chat" reports state "failed"
    And the pool "chat" counts 2 leases that ended as "voided"
    And the scrape counts no driver reset of "chat"
    And 0 drain of "chat" was counted with reason "driver_error"
