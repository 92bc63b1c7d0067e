@decision
Feature: Preflight refuses launches that cannot fit
  Before an engine is launched, the plan is checked against the free memory of every GPU in
  the pool's mask and of the host. Each GPU must hold its share of the weights, its share of
  the KV cache at the planned context and a safety margin of 512 MiB; the host must keep
  256 MiB free for the engine process of a GPU pool, and hold all the weights, the whole KV
  cache and those 256 MiB for a CPU pool. A shortfall fails the preload with a cause naming
  the missing resource and a message naming every shortfall, and no engine is started.

  The KV cache is that of every slot: the context per slot times the slots. Where a scenario
  names no slots, the pool has one.

  The model below needs 8 GiB of weights and 128 KiB of KV cache per token of context
  (2 x 32 layers x 8 heads x 128 values x 2 bytes), so at 4096 tokens one GPU needs
  8 GiB + 512 MiB + 512 MiB = 9663676416 bytes, and a CPU pool needs
  8 GiB + 512 MiB + 256 MiB = 9395240960 bytes of host RAM.

  Background:
    Given a model with 32 layers, 8 KV heads of 128 values, trained for 8192 tokens, with 8 GiB of weights

  @OC-POOL-3002
  Scenario: Too little free VRAM fails the preflight and names the GPU and its shortfall
    Given the host has GPU 0 with 4 GiB free
    And pool "chat" asks for GPUs "0"
    When the launch of "chat" is planned for 4096 tokens of context
    And the preflight checks the plan with 64 GiB of host memory free
    Then the preflight fails with cause "vram_insufficient"
    And the preflight names GPU 0 as short of memory
    And the preflight finds GPU 0 short by 5368709120 bytes
    And the preflight explains
      """
      pool chat does not fit at ctx 4096 (GPU pool, vram_insufficient):
      GPU 0 needs 9663676416 bytes (9.00 GiB), 4294967296 bytes (4.00 GiB) free,
      short by 5368709120 bytes (5.00 GiB)
      """

  @OC-POOL-3002
  Scenario: A plan that fits passes the preflight and says what each resource needs
    Given the host has GPU 0 with 40 GiB free
    And pool "chat" asks for GPUs "0"
    When the launch of "chat" is planned for 4096 tokens of context
    And the preflight checks the plan with 64 GiB of host memory free
    Then the preflight passes
    And the preflight explains
      """
      pool chat fits at ctx 4096 (GPU pool):
      GPU 0 needs 9663676416 bytes (9.00 GiB), 42949672960 bytes (40.00 GiB) free;
      host RAM needs 268435456 bytes (0.25 GiB), 68719476736 bytes (64.00 GiB) free
      """

  @OC-POOL-3002
  Scenario Outline: Free VRAM alone decides, at the edge of what one GPU needs
    Given the host has GPU 0 with 40 GiB free
    And pool "chat" asks for GPUs "0"
    When the launch of "chat" is planned for 4096 tokens of context
    And another process leaves GPU 0 with <free> bytes free
    And the preflight checks the plan with 64 GiB of host memory free
    Then the preflight verdict is "<verdict>"
    And the preflight finds GPU 0 short by <short> bytes
    And the preflight finds the host RAM short by 0 bytes

    Examples:
      | free       | verdict           | short |
      | 9663676415 | vram_insufficient | 1     |
      | 9663676416 | fits              | 0     |
      | 9663676417 | fits              | 0     |

  @OC-POOL-3002
  Scenario Outline: The KV cache at the planned context alone decides, with the weights unchanged
    Given the host has GPU 0 with 40 GiB free
    And pool "chat" asks for GPUs "0"
    When the launch of "chat" is planned for <ctx> tokens of context
    And another process leaves GPU 0 with 9663676416 bytes free
    And the preflight checks the plan with 64 GiB of host memory free
    Then the planned context is <ctx> tokens
    And the preflight verdict is "<verdict>"
    And the preflight finds GPU 0 short by <short> bytes

    Examples:
      | ctx  | verdict           | short  |
      | 4095 | fits              | 0      |
      | 4096 | fits              | 0      |
      | 4097 | vram_insufficient | 131072 |

  @OC-POOL-3002
  Scenario: The weights fit but the KV cache does not: the whole KV cache is the shortfall
    Given the host has GPU 0 with 8704 MiB free
    And pool "chat" asks for GPUs "0"
    When the launch of "chat" is planned for 4096 tokens of context
    And the preflight checks the plan with 64 GiB of host memory free
    Then the planned context is 4096 tokens
    And the preflight fails with cause "vram_insufficient"
    And the preflight finds GPU 0 short by 536870912 bytes

  @OC-POOL-3002
  Scenario Outline: Free host RAM alone decides for a GPU pool, at the edge of 256 MiB
    Given the host has GPU 0 with 40 GiB free
    And pool "chat" asks for GPUs "0"
    When the launch of "chat" is planned for 4096 tokens of context
    And the preflight checks the plan with <free> bytes of host memory free
    Then the preflight verdict is "<verdict>"
    And the preflight finds GPU 0 short by 0 bytes
    And the preflight finds the host RAM short by <short> bytes

    Examples:
      | free      | verdict               | short |
      | 0         | host_ram_insufficient | 268435456 |
      | 268435455 | host_ram_insufficient | 1     |
      | 268435456 | fits                  | 0     |
      | 268435457 | fits                  | 0     |

  @OC-POOL-3002
  Scenario: When both VRAM and host RAM are short, the cause is the VRAM and both are named
    Given the host has GPU 0 with 4 GiB free
    And pool "chat" asks for GPUs "0"
    When the launch of "chat" is planned for 4096 tokens of context
    And the preflight checks the plan with 0 bytes of host memory free
    Then the preflight fails with cause "vram_insufficient"
    And the preflight explains
      """
      pool chat does not fit at ctx 4096 (GPU pool, vram_insufficient):
      GPU 0 needs 9663676416 bytes (9.00 GiB), 4294967296 bytes (4.00 GiB) free,
      short by 5368709120 bytes (5.00 GiB);
      host RAM needs 268435456 bytes (0.25 GiB), 0 bytes (0.00 GiB) free,
      short by 268435456 bytes (0.25 GiB)
      """

  @OC-POOL-3002
  Scenario: Too little host memory fails the preflight of a CPU pool and names the shortfall
    Given pool "dev" asks for no GPU but declares itself a CPU pool
    When the launch of "dev" is planned for 4096 tokens of context
    And the preflight checks the plan with 4 GiB of host memory free
    Then the preflight fails with cause "host_ram_insufficient"
    And the preflight checks no GPU
    And the preflight explains
      """
      pool dev does not fit at ctx 4096 (CPU pool, host_ram_insufficient):
      host RAM needs 9395240960 bytes (8.75 GiB), 4294967296 bytes (4.00 GiB) free,
      short by 5100273664 bytes (4.75 GiB)
      """

  @OC-POOL-3002
  Scenario Outline: A CPU pool needs the weights, the whole KV cache and 256 MiB of host RAM
    Given pool "dev" asks for no GPU but declares itself a CPU pool
    When the launch of "dev" is planned for <ctx> tokens of context
    And the preflight checks the plan with <free> bytes of host memory free
    Then the preflight verdict is "<verdict>"
    And the preflight finds the host RAM short by <short> bytes

    Examples:
      | ctx  | free       | verdict               | short  |
      | 4096 | 9395240959 | host_ram_insufficient | 1      |
      | 4096 | 9395240960 | fits                  | 0      |
      | 4096 | 9395240961 | fits                  | 0      |
      | 4097 | 9395240960 | host_ram_insufficient | 131072 |
      | 4095 | 9395109888 | fits                  | 0      |

  @OC-POOL-3002
  Scenario: A CPU pool that fits says so in its verdict
    Given pool "dev" asks for no GPU but declares itself a CPU pool
    When the launch of "dev" is planned for 4096 tokens of context
    And the preflight checks the plan with 16 GiB of host memory free
    Then the preflight passes
    And the preflight explains
      """
      pool dev fits at ctx 4096 (CPU pool):
      host RAM needs 9395240960 bytes (8.75 GiB), 17179869184 bytes (16.00 GiB) free
      """

  @OC-POOL-3002 @OC-POOL-3022
  Scenario: Each GPU of a 3:1 split needs its own share, and only the short one is named
    Given the host has GPU 0 with 40 GiB free
    And the host has GPU 1 with 40 GiB free
    And pool "chat" splits GPUs "0,1" by the ratios "0.75,0.25"
    When the launch of "chat" is planned for 4096 tokens of context
    And another process leaves GPU 1 with 2818572287 bytes free
    And the preflight checks the plan with 64 GiB of host memory free
    Then the preflight fails with cause "vram_insufficient"
    And the preflight finds GPU 0 short by 0 bytes
    And the preflight finds GPU 1 short by 1 bytes
    And the preflight explains
      """
      pool chat does not fit at ctx 4096 (GPU pool, vram_insufficient):
      GPU 1 needs 2818572288 bytes (2.62 GiB), 2818572287 bytes (2.62 GiB) free,
      short by 1 bytes (0.00 GiB)
      """

  @OC-POOL-3002 @OC-POOL-3012
  Scenario: A GPU that left the inventory after planning refuses the launch instead of running without it
    Given the host has GPU 0 with 40 GiB free
    And the host has GPU 1 with 40 GiB free
    And pool "chat" splits GPUs "0,1" by the ratios "0.5,0.5"
    When the launch of "chat" is planned for 4096 tokens of context
    And GPU 1 leaves the inventory
    And the preflight checks the plan with 64 GiB of host memory free
    Then the preflight refuses the plan of "chat", saying
      """
      pool chat: GPU 1 is not in the inventory
      """

  @OC-POOL-3002 @OC-POOL-3012
  Scenario: A GPU pool on a host that has lost its whole GPU inventory is refused, not run on the CPU
    Given the host has GPU 0 with 40 GiB free
    And pool "chat" asks for GPUs "0"
    When the launch of "chat" is planned for 4096 tokens of context
    And GPU 0 leaves the inventory
    And the preflight checks the plan with 64 GiB of host memory free
    Then the preflight refuses the plan of "chat", saying
      """
      pool chat: no GPU inventory to check the plan against
      """

  @OC-POOL-3002 @OC-POOL-3003
  Scenario: A pool whose preflight fails starts no engine, stays not ready and retries with backoff
    Given a pool "chat" with 2 slots
    And the host has GPU 0 with 4 GiB free
    And pool "chat" asks for GPUs "0"
    And the host has 64 GiB of memory free
    When the launch of "chat" is planned for 4096 tokens of context
    And the pool "chat" is started
    Then the pool "chat" is not ready
    And the pool "chat" reports the last error cause "vram_insufficient"
    And no engine of "chat" was started
    And the next restart of "chat" is due in 1000 ms
    When the next restart of "chat" comes due
    Then the pool "chat" is not ready
    And the pool "chat" has been restarted 1 times
    And no engine of "chat" was started
    And the next restart of "chat" is due in 2000 ms

  @OC-POOL-3002 @OC-POOL-3003
  Scenario: A CPU pool short of host RAM starts no engine and reports the host RAM as the cause
    Given a CPU pool "dev" with 1 slots
    And pool "dev" asks for no GPU but declares itself a CPU pool
    And the host has 4 GiB of memory free
    When the launch of "dev" is planned for 4096 tokens of context
    And the pool "dev" is started
    Then the pool "dev" is not ready
    And the pool "dev" reports the last error cause "host_ram_insufficient"
    And no engine of "dev" was started

  @OC-POOL-3002
  Scenario: A pool whose plan fits has its engine started
    Given a pool "chat" with 2 slots
    And the host has GPU 0 with 40 GiB free
    And pool "chat" asks for GPUs "0"
    And the host has 64 GiB of memory free
    When the launch of "chat" is planned for 4096 tokens of context
    And the pool "chat" is started
    Then exactly 1 engine of "chat" was started
    And the pool "chat" reports state "preloading"

  @OC-POOL-3070 @OC-POOL-3002
  Scenario Outline: A GPU must hold the KV cache of every slot: the context per slot times the slots
    Given the host has GPU 0 with 40 GiB free
    And pool "chat" asks for GPUs "0"
    When the launch of "chat" is planned for <per slot> tokens of context per slot with <slots> slots
    And another process leaves GPU 0 with 9663676416 bytes free
    And the preflight checks the plan with 64 GiB of host memory free
    Then the preflight verdict is "<verdict>"
    And the preflight finds GPU 0 short by <short> bytes

    Examples:
      | per slot | slots | verdict           | short     |
      | 4096     | 1     | fits              | 0         |
      | 2048     | 2     | fits              | 0         |
      | 1024     | 4     | fits              | 0         |
      | 1366     | 3     | vram_insufficient | 262144    |
      | 4096     | 2     | vram_insufficient | 536870912 |

  @OC-POOL-3070 @OC-POOL-3002
  Scenario: A preflight of several slots names both context figures
    Given the host has GPU 0 with 40 GiB free
    And pool "chat" asks for GPUs "0"
    When the launch of "chat" is planned for 4096 tokens of context per slot with 2 slots
    And another process leaves GPU 0 with 9663676416 bytes free
    And the preflight checks the plan with 64 GiB of host memory free
    Then the preflight explains
      """
      pool chat does not fit at ctx 4096 per slot × 2 slots = 8192 total (GPU pool, vram_insufficient):
      GPU 0 needs 10200547328 bytes (9.50 GiB), 9663676416 bytes (9.00 GiB) free,
      short by 536870912 bytes (0.50 GiB)
      """

  @OC-POOL-3070 @OC-POOL-3002
  Scenario Outline: A CPU pool needs host RAM for the KV cache of every slot
    Given pool "dev" asks for no GPU but declares itself a CPU pool
    When the launch of "dev" is planned for <per slot> tokens of context per slot with <slots> slots
    And the preflight checks the plan with 9395240960 bytes of host memory free
    Then the preflight verdict is "<verdict>"
    And the preflight finds the host RAM short by <short> bytes

    Examples:
      | per slot | slots | verdict               | short     |
      | 2048     | 2     | fits                  | 0         |
      | 4096     | 2     | host_ram_insufficient | 536870912 |
