@decision
Feature: Who is admitted next: priority tiers, tenants' arrival order and their weights
  When a slot frees, the queue picks the request to admit: interactive before batch, each
  tenant's requests in the order they arrived, and between tenants in proportion to their
  weights, with ties going to the request that arrived first. A tenant that had nothing waiting
  comes back on equal terms and banks no credit for the time it was away. In these scenarios
  every holder returns its lease as soon as it gets it, so the pool's one slot passes from
  admission to admission and the order is the scheduler's alone.

  Background:
    Given the heartbeat staleness limit is 600000 ms
    And the config lists these tenants
      | tenant | weight | max concurrent | rps | burst |
      | acme   | 1      | -              | -   | -     |
      | zeta   | 1      | -              | -   | -     |
      | gold   | 3      | -              | -   | -     |
      | bronze | 1      | -              | -   | -     |
    And a pool "chat" with 1 slots whose queue holds at most 20 requests, each waiting at most 60000 ms

  @OC-ADM-9007
  Scenario: Every waiting interactive request is admitted before any batch request, whenever they arrived
    Given the pool "chat" is ready
    When these requests arrive at "chat", in this order
      | request | tenant | tier        | wait ms |
      | holder  | acme   | interactive | 0       |
      | b1      | acme   | batch       | 60000   |
      | b2      | zeta   | batch       | 60000   |
      | i1      | zeta   | interactive | 60000   |
      | i2      | acme   | interactive | 60000   |
    And each holder on "chat" returns its lease as soon as it gets it, 3 times in a row
    Then the admissions went to these requests, in this order
      | request | tenant |
      | holder  | acme   |
      | i1      | zeta   |
      | i2      | acme   |
      | b1      | acme   |
    And the queue of "chat" holds 0 interactive and 1 batch requests
    When request "i3" of tenant "zeta" waits up to 60000 ms for a slot of "chat"
    And each holder on "chat" returns its lease as soon as it gets it, 2 times in a row
    Then the admissions went to these requests, in this order
      | request | tenant |
      | holder  | acme   |
      | i1      | zeta   |
      | i2      | acme   |
      | b1      | acme   |
      | i3      | zeta   |
      | b2      | zeta   |

  @OC-ADM-9008
  Scenario: One tenant's requests of one tier are admitted in the order they arrived
    Given the pool "chat" is ready
    When these requests arrive at "chat", in this order
      | request | tenant | tier        | wait ms |
      | holder  | zeta   | interactive | 0       |
      | a1      | acme   | interactive | 60000   |
      | a2      | acme   | interactive | 60000   |
      | ab1     | acme   | batch       | 60000   |
      | ab2     | acme   | batch       | 60000   |
      | a3      | acme   | interactive | 60000   |
    And each holder on "chat" returns its lease as soon as it gets it, 5 times in a row
    Then the admissions went to these requests, in this order
      | request | tenant |
      | holder  | zeta   |
      | a1      | acme   |
      | a2      | acme   |
      | a3      | acme   |
      | ab1     | acme   |
      | ab2     | acme   |

  @OC-ADM-9008 @OC-ADM-9009
  Scenario: Tenants of equal weight take turns, each in its own arrival order, the older request first on a tie
    Given the pool "chat" is ready
    When these requests arrive at "chat", in this order
      | request | tenant | tier        | wait ms |
      | holder  | gold   | interactive | 0       |
      | z1      | zeta   | interactive | 60000   |
      | z2      | zeta   | interactive | 60000   |
      | z3      | zeta   | interactive | 60000   |
      | a1      | acme   | interactive | 60000   |
      | a2      | acme   | interactive | 60000   |
      | a3      | acme   | interactive | 60000   |
    And each holder on "chat" returns its lease as soon as it gets it, 6 times in a row
    Then the admissions went to these requests, in this order
      | request | tenant |
      | holder  | gold   |
      | z1      | zeta   |
      | a1      | acme   |
      | z2      | zeta   |
      | a2      | acme   |
      | z3      | zeta   |
      | a3      | acme   |

  @OC-ADM-9009
  Scenario: With weights 3 and 1, both backlogged, the heavier tenant gets three admissions for every one of the lighter
    Given the pool "chat" is ready
    When these requests arrive at "chat", in this order
      | request | tenant | tier        | wait ms |
      | holder  | acme   | interactive | 0       |
      | g1      | gold   | interactive | 60000   |
      | g2      | gold   | interactive | 60000   |
      | g3      | gold   | interactive | 60000   |
      | g4      | gold   | interactive | 60000   |
      | g5      | gold   | interactive | 60000   |
      | g6      | gold   | interactive | 60000   |
      | b1      | bronze | interactive | 60000   |
      | b2      | bronze | interactive | 60000   |
      | b3      | bronze | interactive | 60000   |
    And each holder on "chat" returns its lease as soon as it gets it, 9 times in a row
    Then the admissions went to these requests, in this order
      | request | tenant |
      | holder  | acme   |
      | g1      | gold   |
      | b1      | bronze |
      | g2      | gold   |
      | g3      | gold   |
      | g4      | gold   |
      | b2      | bronze |
      | g5      | gold   |
      | g6      | gold   |
      | b3      | bronze |

  @OC-ADM-9009
  Scenario: Weights hold in the batch tier too, and a tie goes to the request that arrived first
    Given the pool "chat" is ready
    When these requests arrive at "chat", in this order
      | request | tenant | tier        | wait ms |
      | holder  | acme   | batch       | 0       |
      | b1      | bronze | batch       | 60000   |
      | b2      | bronze | batch       | 60000   |
      | g1      | gold   | batch       | 60000   |
      | g2      | gold   | batch       | 60000   |
      | g3      | gold   | batch       | 60000   |
    And each holder on "chat" returns its lease as soon as it gets it, 5 times in a row
    Then the admissions went to these requests, in this order
      | request | tenant |
      | holder  | acme   |
      | b1      | bronze |
      | g1      | gold   |
      | g2      | gold   |
      | g3      | gold   |
      | b2      | bronze |

  @OC-ADM-9009
  Scenario: A tenant that returns from idle banks no credit for the time it had nothing waiting
    Given the pool "chat" is ready
    When these requests arrive at "chat", in this order
      | request | tenant | tier        | wait ms |
      | z0      | zeta   | interactive | 0       |
      | a1      | acme   | interactive | 60000   |
      | a2      | acme   | interactive | 60000   |
      | a3      | acme   | interactive | 60000   |
      | a4      | acme   | interactive | 60000   |
      | a5      | acme   | interactive | 60000   |
      | a6      | acme   | interactive | 60000   |
    And each holder on "chat" returns its lease as soon as it gets it, 3 times in a row
    And request "z1" of tenant "zeta" waits up to 60000 ms for a slot of "chat"
    And each holder on "chat" returns its lease as soon as it gets it, 1 times in a row
    And these requests arrive at "chat", in this order
      | request | tenant | tier        | wait ms |
      | z2      | zeta   | interactive | 60000   |
      | z3      | zeta   | interactive | 60000   |
    And each holder on "chat" returns its lease as soon as it gets it, 5 times in a row
    Then the admissions went to these requests, in this order
      | request | tenant |
      | z0      | zeta   |
      | a1      | acme   |
      | a2      | acme   |
      | a3      | acme   |
      | z1      | zeta   |
      | a4      | acme   |
      | z2      | zeta   |
      | a5      | acme   |
      | z3      | zeta   |
      | a6      | acme   |

  @OC-ADM-9010
  Scenario: A request naming a tenant the config does not list is refused, naming the field and the value
    Given the pool "chat" is ready
    When request "x" of tenant "nobody" waits up to 1000 ms for a slot of "chat"
    Then request "x" was refused with code "INVALID_PARAMS"
    And the refusal of request "x" says "body.tenant: unknown tenant 'nobody' (known: acme, bronze, default, gold, zeta)"
    And the pool "chat" has 0 active leases
    And the queue of "chat" holds 0 interactive and 0 batch requests

  @OC-ADM-9010 @OC-ADM-9009
  Scenario: A request naming no tenant is the default tenant's, of weight 1
    Given the pool "chat" is ready
    When these requests arrive at "chat", in this order
      | request | tenant | tier        | wait ms |
      | holder  | acme   | interactive | 0       |
      | g1      | gold   | interactive | 60000   |
      | g2      | gold   | interactive | 60000   |
      | g3      | gold   | interactive | 60000   |
      | g4      | gold   | interactive | 60000   |
    And request "d1" names no tenant and waits up to 60000 ms for a slot of "chat"
    And request "d2" names no tenant and waits up to 60000 ms for a slot of "chat"
    And each holder on "chat" returns its lease as soon as it gets it, 6 times in a row
    Then the admissions went to these requests, in this order
      | request | tenant  |
      | holder  | acme    |
      | g1      | gold    |
      | d1      | default |
      | g2      | gold    |
      | g3      | gold    |
      | g4      | gold    |
      | d2      | default |
