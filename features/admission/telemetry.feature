@decision
Feature: What admission reports: deadlines met per tier and each tenant's share of admissions
  deadlines_met_ratio{priority} is, per tier, the fraction admitted of the requests that were
  admitted or refused for want of a slot in time (REPLICA_EXHAUSTED, DEADLINE_EXCEEDED); it is 1
  while there were none. admission_share{tenant,priority} is each tenant's share of the tier's
  admissions, an exponentially weighted moving average with smoothing factor 2/101, corrected
  for its start so that a tier's shares sum to 1. With q = 99/101, after admissions of tenants
  A, B in that order B's share is 1/(1+q) = 101/200; after A, A, B it is 1/(1+q+q^2) =
  10201/30001. The values below are those fractions, written to the digits compared.

  Background:
    Given the heartbeat staleness limit is 600000 ms
    And the config lists these tenants
      | tenant | weight | max concurrent | rps | burst |
      | acme   | 1      | -              | -   | -     |
      | zeta   | 1      | -              | -   | -     |
      | capped | 1      | 1              | -   | -     |

  @OC-ADM-9013
  Scenario: The ratio counts, per tier, admissions against refusals for want of a slot in time
    Given a pool "chat" with 1 slots whose queue holds at most 10 requests, each waiting at most 5000 ms
    And the pool "chat" is ready
    Then the deadlines met ratio is 1.0000 for interactive and 1.0000 for batch
    When request "i1" of tenant "acme" asks for a slot of "chat"
    And request "i2" of tenant "zeta" asks for a slot of "chat"
    And request "i4" of tenant "acme" asks for a slot of "chat"
    And request "b1" of tenant "acme" waits up to 1000 ms for a batch slot of "chat"
    And request "b2" of tenant "zeta" waits up to 3000 ms for a batch slot of "chat"
    And request "i3" of tenant "zeta" waits up to 3000 ms for a slot of "chat"
    Then request "i4" was refused with code "REPLICA_EXHAUSTED" after waiting 0 ms
    And the deadlines met ratio is 0.3333 for interactive and 1.0000 for batch
    When the manager sweeps at 1000 ms
    Then request "b1" was refused with code "DEADLINE_EXCEEDED" after waiting 1000 ms
    And the deadlines met ratio is 0.3333 for interactive and 0.0000 for batch
    When the holder of request "i1" returns its lease
    And the holder of request "i3" returns its lease
    Then request "i3" was admitted after waiting 1000 ms
    And request "b2" was admitted after waiting 1000 ms
    And the deadlines met ratio is 0.5000 for interactive and 0.5000 for batch

  @OC-ADM-9013
  Scenario: Refusals for a full queue, a quota, a bad request or a pool that cannot admit do not count
    Given a pool "chat" with 1 slots whose queue holds at most 1 requests, each waiting at most 5000 ms
    And the pool "chat" is ready
    When request "c1" of tenant "capped" asks for a slot of "chat"
    And request "z1" of tenant "zeta" waits up to 2000 ms for a batch slot of "chat"
    And request "z2" of tenant "zeta" waits up to 2000 ms for a batch slot of "chat"
    And request "c2" of tenant "capped" asks for a slot of "chat"
    And request "x" of tenant "nobody" asks for a slot of "chat"
    And request "w" of tenant "acme" waits up to 9000 ms for a slot of "chat"
    And a drain of "chat" is requested with a deadline in 10000 ms
    Then request "z2" was refused with code "QUEUE_FULL"
    And request "c2" was refused for its "max_concurrent" quota with code "QUOTA_EXCEEDED"
    And request "x" was refused with code "INVALID_PARAMS"
    And request "w" was refused with code "INVALID_PARAMS"
    And request "z1" was refused with code "POOL_UNAVAILABLE" after waiting 0 ms
    And the deadlines met ratio is 1.0000 for interactive and 1.0000 for batch

  @OC-ADM-9014
  Scenario: Each tier's shares follow its own admissions, most recent weighing most, and sum to 1
    Given a pool "chat" with 1 slots whose queue holds at most 10 requests, each waiting at most 5000 ms
    And the pool "chat" is ready
    Then the interactive tier shows no admission shares
    And the batch tier shows no admission shares
    When request "a1" of tenant "acme" asks for a slot of "chat"
    Then the admission shares of the interactive tier are
      | tenant | share    |
      | acme   | 1.000000 |
    When the holder of request "a1" returns its lease
    And request "a2" of tenant "acme" asks for a slot of "chat"
    And the holder of request "a2" returns its lease
    And request "z1" of tenant "zeta" asks for a slot of "chat"
    Then the admission shares of the interactive tier are
      | tenant | share    |
      | acme   | 0.659978 |
      | zeta   | 0.340022 |
    And the batch tier shows no admission shares
    When the holder of request "z1" returns its lease
    And request "zb1" of tenant "zeta" waits up to 1000 ms for a batch slot of "chat"
    And the holder of request "zb1" returns its lease
    And request "ab1" of tenant "acme" waits up to 1000 ms for a batch slot of "chat"
    Then the admission shares of the batch tier are
      | tenant | share    |
      | acme   | 0.505000 |
      | zeta   | 0.495000 |
    And the admission shares of the interactive tier are
      | tenant | share    |
      | acme   | 0.659978 |
      | zeta   | 0.340022 |
