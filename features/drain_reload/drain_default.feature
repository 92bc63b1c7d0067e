@process
Feature: A drain without a deadline uses the pool's configured one
  A client may drain a pool without naming a deadline; the pool's configured drain deadline
  then applies, and the answer says which deadline applies and where it came from.

  @OC-CTL-4014 @OC-CTL-4003
  Scenario: A drain with no body waits for the active lease until the configured deadline
    Given the manager is running with this config
      """
      pools:
        - {id: one, engine: stub, model: "stub://one", devices: [], cpu: true, slots: 1, drain_deadline_ms: 1500}
      """
    And the live pools "one" are ready
    When a client for job "job-d" leases a slot of the live pool "one" for 60000 ms
    And a client drains the live pool "one" without naming a deadline
    Then the drain is accepted with a deadline of 1500 ms taken from "pool_config"
    And the live pool "one" is draining
    And the live pool "one" ends stopped after a drain for "api_request"
