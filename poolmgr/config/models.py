"""Model references: which name a local file, and where a relative one is (OC-CFG-5005/5007).

Decides, for a pool's ``model``:

- which references are local files: for ``llamacpp`` and ``stub`` pools every reference
  without a URL scheme (``https://``, ``stub://``, ``hf://`` ...); for ``vllm`` and ``tgi``
  pools, whose engines also take a hub id such as ``org/name``, only a reference that is
  absolute or starts with ``./``, ``../`` or ``~``;
- that a relative local path is relative to the directory of the config file that names it
  (as ``token_file`` is), never to the directory the manager happens to be started from; a
  ``~`` is the user's home. :func:`resolve_paths` rewrites them to absolute paths when a file
  is loaded, so ``serve``, ``plan`` and ``check-config`` all see the same file.

``log_dir`` is where the manager writes, not a file the config reads, and stays relative to
the working directory.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from poolmgr.core.vocab import Engine

__all__ = ["local_model_path", "resolve_paths"]

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_HUB_ENGINES = frozenset({Engine.VLLM.value, Engine.TGI.value})
_PATH_STARTS = ("/", "./", "../", "~")


def local_model_path(engine: str, ref: str) -> str | None:
    """``ref`` when it names a local file or directory for ``engine``; ``None`` otherwise."""
    if _URL.match(ref):
        return None
    if engine in _HUB_ENGINES and not ref.startswith(_PATH_STARTS):
        return None  # a hub id such as org/name: the engine fetches it
    return ref


def _absolute(path: str, base_dir: str) -> str:
    return os.path.normpath(os.path.join(base_dir, os.path.expanduser(path)))


def resolve_paths(doc: Mapping[str, Any], base_dir: str) -> None:
    """Make every local model path and the ``token_file`` of ``doc`` absolute, from ``base_dir``.

    ``doc`` is the schema-valid document with defaults filled in; it is changed in place.
    """
    for pool in doc["pools"]:
        if local_model_path(pool["engine"], pool["model"]) is not None:
            pool["model"] = _absolute(pool["model"], base_dir)
    auth = doc["manager"]["auth"]
    if auth is not None and auth.get("token_file") is not None:
        auth["token_file"] = _absolute(auth["token_file"], base_dir)
