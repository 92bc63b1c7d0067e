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
    And every lease of "chat" is returned
    And the engine of "chat" exits
    And the engine of "chat" finishes preloading as version "b2000"
    Then the pool "chat" is ready
    And the pool "chat" serves model "stub://model-b"
    And the pool "chat" reports engine version "b2000"
    And the reload of "chat" is reported as "done"
    And 1 drain of "chat" was counted with reason "reload"

  @OC-POOL-3033
  Scenario: A failed reload restores the previous model and reports the rollback
    When a reload of "chat" to model "stub://model-b" is requested
    And every lease of "chat" is returned
    And the engine of "chat" exits
    And the preload of "chat" fails with cause "model_load_failed"
    Then the pool "chat" reports engine version "b1000"
    When the engine of "chat" exits
    And the engine of "chat" finishes preloading as version "b1000"
    Then the pool "chat" is ready
    And the pool "chat" serves model "stub://model-a"
    And the reload of "chat" is reported as "rolled_back"
    And the rollback of "chat" reports the cause "model_load_failed"

  @OC-POOL-3034
  Scenario: A reload while another reload runs is a conflict
    When a reload of "chat" to model "stub://model-b" is requested
    And a reload of "chat" to model "stub://model-c" is requested
    Then the request is refused with code "CONFLICT"

  @OC-POOL-3034
  Scenario: A reload of a draining pool is a conflict
    When a drain of "chat" is requested with a deadline in 30000 ms
    And a reload of "chat" to model "stub://model-b" is requested
    Then the request is refused with code "CONFLICT"
