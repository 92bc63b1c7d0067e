@process
Feature: The running manager's metrics and shutdown

  @OC-POOL-3060 @OC-MET-6001
  Scenario: Metrics list readiness and active leases per pool, all within the contract
    Given the manager is running with its embedded default config
    And the live pools "alpha, beta" are ready
    When a client leases a slot of the live pool "beta"
    Then the live metric "pool_ready" of "alpha" is 1
    And the live metric "pool_ready" of "beta" is 1
    And the live metric "active_leases" of "alpha" is 0
    And the live metric "active_leases" of "beta" is 1
    And every metric family the live manager exports is listed in the metrics contract

  @OC-POOL-3062 @OC-POOL-3030
  Scenario: Metrics carry each engine's identity, preload outcomes and host memory
    Given the manager is running with its embedded default config
    And the live pools "alpha, beta" are ready
    Then the live engine info metric of "alpha" carries the engine and version it reports
    And the live engine info metric of "beta" carries the engine and version it reports
    And the live metrics count 1 successful preload of "alpha"
    And the live metrics report the host memory in use

  @OC-POOL-3015
  Scenario: Stopping the manager leaves no engine process behind
    Given the manager is running with its embedded default config
    And the live pools "alpha, beta" are ready
    When the running manager is told to stop
    Then the manager exited with status 0
    And no engine process outlived the manager
