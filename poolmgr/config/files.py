"""Model file checks: what ``check-config`` can tell about a pool's model without starting it
(OC-CFG-5005).

Decides, for each pool whose ``model`` is a local path (:func:`~poolmgr.config.models.
local_model_path`), the problems reported against ``pools[i].model``:

- the path does not exist, or cannot be read (``llamacpp`` and ``stub`` pools need a regular
  file; ``vllm`` and ``tgi`` also take a model directory);
- for ``llamacpp`` pools, the file is not a readable GGUF model: bad magic, truncated, a
  missing key the memory check needs (:func:`poolmgr.io.gguf.read_gguf_shape`);
- the file's sha256 differs from a pinned ``model_digest``
  (:class:`poolmgr.io.digest.DigestCache`; the file is read once, in 1 MiB chunks);
- against ``pools[i].ctx``: a ``ctx_policy: reject`` pool asks for more context per slot than
  the GGUF model was trained for, which every launch would refuse (OC-POOL-3023).

``check-config --no-file-checks`` skips this stage, for configs written for another host.
``serve`` does not run it: a missing model fails that pool's start and leaves the other pools
running.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from typing import Any

from poolmgr.config.models import local_model_path
from poolmgr.core.errors import ModelFileError
from poolmgr.core.problems import Problems
from poolmgr.core.vocab import CtxPolicy, Engine
from poolmgr.io.digest import DigestCache, verify
from poolmgr.io.gguf import read_gguf_shape

__all__ = ["GGUF_MAGIC", "check_model_files", "model_file_problem"]

GGUF_MAGIC = b"GGUF"
"""The first four bytes of every GGUF file."""

_FILE_ENGINES = frozenset({Engine.LLAMACPP.value, Engine.STUB.value})


def check_model_files(doc: Mapping[str, Any], problems: Problems) -> None:
    """Add a problem for every pool of ``doc`` whose local model file is missing or wrong.

    ``doc`` is the schema-valid, path-resolved document.
    """
    digests = DigestCache()
    for i, pool in enumerate(doc["pools"]):
        path = local_model_path(pool["engine"], pool["model"])
        if path is None:
            continue
        reason = model_file_problem(path, pool["engine"], pool["model_digest"], digests)
        if reason is not None:
            problems.add(("pools", i, "model"), reason)
        elif pool["engine"] == Engine.LLAMACPP.value and pool["ctx_policy"] == CtxPolicy.REJECT:
            train_ctx = read_gguf_shape(path).train_ctx  # read cleanly just above
            if pool["ctx"] > train_ctx:
                problems.add(
                    ("pools", i, "ctx"),
                    f"ctx {pool['ctx']} per slot exceeds the training context {train_ctx} of "
                    f"{path}, and ctx_policy reject refuses it; lower ctx or use ctx_policy: cap",
                )


def model_file_problem(
    path: str, engine: str, pinned: str | None, digests: DigestCache
) -> str | None:
    """Why the model at ``path`` cannot serve an ``engine`` pool, or ``None`` when it can."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return f"model file {path} does not exist"
    except OSError as exc:
        return f"cannot read model file {path}: {exc.strerror or exc}"
    is_dir = stat.S_ISDIR(info.st_mode)
    if is_dir and engine in _FILE_ENGINES:
        return f"model {path} is a directory; a {engine} pool needs a model file"
    if not is_dir and not stat.S_ISREG(info.st_mode):
        return f"model {path} is not a regular file"
    if not os.access(path, os.R_OK | (os.X_OK if is_dir else 0)):
        return f"cannot read model {path}: permission denied"
    if is_dir:
        if pinned is not None:
            return f"model {path} is a directory; model_digest can only pin a file's digest"
        return None
    if engine == Engine.LLAMACPP.value:
        problem = _gguf_problem(path)
        if problem is not None:
            return problem
    if pinned is not None:
        try:
            actual = digests.digest(path)
        except OSError as exc:
            return f"cannot read model file {path}: {exc.strerror or exc}"
        if not verify(pinned, actual):
            return f"model file {path} has digest {actual}; model_digest pins {pinned}"
    return None


def _gguf_problem(path: str) -> str | None:
    try:
        with open(path, "rb") as handle:
            magic = handle.read(len(GGUF_MAGIC))
    except OSError as exc:
        return f"cannot read model file {path}: {exc.strerror or exc}"
    if magic != GGUF_MAGIC:
        return f"model file {path} is not a GGUF file (it starts with {magic!r}, not b'GGUF')"
    try:
        read_gguf_shape(path)
    except ModelFileError as exc:
        return f"model file {path} is not a usable GGUF model: {exc.problem}"
    return None
