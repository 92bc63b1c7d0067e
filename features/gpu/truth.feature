@decision
Feature: What the driver shows decides, before and after an engine starts
  The static inventory in the config says what the operator expects the host to have; at
  serve, what NVML shows decides. A GPU pool whose mask names a GPU that NVML does not show,
  or any GPU pool on a host where NVML gives no view at all, is refused before its engine
  starts, and the refusal names every missing GPU. Once an engine answers its health probe,
  NVML must show the engine's process tree (the engine and every process it started) holding
  memory on at least one GPU of the pool's mask and on none outside it; otherwise the engine
  would serve from the CPU or from someone else's GPU, and it is failed as a CPU spillover. A
  view that cannot vouch for the engine (no view, or a GPU of the mask whose process list NVML
  cannot read) fails it too. A process holding an amount NVML does not report counts as
  holding memory; one holding 0 bytes does not; processes outside the engine's tree never
  count.

  @OC-GPU-9502
  Scenario Outline: A GPU pool's mask is checked against what NVML shows: <case>
    Given NVML shows the GPUs "<shown>"
    When the GPU pool "chat" with the mask "<mask>" is checked at serve
    Then the check at serve answers "<answer>"

    Examples:
      | case                          | shown   | mask    | answer                                                                           |
      | every GPU present             | 0, 1    | 0, 1    | may start                                                                        |
      | one GPU of two present        | 0, 1    | 1       | may start                                                                        |
      | one GPU missing               | 1       | 0       | GPU pool chat needs GPU 0, which NVML does not show (GPUs shown: 1)              |
      | several missing, in order     | 0, 2, 5 | 7, 1, 3 | GPU pool chat needs GPU 1, GPU 3, GPU 7, which NVML does not show (GPUs shown: 0, 2, 5) |
      | only the missing ones named   | 0, 2    | 2, 3, 0 | GPU pool chat needs GPU 3, which NVML does not show (GPUs shown: 0, 2)           |
      | NVML lists no GPU at all      | none    | 0       | GPU pool chat needs GPU 0, which NVML does not show (GPUs shown: none)           |

  @OC-GPU-9502
  Scenario Outline: Without any NVML view every GPU pool is refused at serve: mask <mask>
    Given NVML gives no view of the host's GPUs
    When the GPU pool "chat" with the mask "<mask>" is checked at serve
    Then the check at serve answers "<answer>"

    Examples:
      | mask | answer                                                                                                                                                                  |
      | 0    | GPU pool chat needs GPU 0 but NVML shows no GPU on this host (no driver or no nvidia-ml-py); the static inventory is only for plan, check-config and manager.simulate_gpus |
      | 1, 0 | GPU pool chat needs GPU 0, GPU 1 but NVML shows no GPU on this host (no driver or no nvidia-ml-py); the static inventory is only for plan, check-config and manager.simulate_gpus |

  @OC-GPU-9504 @OC-GPU-9507
  Scenario Outline: Whether the engine runs on its GPUs, as NVML shows it: <case>
    Given the engine's process tree is the processes 100 and 101
    And NVML shows GPU 0 held by "<on GPU 0>", GPU 1 held by "<on GPU 1>" and GPU 2 held by "<on GPU 2>"
    When the engine of a GPU pool with the mask "<mask>" answers its health probe
    Then the check after the health probe answers "<answer>"

    Examples:
      | case                                        | mask    | on GPU 0                | on GPU 1                | on GPU 2                | answer                                                                                           |
      | on its GPU                                  | 0       | 100: 1 GiB              | nobody                  | nobody                  | vouched for                                                                                      |
      | a child of the engine on its GPU            | 1       | nobody                  | 101: 512 MiB            | nobody                  | vouched for                                                                                      |
      | on one of the two GPUs of its mask          | 0, 1    | nobody                  | 100: 1 GiB              | nobody                  | vouched for                                                                                      |
      | on both GPUs of its mask                    | 0, 1    | 100: 1 GiB              | 101: 1 GiB              | nobody                  | vouched for                                                                                      |
      | on no GPU: it would serve from the CPU      | 0, 1    | nobody                  | nobody                  | nobody                  | the engine holds no memory on its GPUs [0, 1] (found on none): it would serve from the CPU        |
      | on a GPU outside its mask only              | 0       | nobody                  | 100: 1 GiB              | nobody                  | the engine holds memory on GPUs [1] outside its mask [0] (found on [1])                           |
      | on two GPUs outside its mask                | 0       | nobody                  | 101: 1 GiB              | 100: 2 GiB              | the engine holds memory on GPUs [1, 2] outside its mask [0] (found on [1, 2])                     |
      | on its GPU and on another                   | 0       | 100: 1 GiB              | 101: 1 GiB              | nobody                  | the engine holds memory on GPUs [1] outside its mask [0] (found on [0, 1])                        |
      | on a mask GPU and one outside, mask of two  | 1, 0    | 100: 1 GiB              | nobody                  | 100: 1 GiB              | the engine holds memory on GPUs [2] outside its mask [0, 1] (found on [0, 2])                     |
      | an unknown amount counts as holding         | 0       | 100: unknown amount     | nobody                  | nobody                  | vouched for                                                                                      |
      | an unknown amount outside counts too        | 0       | 100: 1 GiB              | 101: unknown amount     | nobody                  | the engine holds memory on GPUs [1] outside its mask [0] (found on [0, 1])                        |
      | a single byte on its GPU is holding         | 0       | 100: 1 byte             | nobody                  | nobody                  | vouched for                                                                                      |
      | 0 bytes on its GPU is not holding           | 0       | 100: 0 bytes            | nobody                  | nobody                  | the engine holds no memory on its GPUs [0] (found on none): it would serve from the CPU           |
      | 0 bytes outside its mask is not holding     | 0       | 100: 1 GiB              | 101: 0 bytes            | nobody                  | vouched for                                                                                      |
      | another process on its GPU does not count   | 0       | 900: 4 GiB              | nobody                  | nobody                  | the engine holds no memory on its GPUs [0] (found on none): it would serve from the CPU           |
      | another process outside its mask is no harm | 0       | 100: 1 GiB, 900: 4 GiB  | 900: 4 GiB              | 901: unknown amount     | vouched for                                                                                      |
      | the engine after other processes on a GPU   | 2       | nobody                  | nobody                  | 900: 1 GiB, 101: 1 KiB  | vouched for                                                                                      |
      | a GPU of its mask NVML cannot list          | 0, 1    | 100: 1 GiB              | a list NVML cannot read | nobody                  | cannot confirm that the engine runs on GPUs [0, 1]: NVML cannot list the processes of GPUs [1]   |
      | two GPUs of its mask NVML cannot list       | 2, 1, 0 | a list NVML cannot read | 100: 1 GiB              | a list NVML cannot read | cannot confirm that the engine runs on GPUs [0, 1, 2]: NVML cannot list the processes of GPUs [0, 2] |
      | an unreadable GPU outside its mask is no harm | 1     | a list NVML cannot read | 100: 1 GiB              | nobody                  | vouched for                                                                                      |
      | an unreadable GPU outside, engine on none   | 1       | a list NVML cannot read | nobody                  | nobody                  | the engine holds no memory on its GPUs [1] (found on none): it would serve from the CPU           |

  @OC-GPU-9507
  Scenario Outline: Without an NVML view after the start, the engine is not vouched for: mask <mask>
    Given the engine's process tree is the processes 100 and 101
    And NVML gives no view of the host's GPUs
    When the engine of a GPU pool with the mask "<mask>" answers its health probe
    Then the check after the health probe answers "<answer>"

    Examples:
      | mask | answer                                                                                       |
      | 0    | cannot confirm that the engine runs on GPUs [0]: NVML shows no GPU after the engine started    |
      | 1, 0 | cannot confirm that the engine runs on GPUs [0, 1]: NVML shows no GPU after the engine started |

  @OC-GPU-9501 @OC-GPU-9502
  Scenario Outline: Placement and preflight read the GPUs of the view, <how>
    Given NVML, <how>, shows these GPUs
      | GPU | name        | total GiB | free GiB |
      | 0   | NVIDIA H200 | 141       | 139      |
      | 1   | NVIDIA L4   | 22        | 20       |
    Then the inventory from that view reads "<source>" and lists
      | GPU | name        | total GiB | free GiB |
      | 0   | NVIDIA H200 | 141       | 139      |
      | 1   | NVIDIA L4   | 22        | 20       |
    And looking up GPU 1 in that view finds "NVIDIA L4"
    And looking up GPU 0 in that view finds "NVIDIA H200"
    And looking up GPU 2 in that view finds "nothing"

    Examples:
      | how                                 | source |
      | read from the driver                | nvml   |
      | simulated from the static inventory | static |
