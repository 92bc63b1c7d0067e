@process
Feature: Renewing a lease over the control plane
  A client that needs its slot for longer renews its lease before it expires. Every grant and
  renewal tells the expiry twice: on the manager's own clock and as a UTC time the client can
  plan with. A lease that already ended cannot be renewed, and the refusal says how it ended.

  @OC-POOL-3045 @OC-CTL-4010 @OC-CTL-4011
  Scenario: A renewed lease lasts the lifetime asked for, or the pool's lease lifetime, from the renewal
    Given the manager is running with this config
      """
      pools:
        - {id: one, engine: stub, model: "stub://one", devices: [], cpu: true, slots: 1, lease_ttl_ms: 90000, drain_deadline_ms: 1000}
      """
    And the live pools "one" are ready
    When a client for job "job-7" leases a slot of the live pool "one" for 2000 ms
    Then the lease answer gives the lease 2000 ms from the answer, on the manager's clock and in UTC
    When the client renews its live lease for 60000 ms
    Then the answer has status 200
    And the lease answer gives the lease 60000 ms from the answer, on the manager's clock and in UTC
    And the manager logged the event "lease_renewed" for the client's live lease and job "job-7"
    When the client renews its live lease
    Then the lease answer gives the lease 90000 ms from the answer, on the manager's clock and in UTC
    And the live health of "one" shows 1 active leases of 1 slots

  @OC-POOL-3045 @OC-CTL-4011
  Scenario Outline: Renewing a lease that already ended is a conflict that says how it ended
    Given the manager is running with this config
      """
      pools:
        - id: one
          engine: stub
          model: "stub://one"
          devices: []
          cpu: true
          slots: 2
          drain_deadline_ms: 1000
          backoff: {initial_ms: 60000, max_ms: 60000, jitter: none}
      """
    And the live pools "one" are ready
    When a client for job "job-8" leases a slot of the live pool "one" for <lifetime> ms
    And <it ends>
    And the client renews its live lease for 60000 ms
    Then the answer is an error envelope with status 409 and code "CONFLICT"
    And the envelope names the pool "one"
    And the envelope message ends with "it was already <how>"

    Examples:
      | lifetime | it ends                                                                    | how      |
      | 60000    | the client returns its live lease                                          | returned |
      | 1        | the client's live lease expires                                            | expired  |
      | 60000    | the engine of the live pool "one" is killed and the manager voids its leases | voided   |

  @OC-CTL-4011
  Scenario Outline: Renewing a lease the manager never granted, or on an unknown pool, is not found
    Given the manager is running with its embedded default config
    When a client renews the lease "never-granted" of the live pool "<pool>"
    Then the answer is an error envelope with status 404 and code "NOT_FOUND"
    And the envelope message reads "<message>"

    Examples:
      | pool    | message                                     |
      | alpha   | pool 'alpha' has no lease 'never-granted'   |
      | nowhere | no pool named 'nowhere'                     |
