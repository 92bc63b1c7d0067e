@process
Feature: Engines end with their whole process tree, and a preload has a deadline
  The real manager runs real stub engines. An engine may start processes of its own, even in a
  session of its own where a process-group kill cannot reach them; none of them may outlive
  the engine or the manager. An engine that never finishes loading is ended at its deadline.

  @OC-POOL-3064 @OC-POOL-3015
  Scenario: An engine's own child dies with the manager when the manager is killed with SIGKILL
    Given the manager is running with this config
      """
      pools:
        - {id: forky, engine: stub, model: "stub://forky", devices: [], cpu: true, slots: 1, stub: {fork_child: true}}
        - {id: plain, engine: stub, model: "stub://plain", devices: [], cpu: true, slots: 1}
      """
    And the live pools "forky, plain" are ready
    Then the engine of the live pool "forky" has a child process in a session of its own
    When the running manager is killed with SIGKILL
    Then no process of the engines' trees is left after at most 5 s

  @OC-POOL-3064 @OC-POOL-3043
  Scenario: A killed engine's own child ends with it and the pool recovers
    Given the manager is running with this config
      """
      pools:
        - id: forky
          engine: stub
          model: "stub://forky"
          devices: []
          cpu: true
          slots: 1
          backoff: {initial_ms: 500, max_ms: 1000, jitter: none}
          stub: {fork_child: true}
      """
    And the live pools "forky" are ready
    Then the engine of the live pool "forky" has a child process in a session of its own
    When the engine process of the live pool "forky" is killed with SIGKILL
    Then the live pool "forky" becomes not ready with the last error cause "killed_by_signal"
    And the live pool "forky" is ready again after 1 restart on a new engine process
    And the child process the killed engine had started is gone

  @OC-POOL-3063
  Scenario: A real engine that never finishes loading is stopped at its preload deadline
    Given the manager is running with this config
      """
      pools:
        - id: slow
          engine: stub
          model: "stub://slow"
          devices: []
          cpu: true
          slots: 1
          preload_timeout_ms: 500
          backoff: {initial_ms: 60000, max_ms: 60000, jitter: none}
          stub: {preload_delay_ms: 600000}
      """
    Then the live pool "slow" reports the last error cause "preload_timeout"
    And the live metrics count 1 failed preload of "slow"
    And no engine process of the live pool "slow" is left running
