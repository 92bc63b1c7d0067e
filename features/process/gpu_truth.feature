@process
Feature: A GPU pool is Ready only when the GPUs themselves say its engine runs on them
  At serve, the driver's view decides, not the static inventory: a GPU pool whose GPU the host
  does not show is refused before launch and is not retried, and an engine that answers its
  health probe but holds no memory on its GPUs (or holds memory on another GPU) is failed as a
  CPU spillover before any lease is granted. On machines without a GPU these scenarios use
  simulated GPUs (manager.simulate_gpus): the static inventory stands in for NVML and the stub
  engine writes the GPU memory it takes into a claim file; every report says so.

  @OC-GPU-9502 @OC-GPU-9503
  Scenario: Without simulated GPUs, a pool on a GPU the driver does not show fails and is not retried
    Given the manager is running with this config
      """
      inventory:
        gpus:
          - {index: 7, name: "Static GPU", total_bytes: 85899345920, free_bytes: 85899345920}
      pools:
        - id: ghost
          engine: stub
          model: "stub://ghost"
          devices: [7]
          backoff: {initial_ms: 10, max_ms: 10, jitter: none}
      """
    Then the live pool "ghost" settles in "failed" with the last error cause "placement_invalid"
    And the last error of the live pool "ghost" mentions "GPU 7"
    And the live pool "ghost" has no restart scheduled after 0 restarts
    And the live metrics count 1 failed preload of "ghost"

  @OC-GPU-9504 @OC-GPU-9508
  Scenario: A simulated GPU pool whose engine takes memory on its GPU becomes ready, labelled simulated
    Given the manager is running with this config
      """
      manager: {simulate_gpus: true}
      inventory:
        gpus:
          - {index: 0, name: "Simulated GPU", total_bytes: 85899345920, free_bytes: 85899345920}
      pools:
        - id: sim
          engine: stub
          model: "stub://sim"
          devices: [0]
      """
    And the live pools "sim" are ready
    Then the live listing says the GPUs of "sim" are "simulated"
    And the live health of "sim" says the GPUs are "simulated"
    And the live manager metric "gpus_simulated" is 1
    And the manager's startup log says the GPUs are "simulated"

  @OC-GPU-9504 @OC-POOL-3012
  Scenario: An engine that falls back to the CPU without a word is failed before any lease
    Given the manager is running with this config
      """
      manager: {simulate_gpus: true}
      inventory:
        gpus:
          - {index: 0, name: "Simulated GPU", total_bytes: 85899345920, free_bytes: 85899345920}
      pools:
        - id: quiet
          engine: stub
          model: "stub://quiet"
          devices: [0]
          backoff: {initial_ms: 60000, max_ms: 60000, jitter: none}
          stub: {silent_cpu_fallback: true}
      """
    Then the live pool "quiet" settles in "backing_off" with the last error cause "cpu_spillover"
    And the last error of the live pool "quiet" mentions "the engine holds no memory on its GPUs [0] (found on none)"
    When a client leases a slot of the live pool "quiet"
    Then the answer is an error envelope with status 503 and code "POOL_UNREADY"
    And the live metrics count 1 failed preload of "quiet"

  @OC-GPU-9504 @OC-POOL-3020
  Scenario: An engine that took memory on a GPU outside its mask is failed
    Given the manager is running with this config
      """
      manager: {simulate_gpus: true}
      inventory:
        gpus:
          - {index: 0, name: "Simulated GPU", total_bytes: 85899345920, free_bytes: 85899345920}
          - {index: 1, name: "Simulated GPU", total_bytes: 85899345920, free_bytes: 85899345920}
      pools:
        - id: astray
          engine: stub
          model: "stub://astray"
          devices: [0]
          backoff: {initial_ms: 60000, max_ms: 60000, jitter: none}
          stub: {claim_gpus: [0, 1]}
      """
    Then the live pool "astray" settles in "backing_off" with the last error cause "cpu_spillover"
    And the last error of the live pool "astray" mentions "the engine holds memory on GPUs [1] outside its mask [0] (found on [0, 1])"
    And the live metrics count 1 failed preload of "astray"
