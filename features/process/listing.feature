@process
Feature: The running manager lists and describes its pools
  These scenarios start the real `poolmgr serve` with real stub engines and talk to it over
  HTTP, as a client or an operator would.

  @OC-CTL-4001 @OC-POOL-3050 @OC-POOL-3017
  Scenario: The embedded default manager lists two ready CPU pools in stable order
    Given the manager is running with its embedded default config
    And the live pools "alpha, beta" are ready
    When a client lists the live pools
    Then the live pool listing names "alpha, beta" in this order
    And the live replica-set listing names "alpha, beta" in this order
    And every listed pool is a ready CPU pool with 4 of 4 slots free
    And every listed pool reports the version its engine process announces

  @OC-POOL-3050 @OC-CTL-4001
  Scenario: A pool whose model is a file reports that file's sha256, listed in id order
    Given a model file "tiny.gguf" of 4096 bytes
    And the manager is running with this config
      """
      pools:
        - {id: zulu, engine: stub, model: "$TMP/tiny.gguf", devices: [], cpu: true, slots: 2}
        - {id: mike, engine: stub, model: "stub://mike", devices: [], cpu: true, slots: 2}
      """
    And the live pools "zulu, mike" are ready
    When a client lists the live pools
    Then the live pool listing names "mike, zulu" in this order
    And every listed pool is a ready CPU pool with 2 of 2 slots free
    And the live pool "zulu" reports the sha256 digest of the file "tiny.gguf"

  @OC-CTL-4002 @OC-POOL-3005
  Scenario: Pool health reports the whole state of a pool
    Given the manager is running with its embedded default config
    And the live pools "alpha" are ready
    When a client leases a slot of the live pool "alpha"
    Then the answer has status 201
    And the live health of "alpha" says live, ready, not draining, state "ready"
    And the live health of "alpha" shows no last error, a "closed" breaker, 0 restarts
    And the live health of "alpha" shows a heartbeat at most 5000 ms old
    And the live health of "alpha" shows 1 active leases of 4 slots
