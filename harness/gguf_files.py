"""GGUF model files written for scenarios and tests: a tiny complete model, bare headers, breakage.

:func:`write_tiny_llama_gguf` (a tiny but complete llama-architecture model that llama.cpp's
``llama-server`` loads) is the product's own writer, :mod:`poolmgr.io.gguf_write`, which
``poolmgr make-tiny-model`` also uses; it is re-exported here for the tests. This module adds
what only tests need: files holding exactly the header keys a test names, and spoiled files.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from gguf import GGUFValueType, GGUFWriter

from poolmgr.io.gguf_write import ARCH, write_tiny_llama_gguf

__all__ = [
    "ARCH",
    "KeyValue",
    "break_model_file",
    "write_model_header",
    "write_tiny_llama_gguf",
]

KeyValue = int | bool | str | bytes | list[int]
"""A header value: an integer, a yes/no flag, a text (or raw text bytes), per-layer integers."""


def write_model_header(
    path: str | os.PathLike[str], keys: Mapping[str, KeyValue], tensor_bytes: Sequence[int] = ()
) -> Path:
    """Write a GGUF file holding exactly ``keys`` and one int8 tensor per entry of ``tensor_bytes``.

    ``general.architecture`` is written only when ``keys`` names it (the writer's own default is
    dropped), so a file without it can be made. Integers are written as uint32, except a negative
    one (int32); lists as arrays of int32.
    """
    out = Path(path)
    writer = GGUFWriter(out, "unnamed")
    writer.kv_data[0].clear()
    for key, value in keys.items():
        if isinstance(value, bool):
            writer.add_bool(key, value)
        elif isinstance(value, int):
            if value < 0:
                writer.add_int32(key, value)
            else:
                writer.add_uint32(key, value)
        elif isinstance(value, str | bytes):
            # bytes: a text whose bytes are written as they are (not necessarily UTF-8)
            writer.add_key_value(key, value, GGUFValueType.STRING)
        else:
            writer.add_array(key, value)
            writer.kv_data[0][key].sub_type = GGUFValueType.INT32
    for n, size in enumerate(tensor_bytes):
        writer.add_tensor(f"blob.{n}", np.zeros(size, dtype=np.int8))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return out


def break_model_file(
    path: str | os.PathLike[str],
    *,
    keep_bytes: int | None = None,
    magic: bytes | None = None,
    version: int | None = None,
) -> None:
    """Spoil a written file: keep its first ``keep_bytes`` only, or overwrite magic or version."""
    target = Path(path)
    with target.open("r+b") as fh:
        if magic is not None:
            if len(magic) != 4:
                raise ValueError(f"a GGUF magic has 4 bytes, got {magic!r}")
            fh.seek(0)
            fh.write(magic)
        if version is not None:
            fh.seek(4)
            fh.write(struct.pack("<I", version))
        if keep_bytes is not None:
            fh.truncate(keep_bytes)
