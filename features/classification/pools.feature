@decision
Feature: What a pool reports when its engine's output names the failure
  The cause the manager reads from a running engine's output, or from the exit of an engine,
  becomes the pool's last error cause; a line that is harmless for the pool's kind leaves the
  pool ready.

  @OC-POOL-3027 @OC-POOL-3012 @OC-POOL-3003
  Scenario: A GPU pool whose engine gives up on CUDA is taken out of service as a CPU spillover
    Given a pool "chat" with 2 slots
    And the pool "chat" is ready
    When the engine of "chat" writes: ggml_cuda_init: failed to initialize CUDA: no CUDA-capable device is detected
    Then the pool "chat" is not ready
    And the pool "chat" reports the last error cause "cpu_spillover"
    And the engine of "chat" was killed

  @OC-POOL-3027 @OC-POOL-3017
  Scenario: A CPU pool whose engine finds no CUDA device keeps serving
    Given a CPU pool "dev" with 1 slots
    And the pool "dev" is ready
    When the engine of "dev" writes: ggml_cuda_init: failed to initialize CUDA: no CUDA-capable device is detected
    Then the pool "dev" is ready
    And the pool "dev" reports no last error

  @OC-POOL-3027 @OC-POOL-3003
  Scenario: A VRAM out-of-memory while serving makes the pool not ready with that cause
    Given a pool "chat" with 2 slots
    And the pool "chat" is ready
    When the engine of "chat" writes: CUDA error: out of memory
    Then the pool "chat" is not ready
    And the pool "chat" reports the last error cause "vram_oom"

  @OC-POOL-3028 @OC-POOL-3003
  Scenario: An engine that exits after a host out-of-memory leaves that cause on its pool
    Given a pool "chat" with 2 slots
    And the pool "chat" is ready
    When the engine of "chat" exits with code 1 after writing
      """
      terminate called after throwing an instance of 'std::bad_alloc'
        what():  std::bad_alloc
      """
    Then the pool "chat" is not ready
    And the pool "chat" reports the last error cause "host_oom"

  @OC-POOL-3027 @OC-POOL-3003
  Scenario: A fatal line reaches the pool with the lines the engine wrote before it
    Given a pool "chat" with 2 slots
    And the pool "chat" is ready
    When the engine of "chat" writes: srv  update_slots: all slots are idle
    And the engine of "chat" writes: CUDA error: an illegal memory access was encountered
    Then the pool "chat" reports the last error cause "driver_error"
    And the last error of "chat" was recorded at 0 ms and says "engine reported driver_error: CUDA error: an illegal memory access was encountered | last output: srv  update_slots: all slots are idle | CUDA error: an illegal memory access was encountered"
