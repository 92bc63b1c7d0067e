@decision
Feature: Reloading a pool's model
  A reload swaps the model atomically: either the new model serves, or the previous one is
  restored and the rollback is reported with its cause.

  Background:
    Given a pool "chat" with 2 slots
    And the pool "chat" is ready

  @OC-POOL-3033 @OC-POOL-3032
  Scenario: A successful reload serves the new model with its new version
    When a reload of "chat" to model "stub://model-b" is requested
    Then the reload of "chat" is reported as "in_progress"
    And the reload of "chat" is reported from model "stub://model-a" to model "stub://model-b"
    When every lease of "chat" is returned
    And the engine of "chat" exits
    Then the pool "chat" reports state "preloading"
    And the pool "chat" serves model "stub://model-a"
    And the pool "chat" reports engine version "b1000"
    And 2 engine starts of "chat" were ordered
    And engine start 2 of "chat" was ordered for model "stub://model-b" as a fresh start
    When the engine of "chat" finishes preloading as version "b2000"
    Then the pool "chat" is ready
    And the pool "chat" serves model "stub://model-b"
    And the pool "chat" reports engine version "b2000"
    And the reload of "chat" is reported as "done"
    And the reload of "chat" reports no rollback cause
    And the reload of "chat" is reported from model "stub://model-a" to model "stub://model-b"
    And the pool "chat" reports as its last error "nothing"
    And 1 drain of "chat" was counted with reason "reload"
    And 0 drain of "chat" was counted with reason "api_request"
    When the engine of "chat" crashes
    And the next restart of "chat" comes due
    And the engine of "chat" finishes preloading as version "b2000"
    Then the pool "chat" serves model "stub://model-b"
    And engine start 3 of "chat" was ordered for model "stub://model-b" as a restart after killed_by_signal
    And the reload of "chat" is reported as "done"

  @OC-POOL-3033
  Scenario: A failed reload restores the previous model and reports the rollback
    When a reload of "chat" to model "stub://model-b" is requested
    And every lease of "chat" is returned
    And the engine of "chat" exits
    And the preload of "chat" fails with cause "model_load_failed"
    Then the pool "chat" reports engine version "b1000"
    And the pool "chat" reports the last error cause "reload_failed"
    And the last error of "chat" was recorded at 0 ms and mentions "rolling back"
    And the rollback of "chat" reports the cause "model_load_failed"
    And the rollback of "chat" reports a message that mentions "model_load_failed"
    And the pool "chat" reports state "starting"
    And the engine of "chat" was killed because of "model_load_failed"
    And 2 engine starts of "chat" were ordered
    When the engine of "chat" exits
    Then 3 engine starts of "chat" were ordered
    And the pool "chat" serves model "stub://model-a"
    And engine start 2 of "chat" was ordered for model "stub://model-b" as a fresh start
    And engine start 3 of "chat" was ordered for model "stub://model-a" as a fresh start
    When the engine of "chat" finishes preloading as version "b1000"
    Then the pool "chat" is ready
    And the pool "chat" serves model "stub://model-a"
    And the reload of "chat" is reported as "rolled_back"
    And the rollback of "chat" reports the cause "model_load_failed"

  @OC-POOL-3034
  Scenario: A reload while another reload runs is a conflict
    When a reload of "chat" to model "stub://model-b" is requested
    And a reload of "chat" to model "stub://model-c" is requested
    Then the request is refused with code "CONFLICT"
    And the refusal names the pool "chat" and says "a reload is already in progress"

  @OC-POOL-3034
  Scenario: A reload of a draining pool is a conflict
    When a drain of "chat" is requested with a deadline in 30000 ms
    And a reload of "chat" to model "stub://model-b" is requested
    Then the request is refused with code "CONFLICT"
    And the refusal names the pool "chat" and says "pool is draining"
    And the pool "chat" reports no reload

  @OC-POOL-3039 @OC-POOL-3007
  Scenario: A late preload success of the failed new model does not make the pool ready
    When a reload of "chat" to model "stub://model-b" is requested
    And every lease of "chat" is returned
    And the engine of "chat" exits
    And the preload of "chat" fails with cause "digest_mismatch"
    And a late preload success of "chat" arrives as version "b2000"
    And a late preload failure of "chat" arrives with cause "model_load_failed"
    Then the pool "chat" reports state "starting"
    And the pool "chat" is not ready
    And the pool "chat" reports engine version "b1000"
    And the pool "chat" serves model "stub://model-a"
    And the pool "chat" reports the last error cause "reload_failed"
    And the rollback of "chat" reports the cause "digest_mismatch"
    And 2 engine starts of "chat" were ordered

  @OC-POOL-3039
  Scenario: A new model whose engine crashes while loading is rolled back at once
    When a reload of "chat" to model "stub://model-b" is requested
    And every lease of "chat" is returned
    And the engine of "chat" exits
    And the engine of "chat" crashes
    Then the reload of "chat" is reported as "rolled_back"
    And the rollback of "chat" reports the cause "killed_by_signal"
    And the pool "chat" reports state "preloading"
    And 3 engine starts of "chat" were ordered
    And engine start 3 of "chat" was ordered for model "stub://model-a" as a fresh start
    And the pool "chat" serves model "stub://model-a"
    When the engine of "chat" finishes preloading as version "b1000"
    Then the pool "chat" is ready
    And the reload of "chat" is reported as "rolled_back"

  @OC-POOL-3039 @OC-POOL-3011
  Scenario: When the previous model fails as well the pool restarts under the backoff
    When a reload of "chat" to model "stub://model-b" is requested
    And every lease of "chat" is returned
    And the engine of "chat" exits
    And the preload of "chat" fails with cause "model_load_failed"
    And the engine of "chat" exits
    And the preload of "chat" fails with cause "vram_insufficient"
    Then the pool "chat" reports state "backing_off"
    And the pool "chat" reports the last error cause "vram_insufficient"
    And the reload of "chat" is reported as "rolled_back"
    And the rollback of "chat" reports the cause "model_load_failed"
    And the next restart of "chat" is due in 1000 ms
    When the next restart of "chat" comes due
    And the engine of "chat" finishes preloading as version "b1000"
    Then the pool "chat" is ready
    And the pool "chat" serves model "stub://model-a"
    And engine start 4 of "chat" was ordered for model "stub://model-a" as a restart after vram_insufficient
    And the scrape counts 1 restarts of "chat" after a failure "vram_insufficient"

  @OC-POOL-3034
  Scenario Outline: During a reload (<phase>) a <request> is a conflict
    When a reload of "chat" to model "stub://model-b" is requested
    And the reload of "chat" reaches the phase "<phase>"
    And <request>
    Then the request is refused with code "CONFLICT"
    And the refusal names the pool "chat" and says "<refusal>"
    And the pool "chat" reports state "<state>"
    And the reload of "chat" is reported from model "stub://model-a" to model "stub://model-b"
    And 1 drain of "chat" was counted with reason "reload"
    And 0 drain of "chat" was counted with reason "api_request"
    And 0 drain of "chat" was counted with reason "shutdown"

    Examples:
      | phase                         | request                                                                 | state      | refusal                         |
      | waiting for leases            | a reload of "chat" to model "stub://model-c" is requested               | draining   | a reload is already in progress |
      | waiting for leases            | a drain of "chat" is requested with a deadline in 30000 ms              | draining   | pool is already draining        |
      | waiting for leases            | the manager drains "chat" for shutdown with a deadline in 10000 ms      | draining   | pool is already draining        |
      | loading the new model         | a reload of "chat" to model "stub://model-c" is requested               | preloading | a reload is already in progress |
      | loading the new model         | a drain of "chat" is requested with a deadline in 30000 ms              | preloading | a reload is in progress         |
      | loading the new model         | the manager drains "chat" for shutdown with a deadline in 10000 ms      | preloading | a reload is in progress         |
      | rolling back the failed model | a reload of "chat" to model "stub://model-c" is requested               | starting   | a reload is already in progress |
      | rolling back the failed model | a drain of "chat" is requested with a deadline in 30000 ms              | starting   | a reload is in progress         |

  @OC-POOL-3033 @OC-POOL-3039
  Scenario: After a rolled-back reload the next reload can succeed
    When a reload of "chat" to model "stub://model-b" is requested
    And every lease of "chat" is returned
    And the engine of "chat" exits
    And the preload of "chat" fails with cause "model_load_failed"
    And the engine of "chat" exits
    And the engine of "chat" finishes preloading as version "b1000"
    And a reload of "chat" to model "stub://model-c" is requested
    And every lease of "chat" is returned
    And the engine of "chat" exits
    And the engine of "chat" finishes preloading as version "b3000"
    Then the pool "chat" is ready
    And the pool "chat" serves model "stub://model-c"
    And the reload of "chat" is reported as "done"
    And the reload of "chat" is reported from model "stub://model-a" to model "stub://model-c"

  @OC-POOL-3039
  Scenario: After a rolled-back reload a failing next reload rolls back again
    When a reload of "chat" to model "stub://model-b" is requested
    And every lease of "chat" is returned
    And the engine of "chat" exits
    And the preload of "chat" fails with cause "model_load_failed"
    And the engine of "chat" exits
    And the preload of "chat" fails with cause "vram_insufficient"
    And the next restart of "chat" comes due
    And the engine of "chat" finishes preloading as version "b1000"
    And a reload of "chat" to model "stub://model-c" is requested
    And every lease of "chat" is returned
    And the engine of "chat" exits
    And the preload of "chat" fails with cause "digest_mismatch"
    Then the reload of "chat" is reported as "rolled_back"
    And the rollback of "chat" reports the cause "digest_mismatch"
    And the pool "chat" serves model "stub://model-a"
