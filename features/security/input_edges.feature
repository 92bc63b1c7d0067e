@process
Feature: The control plane's answers at its edges
  A client that uses a method a path does not serve learns which methods it does serve; a
  probe that asks only for the status of the manager's health gets it; and a refusal that
  talks about the bearer token reads as written, because only secret values are masked.

  @OC-CTL-4012 @OC-CTL-4004
  Scenario Outline: A method the path does not serve is refused, naming the methods it does
    Given the manager is running with its embedded default config
    When a client sends "<method> <path>" to the live manager
    Then the answer is an error envelope with status 405 and code "METHOD_NOT_ALLOWED"
    And the answer allows the methods "<allowed>"

    Examples:
      | method | path                                      | allowed   |
      | PUT    | /healthz                                  | GET, HEAD |
      | POST   | /readyz                                   | GET, HEAD |
      | GET    | /v1/pools/alpha/leases/some-lease         | DELETE    |
      | PATCH  | /v1/pools/alpha/leases/some-lease/renew   | POST      |
      | GET    | /v1/pools/alpha/drain                     | POST      |

  @OC-CTL-4013
  Scenario Outline: A status-only probe of a health endpoint gets the status and no body
    Given the manager is running with its embedded default config
    And the live pools "alpha, beta" are ready
    When a client sends "HEAD <path>" to the live manager
    Then the answer has status <status> and no body
    When a client sends "GET <path>" to the live manager
    Then the answer has status <status>

    Examples:
      | path                          | status |
      | /healthz                      | 200    |
      | /readyz                       | 200    |
      | /v1/pools/alpha/health        | 200    |
      | /v1/pools/no-such-pool/health | 404    |

  @OC-CTL-4015 @OC-CTL-4006
  Scenario: A refusal for a missing bearer token names the token in plain words
    Given the manager is running with "POOLMGR_BDD_TOKEN" holding the token "s3cret-bdd" and this config
      """
      manager:
        auth: {token_env: POOLMGR_BDD_TOKEN}
      pools:
        - {id: guarded, engine: stub, model: "stub://guarded", devices: [], cpu: true, slots: 1, drain_deadline_ms: 1000}
      """
    When a client drains the live pool "guarded" with a deadline of 1000 ms
    Then the answer is an error envelope with status 401 and code "UNAUTHORIZED"
    And the envelope message reads "a bearer token is required"

  @OC-CTL-4015 @OC-CTL-4007
  Scenario Outline: Words that name a secret come back as written; a bearer credential is masked
    Given the manager is running with its embedded default config
    And the live pools "alpha" are ready
    When a client for job "<job>" leases a slot of the live pool "alpha" for 60000 ms
    Then the lease answer names the job "<answered>"

    Examples:
      | job                                   | answered                              |
      | renew it with a bearer token.         | renew it with a bearer token.         |
      | bearer credentials, not passwords     | bearer credentials, not passwords     |
      | sent as Bearer abc123.xyz             | sent as Bearer ***                    |
