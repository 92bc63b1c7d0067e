@decision
Feature: The cause of an engine's exit
  When an engine ends, the manager puts its exit down to one cause, read from the last lines
  the engine wrote and from how the process ended, and explains it in one message: how the
  engine ended, a short summary of the cause, then the first line that shows the cause and the
  last two (at most three lines in all; a line longer than 240 characters is cut to its first
  237 and an ellipsis). When several causes show, the most specific one wins: VRAM
  out-of-memory, host out-of-memory, driver error, port in use, a device the host lacks,
  model-load failure, CPU spillover (GPU pools only); with none of them the exit is put down
  to the signal that ended the engine, or else to the engine exiting by itself, and the
  message then quotes the first line that reads as an error and the last two, or the last
  three lines the engine wrote (error_lines.feature).

  The logs below are taken from the output of llama.cpp's llama-server, vLLM, TGI and PyTorch
  as users reported it (paths and sizes vary).

  @OC-POOL-3028
  Scenario: llama.cpp running out of VRAM while loading is a VRAM out-of-memory, not a load failure
    Given the engine of a GPU pool wrote
      """
      load_tensors: loading model tensors, this can take a while... (mmap = true)
      ggml_backend_cuda_buffer_type_alloc_buffer: allocating 144817.04 MiB on device 0: cudaMalloc failed: out of memory
      alloc_tensor_range: failed to allocate CUDA0 buffer of size 151851674624
      llama_model_load: error loading model: unable to allocate CUDA0 buffer
      llama_model_load_from_file_impl: failed to load model
      srv    load_model: failed to load model, '/models/big.gguf'
      main: exiting due to model loading error
      """
    When the engine exits with code 1
    Then the exit is put down to "vram_oom"
    And the exit is explained as
      """
      engine exited with code 1: GPU memory exhausted (VRAM out of memory)
      ggml_backend_cuda_buffer_type_alloc_buffer: allocating 144817.04 MiB on device 0: cudaMalloc failed: out of memory
      alloc_tensor_range: failed to allocate CUDA0 buffer of size 151851674624
      llama_model_load: error loading model: unable to allocate CUDA0 buffer
      """

  @OC-POOL-3028
  Scenario: A model file that cannot be opened is a model-load failure, quoted by its first and last lines
    Given the engine of a GPU pool wrote
      """
      gguf_init_from_file: failed to open GGUF file '/models/missing.gguf'
      llama_model_load: error loading model: llama_model_loader: failed to load model from /models/missing.gguf
      llama_model_load_from_file_impl: failed to load model
      srv    load_model: failed to load model, '/models/missing.gguf'
      main: exiting due to model loading error
      """
    When the engine exits with code 1
    Then the exit is put down to "model_load_failed"
    And the exit is explained as
      """
      engine exited with code 1: the model failed to load
      gguf_init_from_file: failed to open GGUF file '/models/missing.gguf'
      srv    load_model: failed to load model, '/models/missing.gguf'
      main: exiting due to model loading error
      """

  @OC-POOL-3028
  Scenario: vLLM without room for its KV cache is a VRAM out-of-memory
    Given the engine of a GPU pool wrote
      """
      INFO 11-18 18:07:27 worker.py:232] Memory profiling takes 3.25 seconds
      ERROR 11-18 18:07:28 engine.py:366]     raise ValueError("No available memory for the cache blocks. "
      ERROR 11-18 18:07:28 engine.py:366] ValueError: No available memory for the cache blocks. Try increasing `gpu_memory_utilization` when initializing the engine.
      """
    When the engine exits with code 1
    Then the exit is put down to "vram_oom"

  @OC-POOL-3028
  Scenario: A PyTorch out-of-memory line longer than 240 characters is cut in the message
    Given the engine of a GPU pool wrote the line: torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 1.96 GiB. GPU 0 has a total capacity of 79.15 GiB of which 1.02 GiB is free. Including non-PyTorch memory, this process has 78.12 GiB memory in use. Of the allocated memory 76.50 GiB is allocated by PyTorch, and 1.10 GiB is reserved by PyTorch but unallocated.
    When the engine exits with code 1
    Then the exit is put down to "vram_oom"
    And the exit is explained as
      """
      engine exited with code 1: GPU memory exhausted (VRAM out of memory)
      torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 1.96 GiB. GPU 0 has a total capacity of 79.15 GiB of which 1.02 GiB is free. Including non-PyTorch memory, this process has 78.12 GiB memory in use. Of the allocated memory 76...
      """

  @OC-POOL-3028
  Scenario Outline: A line of up to 240 characters is quoted in full, a longer one is cut to 237 and an ellipsis
    Given the engine of a GPU pool wrote a CUDA error line of <length> characters
    When the engine exits with code 1
    Then the exit is put down to "driver_error"
    And the exit message shows that line <shown>

    Examples:
      | length | shown                                                  |
      | 239    | in full                                                |
      | 240    | in full                                                |
      | 241    | cut to its first 237 characters and an ellipsis        |

  @OC-POOL-3028
  Scenario: A C++ allocation failure that aborts llama.cpp is a host out-of-memory
    Given the engine of a CPU pool wrote
      """
      llama_kv_cache_unified:        CPU KV buffer size = 65536.00 MiB
      terminate called after throwing an instance of 'std::bad_alloc'
        what():  std::bad_alloc
      """
    When the engine is killed by signal 6
    Then the exit is put down to "host_oom"
    And the exit is explained as
      """
      engine killed by SIGABRT: host memory exhausted (host out of memory)
      terminate called after throwing an instance of 'std::bad_alloc'
      what():  std::bad_alloc
      """

  @OC-POOL-3028
  Scenario: A CUDA error that aborts llama.cpp is a driver error
    Given the engine of a GPU pool wrote
      """
      CUDA error: an illegal memory access was encountered
        current device: 0, in function ggml_backend_cuda_synchronize at /app/ggml/src/ggml-cuda/ggml-cuda.cu:2502
        cudaStreamSynchronize(cuda_ctx->stream())
      /app/ggml/src/ggml-cuda/ggml-cuda.cu:73: CUDA error
      """
    When the engine is killed by signal 6
    Then the exit is put down to "driver_error"
    And the exit is explained as
      """
      engine killed by SIGABRT: GPU driver / CUDA error
      CUDA error: an illegal memory access was encountered
      /app/ggml/src/ggml-cuda/ggml-cuda.cu:73: CUDA error
      """

  @OC-POOL-3028
  Scenario Outline: A port already taken is a port conflict: <source>
    Given the engine of a GPU pool wrote the line: <line>
    When the engine exits with code 1
    Then the exit is put down to "port_in_use"
    And the exit is explained as "engine exited with code 1: the port is already in use | <line>"

    Examples:
      | source    | line                                                                                                   |
      | llama.cpp | main: couldn't bind HTTP server socket, hostname: 127.0.0.1, port: 8080                                |
      | vLLM      | ERROR:    [Errno 98] error while attempting to bind on address ('0.0.0.0', 8000): address already in use |
      | Rust      | Error: Address already in use (os error 98)                                                            |
      | Python    | OSError: [Errno 98] Address already in use                                                             |

  @OC-POOL-3028
  Scenario Outline: The most specific cause wins over a later or earlier one: <winner> over <loser>
    Given the engine of a <pool> pool wrote the line: <first>
    And after it, the line: <second>
    When the engine exits with code 1
    Then the exit is put down to "<winner>"

    Examples:
      | pool | first                                                                         | second                                                                             | winner            | loser             |
      | GPU  | terminate called after throwing an instance of 'std::bad_alloc'               | CUDA error: out of memory                                                          | vram_oom          | host_oom          |
      | GPU  | CUDA error: an illegal memory access was encountered                          | terminate called after throwing an instance of 'std::bad_alloc'                    | host_oom          | driver_error      |
      | GPU  | main: couldn't bind HTTP server socket, hostname: 127.0.0.1, port: 8080       | CUDA error: an illegal memory access was encountered                               | driver_error      | port_in_use       |
      | GPU  | llama_model_load: error loading model: failed to open model file              | main: couldn't bind HTTP server socket, hostname: 127.0.0.1, port: 8080            | port_in_use       | model_load_failed |
      | GPU  | warning: no usable GPU found, --gpu-layers option will be ignored             | main: exiting due to model loading error                                           | model_load_failed | cpu_spillover     |
      | GPU  | warning: no usable GPU found, --gpu-layers option will be ignored             | main: server is listening on http://127.0.0.1:8080 - starting the main loop        | cpu_spillover     | engine_exited     |
      | CPU  | warning: no usable GPU found, --gpu-layers option will be ignored             | main: server is listening on http://127.0.0.1:8080 - starting the main loop        | engine_exited     | cpu_spillover     |
      | GPU  | llama_model_load: error loading model: mmap failed: Cannot allocate memory    | main: exiting due to model loading error                                           | host_oom          | model_load_failed |
      | GPU  | MemoryError                                                                   | Error: Address already in use (os error 98)                                        | host_oom          | port_in_use       |
      | GPU  | RuntimeError: No CUDA GPUs are available                                      | Failed to initialize NVML: Driver/library version mismatch                         | driver_error      | cpu_spillover     |

  @OC-POOL-3028 @OC-POOL-3012
  Scenario Outline: A failed CUDA initialisation is a CPU spillover on a GPU pool even when it names the driver
    Given the engine of a <pool> pool wrote
      """
      ggml_cuda_init: failed to initialize CUDA: CUDA driver version is insufficient for CUDA runtime version
      main: server is listening on http://127.0.0.1:8080 - starting the main loop
      """
    When the engine is killed by signal 15
    Then the exit is put down to "<cause>"
    And the exit is explained as "<message>"

    Examples:
      | pool | cause            | message                                                                                                                                                                         |
      | GPU  | cpu_spillover    | engine killed by SIGTERM: the engine found no usable GPU and would run on the CPU \| ggml_cuda_init: failed to initialize CUDA: CUDA driver version is insufficient for CUDA runtime version |
      | CPU  | killed_by_signal | engine killed by SIGTERM: no known failure in the log \| ggml_cuda_init: failed to initialize CUDA: CUDA driver version is insufficient for CUDA runtime version \| main: server is listening on http://127.0.0.1:8080 - starting the main loop |
