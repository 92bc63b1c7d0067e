@process
Feature: An operator reads the pools of running managers
  `poolmgr status` shows, for every pool of one or more running managers, its state, whether
  it is ready, the leases in use of its slots, its restarts, its breaker, its last error and
  how long ago it happened, its engine and version, its model and how long it has been ready.
  The pool health it reads states each fact under one name, in a versioned shape.

  Durations depend on when the command runs; the tables below write them as <duration>.

  @OC-CTL-4024 @OC-CTL-4021
  Scenario: The status table shows a ready pool with a lease taken and a pool that fails to load its model
    Given the manager is running with this config
      """
      pools:
        - {id: chat, engine: stub, model: "stub://chat", devices: [], cpu: true, slots: 2, drain_deadline_ms: 1000}
        - id: broken
          engine: stub
          model: "stub://broken"
          devices: []
          cpu: true
          slots: 1
          drain_deadline_ms: 1000
          backoff: {initial_ms: 600000, max_ms: 600000, jitter: none}
          stub: {fail_preload: "tensor data is not within the file bounds"}
      """
    And the live pools "chat" are ready
    When a client leases a slot of the live pool "chat"
    Then the live pool "broken" reports the last error cause "model_load_failed"
    When an operator runs poolmgr status with --url $LIVE
    Then the command exits with status 0
    And the status table shows
      """
      | POOL   | STATE       | READY | LEASES | RESTARTS | BREAKER | LAST ERROR                             | ENGINE          | MODEL           | UPTIME     |
      | broken | backing_off | no    | 0/1    | 0        | closed  | model_load_failed (<duration> ago)     | stub            | stub://broken   | -          |
      | chat   | ready       | yes   | 1/2    | 0        | closed  | -                                      | stub stub-0.1.0 | stub://chat     | <duration> |
      """
    And the live pool "broken" dates its last error on the wall clock, at most 60 s before it is read

  @OC-CTL-4024
  Scenario: The status JSON states the same facts as the table, under the health body's names
    Given the manager is running with its embedded default config
    And the live pools "alpha, beta" are ready
    When a client leases a slot of the live pool "beta"
    And an operator runs poolmgr status with --url $LIVE --json
    Then the command exits with status 0
    And the status JSON describes the pool "beta" as
      """
      manager: $LIVE
      state: ready
      ready: true
      leases.active: 1
      slots_total: 4
      restarts.count: 0
      breaker.state: closed
      last_error: null
      engine: stub
      engine_version: stub-0.1.0
      model_ref: stub://beta
      """

  @OC-CTL-4025
  Scenario: Several managers merge into one table; one that cannot be reached gets one line
    Given the manager is running with its embedded default config
    And the live pools "alpha, beta" are ready
    When an operator runs poolmgr status with --url $LIVE --url $NOWHERE
    Then the command exits with status 1
    And the status table shows
      """
      | MANAGER | POOL  | STATE | READY | LEASES | RESTARTS | BREAKER | LAST ERROR | ENGINE          | MODEL        | UPTIME     |
      | $LIVE   | alpha | ready | yes   | 0/4    | 0        | closed  | -          | stub stub-0.1.0 | stub://alpha | <duration> |
      | $LIVE   | beta  | ready | yes   | 0/4    | 0        | closed  | -          | stub stub-0.1.0 | stub://beta  | <duration> |
      """
    And the command says "poolmgr status: $NOWHERE: cannot connect (is the manager running there?)"

  @OC-CTL-4025
  Scenario: A manager that wants a token is read with the token, and refused without it
    Given the manager is running with "POOLMGR_BDD_TOKEN" holding the token "s3cret-bdd" and this config
      """
      manager:
        auth: {token_env: POOLMGR_BDD_TOKEN}
        read_requires_auth: true
      pools:
        - {id: guarded, engine: stub, model: "stub://guarded", devices: [], cpu: true, slots: 1, drain_deadline_ms: 1000}
      """
    When an operator runs poolmgr status with --url $LIVE
    Then the command exits with status 1
    And the command says "poolmgr status: $LIVE: authentication required (HTTP 401); pass the token with --token-file or --token-env"
    When an operator with "OPS_TOKEN" holding "s3cret-bdd" runs poolmgr status with --url $LIVE --token-env OPS_TOKEN
    Then the command exits with status 0

  @OC-CTL-4020
  Scenario: Pool health states each fact once, in schema version 2, and repeats the listing entry
    Given the manager is running with its embedded default config
    And the live pools "alpha" are ready
    Then the live health of "alpha" has schema version 2 and exactly these fields
      """
      schema_version
      id
      engine
      cpu
      gpus
      engine_version
      model_ref
      model_digest
      state
      ready
      live
      draining
      drain_reason
      preload_ok
      uptime_ms
      heartbeat_age_ms
      slots_total
      slots_free
      load
      last_error
      ctx: per_slot, total
      breaker: state, next_trial_at_ms
      restarts: count, next_restart_at_ms, backoff_attempt, backoff_delay_ms, by_cause
      leases: active, returned, expired, voided
      reload
      counters: drain_events, preload_outcomes, driver_resets
      """
    And the live health of "alpha" repeats its listing entry under the same names

  @OC-CTL-4026
  Scenario: Watching redraws the table at the interval asked for
    Given the manager is running with its embedded default config
    And the live pools "alpha, beta" are ready
    When an operator runs poolmgr status with --url $LIVE --watch 0.05 --iterations 3
    Then the command exits with status 0
    And the command drew the status table 3 times

  @OC-CTL-4028
  Scenario: A DNS name that resolves to every manager of the fleet gives one table, one manager per address
    Given the manager is running with its embedded default config
    And a second manager is running with its embedded default config on 127.0.0.2 at the same port
    And the live pools "alpha, beta" are ready
    And the pools "alpha, beta" of the second manager are ready
    And the name "poolmgr.fleet.test" resolves to 127.0.0.2, 127.0.0.1 and 127.0.0.2 for the operator's commands
    When a client leases a slot of the live pool "beta"
    And an operator runs poolmgr status with --dns poolmgr.fleet.test:$PORT
    Then the command exits with status 0
    And the status table shows
      """
      | MANAGER                | POOL  | STATE | READY | LEASES | RESTARTS | BREAKER | LAST ERROR | ENGINE          | MODEL        | UPTIME     |
      | http://127.0.0.1:$PORT | alpha | ready | yes   | 0/4    | 0        | closed  | -          | stub stub-0.1.0 | stub://alpha | <duration> |
      | http://127.0.0.1:$PORT | beta  | ready | yes   | 1/4    | 0        | closed  | -          | stub stub-0.1.0 | stub://beta  | <duration> |
      | http://127.0.0.2:$PORT | alpha | ready | yes   | 0/4    | 0        | closed  | -          | stub stub-0.1.0 | stub://alpha | <duration> |
      | http://127.0.0.2:$PORT | beta  | ready | yes   | 0/4    | 0        | closed  | -          | stub stub-0.1.0 | stub://beta  | <duration> |
      """

  @OC-CTL-4029
  Scenario: A DNS name that does not resolve gets one line; the managers that can be read are still shown
    Given the manager is running with its embedded default config
    And the live pools "alpha, beta" are ready
    And the name "poolmgr.fleet.test" resolves to 127.0.0.1 for the operator's commands
    When an operator runs poolmgr status with --url $LIVE --dns nowhere.invalid
    Then the command exits with status 1
    And the status table shows
      """
      | MANAGER | POOL  | STATE | READY | LEASES | RESTARTS | BREAKER | LAST ERROR | ENGINE          | MODEL        | UPTIME     |
      | $LIVE   | alpha | ready | yes   | 0/4    | 0        | closed  | -          | stub stub-0.1.0 | stub://alpha | <duration> |
      | $LIVE   | beta  | ready | yes   | 0/4    | 0        | closed  | -          | stub stub-0.1.0 | stub://beta  | <duration> |
      """
    And the command says a line that starts with "poolmgr status: nowhere.invalid:8080: cannot resolve the name ("

  @OC-CTL-4030
  Scenario: The token can come from a file, as a mounted Secret gives it; an empty file is a usage error
    Given the manager is running with "POOLMGR_BDD_TOKEN" holding the token "s3cret-bdd" and this config
      """
      manager:
        auth: {token_env: POOLMGR_BDD_TOKEN}
        read_requires_auth: true
      pools:
        - {id: guarded, engine: stub, model: "stub://guarded", devices: [], cpu: true, slots: 1, drain_deadline_ms: 1000}
      """
    And the file "token" holds "s3cret-bdd" and a newline
    And the file "blank" is empty
    When an operator runs poolmgr status with --url $LIVE --token-file token
    Then the command exits with status 0
    When an operator runs poolmgr status with --url $LIVE --token-file blank
    Then the command exits with status 2
    And the command says only "poolmgr status: --token-file: blank is empty"
    When an operator runs poolmgr status with --url $LIVE --token-file missing
    Then the command exits with status 2
    And the command says only "poolmgr status: --token-file: cannot read missing: No such file or directory"
