@decision
Feature: Configuration is checked before anything starts
  A config with a mistake is refused as a whole, with every problem naming the file, the field
  and the reason, and hostile input gets the same clear answer.

  @OC-CFG-5001
  Scenario: A valid config is accepted
    Given a config file "pools.yaml" containing
      """
      pools:
        - id: dev
          engine: stub
          model: stub://tiny
          devices: []
          cpu: true
      """
    When the config is checked
    Then the config is accepted

  @OC-CFG-5001 @OC-CFG-5002
  Scenario: An unknown field is refused by name
    Given a config file "pools.yaml" containing
      """
      pools:
        - id: dev
          engine: stub
          model: stub://tiny
          devices: []
          cpu: true
          colour: blue
      """
    When the config is checked
    Then the config is refused naming the field "pools[0].colour"

  @OC-CFG-5002 @OC-CFG-5003
  Scenario: A value of the wrong type is refused by name
    Given a config file "pools.yaml" containing
      """
      pools:
        - id: dev
          engine: stub
          model: stub://tiny
          devices: []
          cpu: true
          slots: four
      """
    When the config is checked
    Then the config is refused naming the field "pools[0].slots"

  @OC-CFG-5003
  Scenario: A duplicated key is refused instead of silently overwritten
    Given a config file "pools.yaml" containing
      """
      pools:
        - id: dev
          engine: stub
          engine: llamacpp
          model: stub://tiny
          devices: []
          cpu: true
      """
    When the config is checked
    Then the config is refused with a reason mentioning "duplicate"

  @OC-CFG-5003
  Scenario: An alias bomb is refused
    Given a config file "bomb.yaml" containing
      """
      a: &a [x, x, x, x, x, x, x, x, x, x]
      b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
      c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
      d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
      e: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
      """
    When the config is checked
    Then the config is refused with a reason mentioning "alias"

  @OC-CFG-5002 @OC-POOL-3022
  Scenario: Two pools on one GPU without sharing are refused by field
    Given a config file "pools.yaml" containing
      """
      inventory:
        gpus:
          - {index: 0, name: gpu0, total_bytes: 85899345920, free_bytes: 80000000000}
      pools:
        - id: one
          engine: stub
          model: stub://tiny
          devices: [0]
        - id: two
          engine: stub
          model: stub://tiny
          devices: [0]
      """
    When the config is checked
    Then the config is refused naming the field "pools[1].devices"

  @OC-CFG-5004
  Scenario: A token written into the config text is refused without echoing it
    Given a config file "pools.yaml" containing
      """
      manager:
        auth:
          token: s3cr3t-canary-value
      pools:
        - id: dev
          engine: stub
          model: stub://tiny
          devices: []
          cpu: true
      """
    When the config is checked
    Then the config is refused naming the field "manager.auth.token"
    And the config is refused with a reason mentioning "token_env"
    And no refusal repeats the text "s3cr3t-canary-value"

  @OC-CFG-5004
  Scenario: The token source is named, not the token
    Given a config file "pools.yaml" containing
      """
      manager:
        auth:
          token_env: POOLMGR_TOKEN
      pools:
        - id: dev
          engine: stub
          model: stub://tiny
          devices: []
          cpu: true
      """
    When the config is checked
    Then the config is accepted
