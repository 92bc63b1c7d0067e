@gpu @process
Feature: A real CUDA engine is Ready only when its health and NVML agree
  These scenarios run the real manager with llama.cpp's CUDA llama-server, built by
  bench/gpu/run.sh, which also writes the models ($MODELS) and names the binary
  ($LLAMA_SERVER). A GPU pool is Ready only once the engine answers its health probe and NVML
  shows the engine's processes holding memory on the GPUs of its mask and on no other. Times
  are reported as figures of the run, never asserted. Where NVML lists no GPU, both runners
  report these scenarios as skipped, with the reason.

  @OC-POOL-3001 @OC-GPU-9504
  Scenario: A CUDA engine becomes Ready holding memory on the GPU of its mask only
    Given the manager is running the CUDA engine with this config
      """
      pools:
        - id: cuda
          engine: llamacpp
          engine_bin: "$LLAMA_SERVER"
          model: "$MODELS/tiny.gguf"
          devices: [0]
          ctx: 2048
          slots: 1
      """
    When the live pool "cuda" becomes ready, its time reported as the figure "tiny_ready_s"
    Then NVML shows the engine of the live pool "cuda" holding memory on GPU 0 only
    And the live health of "cuda" says live, ready, not draining, state "ready"

  @OC-POOL-3011 @OC-GPU-9504
  Scenario: A CUDA engine killed with SIGKILL is restarted and Ready again on its GPU
    Given the manager is running the CUDA engine with this config
      """
      pools:
        - id: cuda
          engine: llamacpp
          engine_bin: "$LLAMA_SERVER"
          model: "$MODELS/rand-512m.gguf"
          devices: [0]
          ctx: 4096
          slots: 1
          backoff: {initial_ms: 200, max_ms: 1000, jitter: none}
      """
    And the live pools "cuda" are ready
    When the CUDA engine of the live pool "cuda" is killed with SIGKILL
    Then the live pool "cuda" is ready again on a new engine process, the time reported as the figure "restart_to_ready_s"
    And NVML shows the engine of the live pool "cuda" holding memory on GPU 0 only
