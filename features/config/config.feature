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

  @OC-CFG-5003 @OC-CFG-5008
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
    Then the config is refused with a reason mentioning "refusing a possible alias bomb"

  @OC-CFG-5008
  Scenario: Many pools may share one anchor
    Given a config file "pools.yaml" containing
      """
      pools:
        - {id: p01, engine: stub, model: "stub://m", devices: [], cpu: true, backoff: &backoff {initial_ms: 100, max_ms: 5000}}
        - {id: p02, engine: stub, model: "stub://m", devices: [], cpu: true, backoff: *backoff}
        - {id: p03, engine: stub, model: "stub://m", devices: [], cpu: true, backoff: *backoff}
        - {id: p04, engine: stub, model: "stub://m", devices: [], cpu: true, backoff: *backoff}
        - {id: p05, engine: stub, model: "stub://m", devices: [], cpu: true, backoff: *backoff}
        - {id: p06, engine: stub, model: "stub://m", devices: [], cpu: true, backoff: *backoff}
        - {id: p07, engine: stub, model: "stub://m", devices: [], cpu: true, backoff: *backoff}
        - {id: p08, engine: stub, model: "stub://m", devices: [], cpu: true, backoff: *backoff}
        - {id: p09, engine: stub, model: "stub://m", devices: [], cpu: true, backoff: *backoff}
        - {id: p10, engine: stub, model: "stub://m", devices: [], cpu: true, backoff: *backoff}
        - {id: p11, engine: stub, model: "stub://m", devices: [], cpu: true, backoff: *backoff}
        - {id: p12, engine: stub, model: "stub://m", devices: [], cpu: true, backoff: *backoff}
        - {id: p13, engine: stub, model: "stub://m", devices: [], cpu: true, backoff: *backoff}
        - {id: p14, engine: stub, model: "stub://m", devices: [], cpu: true, backoff: *backoff}
        - {id: p15, engine: stub, model: "stub://m", devices: [], cpu: true, backoff: *backoff}
        - {id: p16, engine: stub, model: "stub://m", devices: [], cpu: true, backoff: *backoff}
        - {id: p17, engine: stub, model: "stub://m", devices: [], cpu: true, backoff: *backoff}
        - {id: p18, engine: stub, model: "stub://m", devices: [], cpu: true, backoff: *backoff}
        - {id: p19, engine: stub, model: "stub://m", devices: [], cpu: true, backoff: *backoff}
        - {id: p20, engine: stub, model: "stub://m", devices: [], cpu: true, backoff: *backoff}
      """
    When the config is checked
    Then the config is accepted
    And each of the 20 pools backs off by the shared anchor: "100, 200, 400, 800, 1600, 3200, 5000, 5000" ms

  @OC-CFG-5002 @OC-CFG-5011 @OC-POOL-3022
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
    And the config is refused with a reason mentioning "both set shared_devices: true"
    And every field name the refusal mentions is a field of the config schema

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

  @OC-CFG-5010
  Scenario: The config reference says what the schema says
    When the config reference is generated from the schema
    Then it is the page committed as "spec/reference/config.md"
    And every field of the schema has a description
    And every optional field has a default, except "inventory, token_env, token_file"
    And the reference shows these fields
      | section         | field              | default       | meaning mentions                 |
      | manager         | port               | `8080`        | 0 picks a free port              |
      | pools[]         | stop_grace_ms      | `10000`       | between SIGTERM and SIGKILL      |
      | pools[]         | preload_timeout_ms | `600000`      | cause preload_timeout            |
      | pools[]         | model              | required      | relative to the config file's folder |
      | pools[].backoff | jitter             | `"full"`      | drawn uniformly                  |
      | inventory       | gpus               | required      | memory in bytes                  |
