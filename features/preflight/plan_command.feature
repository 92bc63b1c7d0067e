@process
Feature: The plan shows the command the manager runs
  Before starting anything, `poolmgr plan` shows for every pool the exact command line and
  environment its engine will be started with: the binary, the model, where it listens, its
  slots, the placement and context flags and the pool's own extra engine arguments, built by
  the same code that starts the engine. A pool without a port gets a free one when its engine
  is launched; the plan says so. The context is stated per slot and for all slots together, in the plan and in the pool's
  health.

  @OC-POOL-3072 @OC-POOL-3070 @OC-POOL-3071
  Scenario: The engine the manager starts runs exactly the planned command and environment
    Given the manager is running with this config
      """
      pools:
        - id: chat
          engine: stub
          model: stub://chat
          devices: []
          cpu: true
          slots: 2
          ctx: 1024
          engine_args: ["--version", "stub-pinned-7"]
      """
    And the live pools "chat" are ready
    When the operator asks for the plan of the running manager's config
    Then the plan of "chat" starts the engine with the arguments "-m poolmgr.runtime.stub_engine --host 127.0.0.1 --port <picked at launch> --model stub://chat --slots 2 --ctx 2048 --version stub-pinned-7"
    And the plan of "chat" says "ctx 1024 per slot × 2 slots = 2048 total"
    And the plan of "chat" says "port: picked at launch"
    And the engine process of the live pool "chat" runs the command and environment the plan shows, with the port picked at launch
    And the live health of "chat" states a context of 1024 per slot and 2048 in total
