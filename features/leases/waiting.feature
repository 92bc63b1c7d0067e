@process
Feature: Waiting for a slot over the control plane
  A lease request may wait for a slot instead of being refused at once: it names how long it
  may wait, and the answer comes when a slot is granted, when its deadline comes, or at once
  when the pool stops taking leases. Ordinary HTTP clients need nothing new: the request is a
  long poll. A client that hangs up gives up its place.

  Background:
    Given the manager is running with this config
      """
      tenants:
        - {name: search, weight: 3}
        - {name: reports}
      pools:
        - id: one
          engine: stub
          model: "stub://one"
          devices: []
          cpu: true
          slots: 1
          drain_deadline_ms: 60000
          admission: {queue_depth: 4, max_wait_ms: 30000}
      """
    And the live pools "one" are ready
    And a client holds the only slot of the live pool "one"

  @OC-ADM-9001 @OC-ADM-9004 @OC-ADM-9016
  Scenario: A waiting request is granted the slot a returned lease frees
    When a client of tenant "search" asks for a slot of the live pool "one", waiting up to 30000 ms
    Then the live admission queue of "one" holds one waiting "interactive" request
    When the client returns its live lease
    Then the waiting client is granted a lease of the live pool "one"
    And the live admission queue of "one" holds no waiting "interactive" request
    And the manager logged the event "admission_granted" for tenant "search" on "one" in the interactive tier
    And the live health of "one" shows 1 active leases of 1 slots

  @OC-ADM-9003 @OC-ADM-9013 @OC-ADM-9015 @OC-ADM-9016
  Scenario: A request that gets no slot by its deadline is refused at it, and the metrics count it
    When a client of tenant "reports" asks for a slot of the live pool "one", waiting up to 300 ms
    Then the waiting client is answered with an error envelope
    And the answer is an error envelope with status 429 and code "DEADLINE_EXCEEDED"
    And the answer's retry hint is 1 s
    And the manager logged the event "admission_refused" for tenant "reports" on "one" with the code "DEADLINE_EXCEEDED"
    And the live gauge "deadlines_met_ratio" with priority="interactive" is 0.5
    And the live gauge "admission_refusals_total" with pool_id="one", reason="deadline_exceeded" is 1
    And the live gauge "admission_share" with tenant="default", priority="interactive" is 1
    And every metric family the live manager exports is listed in the metrics contract

  @OC-ADM-9005
  Scenario: A pool that starts draining refuses its waiting requests at once
    When a client of tenant "search" asks for a slot of the live pool "one", waiting up to 30000 ms
    Then the live admission queue of "one" holds one waiting "interactive" request
    When a client drains the live pool "one" with a deadline of 60000 ms
    Then the waiting client is answered with an error envelope
    And the answer is an error envelope with status 503 and code "POOL_UNAVAILABLE"
    And the live admission queue of "one" holds no waiting "interactive" request

  @OC-ADM-9006
  Scenario: A client that hangs up while it waits leaves the queue and holds no lease
    When a client of tenant "search" asks for a slot of the live pool "one", waiting up to 30000 ms, and hangs up while it waits
    Then the live admission queue of "one" holds no waiting "interactive" request
    When the client returns its live lease
    Then the live health of "one" shows 0 active leases of 1 slots
