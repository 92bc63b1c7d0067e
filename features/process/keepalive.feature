@process
Feature: Kept-alive clients are answered without waiting for their acknowledgements
  Prometheus scrapers, `requests.Session` and `httpx.Client` keep one connection open for many
  requests. The manager sets TCP_NODELAY on every connection it accepts, so an answer written in
  two parts (headers, then body) is sent at once instead of after the client's delayed
  acknowledgement of the previous one (about 40 ms per request without it).

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
