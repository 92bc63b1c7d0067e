@decision
Feature: Preflight refuses launches that cannot fit
  Before an engine starts, the weights and the KV cache are checked against the free memory
  of every GPU and of the host, so a shortfall fails fast instead of crashing later.

  Background:
    Given a model with 32 layers, 8 KV heads of 128 values, trained for 8192 tokens, with 8 GiB of weights

  @OC-POOL-3002
  Scenario: Too little free VRAM fails the preflight and names the GPU
    Given the host has GPU 0 with 4 GiB free
    And pool "chat" asks for GPUs "0"
    When the launch of "chat" is planned for 4096 tokens of context
    And the preflight checks the plan with 64 GiB of host memory free
    Then the preflight fails with cause "vram_insufficient"
    And the preflight names GPU 0 as short of memory

  @OC-POOL-3002
  Scenario: Too little host memory fails the preflight of a CPU pool
    Given pool "dev" asks for no GPU but declares itself a CPU pool
    When the launch of "dev" is planned for 4096 tokens of context
    And the preflight checks the plan with 4 GiB of host memory free
    Then the preflight fails with cause "host_ram_insufficient"

  @OC-POOL-3002
  Scenario: A plan that fits passes the preflight
    Given the host has GPU 0 with 40 GiB free
    And pool "chat" asks for GPUs "0"
    When the launch of "chat" is planned for 4096 tokens of context
    And the preflight checks the plan with 64 GiB of host memory free
    Then the preflight passes

  @OC-POOL-3002 @OC-POOL-3003
  Scenario: A pool whose preflight fails stays unready and retries with backoff
    Given a pool "chat" with 2 slots
    And the host has GPU 0 with 4 GiB free
    And pool "chat" asks for GPUs "0"
    When the pool "chat" is started
    And the launch of "chat" is planned for 4096 tokens of context
    And the preflight checks the plan with 64 GiB of host memory free
    And the preflight verdict is reported to the pool "chat"
    Then the pool "chat" is not ready
    And the pool "chat" reports the last error cause "vram_insufficient"
    And the next restart of "chat" is due in 1000 ms
    When the next restart of "chat" comes due
    And the preflight verdict is reported to the pool "chat"
    Then the pool "chat" is not ready
    And the pool "chat" has been restarted 1 times
    And the next restart of "chat" is due in 2000 ms
