@process
Feature: The preStop hook drains every pool of its manager and waits
  `poolmgr drain` is what a Kubernetes pod runs before it is stopped: it drains every pool of
  the manager on the node (or the pools named) through the control plane, each with its own
  drain deadline unless one is given, waits until every pool is stopped, and says for each
  pool whether it was drained. It exits 0 only when every pool was.

  @OC-CTL-4031 @OC-CTL-4032 @OC-CTL-4030
  Scenario: Every pool is drained with its own deadline, and the command waits until each is stopped
    Given the manager is running with "POOLMGR_BDD_TOKEN" holding the token "s3cret-bdd" and this config
      """
      manager:
        auth: {token_env: POOLMGR_BDD_TOKEN}
      pools:
        - {id: chat, engine: stub, model: "stub://chat", devices: [], cpu: true, slots: 2, drain_deadline_ms: 1500}
        - {id: embed, engine: stub, model: "stub://embed", devices: [], cpu: true, slots: 1, drain_deadline_ms: 4000}
      """
    And the live pools "chat, embed" are ready
    And the file "token" holds "s3cret-bdd" and a newline
    When a client presenting the bearer token "s3cret-bdd" leases a slot of the live pool "chat"
    And an operator runs poolmgr drain with --url $LIVE --token-file token
    Then the command exits with status 0
    And the command prints
      """
      chat: drained; leases still active at the deadline were ended
      embed: drained
      """
    And the manager accepted 1 drain of "chat", with a deadline of 1500 ms
    And the manager accepted 1 drain of "embed", with a deadline of 4000 ms
    And the live pool "chat" is stopped
    And the live pool "embed" is stopped

  @OC-CTL-4031
  Scenario: Only the pools named are drained, with the deadline given
    Given the manager is running with its embedded default config
    And the live pools "alpha, beta" are ready
    When a client leases a slot of the live pool "alpha"
    And an operator runs poolmgr drain with --url $LIVE --pool alpha --deadline-ms 0
    Then the command exits with status 0
    And the command prints
      """
      alpha: drained; leases still active at the deadline were ended
      """
    And the manager accepted 1 drain of "alpha", with a deadline of 0 ms
    And the live pool "alpha" is stopped
    And the live health of "beta" says live, ready, not draining, state "ready"

  @OC-CTL-4033
  Scenario: A pool already stopped, or already draining for another client, counts as drained once it is stopped
    Given the manager is running with this config
      """
      pools:
        - {id: done, engine: stub, model: "stub://done", devices: [], cpu: true, slots: 1, drain_deadline_ms: 1000}
        - {id: busy, engine: stub, model: "stub://busy", devices: [], cpu: true, slots: 1, drain_deadline_ms: 1000}
      """
    And the live pools "done, busy" are ready
    When a client drains the live pool "done" with a deadline of 1000 ms
    Then the live pool "done" ends stopped after a drain for "api_request"
    When a client leases a slot of the live pool "busy"
    And a client drains the live pool "busy" with a deadline of 2000 ms
    Then the live pool "busy" is draining
    When an operator runs poolmgr drain with --url $LIVE
    Then the command exits with status 0
    And the command prints
      """
      busy: drained; leases still active at the deadline were ended
      done: drained
      """
    And the manager accepted 2 drain of "done", with a deadline of 1000 ms
    And the manager accepted 1 drain of "busy", with a deadline of 2000 ms

  @OC-CTL-4034
  Scenario: A pool in the middle of a reload is drained once the reload is done
    Given the manager is running with this config
      """
      pools:
        - {id: chat, engine: stub, model: "stub://chat", devices: [], cpu: true, slots: 1, drain_deadline_ms: 1000, stub: {preload_delay_ms: 3000}}
      """
    And the live pools "chat" are ready
    When a client reloads the live pool "chat" with the model "stub://chat-v2"
    Then the live pool "chat" reports a reload to "stub://chat-v2" that is "in_progress"
    When an operator runs poolmgr drain with --url $LIVE
    Then the command exits with status 0
    And the command prints
      """
      chat: drained
      """
    And the live pool "chat" reports a reload to "stub://chat-v2" that is "done"
    And the live pool "chat" is stopped

  @OC-CTL-4035
  Scenario: A refused token, a pool the manager does not have or a manager that cannot be reached is exit status 1
    Given the manager is running with "POOLMGR_BDD_TOKEN" holding the token "s3cret-bdd" and this config
      """
      manager:
        auth: {token_env: POOLMGR_BDD_TOKEN}
      pools:
        - {id: guarded, engine: stub, model: "stub://guarded", devices: [], cpu: true, slots: 1, drain_deadline_ms: 1000}
      """
    And the live pools "guarded" are ready
    And the file "wrong" holds "not-the-token" and a newline
    When an operator runs poolmgr drain with --url $LIVE --token-file wrong
    Then the command exits with status 1
    And the command says only "poolmgr drain: $LIVE: token refused (HTTP 403); pass the token with --token-file or --token-env"
    And the live health of "guarded" says live, ready, not draining, state "ready"
    When an operator with "OPS_TOKEN" holding "s3cret-bdd" runs poolmgr drain with --url $LIVE --token-env OPS_TOKEN --pool guarded --pool ghost
    Then the command exits with status 1
    And the command prints
      """
      guarded: drained
      ghost: not drained: the manager has no such pool
      """
    When an operator runs poolmgr drain with --url $NOWHERE
    Then the command exits with status 1
    And the command says only "poolmgr drain: $NOWHERE: cannot connect (is the manager running there?)"

  @OC-CTL-4027 @OC-CTL-4030
  Scenario Outline: poolmgr drain refuses <what> with one line and exit status 2
    When an operator runs "poolmgr drain <args>"
    Then the command exits with status 2
    And the command says only "<line>"

    Examples:
      | what                  | args                                | line                                                                               |
      | a negative deadline   | --deadline-ms -1                    | poolmgr drain: argument --deadline-ms: milliseconds must be 0..3600000, got -1      |
      | a URL of no manager   | --url ftp://node                    | poolmgr drain: argument --url: not an http(s) URL with a host: 'ftp://node'         |
      | two token sources     | --token-env T --token-file t        | poolmgr drain: argument --token-file: not allowed with argument --token-env         |
      | a token file not there | --token-file /nonexistent/token    | poolmgr drain: --token-file: cannot read /nonexistent/token: No such file or directory |
