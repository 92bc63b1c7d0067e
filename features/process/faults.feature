@process
Feature: The running manager recovers from engine faults
  Real stub engines fail for real: a process is killed with SIGKILL, or the stub prints a
  CUDA error. The manager notices, reports the cause, and restarts the engine.

  @OC-POOL-3011 @OC-POOL-3003
  Scenario: A killed engine is restarted and its pool becomes ready again
    Given the manager is running with this config
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

  @OC-POOL-3010 @OC-POOL-3060
  Scenario: A CUDA error is reported as a driver error and drains the pool
    Given the manager is running with this config
      """
      pools:
        - id: flaky
          engine: stub
          model: "stub://flaky"
          devices: []
          cpu: true
          drain_deadline_ms: 1000
          backoff: {initial_ms: 60000, max_ms: 60000, jitter: none}
          stub: {cuda_error_after_ms: 200}
      """
    Then the live pool "flaky" reports the last error cause "driver_error"
    And the live metrics count 1 drain of "flaky" with reason "driver_error"
    And the live metric "pool_ready" of "flaky" is 0
