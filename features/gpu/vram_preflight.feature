@gpu @process
Feature: The VRAM preflight decides on the GPU's real free memory
  Before an engine starts, the pool's weights, its KV cache at the planned context and a
  safety margin of 512 MiB must fit in the free memory NVML reports for each GPU of its mask.
  Another process holds all but 1 GiB of GPU 0: the 2 GiB random-weight model cannot fit and
  is refused before launch with its shortfall in bytes (its 2 GiB of weights, 0.2 GiB of KV
  cache at 1024 tokens and the margin, against about 1 GiB free), while the tiny model fits
  and starts. Where NVML lists no GPU, both runners report this scenario as skipped, with the
  reason.

  @OC-POOL-3002
  Scenario: A model larger than the free VRAM is refused before launch while one that fits starts
    Given another process holds all but 1 GiB of the free memory of GPU 0
    And the manager is running the CUDA engine with this config
      """
      pools:
        - id: big
          engine: llamacpp
          engine_bin: "$LLAMA_SERVER"
          model: "$MODELS/rand-2g.gguf"
          devices: [0]
          shared_devices: true
          ctx: 1024
          slots: 1
          backoff: {initial_ms: 60000, max_ms: 60000, jitter: none}
        - id: small
          engine: llamacpp
          engine_bin: "$LLAMA_SERVER"
          model: "$MODELS/tiny.gguf"
          devices: [0]
          shared_devices: true
          ctx: 2048
          slots: 1
      """
    Then the live pool "big" reports the last error cause "vram_insufficient"
    And the last error of the live pool "big" finds GPU 0 short by between 1 and 3 GiB
    And the live pool "big" has no engine running and 0 restarts
    When the live pool "small" becomes ready, its time reported as the figure "tiny_ready_beside_hog_s"
    Then NVML shows the engine of the live pool "small" holding memory on GPU 0 only
