"""``python -m harness.gpu_hog LEAVE_BYTES``: hold all but ``LEAVE_BYTES`` of GPU 0's free memory.

The "another process" of the VRAM preflight scenario on a real GPU (OC-POOL-3002): it takes the
memory with a plain device allocation (``cudaMalloc`` through CuPy or PyTorch, whichever the
machine has; never managed memory), prints ``free <bytes>`` (the GPU's free bytes after it took
its share, as CUDA reports them) and holds the memory until its standard input closes. Exit 2
when neither library or no GPU is available, with the reason on standard error.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

__all__ = ["main"]


def _allocate(leave_bytes: int) -> tuple[Any, int]:
    """Take all but ``leave_bytes`` of the free memory; return the buffer and the free bytes."""
    try:
        cupy: Any = importlib.import_module("cupy")
    except ImportError:
        torch: Any = importlib.import_module("torch")  # ImportError: the caller reports it
        free, _total = torch.cuda.mem_get_info(0)
        size = max(0, int(free) - leave_bytes)
        buffer = torch.empty(size, dtype=torch.uint8, device="cuda:0")
        return buffer, int(torch.cuda.mem_get_info(0)[0])
    free, _total = cupy.cuda.runtime.memGetInfo()
    size = max(0, int(free) - leave_bytes)
    buffer = cupy.cuda.alloc(size)
    return buffer, int(cupy.cuda.runtime.memGetInfo()[0])


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not args[0].isdigit():
        print("usage: python -m harness.gpu_hog LEAVE_BYTES", file=sys.stderr)
        return 2
    try:
        buffer, free = _allocate(int(args[0]))
    except Exception as exc:  # no CuPy/PyTorch, no GPU, or the allocation failed: say which
        print(f"gpu_hog: cannot hold GPU memory: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    print(f"free {free}", flush=True)
    sys.stdin.read()  # hold until the scenario closes our standard input
    del buffer
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
