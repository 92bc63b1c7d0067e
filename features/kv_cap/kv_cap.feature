@decision
Feature: KV-cache sizing across GPUs
  A model split over several GPUs needs explicit ratios, and its context is limited so that
  the KV cache fits on the smallest GPU and never exceeds what the model was trained for.

  Background:
    Given a model with 32 layers, 8 KV heads of 128 values, trained for 32768 tokens, with 8 GiB of weights
    And the host has GPU 0 with 40 GiB free

  @OC-POOL-3021
  Scenario: A multi-GPU mask without ratios is refused
    Given the host has GPU 1 with 40 GiB free
    And pool "chat" asks for GPUs "0,1"
    When the placement is checked
    Then the placement of "chat" is refused for the field "tensor_split"

  @OC-POOL-3021
  Scenario: Ratios that do not add up to one are refused
    Given the host has GPU 1 with 40 GiB free
    And pool "chat" splits GPUs "0,1" by the ratios "0.5,0.4"
    When the placement is checked
    Then the placement of "chat" is refused for the field "tensor_split"

  @OC-POOL-3021
  Scenario Outline: The smallest GPU of the split caps the context
    Given the host has GPU 1 with <small> GiB free
    And pool "chat" splits GPUs "0,1" by the ratios "0.5,0.5"
    When the launch of "chat" is planned for 32768 tokens of context
    Then the planned context is <ctx> tokens
    And the per-GPU KV cache at the planned context fits on every GPU

    Examples:
      | small | ctx   |
      | 5     | 8192  |
      | 6     | 24576 |
      | 7     | 32768 |

  @OC-POOL-3021
  Scenario: A context that does not fit is refused when the pool asks for refusal
    Given the host has GPU 1 with 5 GiB free
    And pool "chat" splits GPUs "0,1" by the ratios "0.5,0.5"
    When the launch of "chat" is planned for 32768 tokens of context, refusing rather than capping
    Then the launch is refused as invalid

  @OC-POOL-3023
  Scenario: A context above the training context is capped and the cap reported
    Given pool "chat" asks for GPUs "0"
    When the launch of "chat" is planned for 65536 tokens of context
    Then the planned context is 32768 tokens
    And the plan reports that the context was capped by the "training context"

  @OC-POOL-3023
  Scenario: A context above the training context is refused when the pool asks for refusal
    Given pool "chat" asks for GPUs "0"
    When the launch of "chat" is planned for 65536 tokens of context, refusing rather than capping
    Then the launch is refused as invalid

  @OC-POOL-3023
  Scenario: A context within every limit is left alone
    Given pool "chat" asks for GPUs "0"
    When the launch of "chat" is planned for 16384 tokens of context
    Then the planned context is 16384 tokens
    And the plan reports no context cap
