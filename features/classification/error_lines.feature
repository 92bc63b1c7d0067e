@decision
Feature: The line that explains a failure stays in the message
  An engine given a GPU the host does not have says so ("invalid device") and exits; that is a
  placement the host cannot serve (cause placement_invalid), not an engine that merely exited,
  and the message quotes the line. When no known failure shows in an exited engine's last
  output, the message keeps the first line that reads as an error (it holds "error", "failed",
  "invalid" or "fatal", case ignored) and the last two lines, so that a usage text printed
  after an argument error does not push the error out of the message; when that line is among
  the last three, or no line reads as an error, the message quotes the last three lines.

  The first log is what llama.cpp's llama-server writes, and exits with code 1, on a host
  without the GPU it was told to use.

  @OC-GPU-9505 @OC-POOL-3028
  Scenario: llama.cpp told to use a GPU the host lacks fails its placement, and says which
    Given the engine of a GPU pool wrote
      """
      load_backend: loaded RPC backend from /opt/llama/libggml-rpc.so
      load_backend: loaded CPU backend from /opt/llama/libggml-cpu-haswell.so
      error while handling argument "--device": invalid device: CUDA0

      usage:
      -dev,  --device <dev1,dev2,..>          comma-separated list of devices to use for offloading (none =
                                              don't offload)
                                              use --list-devices to see a list of available devices
                                              (env: LLAMA_ARG_DEVICE)


      to show complete usage, run with -h
      """
    When the engine exits with code 1
    Then the exit is put down to "placement_invalid"
    And the exit is explained as
      """
      engine exited with code 1: the engine was given a GPU this host does not have
      error while handling argument "--device": invalid device: CUDA0
      """

  @OC-GPU-9505 @OC-POOL-3028
  Scenario Outline: A device the host lacks is told apart from its neighbours in precedence: <winner> over <loser>
    Given the engine of a GPU pool wrote the line: <first>
    And after it, the line: <second>
    When the engine exits with code 1
    Then the exit is put down to "<winner>"

    Examples:
      | first                                                                   | second                                                                  | winner            | loser             |
      | error while handling argument "--device": invalid device: CUDA1         | main: couldn't bind HTTP server socket, hostname: 127.0.0.1, port: 8080 | port_in_use       | placement_invalid |
      | llama_model_load: error loading model: failed to open model file        | error while handling argument "--device": invalid device: CUDA1         | placement_invalid | model_load_failed |
      | warning: no usable GPU found, --gpu-layers option will be ignored       | error while handling argument "--device": invalid device: CUDA1         | placement_invalid | cpu_spillover     |

  @OC-GPU-9506 @OC-POOL-3028
  Scenario: An argument error followed by its usage text keeps the error line and the last two
    Given the engine of a GPU pool wrote
      """
      load_backend: loaded CPU backend from /opt/llama/libggml-cpu-haswell.so
      error while handling argument "--ctx-size": stoi

      usage:
      -c,    --ctx-size N                     size of the prompt context (default: 4096, 0 = loaded
                                              from model)
                                              (env: LLAMA_ARG_CTX_SIZE)


      to show complete usage, run with -h
      """
    When the engine exits with code 1
    Then the exit is put down to "engine_exited"
    And the exit is explained as
      """
      engine exited with code 1: no known failure in the log
      error while handling argument "--ctx-size": stoi
      (env: LLAMA_ARG_CTX_SIZE)
      to show complete usage, run with -h
      """

  @OC-GPU-9506 @OC-POOL-3029
  Scenario: Of several lines that read as errors, the first one is kept, whatever its case
    Given the engine of a GPU pool wrote
      """
      main: build = 6123 (a1b2c3d4)
      FATAL: the settings file /etc/engine.toml cannot be read
      Error: falling back to the defaults
      main: shutting down
      main: releasing the model
      main: bye
      """
    When the engine is killed by signal 6
    Then the exit is put down to "killed_by_signal"
    And the exit is explained as
      """
      engine killed by SIGABRT: no known failure in the log
      FATAL: the settings file /etc/engine.toml cannot be read
      main: releasing the model
      main: bye
      """

  @OC-GPU-9506 @OC-POOL-3028
  Scenario: An error line just before the last three is kept with the last two
    Given the engine of a GPU pool wrote
      """
      main: build = 6123 (a1b2c3d4)
      srv  load_model: request failed: the chat template cannot be parsed
      main: using the default template
      main: shutting down
      main: bye
      """
    When the engine exits with code 2
    Then the exit is put down to "engine_exited"
    And the exit is explained as
      """
      engine exited with code 2: no known failure in the log
      srv  load_model: request failed: the chat template cannot be parsed
      main: shutting down
      main: bye
      """

  @OC-GPU-9506 @OC-POOL-3028
  Scenario Outline: An error line among the last three leaves the last three as they are: <where>
    Given the engine of a GPU pool wrote the line: main: build = 6123 (a1b2c3d4)
    And after it, the line: main: loading the settings
    And after it, the line: <third>
    And after it, the line: <fourth>
    And after it, the line: <fifth>
    When the engine exits with code 2
    Then the exit is put down to "engine_exited"
    And the exit is explained as "engine exited with code 2: no known failure in the log | <third> | <fourth> | <fifth>"

    Examples:
      | where             | third                              | fourth                             | fifth                              |
      | third from last   | main: the settings are invalid     | main: shutting down                | main: bye                          |
      | second from last  | main: using the defaults           | main: the settings are invalid     | main: bye                          |
      | the last line     | main: using the defaults           | main: shutting down                | main: the settings are invalid     |
      | no error line     | main: using the defaults           | main: shutting down                | main: bye                          |

  @OC-GPU-9506 @OC-POOL-3028
  Scenario Outline: A short output is quoted whole: <kind>
    Given the engine of a GPU pool wrote the line: <first>
    And after it, the line: main: bye
    When the engine exits with code 2
    Then the exit is explained as "engine exited with code 2: no known failure in the log | <first> | main: bye"

    Examples:
      | kind             | first                            |
      | an error line    | main: the settings are invalid   |
      | no error line    | main: shutting down              |

  @OC-GPU-9505 @OC-POOL-3028
  Scenario Outline: The CUDA runtime's "invalid device ordinal" is a device the host lacks, not a driver fault: <source>
    Given the engine of a GPU pool wrote the line: <line>
    When the engine exits with code 1
    Then the exit is put down to "placement_invalid"
    And the exit is explained as "engine exited with code 1: the engine was given a GPU this host does not have | <line>"

    Examples:
      | source              | line                                             |
      | llama.cpp           | CUDA error: invalid device ordinal               |
      | PyTorch (vLLM, TGI) | RuntimeError: CUDA error: invalid device ordinal |

  @OC-GPU-9505 @OC-POOL-3027
  Scenario Outline: A running engine that reports a device the host lacks is failed for that, on a <kind> pool
    When the engine of a <kind> pool writes: CUDA error: invalid device ordinal
    Then the manager reads the line as "placement_invalid"

    Examples:
      | kind |
      | GPU  |
      | CPU  |
