@decision
Feature: Late and out-of-place events change nothing
  Events reach the manager after the fact: the preload outcome of an engine that has since been
  stopped or replaced, a health probe answering while nothing serves, a start request for a pool
  that already runs. In every state where such an event can arrive, the pool keeps its state,
  its readiness, its reported engine version, its slots and its last error.

  Background:
    Given a pool "chat" with 2 slots

  @OC-POOL-3007 @OC-POOL-3001
  Scenario Outline: A late preload success in state <state> changes nothing
    Given the pool "chat" has reached state "<state>"
    When a late preload success of "chat" arrives as version "b9999"
    Then the pool "chat" reports state "<state>"
    And the pool "chat" reports the engine version as "<version>"
    And the pool "chat" has 2 slots
    And the pool "chat" reports as its last error "<last error>"
    And the scrape counts <successes> preloads of "chat" that ended in "success"

    Examples:
      | state        | version      | last error   | successes |
      | stopped      | not reported | nothing      | 0         |
      | ready        | b1000        | nothing      | 1         |
      | unready      | b1000        | probe_timeout | 1        |
      | draining     | b1000        | nothing      | 1         |
      | backing_off  | not reported | model_load_failed | 0    |
      | circuit_open | not reported | host_oom     | 0         |

  @OC-POOL-3007
  Scenario Outline: A late preload failure in state <state> changes nothing
    Given the pool "chat" has reached state "<state>"
    When a late preload failure of "chat" arrives with cause "digest_mismatch"
    Then the pool "chat" reports state "<state>"
    And the pool "chat" reports as its last error "<last error>"
    And the pool "chat" has been restarted <restarts> times
    And the scrape counts <failures> preloads of "chat" that ended in "failure"

    Examples:
      | state        | last error        | restarts | failures |
      | stopped      | nothing           | 0        | 0        |
      | ready        | nothing           | 0        | 0        |
      | unready      | probe_timeout     | 0        | 0        |
      | draining     | nothing           | 0        | 0        |
      | backing_off  | model_load_failed | 0        | 1        |
      | circuit_open | host_oom          | 4        | 5        |

  @OC-POOL-3007
  Scenario: A late preload failure leaves the scheduled restart where it was
    Given the pool "chat" has reached state "backing_off"
    When 400 ms pass
    And a late preload failure of "chat" arrives with cause "digest_mismatch"
    Then the next restart of "chat" is due in 600 ms

  @OC-POOL-3001 @OC-POOL-3006
  Scenario Outline: A health probe that answers in state <state> does not make the pool ready
    Given the pool "chat" has reached state "<state>"
    When a health probe of "chat" answers again
    Then the pool "chat" reports state "<state>"
    And the pool "chat" is not ready

    Examples:
      | state        |
      | stopped      |
      | starting     |
      | preloading   |
      | draining     |
      | backing_off  |
      | circuit_open |

  @OC-POOL-3016
  Scenario Outline: A failed health probe in state <state> changes nothing
    Given the pool "chat" has reached state "<state>"
    When 3 health probes of "chat" fail with "<failure>"
    Then the pool "chat" reports state "<state>"
    And the pool "chat" reports as its last error "<last error>"
    And no stop or kill of the engine of "chat" was ordered

    Examples:
      | state       | failure | last error        |
      | stopped     | timeout | nothing           |
      | starting    | error   | nothing           |
      | preloading  | timeout | nothing           |
      | preloading  | error   | nothing           |
      | backing_off | error   | model_load_failed |

  @OC-POOL-3009
  Scenario Outline: A start of a pool in state <state> is refused as a conflict
    Given the pool "chat" has reached state "<state>"
    When a start of "chat" is requested
    Then the request is refused with code "CONFLICT"
    And the refusal names the pool "chat" and says "pool is <state>, not stopped"
    And the pool "chat" reports state "<state>"
    And <starts> engine starts of "chat" were ordered

    Examples:
      | state        | starts |
      | starting     | 1      |
      | preloading   | 1      |
      | ready        | 1      |
      | unready      | 1      |
      | draining     | 1      |
      | backing_off  | 1      |
      | circuit_open | 5      |

  @OC-POOL-3009 @OC-POOL-3001
  Scenario: A start of a stopped pool is accepted and launches one engine
    Given the pool "chat" has reached state "stopped"
    When a start of "chat" is requested
    Then the request is accepted
    And the pool "chat" reports state "preloading"
    And 1 engine starts of "chat" were ordered

  @OC-POOL-3001 @OC-POOL-3003
  Scenario: A pool that was never started reports nothing loaded and nothing running
    Given the pool "chat" has reached state "stopped"
    Then the pool "chat" is not ready
    And the pool "chat" reports its preload as "not done"
    And the pool "chat" reports its engine as "not running"
    And the pool "chat" reports the engine version as "not reported"
    And the pool "chat" reports as its last error "nothing"
    And the pool "chat" reports no reload
    And the pool "chat" has no restart scheduled

  @OC-POOL-3044 @OC-POOL-3011
  Scenario: A lease asked for exactly when the restart is due is told to retry at once
    Given the pool "chat" has reached state "backing_off"
    When 1000 ms pass without any timer running
    And a client leases a slot of "chat"
    Then the request is refused with code "POOL_UNREADY"
    And the refusal tells the client to retry in 0 ms
