@decision
Feature: One manager takes up to 1,000 pools, and test engines only when enabled
  A manager serves up to 1,000 pools; a config with more is refused naming the limit. The
  in-process test engine, which costs no process and exists for scale tests, is refused unless
  the config enables test engines explicitly.

  @OC-PERF-9109
  Scenario: A config of 1,000 pools is accepted
    Given a config file "pools.yaml" with 1000 pools of engine "stub"
    When the config is checked
    Then the accepted config has 1000 pools of engine "stub"

  @OC-PERF-9109
  Scenario: A config of 1,001 pools is refused naming the limit
    Given a config file "pools.yaml" with 1001 pools of engine "stub"
    When the config is checked
    Then the config is refused naming the field "pools"
    And the config is refused with a reason mentioning "must have at most 1000 item(s); got 1001"

  @OC-PERF-9110
  Scenario: A test engine is refused unless test engines are enabled
    Given a config file "pools.yaml" with 2 pools of engine "test-inproc"
    When the config is checked
    Then the config is refused naming the field "pools[0].engine"
    And the config is refused naming the field "pools[1].engine"
    And the config is refused with a reason mentioning "refused unless manager.allow_test_engines is true"

  @OC-PERF-9110
  Scenario: Test engines are refused when the config says false
    Given a config file "pools.yaml" with 1 pools of engine "test-inproc"
    And the config's manager section says "allow_test_engines: false"
    When the config is checked
    Then the config is refused naming the field "pools[0].engine"

  @OC-PERF-9110 @OC-PERF-9109
  Scenario: With test engines enabled, 1,000 test-engine pools are accepted
    Given a config file "pools.yaml" with 1000 pools of engine "test-inproc"
    And the config's manager section says "allow_test_engines: true"
    When the config is checked
    Then the accepted config has 1000 pools of engine "test-inproc"
