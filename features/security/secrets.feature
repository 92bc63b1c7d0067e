@process
Feature: Secrets never leave the running manager
  Three secrets are planted in a real manager: the control-plane token (from the variable the
  config names), a password inside model URLs, and a variable named X_API_KEY. A client then
  pushes them at every endpoint (the canary exercise of the API tests).

  @OC-CTL-4007
  Scenario: Planted secrets appear in no answer, no metric and no log
    Given the manager is running with "POOLMGR_CANARY_TOKEN" holding "CANARY-TOKEN-9f3a51c0de", "X_API_KEY" holding "CANARY-ENVKEY-77c2b0aa" and this config
      """
      manager: {auth: {token_env: POOLMGR_CANARY_TOKEN}, log_dir: "$TMP/logs"}
      pools:
        - {id: alpha, engine: stub, model: "stub://modeluser:CANARY-URLPASS-4d1e88@hub.example/alpha", devices: [], cpu: true, drain_deadline_ms: 1000}
        - id: beta
          engine: stub
          model: "https://modeluser:CANARY-URLPASS-4d1e88@hub.example/beta.gguf"
          devices: []
          cpu: true
          drain_deadline_ms: 1000
          backoff: {initial_ms: 50, max_ms: 200, stable_reset_ms: 600000}
          breaker: {failure_threshold: 1000, window_ms: 60000, cooldown_ms: 1000}
      """
    When a client pushes the canary secrets of the API tests at every endpoint
    Then none of the secrets "CANARY-TOKEN-9f3a51c0de, CANARY-URLPASS-4d1e88, CANARY-ENVKEY-77c2b0aa" appears in any live answer
    And none of the secrets "CANARY-TOKEN-9f3a51c0de, CANARY-URLPASS-4d1e88, CANARY-ENVKEY-77c2b0aa" appears in the live metrics
    And none of the secrets "CANARY-TOKEN-9f3a51c0de, CANARY-URLPASS-4d1e88, CANARY-ENVKEY-77c2b0aa" appears in the manager's stderr, its JSON log or the engine logs
