"""``poolmgr make-tiny-model PATH``: write a tiny llama-architecture GGUF model (OC-CFG-5006).

The file (about 0.5 MB, float32 random weights from a fixed seed) is a complete model that
llama.cpp's ``llama-server`` loads and serves, so the example configs and a first ``serve``
work on a fresh clone without downloading anything. Its answers are noise: it is for trying
the manager, not for inference. Missing parent folders are made; an existing file is kept
unless ``--force``. Exit 0 written, 2 for a bad argument or a path that cannot be written.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = sub.add_parser("make-tiny-model", help="write a tiny GGUF model for trying poolmgr")
    cmd.add_argument("path", metavar="PATH", help="where to write it, e.g. models/tiny.gguf")
    cmd.add_argument(
        "--ctx", type=_ctx, default=2048, help="training context written into it (default 2048)"
    )
    cmd.add_argument("--force", action="store_true", help="replace an existing file")


def _ctx(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= value <= 1 << 20:
        raise argparse.ArgumentTypeError(f"must be between 1 and {1 << 20}; got {value}")
    return value


def run(args: argparse.Namespace) -> int:
    from poolmgr.io.gguf_write import write_tiny_llama_gguf  # numpy only when writing

    path = Path(args.path)
    if path.exists() and not args.force:
        print(f"{path}: already exists; pass --force to replace it", file=sys.stderr)
        return 2
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_tiny_llama_gguf(path, ctx=args.ctx)
    except OSError as exc:
        print(f"{path}: cannot write the model: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"{path}: wrote a tiny llama GGUF model ({os.path.getsize(path)} bytes)")
    return 0
