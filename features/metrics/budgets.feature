@decision
Feature: Label budgets are enforced when metrics are counted
  Values of a label past its budget are folded into __overflow__ and each fold is counted in
  label_overflow_total; the scrape is the registry's own text exposition.

  @OC-MET-6002 @OC-POOL-3061
  Scenario: Pools past a small pool_id budget fold into the overflow series
    Given a pool "alpha" with 2 slots
    And metrics that allow 3 distinct values of the label "pool_id"
    When a driver reset is counted once for each of the pools "p1, p2, p3, p4, p5, p4"
    Then the scrape shows "driver_resets_total" for exactly 4 distinct pool_id values
    And the scrape shows "driver_resets_total" of pool "p1" at 1
    And the scrape shows "driver_resets_total" of pool "__overflow__" at 3
    And the scrape shows no "driver_resets_total" series for the pools "p4, p5"
    And the scrape counts 2 folds of the label "pool_id" of "driver_resets_total"

  @OC-MET-6002 @OC-POOL-3061
  Scenario: The default budget admits 256 pools and folds the 257th
    Given a pool "alpha" with 2 slots
    And metrics with the default label budgets
    When a driver reset is counted once for each of 257 pools named "pool-1" onwards
    Then the scrape shows "driver_resets_total" for exactly 257 distinct pool_id values
    And the scrape shows "driver_resets_total" of pool "pool-256" at 1
    And the scrape shows no "driver_resets_total" series for the pools "pool-257"
    And the scrape shows "driver_resets_total" of pool "__overflow__" at 1
    And the scrape counts 1 folds of the label "pool_id" of "driver_resets_total"
