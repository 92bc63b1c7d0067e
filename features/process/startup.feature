@process
Feature: The manager at start-up
  The control plane answers before any engine starts, and the pools start a few at a time: a
  manager with many pools answers its liveness probe at once and tells its readiness probe when
  every pool has finished its first start (Ready once, or its first start failed).

  @OC-PERF-9107
  Scenario: The manager is alive while its pools start, and ready once every pool is Ready
    Given the manager is running with this config
      """
      pools:
        - {id: slow-a, engine: stub, model: "stub://slow-a", devices: [], cpu: true, stub: {preload_delay_ms: 3000}}
        - {id: slow-b, engine: stub, model: "stub://slow-b", devices: [], cpu: true, stub: {preload_delay_ms: 3000}}
      """
    Then while the live pool "slow-a" is still starting, the manager answers that it is alive
    And while the live pool "slow-a" is still starting, the manager answers that it is not ready with code "NOT_READY"
    When the live pools "slow-a, slow-b" have become ready
    Then the manager answers that it is ready, with 2 of 2 pools ready

  @OC-PERF-9107
  Scenario: A pool whose first start failed does not hold the manager's readiness back
    Given the manager is running with this config
      """
      pools:
        - {id: good, engine: stub, model: "stub://good", devices: [], cpu: true}
        - {id: broken, engine: stub, model: "stub://broken", devices: [], cpu: true, stub: {fail_preload: "the model is damaged"}}
      """
    When the manager reports that it is ready
    Then the manager answers that it is ready, with 1 of 2 pools ready
    And the live pool "broken" is not ready

  @OC-PERF-9108
  Scenario: With a start concurrency of 1 the pools start one after another
    Given the manager is running with this config
      """
      manager:
        start_concurrency: 1
      pools:
        - {id: first, engine: stub, model: "stub://first", devices: [], cpu: true, stub: {preload_delay_ms: 300}}
        - {id: second, engine: stub, model: "stub://second", devices: [], cpu: true, stub: {preload_delay_ms: 300}}
        - {id: third, engine: stub, model: "stub://third", devices: [], cpu: true, stub: {preload_delay_ms: 300}}
      """
    When the live pools "first, second, third" have become ready
    Then the manager's log shows 3 pools started, at most 1 of them starting at any time
    And the manager's log shows the pools started in the order "first, second, third"
