@decision
Feature: Driver errors take a pool out of service and restart it
  A CUDA or driver error in the engine's output means the engine can no longer be trusted:
  the pool becomes not ready, its engine is killed, its leases are voided, the drain is counted as a
  driver drain and the engine is restarted after a backoff.

  Background:
    Given a pool "chat" with 4 slots
    And the pool "chat" is ready with 2 slots leased

  @OC-POOL-3010 @OC-POOL-3003
  Scenario Outline: A driver error in the engine's output makes the pool not ready with the driver cause: <source>
    When the engine of "chat" writes: <line>
    Then the pool "chat" is not ready
    And the pool "chat" reports the last error cause "driver_error"
    And the engine of "chat" was killed

    Examples:
      | source         | line                                                                                      |
      | llama.cpp      | CUDA error: an illegal memory access was encountered                                      |
      | driver Xid     | NVRM: Xid (PCI:0000:3b:00): 79, pid=2371, name=llama-server, GPU has fallen off the bus.  |
      | NVML           | Failed to initialize NVML: Driver/library version mismatch                                |

  @OC-POOL-3010 @OC-POOL-3027
  Scenario: Ordinary engine output leaves the pool ready
    When the engine of "chat" writes: srv  update_slots: all slots are idle
    And the engine of "chat" writes: llama_kv_cache_unified:      CUDA0 KV buffer size =  1024.00 MiB
    Then the pool "chat" is ready
    And the pool "chat" has 2 active leases

  @OC-POOL-3010 @OC-POOL-3032
  Scenario: A CUDA error is counted as a driver drain and a driver reset
    When the engine of "chat" writes: CUDA error: an illegal memory access was encountered
    Then 1 drain of "chat" was counted with reason "driver_error"
    And a driver reset of "chat" was counted

  @OC-POOL-3010 @OC-POOL-3043
  Scenario: A CUDA error voids the pool's leases
    When the engine of "chat" writes: CUDA error: an illegal memory access was encountered
    Then the pool "chat" has 0 active leases
    And the pool "chat" counts 2 leases that ended as "voided"

  @OC-POOL-3010 @OC-POOL-3011
  Scenario: The engine is restarted after the backoff delay
    When the engine of "chat" writes: CUDA error: an illegal memory access was encountered
    And the engine of "chat" exits
    Then the next restart of "chat" is due in 1000 ms
    When 999 ms pass
    Then the pool "chat" has been restarted 0 times
    When 1 ms pass
    Then the pool "chat" has been restarted 1 times
    And the pool "chat" reports state "preloading"
