@decision
Feature: The model's shape is read from its GGUF file
  KV-cache sizing needs the model's layer count, KV heads, head dimension and training context,
  and the size of its weights. They are read from the header of the GGUF model file, under the
  keys of the file's architecture. A file that is missing, damaged or lacks a needed key is
  refused as invalid, and the error names the file and the problem. The KV cache holds 2 bytes
  per value, for keys and for values: 2 x 2 x layers x KV heads x head dimension bytes per token.

  Background:
    Given a GGUF model file with the keys:
      | key                           | value |
      | general.architecture          | llama |
      | llama.block_count             | 32    |
      | llama.attention.head_count    | 32    |
      | llama.attention.head_count_kv | 8     |
      | llama.embedding_length        | 4096  |
      | llama.context_length          | 8192  |
    And the model file holds tensors of "1000,24,7" bytes

  @OC-POOL-3024
  Scenario: A grouped-query model: KV heads from their own key, head dimension from the embedding
    When the model file is read
    Then the model file reads as:
      | layers | KV heads | head dimension | training context | weight bytes | KV bytes per token |
      | 32     | 8        | 128            | 8192             | 1031         | 131072             |

  @OC-POOL-3024
  Scenario: Without a KV head count every attention head has its own KV head
    Given a GGUF model file with the keys:
      | key                        | value |
      | general.architecture       | qwen2 |
      | qwen2.block_count          | 24    |
      | qwen2.attention.head_count | 14    |
      | qwen2.embedding_length     | 896   |
      | qwen2.context_length       | 32768 |
    And the model file holds tensors of "4096" bytes
    When the model file is read
    Then the model file reads as:
      | layers | KV heads | head dimension | training context | weight bytes | KV bytes per token |
      | 24     | 14       | 64             | 32768            | 4096         | 86016              |

  @OC-POOL-3024
  Scenario: An explicit key length sets the head dimension, whatever the embedding says
    Given the model file sets "llama.attention.key_length" to "256"
    When the model file is read
    Then the model file reads as:
      | layers | KV heads | head dimension | training context | weight bytes | KV bytes per token |
      | 32     | 8        | 256            | 8192             | 1031         | 262144             |

  @OC-POOL-3024
  Scenario: With a key length the embedding length is not needed
    Given the model file sets "llama.attention.key_length" to "64"
    And the model file lacks the key "llama.embedding_length"
    When the model file is read
    Then the model file reads as:
      | layers | KV heads | head dimension | training context | weight bytes | KV bytes per token |
      | 32     | 8        | 64             | 8192             | 1031         | 65536              |

  @OC-POOL-3024
  Scenario Outline: Keys and values of different widths are sized by their mean, rounded up
    Given the model file sets "llama.attention.key_length" to "<key width>"
    And the model file sets "llama.attention.value_length" to "<value width>"
    When the model file is read
    Then the model file reads as:
      | layers | KV heads | head dimension   | training context | weight bytes | KV bytes per token |
      | 32     | 8        | <head dimension> | 8192             | 1031         | <per token>        |

    Examples:
      | key width | value width | head dimension | per token |
      | 192       | 128         | 160            | 163840    |
      | 128       | 127         | 128            | 131072    |
      | 96        | 128         | 112            | 114688    |

  @OC-POOL-3024
  Scenario: Head counts given per layer are sized by the largest
    Given the model file sets "llama.block_count" to "4"
    And the model file sets "llama.attention.head_count" to "16,32,32,16"
    And the model file sets "llama.attention.head_count_kv" to "4,8,2,4"
    When the model file is read
    Then the model file reads as:
      | layers | KV heads | head dimension | training context | weight bytes | KV bytes per token |
      | 4      | 8        | 128            | 8192             | 1031         | 16384              |

  @OC-POOL-3024
  Scenario: An embedding that does not divide by the head count gives the whole part
    Given the model file sets "llama.embedding_length" to "4100"
    When the model file is read
    Then the model file reads as:
      | layers | KV heads | head dimension | training context | weight bytes | KV bytes per token |
      | 32     | 8        | 128            | 8192             | 1031         | 131072             |

  @OC-POOL-3024
  Scenario: The smallest model the keys can describe is accepted
    Given the model file sets "llama.block_count" to "1"
    And the model file sets "llama.attention.head_count" to "4"
    And the model file sets "llama.attention.head_count_kv" to "1"
    And the model file sets "llama.embedding_length" to "4"
    And the model file sets "llama.context_length" to "1"
    And the model file holds tensors of "1" bytes
    When the model file is read
    Then the model file reads as:
      | layers | KV heads | head dimension | training context | weight bytes | KV bytes per token |
      | 1      | 1        | 1              | 1                | 1            | 4                  |

  @OC-POOL-3024
  Scenario: A file without tensors, such as a vocabulary-only file, has no weight bytes
    Given the model file holds no tensors
    When the model file is read
    Then the model file reads as:
      | layers | KV heads | head dimension | training context | weight bytes | KV bytes per token |
      | 32     | 8        | 128            | 8192             | 0            | 131072             |

  @OC-POOL-3024
  Scenario Outline: Both supported GGUF format versions are read
    Given the model file declares GGUF format version <version>
    When the model file is read
    Then the model file reads as:
      | layers | KV heads | head dimension | training context | weight bytes | KV bytes per token |
      | 32     | 8        | 128            | 8192             | 1031         | 131072             |

    Examples:
      | version |
      | 2       |
      | 3       |

  @OC-POOL-3024
  Scenario Outline: A file lacking a key the sizing needs is refused, naming the key
    Given the model file lacks the key "<key>"
    When the model file is read
    Then the model file is refused as invalid, naming the file and the problem "missing key '<key>'"

    Examples:
      | key                        |
      | general.architecture       |
      | llama.block_count          |
      | llama.attention.head_count |
      | llama.embedding_length     |
      | llama.context_length       |

  @OC-POOL-3024
  Scenario Outline: A key with an unusable value is refused, naming the key and the value
    Given the model file sets "<key>" to "<value>"
    When the model file is read
    Then the model file is refused as invalid, naming the file and the problem "<problem>"

    Examples:
      | key                           | value   | problem                                                     |
      | llama.block_count             | 0       | key 'llama.block_count' must be >= 1, got 0                 |
      | llama.context_length          | -5      | key 'llama.context_length' must be >= 1, got -5             |
      | llama.attention.head_count    | 0       | key 'llama.attention.head_count' must be >= 1, got 0        |
      | llama.attention.head_count_kv | 0,0,0   | key 'llama.attention.head_count_kv' must be >= 1, got 0     |
      | llama.attention.key_length    | 0       | key 'llama.attention.key_length' must be >= 1, got 0        |
      | llama.attention.head_count_kv | many    | key 'llama.attention.head_count_kv' is not an integer: 'many' |
      | llama.context_length          | true    | key 'llama.context_length' is not an integer: True          |
      | llama.context_length          | 8192,4096 | key 'llama.context_length' is not an integer: [8192, 4096] |
      | llama.embedding_length        | 16      | embedding_length 16 < head_count 32                         |
      | general.architecture          | 7       | key 'general.architecture' is not a name: 7                 |
      | general.architecture          | mistral | missing key 'mistral.block_count'                           |

  @OC-POOL-3024
  Scenario: A value length without a key length is not read
    Given the model file sets "llama.attention.value_length" to "0"
    When the model file is read
    Then the model file reads as:
      | layers | KV heads | head dimension | training context | weight bytes | KV bytes per token |
      | 32     | 8        | 128            | 8192             | 1031         | 131072             |

  @OC-POOL-3024
  Scenario: A value length of zero next to a key length is refused
    Given the model file sets "llama.attention.key_length" to "128"
    And the model file sets "llama.attention.value_length" to "0"
    When the model file is read
    Then the model file is refused as invalid, naming the file and the problem "key 'llama.attention.value_length' must be >= 1, got 0"

  @OC-POOL-3024
  Scenario: An empty architecture name is refused
    Given the model file sets "general.architecture" to an empty text
    When the model file is read
    Then the model file is refused as invalid, naming the file and the problem "key 'general.architecture' is not a name: ''"

  @OC-POOL-3024
  Scenario: An architecture name that is not UTF-8 text is refused as unreadable
    Given the model file sets "general.architecture" to bytes that are not UTF-8 text
    When the model file is read
    Then the model file is refused as invalid, naming the file and the problem "unreadable key 'general.architecture': 'utf-8' codec can't decode"

  @OC-POOL-3024
  Scenario Outline: A file cut short is refused as unreadable
    Given the model file is cut short after its first <kept> bytes
    When the model file is read
    Then the model file is refused as invalid, naming the file and the problem "not a readable GGUF file ("

    Examples:
      | kept |
      | 0    |
      | 4    |
      | 8    |
      | 100  |

  @OC-POOL-3024
  Scenario: A file that is not GGUF is refused as unreadable
    Given the model file starts with "GGML" instead of the GGUF magic
    When the model file is read
    Then the model file is refused as invalid, naming the file and the problem "not a readable GGUF file (ValueError: GGUF magic invalid)"

  @OC-POOL-3024
  Scenario Outline: A GGUF format version other than 2 or 3 is refused as unreadable
    Given the model file declares GGUF format version <version>
    When the model file is read
    Then the model file is refused as invalid, naming the file and the problem "version <version> which we cannot handle"

    Examples:
      | version |
      | 1       |
      | 4       |

  @OC-POOL-3024
  Scenario: A model file that does not exist is refused as unreadable
    Given the model file does not exist
    When the model file is read
    Then the model file is refused as invalid, naming the file and the problem "not a readable GGUF file (FileNotFoundError"

  @OC-POOL-3024 @OC-POOL-3023
  Scenario: The training context read from the file caps the planned context
    Given the model file sets "llama.context_length" to "2048"
    And the host has GPU 0 with 40 GiB free
    And pool "chat" asks for GPUs "0"
    When the model file is read
    And the launch of "chat" is planned for 131072 tokens of context
    Then the planned context is 2048 tokens
    And the plan reports that the context was capped by the "training context 2048"
