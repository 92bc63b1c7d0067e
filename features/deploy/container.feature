Feature: The container image runs poolmgr as a good process 1
  One image per node kind (CPU or CUDA) carries poolmgr and llama.cpp's llama-server. The
  orchestrator starts poolmgr as the container's process 1, as a non-root user, and stops it
  with a signal from outside. Process 1 gets no default signal actions from the kernel and
  inherits every orphaned process, so poolmgr drains on each stop signal and reaps the
  orphans itself, without taking the exit status of the engines it watches.

  @decision @OC-DEP-8001 @OC-DEP-8002
  Scenario: One image definition builds the CPU and the CUDA variant of the engine
    Given the image definition of the repository
    Then the build argument "VARIANT" is "cpu" unless given
    And the build argument "VARIANT" picks these stages:
      | value | engine stage | runtime stage |
      | cpu   | engine-cpu   | runtime-cpu   |
      | cuda  | engine-cuda  | runtime-cuda  |
    And the engine of the variant "cuda" is built as the "llama-server" target alone, configured with "-DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=${CUDA_ARCHITECTURES} -DBUILD_SHARED_LIBS=OFF"
    And the engine of the variant "cpu" is built as the "llama-server" target alone, configured with "-DBUILD_SHARED_LIBS=OFF"
    And the engine of the variant "cpu" is configured without "GGML_CUDA"

  @decision @OC-DEP-8003 @OC-DEP-8004
  Scenario: The container runs poolmgr serve on the mounted config as a non-root user
    Given the image definition of the repository
    Then the image runs as the user "10001:10001"
    And the container's command line is "poolmgr serve --config /etc/poolmgr/config.yaml"
    And poolmgr's own argument parser accepts it as the command "serve" with the config file "/etc/poolmgr/config.yaml"

  @decision @OC-DEP-8008
  Scenario: The image needs no write outside its three writable folders
    Given the image definition of the repository
    Then the image's writable folders are "/models, /var/log/poolmgr, /tmp"
    And the image's working directory is "/var/log/poolmgr"
    And the image sets "PYTHONDONTWRITEBYTECODE" to "1"

  @process @OC-DEP-8005
  Scenario Outline: A stop signal from outside the container drains poolmgr and ends it cleanly
    Given the manager is running as process 1 of its own PID namespace with this config
      """
      pools:
        - id: solo
          engine: stub
          model: "stub://solo"
          devices: []
          cpu: true
          slots: 2
          drain_deadline_ms: 1000
      """
    And the live pools "solo" are ready
    When process 1 is sent <signal> from outside its namespace
    Then the manager exits with status 0 within 20 seconds
    And no process that ran in its namespace is left

    Examples:
      | signal  |
      | SIGTERM |
      | SIGINT  |
      | SIGHUP  |
      | SIGQUIT |

  @process @OC-DEP-8006
  Scenario: An engine orphaned inside the container is reaped while its pool recovers
    Given the manager is running as process 1 of its own PID namespace with this config
      """
      pools:
        - id: solo
          engine: stub
          model: "stub://solo"
          devices: []
          cpu: true
          slots: 2
          drain_deadline_ms: 1000
          backoff: {initial_ms: 1000, max_ms: 2000, jitter: none}
      """
    And the live pools "solo" are ready
    When the per-engine reaper of the live pool "solo" is killed with SIGKILL
    Then the orphaned engine is gone, reaped by the manager, within 5 seconds
    And the manager has logged 1 reaped orphan ended by "SIGKILL"
    And the live pool "solo" becomes not ready with the last error cause "killed_by_signal"
    And the live pool "solo" is ready again after 1 restart on a new engine process

  @process @OC-DEP-8007
  Scenario: The manager as process 1 still reads a killed engine's end itself
    Given the manager is running as process 1 of its own PID namespace with this config
      """
      pools:
        - id: solo
          engine: stub
          model: "stub://solo"
          devices: []
          cpu: true
          slots: 2
          drain_deadline_ms: 1000
          backoff: {initial_ms: 1000, max_ms: 2000, jitter: none}
      """
    And the live pools "solo" are ready
    When the engine process of the live pool "solo" is killed with SIGKILL
    Then the live pool "solo" becomes not ready with the last error cause "killed_by_signal"
    And the live pool "solo" is ready again after 1 restart on a new engine process
    And the manager has logged no reaped orphan
