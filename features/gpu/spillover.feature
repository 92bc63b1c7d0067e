@gpu @process
Feature: A GPU pool never serves from the CPU
  llama.cpp's CUDA engine that finds no usable GPU still serves from the CPU with /health 200
  (seen on an H100, even with -ngl all --fit off). The manager refuses a mask that names a GPU
  NVML does not list before any engine starts, and fails an engine that holds no memory on
  its GPUs before any lease is granted. Where NVML lists no GPU, both runners report these
  scenarios as skipped, with the reason.

  @OC-GPU-9502 @OC-GPU-9503 @OC-POOL-3012
  Scenario: A pool masked to a GPU the host lacks is refused before its engine starts
    Given NVML lists no GPU 7 on this host
    And the manager is running the CUDA engine with this config
      """
      pools:
        - id: masked
          engine: llamacpp
          engine_bin: "$LLAMA_SERVER"
          model: "$MODELS/tiny.gguf"
          devices: [7]
          ctx: 2048
          slots: 1
          backoff: {initial_ms: 200, max_ms: 1000, jitter: none}
      """
    Then the live pool "masked" fails with the cause "placement_invalid" and the state "failed"
    And the last error of the live pool "masked" names GPU 7
    And the live pool "masked" has no engine running and 0 restarts

  @OC-GPU-9504 @OC-POOL-3012
  Scenario Outline: An engine that runs with its GPU hidden is failed with cpu_spillover and gets no lease
    Given a wrapper "hidden.sh" runs the CUDA engine with no GPU visible and <log> its warnings
    And the manager is running the CUDA engine with this config
      """
      pools:
        - id: hidden
          engine: llamacpp
          engine_bin: "$TMP/hidden.sh"
          model: "$MODELS/tiny.gguf"
          devices: [0]
          ctx: 2048
          slots: 1
          backoff: {initial_ms: 60000, max_ms: 60000, jitter: none}
      """
    Then the live pool "hidden" reports the last error cause "cpu_spillover"
    And the live metrics count 0 successful preload of "hidden"
    When a client leases a slot of the live pool "hidden"
    Then the answer is an error envelope with status 503 and code "NOT_READY"

    Examples:
      | log   |
      | keeps |
      | drops |
