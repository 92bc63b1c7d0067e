@decision
Feature: Tenants and admission queues in the config
  The config names the tenants that lease requests may name, with their weights and quotas, and
  each pool's admission queue. A wrong value is refused at load with the field's path, like
  every other config mistake.

  @OC-ADM-9017
  Scenario: Tenants with weights and quotas, and a pool's admission queue, are accepted
    Given a config file "pools.yaml" containing
      """
      tenants:
        - {name: search, weight: 3, max_concurrent: 2}
        - {name: batch-jobs, rps: 2.5, burst: 4}
        - {name: team.a}
      pools:
        - id: dev
          engine: stub
          model: stub://tiny
          devices: []
          cpu: true
          admission: {queue_depth: 10, max_wait_ms: 5000}
        - {id: other, engine: stub, model: stub://other, devices: [], cpu: true}
      """
    When the config is checked
    Then the config's tenants are
      | name       | weight | max concurrent | rps | burst |
      | search     | 3      | 2              | -   | -     |
      | batch-jobs | 1      | -              | 2.5 | 4     |
      | team.a     | 1      | -              | -   | -     |
    And pool "dev" queues at most 10 requests for at most 5000 ms
    And pool "other" queues at most 256 requests for at most 30000 ms

  @OC-ADM-9017
  Scenario: Weights, quotas and queue settings out of range are refused with their paths
    Given a config file "pools.yaml" containing
      """
      tenants:
        - {name: a, weight: 0}
        - {name: b, weight: 1001, max_concurrent: 0}
        - {name: c, rps: 0}
        - {name: Bad Name}
        - {name: d, rps: 2.5, burst: 0, colour: red}
      pools:
        - id: dev
          engine: stub
          model: stub://tiny
          devices: []
          cpu: true
          admission: {queue_depth: -1, max_wait_ms: 3600001}
      """
    When the config is checked
    Then the config is refused with exactly these problems
      | field                          | reason                                                                   |
      | tenants[0].weight              | must be at least 1; got 0                                                |
      | tenants[1].weight              | must be at most 1000; got 1001                                           |
      | tenants[1].max_concurrent      | must be at least 1; got 0                                                |
      | tenants[2].rps                 | must be greater than 0; got 0                                            |
      | tenants[3].name                | must match ^[a-z0-9][a-z0-9_.-]{0,62}$; got 'Bad Name'                   |
      | tenants[4].colour              | unknown field; allowed here: burst, max_concurrent, name, rps, weight    |
      | tenants[4].burst               | must be at least 1; got 0                                                |
      | pools[0].admission.queue_depth | must be at least 0; got -1                                               |
      | pools[0].admission.max_wait_ms | must be at most 3600000; got 3600001                                     |

  @OC-ADM-9017
  Scenario: A tenant named twice, and a burst without a rate, are refused
    Given a config file "pools.yaml" containing
      """
      tenants:
        - {name: search, weight: 2}
        - {name: search, weight: 5}
        - {name: bursty, burst: 3}
      pools:
        - {id: dev, engine: stub, model: stub://tiny, devices: [], cpu: true}
      """
    When the config is checked
    Then the config is refused with exactly these problems
      | field            | reason                                                   |
      | tenants[1].name  | duplicate tenant name 'search'; first used by tenants[0] |
      | tenants[2].burst | burst needs rps (the rate the bucket refills at)         |

  @OC-ADM-9017
  Scenario: More than 255 tenants are refused
    Given a config file "pools.yaml" with 256 tenants and one stub pool
    When the config is checked
    Then the config is refused naming the field "tenants"
