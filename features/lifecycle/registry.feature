@decision
Feature: The registry keeps every fact about a pool
  Operators and the control plane read one entry per pool: whether it is live, ready or
  draining, its state, its last heartbeat, what it serves, its last error, its slots and
  leases, and its restart schedule.

  @OC-POOL-3005 @OC-POOL-3003
  Scenario: A ready pool's registry entry
    Given a CPU pool "chat" with 3 slots
    And the pool "chat" has been started
    When the engine of "chat" finishes preloading as version "b4242"
    And a client leases a slot of "chat"
    Then the registry entry of "chat" reads
      """
      live: true
      ready: true
      draining: false
      state: ready
      engine: stub
      engine_version: b4242
      slots_total: 3
      slots_free: 2
      active_leases: 1
      restart_count: 0
      last_error: None
      next_restart_at_ms: None
      """

  @OC-POOL-3005 @OC-POOL-3003
  Scenario: A crashed pool's registry entry shows the cause and the restart schedule
    Given a CPU pool "chat" with 3 slots
    And the pool "chat" is ready
    When the engine of "chat" crashes
    Then the registry entry of "chat" reads
      """
      live: false
      ready: false
      state: backing_off
      last_error: killed_by_signal
      active_leases: 0
      restart_count: 0
      """
