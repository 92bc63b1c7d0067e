@decision
Feature: Device masks
  Each pool names the GPUs it may use. Two pools never share a GPU by accident, and the engine
  is started so that it can see and use only the GPUs of its mask.

  Background:
    Given the host has GPU 0 with 40 GiB free
    And the host has GPU 1 with 40 GiB free
    And the host has GPU 2 with 20 GiB free

  @OC-POOL-3022
  Scenario: Overlapping masks are refused
    Given pool "big" splits GPUs "0,1" by the ratios "0.5,0.5"
    And pool "small" asks for GPUs "1"
    When the placement is checked
    Then the placement of "small" is refused for the field "devices"

  @OC-POOL-3022
  Scenario: Overlapping masks are allowed when both pools declare the GPU shared
    Given pool "a" shares GPUs "2" with other pools
    And pool "b" shares GPUs "2" with other pools
    When the placement is checked
    Then the placement is accepted

  @OC-POOL-3022
  Scenario: Sharing needs the consent of both pools
    Given pool "a" shares GPUs "2" with other pools
    And pool "b" asks for GPUs "2"
    When the placement is checked
    Then the placement of "b" is refused for the field "devices"

  @OC-POOL-3020
  Scenario: A GPU the host does not have is refused
    Given pool "chat" asks for GPUs "3"
    When the placement is checked
    Then the placement of "chat" is refused for the field "devices"

  @OC-POOL-3020 @OC-POOL-3012
  Scenario: The engine sees only the GPU of its mask and keeps every layer there
    Given pool "chat" asks for GPUs "2"
    When the launch of "chat" is planned for 4096 tokens of context
    Then the engine can see only the GPUs "2"
    And the engine is told to use the devices "CUDA0"
    And the engine is told to keep every layer on the GPU

  @OC-POOL-3020 @OC-POOL-3021
  Scenario: A two-GPU mask is passed on with its ratios
    Given pool "chat" splits GPUs "1,2" by the ratios "0.75,0.25"
    When the launch of "chat" is planned for 4096 tokens of context
    Then the engine can see only the GPUs "1,2"
    And the engine is told to use the devices "CUDA0,CUDA1"
    And the engine is told to split the model by "0.75,0.25"
    And the engine is told to keep every layer on the GPU
