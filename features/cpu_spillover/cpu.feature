@decision
Feature: No silent CPU spillover
  A GPU pool that cannot use its GPUs fails fast rather than running slowly on the CPU.
  CPU pools exist only when the configuration asks for them, and every report says so.

  @OC-POOL-3012
  Scenario: An engine that falls back to the CPU is taken out of service
    Given a pool "chat" with 2 slots
    And the pool "chat" is ready
    When the engine of "chat" reports that it fell back to the CPU
    Then the pool "chat" is not ready
    And the pool "chat" reports the last error cause "cpu_spillover"
    And the engine of "chat" was killed

  @OC-POOL-3012 @OC-POOL-3020
  Scenario: A GPU pool without any GPU in its mask is refused
    Given pool "chat" asks for no GPU and does not declare itself a CPU pool
    When the placement is checked
    Then the placement of "chat" is refused for the field "devices"

  @OC-POOL-3017 @OC-POOL-3012
  Scenario: A declared CPU pool sees no GPU and is told to use none
    Given pool "dev" asks for no GPU but declares itself a CPU pool
    When the launch of "dev" is planned for 2048 tokens of context
    Then the engine can see no GPU
    And the engine is told to use the devices "none"

  @OC-POOL-3017
  Scenario: CPU pools are marked as CPU in every report
    Given a CPU pool "dev" with 1 slots
    And a pool "chat" with 2 slots
    Then the pool "dev" reports that it runs on the CPU
    And the pool "chat" reports that it runs on GPUs
    And every report lists the pool "dev" as a CPU pool
