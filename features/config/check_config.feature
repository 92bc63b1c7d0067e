@process
Feature: check-config checks what it can without starting anything
  A config is checked as the operator will run it: each local model file it names must be
  there, readable and a model the engine can load, matching its pinned digest; a relative
  path means the same file wherever the command is started from; and an engine argument may
  not quietly override what the pool's own fields say.

  @OC-CFG-5005 @OC-CFG-5007
  Scenario: A model file that does not exist is refused by field
    Given a config file "pools.yaml" containing
      """
      pools:
        - {id: dev, engine: llamacpp, model: models/tiny.gguf, devices: [], cpu: true}
      """
    When poolmgr check-config checks the config file from another folder
    Then check-config exits with status 2
    And check-config refuses "pools[0].model" of the config saying "models/tiny.gguf does not exist"

  @OC-CFG-5005 @OC-CFG-5006 @OC-CFG-5007
  Scenario: The tiny model written by poolmgr is found beside the config and accepted
    Given a config file "pools.yaml" containing
      """
      pools:
        - {id: dev, engine: llamacpp, model: models/tiny.gguf, devices: [], cpu: true}
      """
    And the model file "models/tiny.gguf" beside the config is written by poolmgr make-tiny-model
    When poolmgr check-config checks the config file from another folder
    Then check-config exits with status 0
    And check-config says the config is ok with 1 pool

  @OC-CFG-5005
  Scenario: A file that is not a GGUF model is refused for a llama.cpp pool
    Given a config file "pools.yaml" containing
      """
      pools:
        - {id: dev, engine: llamacpp, model: models/tiny.gguf, devices: [], cpu: true}
      """
    And the file "models/tiny.gguf" beside the config holds the text "<html>404 Not Found</html>"
    When poolmgr check-config checks the config file from another folder
    Then check-config exits with status 2
    And check-config refuses "pools[0].model" of the config saying "is not a GGUF file"

  @OC-CFG-5005 @OC-POOL-3023
  Scenario Outline: A pool that rejects over-long contexts is checked against its model's training context
    Given a config file "pools.yaml" containing
      """
      pools:
        - {id: dev, engine: llamacpp, model: models/tiny.gguf, devices: [], cpu: true, ctx: <ctx>, ctx_policy: <policy>}
      """
    And the model file "models/tiny.gguf" beside the config is written by poolmgr make-tiny-model
    When poolmgr check-config checks the config file from another folder
    Then check-config exits with status <status>

    Examples: the tiny model is trained for 2048 tokens
      | ctx  | policy | status |
      | 2048 | reject | 0      |
      | 2049 | reject | 2      |
      | 4096 | cap    | 0      |

  @OC-CFG-5005 @OC-POOL-3023
  Scenario: Asking more than the training context under reject names the context field
    Given a config file "pools.yaml" containing
      """
      pools:
        - {id: dev, engine: llamacpp, model: models/tiny.gguf, devices: [], cpu: true, ctx: 3000, ctx_policy: reject}
      """
    And the model file "models/tiny.gguf" beside the config is written by poolmgr make-tiny-model
    When poolmgr check-config checks the config file from another folder
    Then check-config refuses "pools[0].ctx" of the config saying "ctx 3000 per slot exceeds the training context 2048"

  @OC-CFG-5005
  Scenario: A model that does not match its pinned digest is refused
    Given a config file "pools.yaml" containing
      """
      pools:
        - id: dev
          engine: llamacpp
          model: models/tiny.gguf
          model_digest: "sha256:0000000000000000000000000000000000000000000000000000000000000000"
          devices: []
          cpu: true
      """
    And the model file "models/tiny.gguf" beside the config is written by poolmgr make-tiny-model
    When poolmgr check-config checks the config file from another folder
    Then check-config exits with status 2
    And check-config refuses "pools[0].model" of the config saying "model_digest pins sha256:0000000000000000000000000000000000000000000000000000000000000000"

  @OC-CFG-5005
  Scenario: A config written for another host is checked without its model files
    Given a config file "pools.yaml" containing
      """
      pools:
        - {id: big, engine: llamacpp, model: /models/llama-70b-q4_k_m.gguf, devices: [], cpu: true}
      """
    When poolmgr check-config --no-file-checks checks the config file from another folder
    Then check-config exits with status 0
    And check-config says the config is ok with 1 pool

  @OC-CFG-5005
  Scenario: Hub ids and URLs are not local files
    Given a config file "pools.yaml" containing
      """
      inventory:
        gpus:
          - {index: 0, name: gpu0, total_bytes: 85899345920, free_bytes: 80000000000}
          - {index: 1, name: gpu1, total_bytes: 85899345920, free_bytes: 80000000000}
      pools:
        - {id: hub, engine: vllm, model: meta-llama/Llama-3.1-8B-Instruct, devices: [0]}
        - {id: url, engine: tgi, model: "https://models.example.invalid/bge-small", devices: [1]}
      """
    When poolmgr check-config checks the config file from another folder
    Then check-config exits with status 0
    And check-config says the config is ok with 2 pools

  @OC-CFG-5006
  Scenario: Every example passes check-config on a fresh clone once its model is made
    Given a fresh copy of the example configs without their model
    When poolmgr check-config checks every example
    Then check-config exits with status 2
    And check-config says of the examples
      | example                  | verdict        |
      | cpu-dev.yaml             | pools[1].model |
      | single-gpu-llamacpp.yaml | pools[0].model |
      | two-gpu-split.yaml       | pools[0].model |
    When the poolmgr command the examples' comments name is run in the copy
    And poolmgr check-config checks every example
    Then check-config exits with status 0
    And check-config says of the examples
      | example                  | verdict        |
      | cpu-dev.yaml             | ok (2 pools)   |
      | single-gpu-llamacpp.yaml | ok (1 pool)    |
      | two-gpu-split.yaml       | ok (2 pools)   |

  @OC-CFG-5009
  Scenario: Engine arguments that set what the pool's fields own are refused by entry
    Given a config file "pools.yaml" containing
      """
      inventory:
        gpus:
          - {index: 0, name: gpu0, total_bytes: 85899345920, free_bytes: 80000000000}
          - {index: 1, name: gpu1, total_bytes: 85899345920, free_bytes: 80000000000}
      pools:
        - id: chat
          engine: llamacpp
          model: /models/chat.gguf
          devices: [0]
          slots: 2
          engine_args: ["--threads", "8", "-np", "4", "--ctx-size=8192", "-ngl", "0", "--device", "none"]
        - id: big
          engine: vllm
          model: org/model
          devices: [1]
          engine_args: ["--dtype", "half", "--max-model-len", "8192", "--tensor-parallel-size=2"]
      """
    When the config is checked
    Then the config is refused with exactly these problems
      | field                   | reason                                                                            |
      | pools[0].engine_args[2] | "-np" is set by poolmgr from slots; use slots                                     |
      | pools[0].engine_args[4] | "--ctx-size" is set by poolmgr from ctx; use ctx                                  |
      | pools[0].engine_args[5] | "-ngl" is set by poolmgr from devices and cpu; use devices (or cpu: true)         |
      | pools[0].engine_args[7] | "--device" is set by poolmgr from devices and cpu; use devices (or cpu: true)     |
      | pools[1].engine_args[2] | "--max-model-len" is set by poolmgr from ctx; use ctx                             |
      | pools[1].engine_args[4] | "--tensor-parallel-size" is set by poolmgr from devices and cpu; use devices (or cpu: true) |
