@gpu
Feature: On a GPU host the inventory comes from NVML
  Placement, masks, splits and KV caps are checked against what the driver reports. These
  scenarios need a real GPU; elsewhere both runners report them as skipped, with the reason.

  @OC-POOL-3020 @OC-POOL-3030
  Scenario: NVML lists every GPU with its memory
    When the GPU inventory is read from NVML
    Then the inventory lists every GPU with its name, total and free memory
