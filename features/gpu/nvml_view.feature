@decision
Feature: The NVML view is read whole, or not at all
  The pool manager reads each GPU's index, name, UUID, memory and the processes holding memory
  on it from NVML, and the driver and CUDA versions. These scenarios replay NVML's answers as
  a host gave them (recordings in tests/data/nvml, in the format bench/gpu/record_nvml.py
  writes; hand-written in that format until a GPU run records real ones) through the NVML
  library's own error types, the way classification scenarios replay an engine's output.

  @OC-GPU-9501
  Scenario: One GPU with an engine holding memory on it
    Given the NVML answers recorded in "one_gpu_engine"
    When the NVML view is read
    Then the NVML view lists the GPUs "0"
    And GPU 0 of the view is "NVIDIA H100 80GB HBM3" with UUID "GPU-1f0e3c6a-52b7-4d8e-9a31-7c2b5e8d4f60"
    And GPU 0 of the view has 85520809984 bytes in all and 84383105024 bytes free
    And on GPU 0 of the view the process 4242 holds 593494016 bytes
    And the view names the driver "550.54.15" and CUDA "12.4"
    And the NVML library was shut down after it was started

  @OC-GPU-9501
  Scenario: A process NVML lists in both its compute and its graphics list is counted once
    Given the NVML answers recorded in "two_gpus"
    When the NVML view is read
    Then the NVML view lists the GPUs "0, 1"
    And on GPU 1 of the view the process 6001 holds 314572800 bytes

  @OC-GPU-9501
  Scenario: A GPU whose process list NVML cannot read keeps its place, its holders unknown
    Given the NVML answers recorded in "processes_not_supported"
    When the NVML view is read
    Then the NVML view lists the GPUs "0, 1"
    And the holders of GPU 1 of the view are unknown
    And on GPU 0 of the view the process 4242 holds 593494016 bytes

  @OC-GPU-9501
  Scenario: A process whose share NVML cannot tell still holds memory, of an unknown amount
    Given the NVML answers recorded in "used_memory_none"
    When the NVML view is read
    Then on GPU 0 of the view the process 4242 holds an unknown amount

  @OC-GPU-9501
  Scenario: An old driver without the CUDA-version call still gives a view
    Given the NVML answers recorded in "old_driver"
    When the NVML view is read
    Then the view names the driver "470.256.02" and CUDA "unknown"
    And GPU 0 of the view has no process holding memory

  @OC-GPU-9501
  Scenario: Odd answers a driver can give are read without harm
    Given the NVML answers recorded in "odd_answers"
    When the NVML view is read
    Then GPU 0 of the view is "NVIDIA H200 �" with UUID "GPU-5c1d7e9a-3b2f-4a6c-8d0e-1f2a3b4c5d6e"
    And the view names the driver "580.65.06" and CUDA "13.0"
    And on GPU 0 of the view the processes hold "4242: 0, 5151: unknown, 6161: unknown"
    And the view says it was read from NVML, not simulated
    When placement reads its inventory from NVML
    Then the inventory placement reads lists GPU 0 "NVIDIA H200 �" with 150000000000 bytes free

  @OC-GPU-9501
  Scenario Outline: No view at all rather than part of one
    Given the NVML answers recorded in "<recording>"
    When the NVML view is read
    Then there is no NVML view
    When placement reads its inventory from NVML
    Then the inventory placement reads is none

    Examples:
      | recording  |
      | init_fails |
      | gpu_lost   |
