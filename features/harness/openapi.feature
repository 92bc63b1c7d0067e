@process
Feature: The committed OpenAPI document is the one the app generates
  ci/check_openapi.py runs as a real subprocess, as CI runs it.

  @OC-CTL-4008
  Scenario: The committed document matches the app
    When the OpenAPI check runs against the committed document
    Then the OpenAPI check exits with status 0
    And the OpenAPI check says "matches the app"

  @OC-CTL-4008
  Scenario: A document that drifted from the app is reported with a diff
    Given a copy of the committed OpenAPI document whose title says "a drifted control plane"
    When the OpenAPI check runs against the drifted copy
    Then the OpenAPI check exits with status 1
    And the OpenAPI check says "differs from the app"
    And the OpenAPI check shows the planted line as a removed diff line
