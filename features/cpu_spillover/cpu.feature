@decision
Feature: No silent CPU spillover
  A GPU pool whose engine cannot use its GPUs is taken out of service at the first sign,
  rather than left running slowly on the CPU. CPU pools exist only when the configuration
  asks for them, and the registry says so.

  @OC-POOL-3012
  Scenario: An engine that falls back to the CPU is taken out of service
    Given a pool "chat" with 2 slots
    And the pool "chat" is ready
    When the engine of "chat" reports that it fell back to the CPU
    Then the pool "chat" is not ready
    And the pool "chat" reports the last error cause "cpu_spillover"
    And the engine of "chat" was killed

  @OC-POOL-3017 @OC-POOL-3012
  Scenario: A declared CPU pool sees no GPU and is told to use none
    Given pool "dev" asks for no GPU but declares itself a CPU pool
    When the launch of "dev" is planned for 2048 tokens of context
    Then the engine can see no GPU
    And the engine is told to use the devices "none"

  @OC-POOL-3017
  Scenario: CPU pools are marked as CPU in the registry
    Given a CPU pool "dev" with 1 slots
    And a pool "chat" with 2 slots
    Then the pool "dev" reports that it runs on the CPU
    And the pool "chat" reports that it runs on GPUs
    And the registry lists the pool "dev" as a CPU pool

  @OC-POOL-3017 @OC-POOL-3026
  Scenario Outline: Each engine of a declared CPU pool is told to use no GPU
    Given pool "dev" runs "<engine>" as a declared CPU pool
    When the launch of "dev" is planned for 2048 tokens of context
    Then the engine can see no GPU
    And the engine is started with the flags "<flags>"
    And the plan reports:
      | pool | engine   | runs on | ratios | context asked | context planned |
      | dev  | <engine> | the CPU | none   | 2048          | 2048            |

    Examples:
      | engine          | flags                                          |
      | llama.cpp       | --device none -ngl 0 -c 2048                   |
      | vLLM            | --tensor-parallel-size 1 --max-model-len 2048  |
      | TGI             | --num-shard 1 --max-total-tokens 2048          |
      | the stub engine | --ctx 2048                                     |

  @OC-POOL-3012 @OC-POOL-3020
  Scenario: A GPU pool without any GPU in its mask is refused, with the way to ask for a CPU pool
    Given pool "chat" asks for no GPU and does not declare itself a CPU pool
    When the placement is checked
    Then the placement is refused with exactly these problems:
      | pool | field   | reason                                                                       |
      | chat | devices | a GPU pool needs at least one GPU in its mask (set cpu: true for a CPU pool) |

  @OC-POOL-3017
  Scenario: A CPU pool that names GPUs is refused
    Given the host has GPU 0 with 40 GiB free
    And pool "dev" declares itself a CPU pool but names GPUs "0"
    When the placement is checked
    Then the placement is refused with exactly these problems:
      | pool | field | reason                                                    |
      | dev  | cpu   | a CPU pool (cpu: true) must not name GPUs, got devices [0] |

  @OC-POOL-3017
  Scenario: A CPU pool with split ratios is refused
    Given pool "dev" declares itself a CPU pool with the ratios "1.0"
    When the placement is checked
    Then the placement is refused with exactly these problems:
      | pool | field        | reason                                          |
      | dev  | tensor_split | a CPU pool has no GPU split, got tensor_split [1] |

  @OC-POOL-3017 @OC-POOL-3022
  Scenario: A CPU pool takes no GPU, and the pools after it are still checked
    Given the host has GPU 0 with 40 GiB free
    And pool "dev" asks for no GPU but declares itself a CPU pool
    And pool "chat" asks for GPUs "0"
    And pool "batch" asks for GPUs "3"
    When the placement is checked
    Then the placement is refused with exactly these problems:
      | pool  | field   | reason                                         |
      | batch | devices | GPU 3 is not in the inventory (static: [0])    |

  @OC-POOL-3017 @OC-POOL-3026
  Scenario: A CPU pool of an engine the pool manager does not know is refused for the engine
    Given pool "dev" runs "mlc" as a declared CPU pool
    When the placement is checked
    Then the placement is refused with exactly these problems:
      | pool | field  | reason                                                  |
      | dev  | engine | unknown engine 'mlc' (known: llamacpp, vllm, tgi, stub, test-inproc) |

  @OC-POOL-3012 @OC-POOL-3020
  Scenario: A GPU pool whose GPU the host lacks is refused before launch, GPU 0 included
    Given the host has GPU 1 with 40 GiB free
    And pool "chat" asks for GPUs "0"
    When the placement is checked
    Then the placement is refused with exactly these problems:
      | pool | field   | reason                                      |
      | chat | devices | GPU 0 is not in the inventory (static: [1]) |
