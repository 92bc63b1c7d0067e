@decision
Feature: KV-cache sizing across GPUs
  A model split over several GPUs needs explicit ratios. The layers are shared by those ratios,
  and each GPU holds the weights and the KV cache of its layers plus a margin of 512 MiB. The
  planned context is the largest that fits on every GPU of the split, so the smallest or most
  loaded GPU sets it, and it never exceeds what the model was trained for. The context is the
  context of one request, one slot: an engine with several slots holds a KV cache for every
  slot, the context per slot times the slots, and the caps apply to the context per slot given
  the slots. Where a scenario names no slots, the pool has one. The model below costs 4096
  bytes of KV cache per layer and token (8 KV heads x 128 values x 2 bytes, for keys and for
  values).

  Background:
    Given a model with 32 layers, 8 KV heads of 128 values, trained for 32768 tokens, with 8 GiB of weights
    And the host has GPU 0 with 40 GiB free

  @OC-POOL-3021
  Scenario Outline: A split over GPUs without ratios is refused, whatever their sizes
    Given the host has GPU 0 of <size 0> GiB with 20 GiB free
    And the host has GPU 1 of <size 1> GiB with 20 GiB free
    And pool "chat" asks for GPUs "0,1"
    When the placement is checked
    Then the placement is refused with exactly these problems:
      | pool | field        | reason                                                                                         |
      | chat | tensor_split | a mask of 2 GPUs needs explicit tensor_split ratios, one per GPU (there is no silent even split) |

    Examples:
      | size 0 | size 1 |
      | 24     | 80     |
      | 80     | 80     |

  @OC-POOL-3021
  Scenario: A split over GPUs of unequal sizes with explicit ratios is passed on
    Given the host has GPU 0 of 24 GiB with 20 GiB free
    And the host has GPU 1 of 80 GiB with 70 GiB free
    And pool "chat" splits GPUs "0,1" by the ratios "0.25,0.75"
    When the launch of "chat" is planned for 4096 tokens of context
    Then the engine is started with the flags "--device CUDA0,CUDA1 -ngl all --fit off --tensor-split 0.25,0.75 -c 4096"
    And at the planned context each GPU of the mask holds:
      | GPU | layers | weight bytes | KV cache bytes |
      | 0   | 8      | 2147483648   | 134217728      |
      | 1   | 24     | 6442450944   | 402653184      |

  @OC-POOL-3021
  Scenario Outline: The smallest GPU of the split caps the context at what fits beside its weights
    Given the host has GPU 1 with <free> GiB free
    And pool "chat" splits GPUs "0,1" by the ratios "0.5,0.5"
    When the launch of "chat" is planned for 32768 tokens of context
    Then the planned context is <ctx> tokens
    And the plan reports that the context was capped by the "smallest GPU 1 fits <ctx>"
    And at the planned context each GPU of the mask holds:
      | GPU | layers | weight bytes | KV cache bytes |
      | 0   | 16     | 4294967296   | <kv bytes>     |
      | 1   | 16     | 4294967296   | <kv bytes>     |

    Examples:
      | free | ctx   | kv bytes   |
      | 5    | 8192  | 536870912  |
      | 6    | 24576 | 1610612736 |

  @OC-POOL-3021
  Scenario: A GPU with room for the whole context does not cap it
    Given the host has GPU 1 with 7 GiB free
    And pool "chat" splits GPUs "0,1" by the ratios "0.5,0.5"
    When the launch of "chat" is planned for 32768 tokens of context
    Then the planned context is 32768 tokens
    And the plan reports no context cap

  @OC-POOL-3021
  Scenario: A context that just fits the smallest GPU is kept
    Given the host has GPU 1 with 5120 MiB free
    And pool "chat" splits GPUs "0,1" by the ratios "0.5,0.5"
    When the launch of "chat" is planned for 8192 tokens of context
    Then the planned context is 8192 tokens
    And the plan reports no context cap

  @OC-POOL-3021
  Scenario: One token more than fits the smallest GPU is capped
    Given the host has GPU 1 with 5120 MiB free
    And pool "chat" splits GPUs "0,1" by the ratios "0.5,0.5"
    When the launch of "chat" is planned for 8193 tokens of context
    Then the planned context is 8192 tokens
    And the plan reports that the context was capped by the "smallest GPU 1 fits 8192"

  @OC-POOL-3021
  Scenario: The cap rounds down to whole tokens
    Given a model with 32 layers, 5 KV heads of 96 values, trained for 32768 tokens, with 8 GiB of weights
    And the host has GPU 1 with 5 GiB free
    And pool "chat" splits GPUs "0,1" by the ratios "0.5,0.5"
    When the launch of "chat" is planned for 32768 tokens of context
    Then the planned context is 17476 tokens
    And the plan reports that the context was capped by the "smallest GPU 1 fits 17476"

  @OC-POOL-3021
  Scenario: The most loaded GPU caps the context even when it is the larger one
    Given the host has GPU 0 with 8 GiB free
    And the host has GPU 1 with 5 GiB free
    And pool "chat" splits GPUs "0,1" by the ratios "0.75,0.25"
    When the launch of "chat" is planned for 32768 tokens of context
    Then the planned context is 16384 tokens
    And the plan reports that the context was capped by the "smallest GPU 0 fits 16384"
    And at the planned context each GPU of the mask holds:
      | GPU | layers | weight bytes | KV cache bytes |
      | 0   | 24     | 6442450944   | 1610612736     |
      | 1   | 8      | 2147483648   | 536870912      |

  @OC-POOL-3021
  Scenario: One GPU alone holds the whole model and caps the context beside it
    Given the host has GPU 0 with 9 GiB free
    And pool "chat" asks for GPUs "0"
    When the launch of "chat" is planned for 32768 tokens of context
    Then the planned context is 4096 tokens
    And the plan reports that the context was capped by the "smallest GPU 0 fits 4096"
    And at the planned context each GPU of the mask holds:
      | GPU | layers | weight bytes | KV cache bytes |
      | 0   | 32     | 8589934592   | 536870912      |

  @OC-POOL-3021
  Scenario: Layers go by the ratios, a tie on the remainder to the first GPU, spare weight bytes to the last
    Given a model with 30 layers, 8 KV heads of 128 values, trained for 32768 tokens, with 8 GiB of weights
    And the host has GPU 1 with 40 GiB free
    And the host has GPU 2 with 40 GiB free
    And pool "chat" splits GPUs "0,1,2" by the ratios "0.25,0.25,0.5"
    When the launch of "chat" is planned for 1024 tokens of context
    Then at the planned context each GPU of the mask holds:
      | GPU | layers | weight bytes | KV cache bytes |
      | 0   | 8      | 2290649224   | 33554432       |
      | 1   | 7      | 2004318071   | 29360128       |
      | 2   | 15     | 4294967297   | 62914560       |

  @OC-POOL-3021
  Scenario: The spare layer goes to the GPU with the largest remainder
    Given the host has GPU 1 with 40 GiB free
    And pool "chat" splits GPUs "0,1" by the ratios "0.7,0.3"
    When the launch of "chat" is planned for 1024 tokens of context
    Then at the planned context each GPU of the mask holds:
      | GPU | layers | weight bytes | KV cache bytes |
      | 0   | 22     | 5905580032   | 92274688       |
      | 1   | 10     | 2684354560   | 41943040       |

  @OC-POOL-3021
  Scenario: The spare weight bytes go to the last GPU that holds a layer, even a single one
    Given a model with 25 layers, 8 KV heads of 128 values, trained for 32768 tokens, with 8 GiB of weights
    And the host has GPU 1 with 40 GiB free
    And the host has GPU 2 with 40 GiB free
    And pool "chat" splits GPUs "0,1,2" by the ratios "0.48,0.48,0.04"
    When the launch of "chat" is planned for 1024 tokens of context
    Then at the planned context each GPU of the mask holds:
      | GPU | layers | weight bytes | KV cache bytes |
      | 0   | 12     | 4123168604   | 50331648       |
      | 1   | 12     | 4123168604   | 50331648       |
      | 2   | 1      | 343597384    | 4194304        |

  @OC-POOL-3021
  Scenario: A GPU that gets no layer needs only the margin and does not limit the context
    Given a model with 25 layers, 8 KV heads of 128 values, trained for 32768 tokens, with 8 GiB of weights
    And the host has GPU 1 with 5 GiB free
    And the host has GPU 2 with 512 MiB free
    And pool "chat" splits GPUs "0,1,2" by the ratios "0.5,0.49,0.01"
    When the launch of "chat" is planned for 32768 tokens of context
    Then the planned context is 14417 tokens
    And the plan reports that the context was capped by the "smallest GPU 1 fits 14417"
    And at the planned context each GPU of the mask holds:
      | GPU | layers | weight bytes | KV cache bytes |
      | 0   | 13     | 4466765987   | 767676416      |
      | 1   | 12     | 4123168605   | 708624384      |
      | 2   | 0      | 0            | 0              |

  @OC-POOL-3021
  Scenario: A context that does not fit is refused when the pool asks for refusal
    Given the host has GPU 1 with 5 GiB free
    And pool "chat" splits GPUs "0,1" by the ratios "0.5,0.5"
    When the launch of "chat" is planned for 32768 tokens of context, refusing rather than capping
    Then the launch of "chat" is refused as invalid because "pool chat: ctx 32768 does not fit; GPU 1 fits at most 8192 tokens"

  @OC-POOL-3021
  Scenario: A context that fits is kept when the pool asks for refusal
    Given the host has GPU 1 with 5 GiB free
    And pool "chat" splits GPUs "0,1" by the ratios "0.5,0.5"
    When the launch of "chat" is planned for 8192 tokens of context, refusing rather than capping
    Then the planned context is 8192 tokens
    And the plan reports no context cap

  @OC-POOL-3025
  Scenario Outline: When not even the weights and the margin fit, the context is left for the preflight to refuse
    Given the host has GPU 1 with <free> MiB free
    And pool "chat" splits GPUs "0,1" by the ratios "0.5,0.5"
    When the launch of "chat" is planned for 32768 tokens of context
    Then the planned context is 32768 tokens
    And the plan reports no context cap
    When the preflight checks the plan with 64 GiB of host memory free
    Then the preflight fails with cause "vram_insufficient"
    And the preflight names GPU 1 as short of memory

    Examples:
      | free |
      | 4096 |
      | 4608 |

  @OC-POOL-3025
  Scenario: When not even the weights fit, a pool that asks for refusal is not refused by the placement
    Given the host has GPU 1 with 4608 MiB free
    And pool "chat" splits GPUs "0,1" by the ratios "0.5,0.5"
    When the launch of "chat" is planned for 32768 tokens of context, refusing rather than capping
    Then the planned context is 32768 tokens
    When the preflight checks the plan with 64 GiB of host memory free
    Then the preflight fails with cause "vram_insufficient"
    And the preflight names GPU 1 as short of memory

  @OC-POOL-3025 @OC-POOL-3021
  Scenario: Room for one token beside the weights caps the context to that token
    Given a model with 32 layers, 64 KV heads of 256 values, trained for 32768 tokens, with 8 GiB of weights
    And the host has GPU 1 with 4609 MiB free
    And pool "chat" splits GPUs "0,1" by the ratios "0.5,0.5"
    When the launch of "chat" is planned for 32768 tokens of context
    Then the planned context is 1 tokens
    And the plan reports that the context was capped by the "smallest GPU 1 fits 1"

  @OC-POOL-3025 @OC-POOL-3021
  Scenario: Room for a few tokens beside the weights caps the context to those tokens
    Given the host has GPU 1 with 4609 MiB free
    And pool "chat" splits GPUs "0,1" by the ratios "0.5,0.5"
    When the launch of "chat" is planned for 32768 tokens of context
    Then the planned context is 16 tokens
    And the plan reports that the context was capped by the "smallest GPU 1 fits 16"

  @OC-POOL-3023
  Scenario: A context above the training context is capped and the cap reported
    Given pool "chat" asks for GPUs "0"
    When the launch of "chat" is planned for 65536 tokens of context
    Then the planned context is 32768 tokens
    And the plan reports that the context was capped by the "training context 32768"
    And the plan reports:
      | pool | engine    | runs on | ratios | context asked | context planned |
      | chat | llama.cpp | GPUs 0  | none   | 65536         | 32768           |

  @OC-POOL-3023
  Scenario: A context equal to the training context is not capped
    Given pool "chat" asks for GPUs "0"
    When the launch of "chat" is planned for 32768 tokens of context, refusing rather than capping
    Then the planned context is 32768 tokens
    And the plan reports no context cap

  @OC-POOL-3023
  Scenario: One token above the training context is capped
    Given pool "chat" asks for GPUs "0"
    When the launch of "chat" is planned for 32769 tokens of context
    Then the planned context is 32768 tokens
    And the plan reports that the context was capped by the "training context 32768"

  @OC-POOL-3023
  Scenario: A context above the training context is refused when the pool asks for refusal
    Given pool "chat" asks for GPUs "0"
    When the launch of "chat" is planned for 65536 tokens of context, refusing rather than capping
    Then the launch of "chat" is refused as invalid because "pool chat: ctx 65536 exceeds the training context 32768"

  @OC-POOL-3023 @OC-POOL-3021
  Scenario: After the training-context cap the smallest GPU caps again, and its cap is reported
    Given the host has GPU 1 with 5 GiB free
    And pool "chat" splits GPUs "0,1" by the ratios "0.5,0.5"
    When the launch of "chat" is planned for 65536 tokens of context
    Then the planned context is 8192 tokens
    And the plan reports that the context was capped by the "smallest GPU 1 fits 8192"

  @OC-POOL-3023
  Scenario: A pool that asks for refusal is refused for the training context before any GPU is sized
    Given the host has GPU 1 with 5 GiB free
    And pool "chat" splits GPUs "0,1" by the ratios "0.5,0.5"
    When the launch of "chat" is planned for 65536 tokens of context, refusing rather than capping
    Then the launch of "chat" is refused as invalid because "pool chat: ctx 65536 exceeds the training context 32768"

  @OC-POOL-3023
  Scenario: A context within every limit is left alone
    Given pool "chat" asks for GPUs "0"
    When the launch of "chat" is planned for 16384 tokens of context
    Then the planned context is 16384 tokens
    And the plan reports no context cap

  @OC-POOL-3023 @OC-POOL-3017
  Scenario: A CPU pool's context is capped by the training context only, never by a GPU
    Given the host has GPU 1 with 1 GiB free
    And pool "dev" asks for no GPU but declares itself a CPU pool
    When the launch of "dev" is planned for 65536 tokens of context
    Then the planned context is 32768 tokens
    And the plan reports that the context was capped by the "training context 32768"

  @OC-POOL-3023
  Scenario: A context of no tokens is refused
    Given pool "chat" asks for GPUs "0"
    When the launch of "chat" is planned for 0 tokens of context
    Then the launch of "chat" is refused as invalid because "pool chat: ctx must be >= 1, got 0"

  @OC-POOL-3023
  Scenario: A context of one token is planned as asked
    Given pool "chat" asks for GPUs "0"
    When the launch of "chat" is planned for 1 tokens of context
    Then the planned context is 1 tokens
    And the plan reports no context cap

  @OC-POOL-3070 @OC-POOL-3071
  Scenario: llama.cpp is given the context of all its slots, and each GPU holds the KV cache of all of them
    Given pool "chat" asks for GPUs "0"
    When the launch of "chat" is planned for 2048 tokens of context per slot with 2 slots
    Then the planned context is 2048 tokens per slot and 4096 tokens in total
    And the plan states its context as "ctx 2048 per slot × 2 slots = 4096 total"
    And the engine is started with the flags "--device CUDA0 -ngl all --fit off -c 4096"
    And at the planned context each GPU of the mask holds:
      | GPU | layers | weight bytes | KV cache bytes |
      | 0   | 32     | 8589934592   | 536870912      |

  @OC-POOL-3071
  Scenario Outline: Each engine is told the context in its own terms: shared by the slots, or per sequence
    Given pool "chat" runs "<engine>" on GPUs "0" split by "1"
    When the launch of "chat" is planned for 2048 tokens of context per slot with 2 slots
    Then the engine is started with the flags "<flags>"

    Examples:
      | engine          | flags                                                  |
      | llama.cpp       | --device CUDA0 -ngl all --fit off -c 4096              |
      | vLLM            | --tensor-parallel-size 1 --max-model-len 2048          |
      | TGI             | --num-shard 1 --max-total-tokens 2048                  |
      | the stub engine | --ctx 4096                                             |

  @OC-POOL-3071 @OC-POOL-3017
  Scenario: A CPU pool on llama.cpp is given the context of all its slots
    Given pool "dev" runs "llama.cpp" as a declared CPU pool
    When the launch of "dev" is planned for 1024 tokens of context per slot with 4 slots
    Then the engine is started with the flags "--device none -ngl 0 -c 4096"
    And the planned context is 1024 tokens per slot and 4096 tokens in total

  @OC-POOL-3070 @OC-POOL-3021
  Scenario: The smallest GPU caps the context per slot so that the KV cache of every slot fits beside its weights
    Given the host has GPU 1 with 5 GiB free
    And pool "chat" splits GPUs "0,1" by the ratios "0.5,0.5"
    When the launch of "chat" is planned for 32768 tokens of context per slot with 2 slots
    Then the planned context is 4096 tokens per slot and 8192 tokens in total
    And the plan reports that the context was capped by the "smallest GPU 1 fits 4096 per slot × 2 slots"
    And at the planned context each GPU of the mask holds:
      | GPU | layers | weight bytes | KV cache bytes |
      | 0   | 16     | 4294967296   | 536870912      |
      | 1   | 16     | 4294967296   | 536870912      |

  @OC-POOL-3070
  Scenario: A pool without a slot cannot be planned
    Given pool "chat" asks for GPUs "0"
    When the launch of "chat" is planned for 2048 tokens of context per slot with 0 slots
    Then the launch of "chat" is refused as invalid because "pool chat: slots must be >= 1, got 0"

  @OC-POOL-3070 @OC-POOL-3021
  Scenario: A context per slot that does not fit for all the slots is refused when the pool asks for refusal
    Given the host has GPU 1 with 5 GiB free
    And pool "chat" splits GPUs "0,1" by the ratios "0.5,0.5"
    When the launch of "chat" is planned for 32768 tokens of context per slot with 2 slots, refusing rather than capping
    Then the launch of "chat" is refused as invalid because "pool chat: ctx 32768 does not fit; GPU 1 fits at most 4096 tokens per slot × 2 slots"

  @OC-POOL-3070 @OC-POOL-3023
  Scenario: The training context bounds the context per slot, not the slots' total
    Given pool "chat" asks for GPUs "0"
    When the launch of "chat" is planned for 32768 tokens of context per slot with 2 slots
    Then the planned context is 32768 tokens per slot and 65536 tokens in total
    And the plan reports no context cap
    And the engine is started with the flags "--device CUDA0 -ngl all --fit off -c 65536"

  @OC-POOL-3070 @OC-POOL-3023
  Scenario: A context per slot above the training context is capped per slot
    Given pool "chat" asks for GPUs "0"
    When the launch of "chat" is planned for 65536 tokens of context per slot with 2 slots
    Then the planned context is 32768 tokens per slot and 65536 tokens in total
    And the plan reports that the context was capped by the "training context 32768"
