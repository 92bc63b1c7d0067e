@decision
Feature: A pool's admission queue: who waits, for how long, and when the wait ends
  A lease request may wait for a slot of a full pool, up to its wait_ms, in the pool's bounded
  admission queue. The wait ends with a lease, given the moment a slot frees, or with a refusal,
  given at the request's deadline or the moment the pool can no longer admit. Time is the
  manager's clock, moved by the scenario: "the manager sweeps" is the timer that fires at a
  deadline; "the clock reaches" moves the clock and nothing else happens.

  Background:
    Given the heartbeat staleness limit is 600000 ms
    And the config lists these tenants
      | tenant | weight | max concurrent | rps | burst |
      | acme   | 1      | -              | -   | -     |
      | zeta   | 1      | -              | -   | -     |

  @OC-ADM-9001
  Scenario Outline: A request on a full pool is answered at once without a wait, and waits with one
    Given a pool "chat" with 1 slots whose queue holds at most 2 requests, each waiting at most 5000 ms
    And the pool "chat" is ready
    When request "holder" of tenant "acme" asks for a slot of "chat"
    And request "r" of tenant "zeta" waits up to <wait> ms for a slot of "chat"
    Then request "holder" was admitted after waiting 0 ms
    And request "r" <answer>
    And the queue of "chat" holds <waiting> interactive and 0 batch requests

    Examples:
      | wait | answer                                                        | waiting |
      | 0    | was refused with code "REPLICA_EXHAUSTED" after waiting 0 ms  | 0       |
      | 1    | is still waiting                                              | 1       |
      | 5000 | is still waiting                                              | 1       |
      | 5001 | was refused with code "INVALID_PARAMS"                        | 0       |
      | -1   | was refused with code "INVALID_PARAMS"                        | 0       |

  @OC-ADM-9001
  Scenario: A wait above the pool's maximum is refused, naming the maximum
    Given a pool "chat" with 1 slots whose queue holds at most 2 requests, each waiting at most 5000 ms
    And the pool "chat" is ready
    When request "r" of tenant "acme" waits up to 5001 ms for a slot of "chat"
    Then request "r" was refused with code "INVALID_PARAMS"
    And the refusal of request "r" says "body.wait_ms: must be between 0 and 5000 for pool 'chat' (its admission.max_wait_ms), got 5001"
    And the pool "chat" has 0 active leases

  @OC-ADM-9001
  Scenario: Without a wait, a full pool answers that it has no free slot, as a pool without a queue does
    Given a pool "chat" with 1 slots whose queue holds at most 2 requests, each waiting at most 5000 ms
    And the pool "chat" is ready
    When request "holder" of tenant "acme" asks for a slot of "chat"
    And request "r" of tenant "zeta" asks for a slot of "chat"
    Then request "r" was refused with code "REPLICA_EXHAUSTED" after waiting 0 ms
    And the refusal of request "r" says "pool 'chat' has no free slot"
    And the queue of "chat" holds 0 interactive and 0 batch requests

  @OC-ADM-9001
  Scenario: A pool whose maximum wait is 0 lets no request wait
    Given a pool "chat" with 1 slots whose queue holds at most 2 requests, each waiting at most 0 ms
    And the pool "chat" is ready
    When request "r0" of tenant "acme" waits up to 0 ms for a slot of "chat"
    And request "r1" of tenant "zeta" waits up to 1 ms for a slot of "chat"
    Then request "r0" holds a lease of "chat"
    And request "r1" was refused with code "INVALID_PARAMS"
    And the refusal of request "r1" says "body.wait_ms: must be between 0 and 0 for pool 'chat' (its admission.max_wait_ms), got 1"

  @OC-ADM-9001
  Scenario: A request that may wait is granted at once when a slot is free
    Given a pool "chat" with 2 slots whose queue holds at most 2 requests, each waiting at most 5000 ms
    And the pool "chat" is ready
    When request "a1" of tenant "acme" waits up to 5000 ms for a slot of "chat"
    And request "z1" of tenant "zeta" asks for a slot of "chat"
    Then request "a1" was admitted after waiting 0 ms
    And request "z1" was admitted after waiting 0 ms
    And the queue of "chat" holds 0 interactive and 0 batch requests

  @OC-ADM-9002
  Scenario: A full queue refuses a request that would have to wait, at once, and takes one again once a place frees
    Given a pool "chat" with 1 slots whose queue holds at most 2 requests, each waiting at most 5000 ms
    And the pool "chat" is ready
    When request "holder" of tenant "zeta" asks for a slot of "chat"
    And request "w1" of tenant "acme" waits up to 5000 ms for a slot of "chat"
    And request "w2" of tenant "zeta" waits up to 5000 ms for a slot of "chat"
    And request "w3" of tenant "zeta" waits up to 5000 ms for a batch slot of "chat"
    Then request "w3" was refused with code "QUEUE_FULL" after waiting 0 ms
    And the refusal of request "w3" says "the admission queue of pool 'chat' is full (2 requests waiting)"
    And the queue of "chat" holds 2 interactive and 0 batch requests
    When the clock reaches 1000 ms
    And the holder of request "holder" returns its lease
    Then request "w1" was admitted after waiting 1000 ms
    And request "w2" is still waiting
    When request "w4" of tenant "acme" waits up to 5000 ms for a slot of "chat"
    Then request "w4" is still waiting
    And the queue of "chat" holds 2 interactive and 0 batch requests

  @OC-ADM-9002
  Scenario: A queue of depth 0 lets nobody wait, but a free slot is still granted
    Given a pool "solo" with 1 slots whose queue holds at most 0 requests, each waiting at most 5000 ms
    And the pool "solo" is ready
    When request "r1" of tenant "acme" waits up to 5000 ms for a slot of "solo"
    And request "r2" of tenant "zeta" waits up to 5000 ms for a slot of "solo"
    Then request "r1" was admitted after waiting 0 ms
    And request "r2" was refused with code "QUEUE_FULL" after waiting 0 ms
    And the queue of "solo" holds 0 interactive and 0 batch requests

  @OC-ADM-9003
  Scenario: A request still waiting at its deadline is refused exactly then, not a moment before
    Given a pool "chat" with 1 slots whose queue holds at most 2 requests, each waiting at most 5000 ms
    And the pool "chat" is ready
    When request "holder" of tenant "acme" asks for a slot of "chat"
    And request "r" of tenant "zeta" waits up to 2000 ms for a slot of "chat"
    And the manager sweeps at 1999 ms
    Then request "r" is still waiting
    When the manager sweeps at 2000 ms
    Then request "r" was refused with code "DEADLINE_EXCEEDED" after waiting 2000 ms
    And the refusal of request "r" says "pool 'chat' had no free slot within the request's 2000 ms wait"
    When the holder of request "holder" returns its lease
    Then request "r" never held a lease
    And the pool "chat" has 0 active leases

  @OC-ADM-9003 @OC-ADM-9004
  Scenario: A slot that frees exactly at a request's deadline is still granted to it
    Given a pool "chat" with 1 slots whose queue holds at most 2 requests, each waiting at most 5000 ms
    And the pool "chat" is ready
    When request "holder" of tenant "acme" asks for a slot of "chat"
    And request "r" of tenant "zeta" waits up to 2000 ms for a slot of "chat"
    And the clock reaches 2000 ms
    And the holder of request "holder" returns its lease
    Then request "r" was admitted after waiting 2000 ms

  @OC-ADM-9003
  Scenario: A slot that frees after a request's deadline is never granted to it, even when no sweep ran in between
    Given a pool "chat" with 1 slots whose queue holds at most 2 requests, each waiting at most 5000 ms
    And the pool "chat" is ready
    When request "holder" of tenant "acme" asks for a slot of "chat"
    And request "r" of tenant "zeta" waits up to 2000 ms for a slot of "chat"
    And the clock reaches 2001 ms
    And the holder of request "holder" returns its lease
    Then request "r" was refused with code "DEADLINE_EXCEEDED" after waiting 2001 ms
    And request "r" never held a lease
    And the pool "chat" has 0 active leases

  @OC-ADM-9003
  Scenario: Each request has its own deadline; the one still in time gets the slot
    Given a pool "chat" with 1 slots whose queue holds at most 2 requests, each waiting at most 5000 ms
    And the pool "chat" is ready
    When request "holder" of tenant "acme" asks for a slot of "chat"
    And request "early" of tenant "acme" waits up to 1000 ms for a slot of "chat"
    And the clock reaches 500 ms
    And request "late" of tenant "zeta" waits up to 3000 ms for a slot of "chat"
    And the manager sweeps at 1000 ms
    Then request "early" was refused with code "DEADLINE_EXCEEDED" after waiting 1000 ms
    And request "late" is still waiting
    When request "next" of tenant "acme" waits up to 5000 ms for a slot of "chat"
    Then request "next" is still waiting
    And the queue of "chat" holds 2 interactive and 0 batch requests
    When the clock reaches 3500 ms
    And the holder of request "holder" returns its lease
    Then request "late" was admitted after waiting 3000 ms
    And request "next" is still waiting

  @OC-ADM-9004
  Scenario Outline: A slot that frees goes to a waiting request in the same decision
    Given a pool "chat" with 1 slots whose queue holds at most 2 requests, each waiting at most 5000 ms
    And the pool "chat" is ready
    When request "holder" of tenant "acme" takes a slot of "chat" for 1500 ms
    And request "r" of tenant "zeta" waits up to 5000 ms for a slot of "chat"
    And the manager sweeps at 1499 ms
    Then request "r" is still waiting
    When the clock reaches <at> ms
    And <it frees>
    Then request "r" was admitted after waiting <at> ms
    And the pool "chat" counts 1 leases that ended as "<how>"
    And the pool "chat" has 1 active leases
    And the queue of "chat" holds 0 interactive and 0 batch requests

    Examples:
      | at   | it frees                                         | how      |
      | 1499 | the holder of request "holder" returns its lease | returned |
      | 1500 | the manager sweeps at 1500 ms                    | expired  |
      | 1500 | a health probe of "chat" answers again           | expired  |

  @OC-ADM-9004
  Scenario: Each freed slot goes to one waiting request, and the rest wait on
    Given a pool "chat" with 2 slots whose queue holds at most 4 requests, each waiting at most 5000 ms
    And the pool "chat" is ready
    When request "h1" of tenant "acme" asks for a slot of "chat"
    And request "h2" of tenant "acme" asks for a slot of "chat"
    And request "w1" of tenant "zeta" waits up to 5000 ms for a slot of "chat"
    And request "w2" of tenant "zeta" waits up to 5000 ms for a slot of "chat"
    And request "w3" of tenant "zeta" waits up to 5000 ms for a slot of "chat"
    And the clock reaches 100 ms
    And the holder of request "h2" returns its lease
    Then request "w1" was admitted after waiting 100 ms
    And the queue of "chat" holds 2 interactive and 0 batch requests
    When the clock reaches 300 ms
    And the holder of request "h1" returns its lease
    Then request "w2" was admitted after waiting 300 ms
    And request "w3" is still waiting
    And the pool "chat" has 2 active leases

  @OC-ADM-9005
  Scenario Outline: A pool that can no longer admit refuses every waiting request at once
    Given a pool "chat" with 1 slots whose queue holds at most 4 requests, each waiting at most 5000 ms
    And the pool "chat" is ready
    When request "holder" of tenant "acme" asks for a slot of "chat"
    And request "i1" of tenant "acme" waits up to 5000 ms for a slot of "chat"
    And the clock reaches 200 ms
    And request "b1" of tenant "zeta" waits up to 5000 ms for a batch slot of "chat"
    And the clock reaches 700 ms
    And <it happens>
    Then request "i1" was refused with code "<code>" after waiting 700 ms
    And request "b1" was refused with code "<code>" after waiting 500 ms
    And the queue of "chat" holds 0 interactive and 0 batch requests
    When request "late" of tenant "zeta" waits up to 5000 ms for a slot of "chat"
    Then request "late" was refused with code "<code>"

    Examples:
      | it happens                                                   | code             |
      | a drain of "chat" is requested with a deadline in 10000 ms   | POOL_UNAVAILABLE |
      | the engine of "chat" crashes                                 | POOL_UNREADY     |
      | the engine of "chat" exits                                   | POOL_UNREADY     |
      | a reload of "chat" to model "stub://model-b" is requested    | POOL_UNAVAILABLE |

  @OC-ADM-9005
  Scenario: A pool whose heartbeat goes stale refuses its waiting requests at the sweep that sees it
    Given the heartbeat staleness limit is 3000 ms
    And a pool "chat" with 1 slots whose queue holds at most 4 requests, each waiting at most 5000 ms
    And the pool "chat" is ready
    When request "holder" of tenant "acme" asks for a slot of "chat"
    And request "r" of tenant "zeta" waits up to 5000 ms for a slot of "chat"
    And the manager sweeps at 3000 ms
    Then request "r" is still waiting
    When the manager sweeps at 3001 ms
    Then request "r" was refused with code "POOL_UNREADY" after waiting 3001 ms

  @OC-ADM-9005
  Scenario: A crash voids the leases and refuses the waiting requests; the refusal says when to retry
    Given a pool "chat" with 1 slots whose queue holds at most 4 requests, each waiting at most 5000 ms
    And the pool "chat" is ready
    When request "holder" of tenant "acme" asks for a slot of "chat"
    And request "r" of tenant "zeta" waits up to 5000 ms for a slot of "chat"
    And the clock reaches 700 ms
    And the engine of "chat" crashes
    Then request "r" was refused with code "POOL_UNREADY" after waiting 700 ms
    And the refusal of request "r" says to retry in 1000 ms
    And request "r" never held a lease
    And the pool "chat" counts 1 leases that ended as "voided"

  @OC-ADM-9006
  Scenario: A client that disconnects leaves the queue at once, gives up its place and never gets a lease
    Given a pool "chat" with 1 slots whose queue holds at most 3 requests, each waiting at most 5000 ms
    And the pool "chat" is ready
    When request "holder" of tenant "acme" asks for a slot of "chat"
    And request "r1" of tenant "acme" waits up to 5000 ms for a slot of "chat"
    And request "r2" of tenant "zeta" waits up to 5000 ms for a slot of "chat"
    And request "r3" of tenant "zeta" waits up to 5000 ms for a slot of "chat"
    And the clock reaches 500 ms
    And the client of request "r1" disconnects
    Then the disconnect of request "r1" found it waiting
    And request "r1" was withdrawn without an answer
    And the queue of "chat" holds 2 interactive and 0 batch requests
    When request "r4" of tenant "acme" waits up to 5000 ms for a slot of "chat"
    And request "r5" of tenant "acme" waits up to 5000 ms for a slot of "chat"
    Then request "r4" is still waiting
    And request "r5" was refused with code "QUEUE_FULL" after waiting 0 ms
    When the holder of request "holder" returns its lease
    Then request "r2" was admitted after waiting 500 ms
    And request "r1" never held a lease
    And request "r3" is still waiting
    When the client of request "r2" disconnects
    Then the disconnect of request "r2" did not find it waiting
    And request "r2" holds a lease of "chat"

  @OC-ADM-9005 @OC-ADM-9002
  Scenario: A pool that is Ready again after a crash queues up to its depth again
    Given a pool "chat" with 1 slots whose queue holds at most 2 requests, each waiting at most 5000 ms
    And the pool "chat" is ready
    When request "holder" of tenant "acme" asks for a slot of "chat"
    And request "r1" of tenant "zeta" waits up to 5000 ms for a slot of "chat"
    And the engine of "chat" crashes
    Then request "r1" was refused with code "POOL_UNREADY" after waiting 0 ms
    When the next restart of "chat" comes due
    And the engine of "chat" finishes preloading
    And request "h2" of tenant "acme" asks for a slot of "chat"
    And request "w1" of tenant "zeta" waits up to 5000 ms for a slot of "chat"
    And request "w2" of tenant "zeta" waits up to 5000 ms for a slot of "chat"
    And request "w3" of tenant "zeta" waits up to 5000 ms for a slot of "chat"
    Then request "h2" holds a lease of "chat"
    And request "w2" is still waiting
    And request "w3" was refused with code "QUEUE_FULL" after waiting 0 ms
    And the queue of "chat" holds 2 interactive and 0 batch requests

  @OC-ADM-9003
  Scenario: Requests whose deadlines passed unseen are refused before the freed slot is granted, earliest deadline first
    Given a pool "chat" with 1 slots whose queue holds at most 4 requests, each waiting at most 5000 ms
    And the pool "chat" is ready
    When request "holder" of tenant "acme" asks for a slot of "chat"
    And request "i1" of tenant "acme" waits up to 3000 ms for a slot of "chat"
    And the clock reaches 500 ms
    And request "b1" of tenant "zeta" waits up to 2000 ms for a batch slot of "chat"
    And request "y" of tenant "zeta" waits up to 4500 ms for a slot of "chat"
    And the clock reaches 3001 ms
    And the holder of request "holder" returns its lease
    Then admission decided, in this order
      | request | decision          |
      | holder  | admitted          |
      | b1      | DEADLINE_EXCEEDED |
      | i1      | DEADLINE_EXCEEDED |
      | y       | admitted          |
    And request "b1" was refused with code "DEADLINE_EXCEEDED" after waiting 2501 ms
    And the refusal of request "b1" says "pool 'chat' had no free slot within the request's 2000 ms wait"
    And request "y" was admitted after waiting 2501 ms

  @OC-ADM-9001
  Scenario: A request whose lease lifetime is out of range is refused at once, even when it could wait
    Given a pool "chat" with 1 slots whose queue holds at most 2 requests, each waiting at most 5000 ms
    And the pool "chat" is ready
    When request "holder" of tenant "acme" asks for a slot of "chat"
    And request "r" of tenant "zeta" waits up to 5000 ms for a slot of "chat" lasting 3600001 ms
    Then request "r" was refused at once as invalid: "ttl_ms must be between 1 and 3600000, got 3600001"
    And the queue of "chat" holds 0 interactive and 0 batch requests

  @OC-ADM-9003
  Scenario: A request that comes after another's deadline, before any sweep, finds that one refused first
    Given a pool "chat" with 1 slots whose queue holds at most 2 requests, each waiting at most 5000 ms
    And the pool "chat" is ready
    When request "holder" of tenant "acme" asks for a slot of "chat"
    And request "early" of tenant "zeta" waits up to 100 ms for a slot of "chat"
    And the clock reaches 200 ms
    And request "late" of tenant "zeta" waits up to 1000 ms for a slot of "chat"
    Then request "early" was refused with code "DEADLINE_EXCEEDED" after waiting 200 ms
    And request "late" is still waiting
    And admission decided, in this order
      | request | decision          |
      | holder  | admitted          |
      | early   | DEADLINE_EXCEEDED |

  @OC-ADM-9003
  Scenario: One sweep refuses the requests past their deadline on every pool
    Given a pool "chat" with 1 slots whose queue holds at most 2 requests, each waiting at most 5000 ms
    And a pool "code" with 1 slots whose queue holds at most 2 requests, each waiting at most 5000 ms
    And the pool "chat" is ready
    And the pool "code" is ready
    When request "h1" of tenant "acme" asks for a slot of "chat"
    And request "h2" of tenant "acme" asks for a slot of "code"
    And request "w1" of tenant "zeta" waits up to 300 ms for a slot of "chat"
    And request "w2" of tenant "zeta" waits up to 300 ms for a slot of "code"
    And the manager sweeps at 300 ms
    Then request "w1" was refused with code "DEADLINE_EXCEEDED" after waiting 300 ms
    And request "w2" was refused with code "DEADLINE_EXCEEDED" after waiting 300 ms
    And admission decided, in this order
      | request | decision          |
      | h1      | admitted          |
      | h2      | admitted          |
      | w1      | DEADLINE_EXCEEDED |
      | w2      | DEADLINE_EXCEEDED |
