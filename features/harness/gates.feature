@decision
Feature: The BDD gates catch what the runners let through
  Each scenario builds a throw-away project (one feature file, one step module, a behave JSON
  and a pytest-bdd cucumber JSON results file) with exactly one planted defect, runs the
  gates of specgate.bdd over it, and expects the defect reported. The same project without
  a defect passes every gate, so each finding is caused by the planted defect alone.

  @OC-BDD-7001 @OC-BDD-7002 @OC-BDD-7003 @OC-BDD-7004 @OC-BDD-7005 @OC-BDD-7006 @OC-BDD-7007
  Scenario: A project without a defect passes every gate
    Given a throw-away BDD project with the planted defect "none"
    When the BDD gates check the throw-away project
    Then the gates report no violation

  @OC-BDD-7001
  Scenario Outline: An undefined, pending or ambiguous step fails the gate
    Given a throw-away BDD project with the planted defect "<defect>"
    When the BDD gates check the throw-away project
    Then the gates report a violation containing "<finding>"

    Examples:
      | defect                            | finding                          |
      | a step behave reports undefined   | undefined step 'it holds'        |
      | a step pytest-bdd reports pending | pending step                     |
      | a feature step no pattern matches | undefined step: then 'it wobbles' |
      | a feature step two patterns match | ambiguous step 'it holds'        |

  @OC-BDD-7002
  Scenario Outline: A scenario without steps or an outline without rows fails the gate
    Given a throw-away BDD project with the planted defect "<defect>"
    When the BDD gates check the throw-away project
    Then the gates report a violation containing "<finding>"

    Examples:
      | defect                          | finding                                |
      | a scenario without steps        | empty scenario (no steps)              |
      | an outline without example rows | Scenario Outline without Examples rows |

  @OC-BDD-7003
  Scenario: A Then step whose function asserts nothing fails the gate
    Given a throw-away BDD project with the planted defect "a Then step that asserts nothing"
    When the BDD gates check the throw-away project
    Then the gates report a violation containing "'it_holds'"
    And the gates report a violation containing "asserts nothing"

  @OC-BDD-7004
  Scenario Outline: A run that selected zero scenarios fails the gate
    Given a throw-away BDD project with the planted defect "<defect>"
    When the BDD gates check the throw-away project
    Then the gates report a violation containing "<finding>"

    Examples:
      | defect                                 | finding                                      |
      | a behave run that selected nothing     | behave.json: the run selected zero scenarios |
      | a pytest-bdd run that selected nothing | pb.json: the run selected zero scenarios     |

  @OC-BDD-7005
  Scenario: A scenario without a requirement-ID tag fails the gate
    Given a throw-away BDD project with the planted defect "a scenario without a requirement tag"
    When the BDD gates check the throw-away project
    Then the gates report a violation containing "'A widget holds': no requirement-ID tag"

  @OC-BDD-7006
  Scenario: An outcome that differs between behave and pytest-bdd fails the gate
    Given a throw-away BDD project with the planted defect "an examples row that fails only under pytest-bdd"
    When the BDD gates check the throw-away project
    Then the gates report a violation containing "'A widget counts' (Examples row 2): behave says passed, pytest-bdd says failed"

  @OC-BDD-7007
  Scenario: A feature that uses a word the glossary rules out fails the gate
    Given a throw-away BDD project with the planted defect "a feature that uses a word the glossary rules out"
    When the BDD gates check the throw-away project
    Then the gates report a violation containing "features/widgets.feature:2: glossary: 'gadget' is not used for this idea; the glossary's word is 'widget'"
