@process
Feature: The GPU check runs on any machine in its --check form
  bench/gpu/run.sh builds the CUDA llama-server, writes the models with the gguf package, runs
  every @gpu scenario and GPU test and writes gpu.json and gpu.log on a machine with an NVIDIA
  GPU. Its --check form runs the same steps where there is none, as a step of the test
  command: the build is skipped and says so, the models are written small, every GPU scenario
  and test must be reported skipped with a reason, by behave and by pytest alike, and gpu.json
  is validated. It exits 0 only when each step worked. These scenarios hide NVML from the
  script, so they hold on a machine with a GPU too.

  The suite has 7 @gpu scenarios (NVML, the CUDA engine, spillover, VRAM preflight) and 6 GPU
  tests (the memory model: 2 models at 3 contexts).

  @OC-GPU-9509 @OC-GPU-9510
  Scenario: The --check form skips the build, writes the models, and every GPU scenario and test is skipped with the reason
    Given NVML cannot start for the commands this scenario runs
    When the GPU check runs with "--check"
    Then the GPU check exits with status 0
    And its log says "build: SKIPPED (--check"
    And its gpu.json is a check that names no device and has every figure null
    And its gpu.json lists the models "tiny, rand-512m, rand-2g"
    And its gpu.json has 7 @gpu scenarios reported by behave, each skipped with the reason "needs a GPU: NVML (nvidia-ml-py and an NVIDIA driver) is not available here"
    And its gpu.json has 7 @gpu scenarios reported by pytest, each skipped with the reason "needs a GPU: NVML (nvidia-ml-py and an NVIDIA driver) is not available here"
    And its gpu.json has 6 GPU tests reported by pytest, each skipped with the reason "needs a GPU: NVML (nvidia-ml-py and an NVIDIA driver) is not available here"

  @OC-GPU-9509
  Scenario: The --check form fails when one of its steps fails
    Given NVML cannot start for the commands this scenario runs
    And the work folder of the GPU check holds a file where the models go
    When the GPU check runs with "--check"
    Then the GPU check exits with status 1
    And its log says "--- models: FAILED"
    And its log says "run.sh: FAILED steps: models gpu.json"
