@decision
Feature: Fatal lines in a running engine's output
  While an engine runs, the manager reads every line it writes. A line that shows a VRAM
  out-of-memory or a CUDA or driver error is fatal on its own; so is, for a GPU pool only, a
  line that shows the engine failed to initialise CUDA or found no usable GPU, because the
  engine then carries on on the CPU. Everything else is harmless while the engine runs: a
  model that fails to load, a port already taken or a host out-of-memory ends in an exit,
  and the exit is classified then.

  The lines below are taken from the output of llama.cpp's llama-server, vLLM, TGI, PyTorch
  and the NVIDIA driver as users reported it (paths, sizes and times vary).

  @OC-POOL-3027
  Scenario Outline: A line of engine output is read the same way on every pool: <source>
    When the engine of a GPU pool writes: <line>
    Then the manager reads the line as "<verdict>"
    When the engine of a CPU pool writes: <line>
    Then the manager reads the line as "<verdict>"

    Examples:
      | source               | line                                                                                                                                     | verdict      |
      | llama.cpp alloc      | ggml_backend_cuda_buffer_type_alloc_buffer: allocating 144817.04 MiB on device 0: cudaMalloc failed: out of memory                      | vram_oom     |
      | llama.cpp tensors    | alloc_tensor_range: failed to allocate CUDA0 buffer of size 151851674624                                                                 | vram_oom     |
      | llama.cpp load       | llama_model_load: error loading model: unable to allocate CUDA0 buffer                                                                   | vram_oom     |
      | llama.cpp compute    | ggml_gallocr_reserve_n: failed to allocate CUDA1 buffer of size 10345253120                                                              | vram_oom     |
      | llama.cpp abort      | CUDA error: out of memory                                                                                                                | vram_oom     |
      | vLLM torch           | torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 1.96 GiB. GPU 0 has a total capacity of 79.15 GiB of which 1.02 GiB is free. | vram_oom     |
      | vLLM KV cache        | ERROR 10-25 13:08:43 [core.py:708] ValueError: No available memory for the cache blocks. Try increasing `gpu_memory_utilization` when initializing the engine. | vram_oom |
      | TGI shard            | torch.cuda.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB                                                              | vram_oom     |
      | llama.cpp CUDA error | CUDA error: an illegal memory access was encountered                                                                                     | driver_error |
      | llama.cpp abort site | /app/ggml/src/ggml-cuda/ggml-cuda.cu:73: CUDA error                                                                                      | driver_error |
      | PyTorch busy GPU     | RuntimeError: CUDA error: CUDA-capable device(s) is/are busy or unavailable                                                              | driver_error |
      | NCCL                 | torch.distributed.DistBackendError: NCCL error in: ../torch/csrc/distributed/c10d/ProcessGroupNCCL.cpp:1970, unhandled cuda error (run with NCCL_DEBUG=INFO for details), NCCL version 2.20.5 | driver_error |
      | PyTorch driver init  | UserWarning: CUDA initialization: CUDA driver initialization failed, you might not have a CUDA gpu.                                      | driver_error |
      | PyTorch no driver    | RuntimeError: Found no NVIDIA driver on your system. Please check that you have an NVIDIA GPU and installed a driver from http://www.nvidia.com/Download/index.aspx | driver_error |
      | NVML                 | Failed to initialize NVML: Driver/library version mismatch                                                                               | driver_error |
      | driver Xid 79        | NVRM: Xid (PCI:0000:3b:00): 79, pid=2371, name=llama-server, GPU has fallen off the bus.                                                 | driver_error |
      | driver Xid 13        | NVRM: Xid (PCI:0000:65:00): 13, Graphics SM Warp Exception on (GPC 0, TPC 0, SM 0): Out Of Range Address                                  | driver_error |
      | PyTorch error name   | ERROR 02-24 19:04:56 [core.py:902] Search for `cudaErrorIllegalAddress' in https://docs.nvidia.com/cuda/cuda-runtime-api/group__CUDART__TYPES.html for more information. | driver_error |
      | llama.cpp device     | current device: 0, in function ggml_backend_cuda_synchronize at /app/ggml/src/ggml-cuda/ggml-cuda.cu:2502                                | harmless     |
      | llama.cpp KV buffer  | llama_kv_cache_unified:      CUDA0 KV buffer size =  1024.00 MiB                                                                         | harmless     |
      | llama.cpp offload    | load_tensors: offloaded 33/33 layers to GPU                                                                                              | harmless     |
      | llama.cpp request    | srv  log_server_r: request: POST /completion 127.0.0.1 200                                                                               | harmless     |
      | llama.cpp bind       | main: couldn't bind HTTP server socket, hostname: 127.0.0.1, port: 8080                                                                  | harmless     |
      | llama.cpp bad model  | llama_model_load: error loading model: llama_model_loader: failed to load model from /models/missing.gguf                                | harmless     |
      | llama.cpp host OOM   | terminate called after throwing an instance of 'std::bad_alloc'                                                                          | harmless     |
      | vLLM weights         | INFO 02-26 09:54:02 model_runner.py:1115] Loading model weights took 5.2032 GB                                                           | harmless     |
      | TGI shard            | 2024-05-02T09:14:03.512Z ERROR text_generation_launcher: Shard 0 failed to start                                                         | harmless     |

  @OC-POOL-3027 @OC-POOL-3012
  Scenario Outline: Giving up on the GPU is fatal for a GPU pool and expected for a CPU pool: <source>
    When the engine of a GPU pool writes: <line>
    Then the manager reads the line as "cpu_spillover"
    When the engine of a CPU pool writes: <line>
    Then the manager reads the line as "harmless"

    Examples:
      | source                | line                                                                                                     |
      | llama.cpp no device   | ggml_cuda_init: failed to initialize CUDA: no CUDA-capable device is detected                            |
      | llama.cpp old driver  | ggml_cuda_init: failed to initialize CUDA: CUDA driver version is insufficient for CUDA runtime version   |
      | llama.cpp CUDA error  | ggml_cuda_init: failed to initialize CUDA: CUDA error                                                     |
      | llama.cpp no GPU      | warning: no usable GPU found, --gpu-layers option will be ignored                                        |
      | PyTorch no GPU        | RuntimeError: No CUDA GPUs are available                                                                 |
      | NCCL no device        | misc/strongstream.cc:53 NCCL WARN Cuda failure 'no CUDA-capable device is detected'                      |
