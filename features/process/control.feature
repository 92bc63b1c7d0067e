@process
Feature: The running manager's control plane
  Drains, leases, errors and authentication, over real HTTP against the real manager.

  @OC-CTL-4003 @OC-POOL-3031 @OC-POOL-3034
  Scenario: A drain is accepted, a second drain while draining is a conflict, the pool ends stopped
    Given the manager is running with its embedded default config
    And the live pools "alpha" are ready
    When a client leases a slot of the live pool "alpha"
    And a client drains the live pool "alpha" with a deadline of 2500 ms
    Then the answer has status 202
    And the live pool "alpha" is draining
    When a client drains the live pool "alpha" with a deadline of 2500 ms
    Then the answer is an error envelope with status 409 and code "CONFLICT"
    And the live pool "alpha" ends stopped after a drain for "api_request"

  @OC-POOL-3040 @OC-POOL-3041 @OC-CTL-4004
  Scenario: Leases are granted with an engine URL, never beyond the slots, never returned twice
    Given the manager is running with this config
      """
      pools:
        - {id: one, engine: stub, model: "stub://one", devices: [], cpu: true, slots: 1, drain_deadline_ms: 1000}
      """
    And the live pools "one" are ready
    When a client leases a slot of the live pool "one"
    Then the answer has status 201
    And the lease answer names an engine URL that answers a probe
    When a client leases a slot of the live pool "one"
    Then the answer is an error envelope with status 429 and code "REPLICA_EXHAUSTED"
    When the client returns its live lease
    Then the answer has status 204
    When the client returns its live lease
    Then the answer is an error envelope with status 409 and code "CONFLICT"
    And the live health of "one" shows 0 active leases of 1 slots

  @OC-CTL-4004 @OC-CTL-4005
  Scenario: An unknown pool is a NOT_FOUND envelope and the correlation id is echoed
    Given the manager is running with its embedded default config
    When a client asks for the health of the live pool "nowhere" with correlation id "bdd-4005-a"
    Then the answer is an error envelope with status 404 and code "NOT_FOUND"
    And the envelope names the pool "nowhere"
    And the answer echoes the correlation id it was sent
    When a client asks for the health of the live pool "alpha" without a correlation id
    Then the answer has status 200
    And the answer carries a generated correlation id

  @OC-CTL-4006
  Scenario: With a token configured, a drain needs the right bearer token
    Given the manager is running with "POOLMGR_BDD_TOKEN" holding the token "s3cret-bdd" and this config
      """
      manager:
        auth: {token_env: POOLMGR_BDD_TOKEN}
      pools:
        - {id: guarded, engine: stub, model: "stub://guarded", devices: [], cpu: true, slots: 1, drain_deadline_ms: 1000}
      """
    And the live pools "guarded" are ready
    When a client drains the live pool "guarded" with a deadline of 1000 ms
    Then the answer is an error envelope with status 401 and code "UNAUTHORIZED"
    When a client drains the live pool "guarded" presenting the bearer token "not-the-token"
    Then the answer is an error envelope with status 403 and code "FORBIDDEN"
    When a client drains the live pool "guarded" presenting the bearer token "s3cret-bdd"
    Then the answer has status 202
