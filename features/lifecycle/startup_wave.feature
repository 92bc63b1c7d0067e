@decision
Feature: The startup wave starts a few pools at a time
  When the manager starts, it starts the first engine of every configured pool, but no more than
  `manager.start_concurrency` pools are starting at once: the others wait their turn, in config
  order. A pool has finished its first start when its engine became ready once, when that first
  start failed, or when an operator acted on the pool first (a drain or a reload); a pool an
  operator acted on while it waited is never started by the wave. The wave is done, and the
  manager's readiness probe stops waiting for it, when every configured pool has finished.

  @OC-PERF-9108
  Scenario: The first pools start in config order, no more than the start concurrency
    Given the CPU pools "vision, chat, embed, code" in this order, with a start concurrency of 2
    When the startup wave begins
    Then the startup wave has asked to start "vision, chat", in this order
    And the pools still starting their first engine are "vision, chat"
    And the pools waiting their turn are "embed, code", in this order
    And 0 of 4 pools have finished their first start
    And the pools that finished their first start are "none", in this order
    And the startup wave is not done

  @OC-PERF-9108 @OC-PERF-9107
  Scenario Outline: A first start that ends, however it ends, makes room for the next pool in config order
    Given the CPU pools "vision, chat, embed, code" in this order, with a start concurrency of 2
    When the startup wave begins
    And the first start of "chat" ends because <ending>
    Then the startup wave has asked to start "vision, chat, embed", in this order
    And the pools still starting their first engine are "vision, embed"
    And the pools waiting their turn are "code", in this order
    And 1 of 4 pools have finished their first start
    And the pools that finished their first start are "chat", in this order
    And the startup wave is not done
    And the pool "chat" reports state "<state>"

    Examples:
      | ending                  | state       |
      | its engine became ready | ready       |
      | its preload failed      | backing_off |
      | its engine crashed      | backing_off |
      | an operator drained it  | draining    |

  @OC-PERF-9108
  Scenario Outline: The start concurrency caps the first starts, whatever the number of pools
    Given the CPU pools "vision, chat, embed" in this order, with a start concurrency of <concurrency>
    When the startup wave begins
    Then the startup wave has asked to start "<started>", in this order
    And the pools waiting their turn are "<waiting>", in this order
    And 0 of 3 pools have finished their first start

    Examples:
      | concurrency | started             | waiting     |
      | 1           | vision              | chat, embed |
      | 2           | vision, chat        | embed       |
      | 3           | vision, chat, embed | none        |
      | 8           | vision, chat, embed | none        |

  @OC-PERF-9108 @OC-PERF-9107
  Scenario: One pool at a time, and the wave is done when the last pool has finished
    Given the CPU pools "vision, chat, embed" in this order, with a start concurrency of 1
    When the startup wave begins
    And the engine of "vision" finishes preloading
    Then the startup wave has asked to start "vision, chat", in this order
    And the pools still starting their first engine are "chat"
    And 1 of 3 pools have finished their first start
    When the preload of "chat" fails with cause "model_load_failed"
    Then the startup wave has asked to start "vision, chat, embed", in this order
    And the pools still starting their first engine are "embed"
    And 2 of 3 pools have finished their first start
    When the next restart of "chat" comes due
    Then the pool "chat" reports state "preloading"
    And the startup wave has asked to start "vision, chat, embed", in this order
    And the pools still starting their first engine are "embed"
    And 2 of 3 pools have finished their first start
    And the pools that finished their first start are "vision, chat", in this order
    And the startup wave is not done
    When the engine of "embed" finishes preloading
    Then 3 of 3 pools have finished their first start
    And the pools that finished their first start are "vision, chat, embed", in this order
    And the pools still starting their first engine are "none"
    And the pools waiting their turn are "none", in this order
    And the startup wave is done

  @OC-PERF-9108 @OC-PERF-9107
  Scenario: Pools an operator drained while they waited their turn are never started, and count as finished
    Given the CPU pools "vision, chat, embed, code" in this order, with a start concurrency of 1
    When the startup wave begins
    And a drain of "chat" is requested with a deadline in 30000 ms
    And a drain of "code" is requested with a deadline in 30000 ms
    Then the pools waiting their turn are "embed", in this order
    And 2 of 4 pools have finished their first start
    And the pools that finished their first start are "chat, code", in this order
    When the engine of "vision" finishes preloading
    Then the startup wave has asked to start "vision, embed", in this order
    And the pools still starting their first engine are "embed"
    And 3 of 4 pools have finished their first start
    And the startup wave is not done
    When the engine of "embed" finishes preloading
    Then the startup wave has asked to start "vision, embed", in this order
    And 4 of 4 pools have finished their first start
    And the pools that finished their first start are "chat, code, vision, embed", in this order
    And the startup wave is done
    And the pool "chat" reports state "stopped"
    And the pool "code" reports state "stopped"

  @OC-PERF-9108 @OC-PERF-9107
  Scenario: A pool an operator reloaded while it waited its turn is not started again by the wave
    Given the CPU pools "vision, chat" in this order, with a start concurrency of 1
    When the startup wave begins
    And a reload of "chat" to model "stub://model-b" is requested
    Then the pools waiting their turn are "none", in this order
    And 1 of 2 pools have finished their first start
    And the pools that finished their first start are "chat", in this order
    And the pool "chat" reports state "preloading"
    When the engine of "vision" finishes preloading
    Then the startup wave has asked to start "vision", in this order
    And the pools that finished their first start are "chat, vision", in this order
    And the startup wave is done

  @OC-PERF-9108 @OC-PERF-9107
  Scenario: A pool already ready when its turn comes is not started again, and frees its place at once
    Given the CPU pools "vision, chat, embed" in this order, with a start concurrency of 2
    And the pool "vision" is ready
    When the startup wave begins
    Then the startup wave has asked to start "vision, chat, embed", in this order
    And the pools still starting their first engine are "chat, embed"
    And the pools waiting their turn are "none", in this order
    And 1 of 3 pools have finished their first start
    And the pools that finished their first start are "vision", in this order
    And the pool "vision" reports state "ready"

  @OC-PERF-9108
  Scenario: A pool already starting when its turn comes keeps its place until its first start ends
    Given the CPU pools "vision, chat, embed" in this order, with a start concurrency of 2
    And the pool "vision" has been started
    When the startup wave begins
    Then the startup wave has asked to start "vision, chat", in this order
    And the pools still starting their first engine are "vision, chat"
    And 0 of 3 pools have finished their first start
    And the pools that finished their first start are "none", in this order
    When the engine of "vision" finishes preloading
    Then the startup wave has asked to start "vision, chat, embed", in this order
    And the pools still starting their first engine are "chat, embed"
    And 1 of 3 pools have finished their first start
    And the pools that finished their first start are "vision", in this order

  @OC-PERF-9108 @OC-PERF-9107
  Scenario: A pool reloaded before its turn finishes its first start when the new model fails, though it rolls back
    Given the CPU pools "vision, chat" in this order, with a start concurrency of 1
    When a reload of "vision" to model "stub://model-b" is requested
    And the startup wave begins
    Then the startup wave has asked to start "vision", in this order
    And the pools still starting their first engine are "vision"
    And the pools waiting their turn are "chat", in this order
    When the preload of "vision" fails with cause "model_load_failed"
    Then the pool "vision" reports state "starting"
    And the pools that finished their first start are "vision", in this order
    And the startup wave has asked to start "vision, chat", in this order
    And the pools still starting their first engine are "chat"
