@decision
Feature: One pool's lease bookkeeping, deciding on its own
  The lease table of one pool decides alone whether a slot can be granted, how long a lease
  lasts, when it has expired, what a renewal changes, and how every lease ended. Time is the
  scenario's clock; lease ids come from a seeded id source.

  @OC-POOL-3040 @OC-POOL-3049
  Scenario: Slots are granted until the table is full, with ids from the seeded source
    Given a lease table with 2 slots whose leases last 10000 ms by default
    When client "a" takes a slot
    And client "b" takes a slot
    And client "c" takes a slot
    Then the grant is refused as full, naming 2 of 2 slots leased
    And the table has 2 active leases and 0 of 2 slots free
    And the lease ids handed out are
      """
      a: 6513270e-269e-4d37-b2a7-4de452e6b438
      b: d23f0824-128b-4f33-8c5c-7fd0a6a3a450
      """

  @OC-POOL-3040 @OC-POOL-3041
  Scenario: A returned slot can be granted again, and the table lists its leases by grant time
    Given a lease table with 2 slots whose leases last 10000 ms by default
    When client "a" takes a slot
    And the clock reaches 1000 ms
    And client "b" takes a slot
    And client "a" returns its lease
    Then the request is accepted by the table
    And the leases of "a" ended, in this order
    And the table has 1 active leases and 1 of 2 slots free
    When the clock reaches 2000 ms
    And client "c" takes a slot
    Then the table holds these leases
      """
      | client | granted at | expires at |
      | b      | 1000       | 11000      |
      | c      | 2000       | 12000      |
      """
    And the next lease expires at 11000 ms
    And the table counts 1 returned, 0 expired and 0 voided leases

  @OC-POOL-3041 @OC-POOL-3045
  Scenario Outline: Returning or renewing a lease that already ended names how it ended and changes no count
    Given a lease table with 3 slots whose leases last 10000 ms by default
    When client "a" takes a slot for 5000 ms
    And client "b" takes a slot
    And <it ends>
    And client "a" <asks>
    Then the request is refused because the lease was already "<how>"
    And the table has <active> active leases and <free> of 3 slots free
    And the table counts <returned> returned, <expired> expired and <voided> voided leases

    Examples:
      | it ends                      | asks              | how      | active | free | returned | expired | voided |
      | client "a" returns its lease | returns its lease | returned | 1      | 2    | 1        | 0       | 0      |
      | client "a" returns its lease | renews its lease  | returned | 1      | 2    | 1        | 0       | 0      |
      | the clock reaches 5000 ms    | returns its lease | expired  | 1      | 2    | 0        | 1       | 0      |
      | the clock reaches 5000 ms    | renews its lease  | expired  | 1      | 2    | 0        | 1       | 0      |
      | the pool's engine crashes    | returns its lease | voided   | 0      | 3    | 0        | 0       | 2      |
      | the pool's engine crashes    | renews its lease  | voided   | 0      | 3    | 0        | 0       | 2      |

  @OC-POOL-3041
  Scenario Outline: A lease the table never granted is unknown, and no count changes
    Given a lease table with 2 slots whose leases last 10000 ms by default
    When client "a" takes a slot
    And a client <asks> a lease the table never granted
    Then the request is refused as an unknown lease of the pool
    And the table has 1 active leases and 1 of 2 slots free
    And the table counts 0 returned, 0 expired and 0 voided leases

    Examples:
      | asks    |
      | returns |
      | renews  |

  @OC-POOL-3042
  Scenario Outline: A lease expires exactly at its deadline, whether or not a sweep has run
    Given a lease table with 2 slots whose leases last 10000 ms by default
    When client "a" takes a slot
    And the clock reaches <now> ms
    And client "b" takes a slot
    Then the table has <active> active leases and <free> of 2 slots free
    And the table counts 0 returned, <expired> expired and 0 voided leases

    Examples:
      | now   | active | free | expired |
      | 9999  | 2      | 0    | 0       |
      | 10000 | 1      | 1    | 1       |
      | 10001 | 1      | 1    | 1       |

  @OC-POOL-3042
  Scenario: A sweep ends the overdue leases, earliest deadline first
    Given a lease table with 4 slots whose leases last 10000 ms by default
    When client "a" takes a slot for 4000 ms
    And client "b" takes a slot for 2000 ms
    And client "c" takes a slot for 3000 ms
    And client "d" takes a slot
    And the clock reaches 2999 ms
    And the table sweeps out overdue leases
    Then the leases of "b" ended, in this order
    When the clock reaches 4000 ms
    And the table sweeps out overdue leases
    Then the leases of "c, a" ended, in this order
    And the table holds these leases
      """
      | client | granted at | expires at |
      | d      | 0          | 10000      |
      """
    And the table counts 0 returned, 3 expired and 0 voided leases
    When the table sweeps out overdue leases
    Then no lease ended

  @OC-POOL-3042 @OC-POOL-3043
  Scenario: A crash voids the active leases by grant time, then id; a lease already overdue counts as expired
    Given a lease table with 4 slots whose leases last 10000 ms by default
    When client "a" takes a slot for 5000 ms
    And the clock reaches 1000 ms
    And client "b" takes a slot
    And client "c" takes a slot
    And the clock reaches 1500 ms
    And client "d" takes a slot
    Then the table holds these leases
      """
      | client | granted at | expires at |
      | a      | 0          | 5000       |
      | c      | 1000       | 11000      |
      | b      | 1000       | 11000      |
      | d      | 1500       | 11500      |
      """
    When the clock reaches 5000 ms
    And the pool's engine crashes
    Then the lease ids handed out are
      """
      b: d23f0824-128b-4f33-8c5c-7fd0a6a3a450
      c: 9531985d-5d9d-49f8-9818-e811892f902b
      """
    And the leases of "c, b, d" ended, in this order
    And the table holds no lease
    And the table counts 0 returned, 1 expired and 3 voided leases

  @OC-POOL-3045
  Scenario Outline: Renewing extends a lease from the moment of renewal and never shortens it
    Given a lease table with 2 slots whose leases last 10000 ms by default
    When client "a" takes a slot
    And the clock reaches 4000 ms
    And client "a" <renews>
    Then the request is accepted by the table
    And the table holds these leases
      """
      | client | granted at | expires at |
      | a      | 0          | <expires>  |
      """
    When the clock reaches <expires> ms
    And the table sweeps out overdue leases
    Then the leases of "a" ended, in this order

    Examples:
      | renews                       | expires |
      | renews its lease             | 14000   |
      | renews its lease for 20000 ms | 24000   |
      | renews its lease for 6001 ms | 10001   |
      | renews its lease for 6000 ms | 10000   |
      | renews its lease for 1 ms | 10000   |

  @OC-POOL-3045
  Scenario: A renewed lease outlives its first deadline
    Given a lease table with 2 slots whose leases last 10000 ms by default
    When client "a" takes a slot
    And the clock reaches 9999 ms
    And client "a" renews its lease for 10000 ms
    And the clock reaches 10000 ms
    And the table sweeps out overdue leases
    Then no lease ended
    And the next lease expires at 19999 ms

  @OC-POOL-3048
  Scenario Outline: A lease lasts the lifetime asked for, within the pool's limits
    Given a lease table is set up with 2 slots, a default lifetime of 5000 ms, a maximum lifetime of 60000 ms and a memory of 16 ended leases
    When the clock reaches 1000 ms
    And client "a" <asks>
    Then the table holds these leases
      """
      | client | granted at | expires at |
      | a      | 1000       | <expires>  |
      """

    Examples:
      | asks                        | expires |
      | takes a slot                | 6000    |
      | takes a slot for 1 ms       | 1001    |
      | takes a slot for 60000 ms   | 61000   |

  @OC-POOL-3048
  Scenario Outline: A lifetime outside the pool's limits is refused, for a grant and for a renewal
    Given a lease table is set up with 2 slots, a default lifetime of 5000 ms, a maximum lifetime of 60000 ms and a memory of 16 ended leases
    When client "a" takes a slot
    And client "<who>" <asks>
    Then the request is refused: the lifetime must lie between 1 and 60000 ms
    And the table has 1 active leases and 1 of 2 slots free
    And the next lease expires at 5000 ms

    Examples:
      | who | asks                       |
      | b   | takes a slot for 0 ms      |
      | b   | takes a slot for 60001 ms  |
      | a   | renews its lease for 0 ms |
      | a   | renews its lease for 60001 ms |

  @OC-POOL-3048
  Scenario Outline: Bad settings of the lease table are refused, naming the setting and the value
    Given a lease table is set up with <slots> slots, a default lifetime of <default> ms, a maximum lifetime of <maximum> ms and a memory of <memory> ended leases
    Then the setup is refused, naming the <setting> and the value "<value>"

    Examples:
      | slots | default | maximum | memory | setting                | value |
      | -1    | 5000    | 60000   | 16     | slot count             | -1    |
      | 2     | 5000    | 0       | 16     | maximum lifetime       | 0     |
      | 2     | 0       | 60000   | 16     | default lifetime       | 0     |
      | 2     | 60001   | 60000   | 16     | default lifetime       | 60001 |
      | 2     | 5000    | 60000   | -1     | memory of ended leases | -1    |

  @OC-POOL-3048
  Scenario Outline: Settings at their limits are accepted
    Given a lease table is set up with <slots> slots, a default lifetime of <default> ms, a maximum lifetime of <maximum> ms and a memory of <memory> ended leases
    Then the setup is accepted
    And the table has 0 active leases and <slots> of <slots> slots free

    Examples:
      | slots | default | maximum | memory |
      | 0     | 1       | 1       | 0      |
      | 2     | 60000   | 60000   | 16     |

  @OC-POOL-3048
  Scenario: A table set up for a pool with no name is refused
    Given a lease table is set up for a pool with no name
    Then the setup is refused for the missing pool name

  @OC-POOL-3040 @OC-POOL-3046
  Scenario: When the slot count shrinks below the active leases, those leases keep running
    Given a lease table with 3 slots whose leases last 10000 ms by default
    When clients "a", "b" and "c" take a slot each
    And the pool's slot count changes to 1
    Then the table has 3 active leases and 0 of 1 slots free
    When client "d" takes a slot
    Then the grant is refused as full, naming 3 of 1 slots leased
    When client "a" returns its lease
    And client "b" returns its lease
    Then the table has 1 active leases and 0 of 1 slots free
    When client "c" returns its lease
    Then the table has 0 active leases and 1 of 1 slots free
    When client "d" takes a slot
    Then the request is accepted by the table

  @OC-POOL-3046
  Scenario: A negative slot count is refused and the old one kept
    Given a lease table with 3 slots whose leases last 10000 ms by default
    When client "a" takes a slot
    And the pool's slot count changes to -1
    Then the slot count is refused as negative
    And the table has 1 active leases and 2 of 3 slots free

  @OC-POOL-3041 @OC-POOL-3049
  Scenario Outline: The table remembers how the most recent leases ended, up to its memory
    Given a lease table with 3 slots that remembers the last <memory> ended leases
    When clients "a", "b" and "c" take a slot each
    And client "a" returns its lease
    And client "b" returns its lease
    And client "c" returns its lease
    And client "<client>" returns its lease
    Then <answer>
    And the table counts 3 returned, 0 expired and 0 voided leases

    Examples:
      | memory | client | answer                                                        |
      | 0      | c      | the request is refused with code "NOT_FOUND"                  |
      | 1      | b      | the request is refused with code "NOT_FOUND"                  |
      | 1      | c      | the request is refused because the lease was already "returned" |
      | 2      | a      | the request is refused with code "NOT_FOUND"                  |
      | 2      | b      | the request is refused because the lease was already "returned" |

  @OC-POOL-3049
  Scenario Outline: A new lease never reuses the id of an active or remembered lease
    Given a lease table with 3 slots that remembers the last <memory> ended leases, whose id source hands out every id 2 times in a row
    When client "a" takes a slot
    And client "a" returns its lease
    And client "b" takes a slot
    Then <outcome>

    Examples:
      | memory | outcome                                                 |
      | 1      | client "b" holds a lease id other than the one "a" held |
      | 0      | client "b" holds the lease id that "a" held              |

  @OC-POOL-3049
  Scenario: A new lease draws again while its id is taken by an active lease
    Given a lease table with 3 slots that remembers the last 0 ended leases, whose id source hands out every id 2 times in a row
    When client "a" takes a slot
    And client "b" takes a slot
    Then client "b" holds a lease id other than the one "a" held
    And the lease ids handed out are
      """
      a: 6513270e-269e-4d37-b2a7-4de452e6b438
      b: d23f0824-128b-4f33-8c5c-7fd0a6a3a450
      """

  @OC-POOL-3049
  Scenario: A grant gives up after 64 draws that all collide
    Given a lease table with 2 slots whose id source always hands out the same id
    When client "a" takes a slot
    And client "b" takes a slot
    Then the table gave up after drawing 64 ids for that grant
    And the table has 1 active leases and 1 of 2 slots free

  @OC-POOL-3042 @OC-POOL-3048
  Scenario: Without settings of its own, a lease lasts 300000 ms and at most 3600000 ms
    Given a lease table with 2 slots and no lifetime settings of its own
    When client "a" takes a slot
    And client "b" takes a slot for 3600000 ms
    Then the table holds these leases
      """
      | client | granted at | expires at |
      | a      | 0          | 300000     |
      | b      | 0          | 3600000    |
      """
    When client "c" takes a slot for 3600001 ms
    Then the request is refused: the lifetime must lie between 1 and 3600000 ms
