@OC-DEMO-1001
Feature: Demo feature
  Some description.

  Background:
    Given a base

  @OC-DEMO-1002 @smoke
  Scenario: plain passing
    When I do <x> thing
    Then it works

  Scenario: failing one
    When I fail
    Then it works

  Scenario: undefined one
    When I am undefined

  @OC-DEMO-1003
  Scenario Outline: outline <n> check
    When I count <n>
    Then it works

    @OC-DEMO-1004
    Examples: first
      | n |
      | 1 |
      | 2 |

    Examples: second
      | n |
      | 3 |

  @ORCH-3010
  Rule: a rule
    @OC-DEMO-1005
    Scenario: in rule
      Then it works
