@decision
Feature: A draining engine: its deadline and its faults
  A reload drains the pool first, as any drain does: no new lease, the active ones may finish
  until the reload's deadline; then they are ended and the old engine is stopped, and the new
  model starts. An engine that fails while its pool drains is killed once; a further fault it
  reports before it is gone orders no second kill.

  @OC-POOL-3031 @OC-POOL-3033
  Scenario: At the reload's deadline the remaining leases end, the old engine stops and the new model starts
    Given a pool "chat" with 2 slots
    And the pool "chat" is ready with 2 slots leased
    When a reload of "chat" to model "stub://model-b" is requested
    Then the pool "chat" reports state "draining"
    When the drain deadline of "chat" passes
    Then the pool "chat" counts 2 leases that ended as "voided"
    And the pool "chat" has 0 active leases
    And the engine of "chat" was told to stop gracefully
    When the engine of "chat" exits
    Then engine start 2 of "chat" was ordered for model "stub://model-b" as a fresh start
    And the reload of "chat" is reported as "in_progress"

  @OC-POOL-3031 @OC-POOL-3008
  Scenario: A draining engine that reports a second fault before it is gone is killed only once
    Given a pool "chat" with 2 slots
    And the pool "chat" is ready with 2 slots leased
    When a drain of "chat" is requested with a deadline in 30000 ms
    And the engine of "chat" reports a fatal fault with cause "vram_oom"
    And the engine of "chat" reports a fatal fault with cause "driver_error"
    Then the engine of "chat" was killed because of "vram_oom"
    And the pool "chat" reports state "draining"
