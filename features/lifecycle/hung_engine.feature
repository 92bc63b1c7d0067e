@decision
Feature: A hung engine is not ready
  An engine can stay alive while it no longer answers. Health probes are the heartbeat: a probe
  that times out makes the pool not ready at once, and a few in a row end the engine so that it
  is restarted.

  Background:
    Given a CPU pool "chat" with 2 slots
    And the pool "chat" is ready

  @OC-POOL-3016 @OC-POOL-3003
  Scenario: One probe that times out makes the pool not ready
    When a health probe of "chat" times out
    Then the pool "chat" is not ready
    And the pool "chat" reports state "unready"
    And the pool "chat" reports the last error cause "probe_timeout"
    And the engine of "chat" was not told to stop

  @OC-POOL-3016
  Scenario: The pool is ready again when the engine answers again
    When a health probe of "chat" times out
    And a health probe of "chat" answers again
    Then the pool "chat" is ready

  @OC-POOL-3016 @OC-POOL-3011
  Scenario: Probes that keep timing out end the engine and schedule a restart
    When a health probe of "chat" times out
    And a health probe of "chat" times out
    And a health probe of "chat" times out
    Then the engine of "chat" was killed
    And the pool "chat" reports state "backing_off"
    And the pool "chat" reports the last error cause "probe_timeout"

  @OC-POOL-3016 @OC-POOL-3044
  Scenario: A hung pool takes no new leases
    When a health probe of "chat" times out
    And a client leases a slot of "chat"
    Then the request is refused with code "POOL_UNREADY"
