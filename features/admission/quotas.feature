@decision
Feature: Tenant quotas: concurrent leases over every pool, and a request rate with bursts
  A tenant's max_concurrent counts its leases over every pool of the manager. A tenant at its
  quota is passed over, never holding back the others, and its request is refused for the quota
  at once when it may not wait, at its deadline when it may. A tenant's rps is a token bucket,
  full at start, that refills at rps tokens a second up to its burst (rps rounded up when the
  config gives no burst); a request without a token is refused at once and never queues, and
  its refusal says in how many milliseconds the next token is due.

  Background:
    Given the heartbeat staleness limit is 600000 ms
    And the config lists these tenants
      | tenant | weight | max concurrent | rps | burst |
      | capped | 1      | 2              | -   | -     |
      | trio   | 1      | 3              | -   | -     |
      | open   | 1      | -              | -   | -     |
      | bursty | 1      | -              | 2   | 3     |
      | steady | 1      | -              | 2.5 | -     |
      | slow   | 1      | -              | 0.5 | 1     |
      | fast   | 1      | -              | 1000 | 1    |
    And a pool "chat" with 2 slots whose queue holds at most 10 requests, each waiting at most 5000 ms
    And a pool "code" with 2 slots whose queue holds at most 10 requests, each waiting at most 5000 ms
    And a pool "misc" with 1 slots whose queue holds at most 10 requests, each waiting at most 5000 ms
    And the pool "chat" is ready
    And the pool "code" is ready
    And the pool "misc" is ready

  @OC-ADM-9011
  Scenario: A tenant at its quota over all pools is refused at once when it may not wait, though a slot is free
    When request "c1" of tenant "capped" asks for a slot of "chat"
    And request "c2" of tenant "capped" asks for a slot of "code"
    And request "c3" of tenant "capped" asks for a slot of "chat"
    Then request "c3" was refused for its "max_concurrent" quota with code "QUOTA_EXCEEDED"
    And request "c3" was refused with code "QUOTA_EXCEEDED" after waiting 0 ms
    And the refusal of request "c3" says "tenant 'capped' holds its maximum of 2 concurrent leases"
    And the pool "chat" has 1 active leases
    When request "o1" of tenant "open" asks for a slot of "chat"
    Then request "o1" holds a lease of "chat"

  @OC-ADM-9011 @OC-ADM-9013
  Scenario: A tenant at its quota waits without holding back others, and is refused for the quota at its deadline
    When request "c1" of tenant "capped" asks for a slot of "chat"
    And request "c2" of tenant "capped" asks for a slot of "code"
    And request "c3" of tenant "capped" waits up to 2000 ms for a slot of "chat"
    And request "o1" of tenant "open" waits up to 2000 ms for a slot of "chat"
    Then request "o1" was admitted after waiting 0 ms
    And request "c3" is still waiting
    When the manager sweeps at 1999 ms
    Then request "c3" is still waiting
    When the manager sweeps at 2000 ms
    Then request "c3" was refused for its "max_concurrent" quota with code "QUOTA_EXCEEDED"
    And request "c3" was refused with code "QUOTA_EXCEEDED" after waiting 2000 ms
    And the pool "chat" has 2 active leases
    And the deadlines met ratio is 1.0000 for interactive and 1.0000 for batch

  @OC-ADM-9011 @OC-ADM-9003
  Scenario: A deadline that passed unseen while the tenant was at its quota is refused for the quota at the next decision
    When request "c1" of tenant "capped" asks for a slot of "chat"
    And request "c2" of tenant "capped" asks for a slot of "code"
    And the clock reaches 100 ms
    And request "c3" of tenant "capped" waits up to 2000 ms for a slot of "chat"
    And request "o1" of tenant "open" asks for a slot of "chat"
    And the clock reaches 2500 ms
    And the holder of request "o1" returns its lease
    Then request "c3" was refused for its "max_concurrent" quota with code "QUOTA_EXCEEDED"
    And request "c3" was refused with code "QUOTA_EXCEEDED" after waiting 2400 ms
    And request "c3" never held a lease
    And the pool "chat" has 1 active leases

  @OC-ADM-9011 @OC-ADM-9003 @OC-ADM-9013
  Scenario: A tenant below its quota that waits in vain for a slot is refused for the deadline, not the quota
    When request "o1" of tenant "open" asks for a slot of "chat"
    And request "o2" of tenant "open" asks for a slot of "chat"
    And request "c1" of tenant "capped" asks for a slot of "code"
    And request "c2" of tenant "capped" waits up to 1000 ms for a slot of "chat"
    And the manager sweeps at 1000 ms
    Then request "c2" was refused with code "DEADLINE_EXCEEDED" after waiting 1000 ms
    And the deadlines met ratio is 0.7500 for interactive and 1.0000 for batch

  @OC-ADM-9011 @OC-ADM-9004
  Scenario Outline: A tenant that drops below its quota on one pool is admitted at once on another
    When request "c1" of tenant "capped" asks for a slot of "chat"
    And request "c2" of tenant "capped" takes a slot of "code" for 1000 ms
    And request "c3" of tenant "capped" waits up to 5000 ms for a slot of "chat"
    And the manager sweeps at 700 ms
    Then request "c3" is still waiting
    When the clock reaches <at> ms
    And <it frees>
    Then request "c3" was admitted after waiting <at> ms
    And request "c3" holds a lease of "chat"
    And the pool "code" has 0 active leases

    Examples:
      | at   | it frees                                     |
      | 800  | the holder of request "c2" returns its lease |
      | 1000 | the manager sweeps at 1000 ms                |

  @OC-ADM-9011 @OC-ADM-9007
  Scenario: An interactive request of a tenant at its quota does not hold back a batch request
    When request "c1" of tenant "capped" asks for a slot of "code"
    And request "c2" of tenant "capped" asks for a slot of "code"
    And request "o1" of tenant "open" asks for a slot of "chat"
    And request "o2" of tenant "open" asks for a slot of "chat"
    And request "c3" of tenant "capped" waits up to 5000 ms for a slot of "chat"
    And request "b1" of tenant "open" waits up to 5000 ms for a batch slot of "chat"
    And the clock reaches 300 ms
    And the holder of request "o1" returns its lease
    Then request "b1" was admitted after waiting 300 ms
    And request "c3" is still waiting
    When the clock reaches 600 ms
    And the holder of request "c1" returns its lease
    Then request "c3" is still waiting
    When the clock reaches 900 ms
    And the holder of request "o2" returns its lease
    Then request "c3" was admitted after waiting 900 ms

  @OC-ADM-9012
  Scenario: Requests beyond the rate are refused at once with the time the next token is due, and never queue
    When request "o1" of tenant "open" asks for a slot of "chat"
    And request "o2" of tenant "open" asks for a slot of "chat"
    And request "r1" of tenant "bursty" waits up to 5000 ms for a slot of "chat"
    And request "r2" of tenant "bursty" waits up to 5000 ms for a slot of "chat"
    And request "r3" of tenant "bursty" waits up to 5000 ms for a slot of "chat"
    And request "r4" of tenant "bursty" waits up to 5000 ms for a slot of "chat"
    Then request "r3" is still waiting
    And request "r4" was refused for its "rps" quota with code "QUOTA_EXCEEDED"
    And request "r4" was refused with code "QUOTA_EXCEEDED" after waiting 0 ms
    And the refusal of request "r4" says to retry in 500 ms
    And the refusal of request "r4" says "tenant 'bursty' is over its rate quota (2.0 requests per second)"
    And the queue of "chat" holds 3 interactive and 0 batch requests
    When the clock reaches 200 ms
    And request "r5" of tenant "bursty" waits up to 5000 ms for a slot of "chat"
    Then request "r5" was refused for its "rps" quota with code "QUOTA_EXCEEDED"
    And the refusal of request "r5" says to retry in 300 ms
    When the clock reaches 500 ms
    And request "r6" of tenant "bursty" waits up to 5000 ms for a slot of "chat"
    And request "r7" of tenant "bursty" waits up to 5000 ms for a slot of "chat"
    And request "o3" of tenant "open" waits up to 5000 ms for a slot of "chat"
    Then request "r6" is still waiting
    And request "r7" was refused for its "rps" quota with code "QUOTA_EXCEEDED"
    And the refusal of request "r7" says to retry in 500 ms
    And request "o3" is still waiting
    And the queue of "chat" holds 5 interactive and 0 batch requests

  @OC-ADM-9012
  Scenario Outline: The bucket starts full and never holds more than its burst
    When request "o1" of tenant "open" asks for a slot of "chat"
    And request "o2" of tenant "open" asks for a slot of "chat"
    And the clock reaches <start> ms
    And request "r1" of tenant "<tenant>" waits up to 5000 ms for a slot of "chat"
    And request "r2" of tenant "<tenant>" waits up to 5000 ms for a slot of "chat"
    And request "r3" of tenant "<tenant>" waits up to 5000 ms for a slot of "chat"
    And request "r4" of tenant "<tenant>" waits up to 5000 ms for a slot of "chat"
    Then request "r3" is still waiting
    And request "r4" was refused for its "rps" quota with code "QUOTA_EXCEEDED"
    And the refusal of request "r4" says to retry in <retry> ms
    And the queue of "chat" holds 3 interactive and 0 batch requests

    Examples:
      | tenant | start | retry |
      | bursty | 0     | 500   |
      | bursty | 60000 | 500   |
      | steady | 0     | 400   |
      | steady | 60000 | 400   |

  @OC-ADM-9012
  Scenario Outline: A bucket of one token takes one request, and the next token is due after 1/rps seconds
    When the clock reaches <start> ms
    And request "r1" of tenant "<tenant>" asks for a slot of "chat"
    And request "r2" of tenant "<tenant>" asks for a slot of "chat"
    Then request "r1" holds a lease of "chat"
    And request "r2" was refused for its "rps" quota with code "QUOTA_EXCEEDED"
    And the refusal of request "r2" says to retry in <retry> ms
    And the pool "chat" has 1 active leases

    Examples:
      | tenant | start | retry |
      | slow   | 0     | 2000  |
      | slow   | 60000 | 2000  |
      | fast   | 0     | 1     |

  @OC-ADM-9011 @OC-ADM-9009
  Scenario: A tenant that waited at its quota banks no credit: once below it, it shares the pool by weight
    When request "t1" of tenant "trio" asks for a slot of "code"
    And request "t2" of tenant "trio" asks for a slot of "code"
    And request "t3" of tenant "trio" asks for a slot of "misc"
    And request "o1" of tenant "open" asks for a slot of "chat"
    And request "o2" of tenant "open" asks for a slot of "chat"
    And these requests arrive at "chat", in this order
      | request | tenant | tier        | wait ms |
      | t4      | trio   | interactive | 5000    |
      | t5      | trio   | interactive | 5000    |
      | t6      | trio   | interactive | 5000    |
      | t7      | trio   | interactive | 5000    |
      | o3      | open   | interactive | 5000    |
      | o4      | open   | interactive | 5000    |
      | o5      | open   | interactive | 5000    |
      | o6      | open   | interactive | 5000    |
      | o7      | open   | interactive | 5000    |
    And each holder on "chat" returns its lease as soon as it gets it, 3 times in a row
    And the holder of request "t1" returns its lease
    And the holder of request "t2" returns its lease
    And the holder of request "t3" returns its lease
    And each holder on "chat" returns its lease as soon as it gets it, 5 times in a row
    Then the admissions went to these requests, in this order
      | request | tenant |
      | t1      | trio   |
      | t2      | trio   |
      | t3      | trio   |
      | o1      | open   |
      | o2      | open   |
      | o3      | open   |
      | o4      | open   |
      | o5      | open   |
      | t4      | trio   |
      | t5      | trio   |
      | o6      | open   |
      | t6      | trio   |
      | o7      | open   |
