@decision
Feature: The registry keeps every fact about a pool
  Operators and the control plane read one entry per pool: whether it is live, ready or
  draining, its state, its last heartbeat, what it serves, its last error, its slots and
  leases, and its restart schedule. The listing shows every pool in order of its name, and
  observers (metrics, logs) are told everything that happened to every pool.

  @OC-POOL-3005 @OC-POOL-3003
  Scenario: A ready pool's registry entry
    Given a CPU pool "chat" with 3 slots
    And the pool "chat" has been started
    When 1000 ms pass
    And the engine of "chat" finishes preloading, reporting version "b4242" and digest "sha256:0123abcd"
    And a client leases a slot of "chat"
    And 2500 ms pass
    Then the registry holds for "chat"
      """
      live: yes
      ready: yes
      draining: no
      state: ready
      preloaded: yes
      ready for: 2500
      last heartbeat at: 1000
      heartbeat age: 2500
      model: stub://model-a
      engine: stub
      engine version: b4242
      model digest: sha256:0123abcd
      runs on the CPU: yes
      engine process: 1001
      context per slot: 4096
      context in total: 12288
      last error: none
      slots: 3
      free slots: 2
      active leases: 1
      load: 0.33
      returned leases: 0
      expired leases: 0
      voided leases: 0
      restart count: 0
      next restart at: none
      backoff attempt: 0
      last backoff delay: none
      breaker: closed
      next breaker trial at: none
      drain reason: none
      """

  @OC-POOL-3070 @OC-POOL-3073
  Scenario: The context a launch planned replaces the configured one, and log lines learn the version
    Given a CPU pool "chat" with 3 slots
    And the pool "chat" has been started
    Then the registry identifies "chat" to log lines as engine "stub" version "none"
    And the registry identifies no pool "elsewhere" to log lines
    When the launch of "chat" plans a context of 2048 per slot and 6144 in total
    And the engine of "chat" finishes preloading, reporting version "b4242" and digest "sha256:0123abcd"
    Then the registry identifies "chat" to log lines as engine "stub" version "b4242"
    And the registry holds for "chat"
      """
      live: yes
      ready: yes
      draining: no
      state: ready
      last heartbeat at: 0
      model: stub://model-a
      engine: stub
      engine version: b4242
      model digest: sha256:0123abcd
      context per slot: 2048
      context in total: 6144
      last error: none
      slots: 3
      active leases: 0
      restart count: 0
      next restart at: none
      """

  @OC-POOL-3005 @OC-POOL-3003 @OC-POOL-3043
  Scenario: A crashed pool's registry entry shows the cause and the restart schedule
    Given a pool "chat" with 3 slots
    And the pool "chat" is ready with 2 slots leased
    When 300 ms pass
    And the engine of "chat" crashes
    Then the registry holds for "chat"
      """
      live: no
      ready: no
      draining: no
      state: backing_off
      preloaded: no
      ready for: none
      last heartbeat at: 0
      heartbeat age: 300
      model: stub://model-a
      engine: stub
      engine version: b1000
      model digest: sha256:b1000
      runs on the CPU: no
      engine process: none
      last error: killed_by_signal
      slots: 3
      free slots: 3
      active leases: 0
      load: 0.00
      returned leases: 0
      expired leases: 0
      voided leases: 2
      restart count: 0
      next restart at: 1300
      backoff attempt: 1
      last backoff delay: 1000
      breaker: closed
      next breaker trial at: none
      """

  @OC-POOL-3005 @OC-POOL-3031 @OC-CTL-4022
  Scenario: A draining pool's registry entry names why it drains and still says it preloaded
    Given a pool "chat" with 4 slots
    And the pool "chat" is ready with 1 slots leased
    When a drain of "chat" is requested with a deadline in 30000 ms
    Then the registry holds for "chat"
      """
      live: yes
      ready: no
      draining: yes
      state: draining
      preloaded: yes
      ready for: none
      last heartbeat at: 0
      model: stub://model-a
      engine: stub
      engine version: b1000
      model digest: sha256:b1000
      last error: none
      slots: 4
      active leases: 1
      restart count: 0
      next restart at: none
      drain reason: api_request
      """

  @OC-CTL-4023
  Scenario: A pool's ready time counts from its engine's preload and starts over with a new engine
    Given a pool "chat" with 2 slots
    And the pool "chat" is ready
    When 4000 ms pass
    Then the pool "chat" has been ready for 4000 ms
    When a health probe of "chat" times out
    Then the pool "chat" reports no ready time
    When 1000 ms pass
    And a health probe of "chat" answers again
    Then the pool "chat" has been ready for 5000 ms
    When the engine of "chat" crashes
    Then the pool "chat" reports no ready time
    When the next restart of "chat" comes due
    And the engine of "chat" finishes preloading
    And 700 ms pass
    Then the pool "chat" has been ready for 700 ms

  @OC-POOL-3005
  Scenario: The listing shows every pool, ordered by name
    Given a pool "zeta" with 2 slots
    And a pool "alpha" with 3 slots
    And a CPU pool "mid" with 1 slots
    And the pool "alpha" is ready with 2 slots leased
    And the pool "zeta" has been started
    Then the registry lists these pools
      """
      | pool  | state      | ready | slots | free slots | active leases |
      | alpha | ready      | yes   | 3     | 1          | 2             |
      | mid   | stopped    | no    | 1     | 1          | 0             |
      | zeta  | preloading | no    | 2     | 2          | 0             |
      """

  @OC-POOL-3005 @OC-POOL-3046
  Scenario: The slot count is the one the engine reports when its preload finishes
    Given a pool "chat" with 4 slots
    And the pool "chat" has been started
    When the engine of "chat" finishes preloading with 2 slots
    And clients lease 3 slots of "chat"
    Then the request is refused with code "REPLICA_EXHAUSTED"
    And the registry lists these pools
      """
      | pool | state | ready | slots | free slots | active leases |
      | chat | ready | yes   | 2     | 0          | 2             |
      """

  @OC-POOL-3005
  Scenario: Observers are told what happened to every pool, pool by pool, in order
    Given a pool "beta" with 2 slots
    And a pool "alpha" with 2 slots
    And the pool "alpha" is ready
    And the pool "beta" is ready
    And an observer follows the registry
    When the engine of "beta" crashes
    And the engine of "alpha" crashes
    Then the observer was told, in order
      """
      beta: state ready -> backing_off
      alpha: state ready -> backing_off
      """
    When 1000 ms pass
    Then the observer was told, in order
      """
      alpha: state backing_off -> starting
      alpha: restarted after killed_by_signal
      beta: state backing_off -> starting
      beta: restarted after killed_by_signal
      alpha: state starting -> preloading
      beta: state starting -> preloading
      """

  @OC-POOL-3004 @OC-POOL-3005
  Scenario Outline: A stale heartbeat found by a read is reported to observers as it is found
    Given the heartbeat staleness limit is 5000 ms
    And a pool "chat" with 2 slots
    And the pool "chat" is ready
    And an observer follows the registry
    When 5001 ms pass before the manager next checks its pools
    And <reader>
    Then the observer was told, in order
      """
      chat: state ready -> unready
      """
    And the pool "chat" reports state "unready"

    Examples:
      | reader                                 |
      | the registry is read for "chat"        |
      | the registry's pools are listed        |
      | a client leases a slot of "chat"       |

  @OC-POOL-3004 @OC-POOL-3044
  Scenario: A lease request finds the stale heartbeat itself and is refused
    Given the heartbeat staleness limit is 5000 ms
    And a pool "chat" with 2 slots
    And the pool "chat" is ready
    When 5001 ms pass before the manager next checks its pools
    And a client leases a slot of "chat"
    Then the request is refused with code "POOL_UNREADY"
    And the refusal names the pool "chat" and says "pool 'chat' is unready, not ready"

  @OC-POOL-3005
  Scenario: A pool the registry does not hold is unknown
    Given a pool "chat" with 2 slots
    When a client leases a slot of the unknown pool "nowhere"
    Then the request is refused with code "NOT_FOUND"
    And the refusal names the pool "nowhere" and says "no pool named 'nowhere'"

  @OC-POOL-3005
  Scenario Outline: The registry refuses a second entry for a pool, or a lease table of another pool
    Given a pool "chat" with 2 slots
    And a pool "code" with 2 slots
    When the pool "chat" is registered <how>
    Then the registration is refused: "<refusal>"

    Examples:
      | how                               | refusal                                       |
      | again                             | pool 'chat' is already registered             |
      | with the lease table of "code"    | lease table belongs to 'code', not 'chat'     |

  @OC-POOL-3005 @OC-POOL-3030 @OC-POOL-3010
  Scenario: Observers are told each preload outcome and each driver reset with its cause
    Given a pool "chat" with 2 slots
    And an observer follows the registry
    When the pool "chat" is started
    And the preload of "chat" fails with cause "model_load_failed"
    Then the observer was told, in order
      """
      chat: state stopped -> starting
      chat: state starting -> preloading
      chat: preload failure (model_load_failed)
      chat: state preloading -> backing_off
      """
    When the next restart of "chat" comes due
    And the engine of "chat" finishes preloading
    Then the observer was told, in order
      """
      chat: state backing_off -> starting
      chat: restarted after model_load_failed
      chat: state starting -> preloading
      chat: state preloading -> ready
      chat: preload success
      """
    When the engine of "chat" writes: CUDA error: an illegal memory access was encountered
    Then the observer was told, in order
      """
      chat: driver reset counted (driver_error)
      chat: drain counted (driver_error)
      chat: state ready -> backing_off
      """

  @OC-POOL-3005 @OC-POOL-3033
  Scenario: Observers are told how each reload ended, between which models, and why it rolled back
    Given a pool "chat" with 2 slots
    And the pool "chat" is ready
    And an observer follows the registry
    When a reload of "chat" to model "stub://model-b" is requested
    And the engine of "chat" exits
    And the engine of "chat" finishes preloading as version "b2000"
    Then the observer was told, in order
      """
      chat: drain counted (reload)
      chat: state ready -> draining
      chat: state draining -> stopped
      chat: state stopped -> starting
      chat: state starting -> preloading
      chat: state preloading -> ready
      chat: preload success
      chat: reload done from stub://model-a to stub://model-b
      """
    When a reload of "chat" to model "stub://model-c" is requested
    And the engine of "chat" exits
    And the preload of "chat" fails with cause "model_load_failed"
    And the engine of "chat" exits
    Then the observer was told, in order
      """
      chat: drain counted (reload)
      chat: state ready -> draining
      chat: state draining -> stopped
      chat: state stopped -> starting
      chat: state starting -> preloading
      chat: preload failure (model_load_failed)
      chat: reload rolled_back from stub://model-b to stub://model-c (model_load_failed)
      chat: state preloading -> starting
      chat: state starting -> preloading
      """
    When the engine of "chat" crashes
    And a reload of "chat" to model "stub://model-d" is requested
    Then the observer was told, in order
      """
      chat: preload failure (killed_by_signal)
      chat: state preloading -> backing_off
      chat: state backing_off -> stopped
      chat: drain counted (reload)
      chat: state stopped -> starting
      chat: state starting -> preloading
      """
