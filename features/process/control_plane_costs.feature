@process
Feature: The control plane's own costs stay off its clients' way
  Prometheus scrapers, `requests.Session` and `httpx.Client` keep one connection open for many
  requests. The manager sets TCP_NODELAY on every connection it accepts, so an answer written in
  two parts (headers, then body) is sent at once instead of after the client's delayed
  acknowledgement of the previous one (about 40 ms per request without it).

  Log lines are handed to one writer thread instead of being formatted and written by the code
  that logs them; none of them may be lost when the manager stops.

  @OC-PERF-9101
  Scenario Outline: The manager's end of a kept-alive connection has TCP_NODELAY set
    Given the manager is running with its embedded default config
    When a client sends 3 requests for "<path>" on one kept-alive connection
    Then the 3 answers have status <status> and came over one connection
    And the manager's end of that connection has TCP_NODELAY set

    Examples:
      | path     | status |
      | /healthz | 200    |
      | /metrics | 200    |

  @OC-PERF-9102 @OC-CTL-4009
  Scenario: Every line logged before a clean stop is written, to stderr and the JSON log alike
    Given the manager is running with its embedded default config
    And the live pools "alpha" are ready
    When a client leases and returns a slot of the live pool "alpha" 40 times
    And the running manager is stopped and what it wrote is kept
    Then its JSON log holds 40 "lease_granted" lines and 40 "lease_returned" lines about "alpha"
    And the last line of its JSON log is the "manager_stopped" line, after an exit status 0
    And its stderr holds the same JSON lines as its JSON log

  @OC-PERF-9105
  Scenario: Engine restarts leave no connection to a dead engine behind
    Given the manager is running with this config
      """
      pools:
        - id: alpha
          engine: stub
          model: "stub://alpha"
          devices: []
          cpu: true
          slots: 1
          stub: {crash_after_ms: 400}
          backoff: {initial_ms: 10, max_ms: 20}
          breaker: {failure_threshold: 1000, window_ms: 1000, cooldown_ms: 1000}
          probe: {starting_interval_ms: 20, ready_interval_ms: 50, timeout_ms: 500}
      """
    When the live pool "alpha" has restarted its crashing engine 8 times and is ready
    Then the manager holds 1 connection to an engine and none in CLOSE_WAIT
