@decision
Feature: An engine that runs out of memory after Ready
  An engine can run out of GPU or host memory long after its preload, when a long context fills
  its KV cache. The pool then stops taking work at once, ends every lease it had handed out,
  reports the cause and restarts the engine under the restart backoff.

  Background:
    Given a pool "chat" with 2 slots
    And the pool "chat" is ready with 2 slots leased

  @OC-POOL-3008 @OC-POOL-3043
  Scenario Outline: An engine that exits with cause <cause> is restarted under the backoff
    When the engine of "chat" exits with cause "<cause>"
    Then the pool "chat" reports state "backing_off"
    And the pool "chat" reports the last error cause "<cause>"
    And the pool "chat" reports its engine as "not running"
    And the pool "chat" counts 2 leases that ended as "voided"
    And the pool "chat" has 0 active leases
    And no stop or kill of the engine of "chat" was ordered
    And the next restart of "chat" is due in 1000 ms
    When the next restart of "chat" comes due
    Then the pool "chat" has been restarted 1 times
    And the scrape counts 1 restarts of "chat" after a failure "<cause>"
    And the pool "chat" reports state "preloading"

    Examples:
      | cause    |
      | vram_oom |
      | host_oom |

  @OC-POOL-3008 @OC-POOL-3043
  Scenario Outline: An engine that reports <cause> while it still runs is killed and restarted
    When the engine of "chat" reports a fatal fault with cause "<cause>"
    Then the engine of "chat" was killed because of "<cause>"
    And the pool "chat" reports state "backing_off"
    And the pool "chat" reports the last error cause "<cause>"
    And the pool "chat" counts 2 leases that ended as "voided"
    And the scrape counts no driver reset of "chat"
    And 0 drain of "chat" was counted with reason "driver_error"
    When the engine of "chat" exits
    Then the pool "chat" reports the last error cause "<cause>"
    And the pool "chat" reports state "backing_off"

    Examples:
      | cause    |
      | vram_oom |
      | host_oom |

  @OC-POOL-3008 @OC-POOL-3016
  Scenario: The engine of a pool that is not ready runs out of memory and is restarted the same way
    When a health probe of "chat" times out
    And the engine of "chat" exits with cause "vram_oom"
    Then the pool "chat" reports state "backing_off"
    And the pool "chat" reports the last error cause "vram_oom"
    And the pool "chat" counts 2 leases that ended as "voided"
