@decision
Feature: Device masks
  Each pool names the GPUs it may use. A mask must name GPUs the host has, each once; two pools
  never share a GPU unless both say so; a split over several GPUs carries one positive ratio per
  GPU, summing to one within a millionth. Every refusal names the pool, the field at fault and
  why. The engine is started so that it can see and use only the GPUs of its mask, in the
  mask's order.

  Background:
    Given the host has GPU 0 with 40 GiB free
    And the host has GPU 1 with 40 GiB free
    And the host has GPU 2 with 20 GiB free

  @OC-POOL-3022
  Scenario: Overlapping masks are refused
    Given pool "big" splits GPUs "0,1" by the ratios "0.5,0.5"
    And pool "small" asks for GPUs "1"
    When the placement is checked
    Then the placement is refused with exactly these problems:
      | pool  | field   | reason                                                                                          |
      | small | devices | GPU 1 is already in the mask of pool big; two pools may hold one GPU only when both set shared_devices: true |

  @OC-POOL-3022
  Scenario: Every earlier pool on a GPU is named once for each later pool that takes it
    Given pool "a" asks for GPUs "2"
    And pool "b" asks for GPUs "2"
    And pool "c" asks for GPUs "2"
    When the placement is checked
    Then the placement is refused with exactly these problems:
      | pool | field   | reason                                                                                        |
      | b    | devices | GPU 2 is already in the mask of pool a; two pools may hold one GPU only when both set shared_devices: true |
      | c    | devices | GPU 2 is already in the mask of pool a; two pools may hold one GPU only when both set shared_devices: true |
      | c    | devices | GPU 2 is already in the mask of pool b; two pools may hold one GPU only when both set shared_devices: true |

  @OC-POOL-3022
  Scenario: Overlapping masks are allowed when both pools declare the GPU shared
    Given pool "a" shares GPUs "2" with other pools
    And pool "b" shares GPUs "2" with other pools
    When the placement is checked
    Then the placement is accepted

  @OC-POOL-3022
  Scenario: Sharing needs the consent of both pools: a later pool that does not share is refused
    Given pool "a" shares GPUs "2" with other pools
    And pool "b" asks for GPUs "2"
    When the placement is checked
    Then the placement is refused with exactly these problems:
      | pool | field   | reason                                                                                        |
      | b    | devices | GPU 2 is already in the mask of pool a; two pools may hold one GPU only when both set shared_devices: true |

  @OC-POOL-3022
  Scenario: Sharing needs the consent of both pools: a later pool that shares is refused too
    Given pool "a" asks for GPUs "2"
    And pool "b" shares GPUs "2" with other pools
    When the placement is checked
    Then the placement is refused with exactly these problems:
      | pool | field   | reason                                                                                        |
      | b    | devices | GPU 2 is already in the mask of pool a; two pools may hold one GPU only when both set shared_devices: true |

  @OC-POOL-3020
  Scenario: A GPU the host does not have is refused, naming the GPUs it has
    Given pool "chat" asks for GPUs "3"
    When the placement is checked
    Then the placement is refused with exactly these problems:
      | pool | field   | reason                                               |
      | chat | devices | GPU 3 is not in the inventory (static: [0, 1, 2])    |

  @OC-POOL-3020 @OC-POOL-3012
  Scenario: A launch on a GPU the host does not have is refused
    Given pool "chat" asks for GPUs "3"
    When the launch of "chat" is planned for 4096 tokens of context
    Then the launch of "chat" is refused as invalid because "pool chat: devices: GPU 3 is not in the inventory (static: [0, 1, 2])"

  @OC-POOL-3020
  Scenario: A negative GPU index is refused
    Given pool "chat" asks for GPUs "-1"
    When the placement is checked
    Then the placement is refused with exactly these problems:
      | pool | field   | reason                                 |
      | chat | devices | GPU indices must be >= 0, got [-1]     |

  @OC-POOL-3020 @OC-POOL-3021
  Scenario: A GPU named twice is refused, and the mask still counts as two GPUs
    Given pool "chat" asks for GPUs "1,1"
    When the placement is checked
    Then the placement is refused with exactly these problems:
      | pool | field        | reason                                                                                          |
      | chat | devices      | GPU [1] listed more than once in the mask                                                       |
      | chat | tensor_split | a mask of 2 GPUs needs explicit tensor_split ratios, one per GPU (there is no silent even split) |

  @OC-POOL-3020 @OC-POOL-3021
  Scenario: A launch of a mask with problems is refused, naming every one
    Given pool "chat" asks for GPUs "1,1"
    When the launch of "chat" is planned for 4096 tokens of context
    Then the launch of "chat" is refused as invalid because "pool chat: devices: GPU [1] listed more than once in the mask; pool chat: tensor_split: a mask of 2 GPUs needs explicit tensor_split ratios, one per GPU (there is no silent even split)"

  @OC-POOL-3021
  Scenario Outline: Ratios that are not one positive share per GPU, summing to one, are refused
    Given pool "chat" splits GPUs "<mask>" by the ratios "<ratios>"
    When the placement is checked
    Then the placement is refused with exactly these problems:
      | pool | field        | reason   |
      | chat | tensor_split | <reason> |

    Examples:
      | mask | ratios        | reason                                                  |
      | 1,2  | 0.5,0.3,0.2   | 3 ratios [0.5, 0.3, 0.2] for 2 GPUs                     |
      | 1,2  | 1             | 1 ratios [1] for 2 GPUs                                 |
      | 1,2  | 1,0           | every ratio must be finite and > 0, got [1, 0]          |
      | 1,2  | 1.5,-0.5      | every ratio must be finite and > 0, got [1.5, -0.5]     |
      | 1,2  | inf,0.5       | every ratio must be finite and > 0, got [inf, 0.5]      |
      | 1,2  | nan,0.5       | every ratio must be finite and > 0, got [nan, 0.5]      |
      | 1,2  | 0.5,0.4       | ratios [0.5, 0.4] sum to 0.9, not 1                     |
      | 1,2  | 0.5,0.50001   | ratios [0.5, 0.50001] sum to 1.00001, not 1             |
      | 2    | 0.5           | a single-GPU split must be [1.0], got [0.5]             |

  @OC-POOL-3021
  Scenario Outline: Ratios summing to one within a millionth are accepted, and passed on summing to one
    Given pool "chat" splits GPUs "1,2" by the ratios "<ratios>"
    When the launch of "chat" is planned for 4096 tokens of context
    Then the engine is started with the flags "--device CUDA0,CUDA1 -ngl all --fit off --tensor-split <passed> -c 4096"

    Examples:
      | ratios          | passed    |
      | 0.2500005,0.75  | 0.25,0.75 |
      | 0.2499995,0.75  | 0.25,0.75 |

  @OC-POOL-3021
  Scenario: Ratios two millionths from one are refused
    Given pool "chat" splits GPUs "1,2" by the ratios "0.5,0.500002"
    When the placement is checked
    Then the placement of "chat" is refused for the field "tensor_split"

  @OC-POOL-3021 @OC-POOL-3026
  Scenario Outline: Engines that shard evenly refuse uneven ratios
    Given pool "chat" runs "<engine>" on GPUs "1,2" split by "<ratios>"
    When the placement is checked
    Then the placement is refused with exactly these problems:
      | pool | field        | reason                                                           |
      | chat | tensor_split | engine <name> shards evenly and cannot use uneven ratios [<shown>] |

    Examples:
      | engine | name | ratios            | shown               |
      | vLLM   | vllm | 0.75,0.25         | 0.75, 0.25          |
      | TGI    | tgi  | 0.75,0.25         | 0.75, 0.25          |
      | vLLM   | vllm | 0.500001,0.499999 | 0.500001, 0.499999  |

  @OC-POOL-3021 @OC-POOL-3026
  Scenario Outline: Even ratios, within a millionth, are accepted for every engine
    Given pool "chat" runs "<engine>" on GPUs "1,2" split by "<ratios>"
    When the placement is checked
    Then the placement is accepted

    Examples:
      | engine          | ratios              |
      | vLLM            | 0.5,0.5             |
      | TGI             | 0.5000004,0.4999996 |
      | llama.cpp       | 0.75,0.25           |
      | the stub engine | 0.75,0.25           |

  @OC-POOL-3026
  Scenario: An engine the pool manager does not know is refused, naming the known ones
    Given pool "chat" runs "mlc" on GPUs "1,2" split by "0.75,0.25"
    When the placement is checked
    Then the placement is refused with exactly these problems:
      | pool | field  | reason                                            |
      | chat | engine | unknown engine 'mlc' (known: llamacpp, vllm, tgi, stub, test-inproc) |

  @OC-POOL-3020 @OC-POOL-3012
  Scenario: The engine sees only the GPU of its mask and keeps every layer there
    Given pool "chat" asks for GPUs "2"
    When the launch of "chat" is planned for 4096 tokens of context
    Then the engine can see only the GPUs "2"
    And the engine is told to use the devices "CUDA0"
    And the engine is told to keep every layer on the GPU

  @OC-POOL-3020 @OC-POOL-3026
  Scenario Outline: Each engine is told its GPUs and its context in its own flags
    Given pool "chat" runs "<engine>" on GPUs "<mask>" split by "<ratios>"
    When the launch of "chat" is planned for 4096 tokens of context
    Then the engine is started with the flags "<flags>"
    And the engine is started with the environment:
      | variable             | value      |
      | CUDA_VISIBLE_DEVICES | <mask>     |
      | CUDA_DEVICE_ORDER    | PCI_BUS_ID |

    Examples:
      | engine          | mask  | ratios                        | flags                                                                                        |
      | llama.cpp       | 1,2   | 0.75,0.25                     | --device CUDA0,CUDA1 -ngl all --fit off --tensor-split 0.75,0.25 -c 4096                     |
      | llama.cpp       | 2,0   | 0.4,0.6                       | --device CUDA0,CUDA1 -ngl all --fit off --tensor-split 0.4,0.6 -c 4096                       |
      | llama.cpp       | 0,1,2 | 0.3333333,0.3333333,0.3333334 | --device CUDA0,CUDA1,CUDA2 -ngl all --fit off --tensor-split 0.333333,0.333333,0.333333 -c 4096 |
      | llama.cpp       | 2     | 1.0                           | --device CUDA0 -ngl all --fit off -c 4096                                                    |
      | vLLM            | 0,1   | 0.5,0.5                       | --tensor-parallel-size 2 --max-model-len 4096                                                |
      | vLLM            | 1     | 1.0                           | --tensor-parallel-size 1 --max-model-len 4096                                                |
      | TGI             | 0,1,2 | 0.3333333,0.3333333,0.3333334 | --num-shard 3 --max-total-tokens 4096                                                        |
      | TGI             | 2     | 1.0                           | --num-shard 1 --max-total-tokens 4096                                                        |
      | the stub engine | 0,1   | 0.5,0.5                       | --ctx 4096                                                                                   |

  @OC-POOL-3020 @OC-POOL-3026
  Scenario Outline: The plan reports the engine, where it runs, its ratios and its context
    Given pool "chat" runs "<engine>" on GPUs "<mask>" split by "<ratios>"
    When the launch of "chat" is planned for 4096 tokens of context
    Then the plan reports:
      | pool | engine   | runs on   | ratios   | context asked | context planned |
      | chat | <engine> | <runs on> | <passed> | 4096          | 4096            |

    Examples:
      | engine    | mask | ratios         | runs on  | passed    |
      | llama.cpp | 2,0  | 0.4,0.6        | GPUs 2,0 | 0.4,0.6   |
      | llama.cpp | 1,2  | 0.2500005,0.75 | GPUs 1,2 | 0.25,0.75 |
      | vLLM      | 1    | 1.0            | GPUs 1   | none      |
      | TGI       | 0,1  | 0.5,0.5        | GPUs 0,1 | 0.5,0.5   |
