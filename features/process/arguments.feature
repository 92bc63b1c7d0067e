@process
Feature: The poolmgr commands refuse bad arguments in one line
  A mistyped port, host, URL or interval ends the command at once with exit status 2 and one
  line that names the argument and the reason; nothing starts, and no traceback is printed.

  @OC-CTL-4027
  Scenario Outline: A bad argument is refused in one line with exit status 2
    When an operator runs "poolmgr <arguments>"
    Then the command exits with status 2
    And the command says only "<refusal>"

    Examples:
      | arguments                          | refusal                                                                       |
      | serve --port 99999                 | poolmgr serve: argument --port: port must be 0..65535, got 99999              |
      | serve --port -1                    | poolmgr serve: argument --port: port must be 0..65535, got -1                 |
      | serve --port eighty                | poolmgr serve: argument --port: not a port number: 'eighty'                   |
      | serve --host "no such host!"       | poolmgr serve: argument --host: not an IP address or host name: 'no such host!' |
      | status --url 127.0.0.1:8080        | poolmgr status: argument --url: not an http(s) URL with a host: '127.0.0.1:8080' |
      | status --url http://h:70000        | poolmgr status: argument --url: port must be 0..65535 in 'http://h:70000'     |
      | status --watch 0                   | poolmgr status: argument --watch: seconds must be a finite number > 0, got 0  |
      | status --token-env 9LIVES          | poolmgr status: argument --token-env: not an environment variable name: '9LIVES' |
      | status --iterations 2              | poolmgr status: --iterations needs --watch                                    |
      | plan --config missing.yaml         | missing.yaml: <root>: file not found                                          |
