@decision
Feature: Exits by signal and by exit code
  An engine killed by a signal is reported by the operating system as that signal; a shell or
  a container runtime reports the same as the exit code 128 plus the signal number. The
  manager reads exit codes 129 to 159 as the signal they encode and names the signal; 128 and
  160 or more are plain exit codes. With nothing in the log that names a cause, an exit by
  signal is put down to the signal and any other exit to the engine exiting by itself. A
  SIGKILL together with a line reading "Killed", or a kernel out-of-memory report, is the
  kernel's out-of-memory killer: a host out-of-memory.

  @OC-POOL-3029
  Scenario Outline: How an engine that wrote nothing ended: <ending>
    Given the engine of a GPU pool wrote nothing
    When the engine <ending>
    Then the exit is put down to "<cause>"
    And the exit is explained as "<message>"

    Examples:
      | ending                     | cause            | message                                                              |
      | exits with code 0          | engine_exited    | engine exited with code 0: no known failure in the log              |
      | exits with code 1          | engine_exited    | engine exited with code 1: no known failure in the log              |
      | exits with code 128        | engine_exited    | engine exited with code 128: no known failure in the log            |
      | exits with code 129        | killed_by_signal | engine exited with code 129 (SIGHUP): no known failure in the log   |
      | exits with code 137        | killed_by_signal | engine exited with code 137 (SIGKILL): no known failure in the log  |
      | exits with code 139        | killed_by_signal | engine exited with code 139 (SIGSEGV): no known failure in the log  |
      | exits with code 159        | killed_by_signal | engine exited with code 159 (SIGSYS): no known failure in the log   |
      | exits with code 160        | engine_exited    | engine exited with code 160: no known failure in the log            |
      | is killed by signal 9      | killed_by_signal | engine killed by SIGKILL: no known failure in the log               |
      | is killed by signal 11     | killed_by_signal | engine killed by SIGSEGV: no known failure in the log               |
      | is killed by signal 15     | killed_by_signal | engine killed by SIGTERM: no known failure in the log               |
      | is killed by signal 40     | killed_by_signal | engine killed by signal 40: no known failure in the log             |
      | ends with an unknown status | engine_exited   | engine exited (status unknown): no known failure in the log         |

  @OC-POOL-3029
  Scenario Outline: A signal is read however the operating system reports it: <ending>
    Given the engine of a GPU pool wrote nothing
    When the engine <ending>
    Then the exit is put down to "killed_by_signal"
    And the exit is explained as "engine killed by SIGKILL: no known failure in the log"

    Examples:
      | ending                                                |
      | ends with the return code -9 and no signal reported   |
      | ends by signal 9 and no return code is reported       |

  @OC-POOL-3029
  Scenario: With no known cause and no line that reads as an error, the message quotes the last three lines
    Given the engine of a GPU pool wrote
      """
      main: server is listening on http://127.0.0.1:8080 - starting the main loop
      srv  update_slots: all slots are idle
      slot launch_slot_: id  0 | task 0 | processing task

      slot update_slots: id  0 | task 0 | new prompt, n_ctx_slot = 4096, n_keep = 0, n_prompt_tokens = 12

      """
    When the engine is killed by signal 11
    Then the exit is put down to "killed_by_signal"
    And the exit is explained as
      """
      engine killed by SIGSEGV: no known failure in the log
      srv  update_slots: all slots are idle
      slot launch_slot_: id  0 | task 0 | processing task
      slot update_slots: id  0 | task 0 | new prompt, n_ctx_slot = 4096, n_keep = 0, n_prompt_tokens = 12
      """

  @OC-POOL-3029
  Scenario Outline: "Killed" means the kernel's out-of-memory killer only with a SIGKILL: <ending>
    Given the engine of a GPU pool wrote
      """
      srv  update_slots: all slots are idle
      Killed
      """
    When the engine <ending>
    Then the exit is put down to "<cause>"
    And the exit is explained as "<message>"

    Examples:
      | ending                 | cause            | message                                                                                                          |
      | is killed by signal 9  | host_oom         | engine killed by SIGKILL: host memory exhausted (host out of memory) \| Killed                                  |
      | exits with code 137    | host_oom         | engine exited with code 137 (SIGKILL): host memory exhausted (host out of memory) \| Killed                     |
      | is killed by signal 15 | killed_by_signal | engine killed by SIGTERM: no known failure in the log \| srv  update_slots: all slots are idle \| Killed         |
      | exits with code 1      | engine_exited    | engine exited with code 1: no known failure in the log \| srv  update_slots: all slots are idle \| Killed        |

  @OC-POOL-3029
  Scenario Outline: A kernel out-of-memory report in the log is a host out-of-memory: <marker>
    Given the engine of a CPU pool wrote the line: <line>
    When the engine is killed by signal 9
    Then the exit is put down to "host_oom"

    Examples:
      | marker     | line                                                                                                                       |
      | OOM killer | Out of memory: Killed process 4242 (llama-server) total-vm:74219876kB, anon-rss:63215432kB, file-rss:0kB, shmem-rss:0kB    |
      | invoked    | llama-server invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE\|__GFP_COMP), order=0, oom_score_adj=0               |
      | reaper     | oom_reaper: reaped process 4242 (llama-server), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB                              |
