"""Read a model's shape from its GGUF header (the ``gguf`` package).

A truncated or garbage file is reported as :class:`~poolmgr.core.errors.ModelFileError`
naming the file and the problem; it feeds OC-POOL-3002's preflight and the model-load
failure cause.
"""

from __future__ import annotations

import math
import os
from typing import Any

from poolmgr.core.errors import ModelFileError
from poolmgr.core.kvcap import ModelShape


def _field_value(reader: Any, path: str, key: str) -> Any:
    field = reader.get_field(key)
    if field is None:
        raise ModelFileError(path, f"missing key {key!r}")
    try:
        return field.contents()
    except Exception as exc:  # malformed field payload
        raise ModelFileError(path, f"unreadable key {key!r}: {exc}") from exc


def _int_value(reader: Any, path: str, key: str, *, per_layer_max: bool = False) -> int:
    value = _field_value(reader, path, key)
    if per_layer_max and isinstance(value, list) and value:
        value = max(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ModelFileError(path, f"key {key!r} is not an integer: {value!r}")
    if value < 1:
        raise ModelFileError(path, f"key {key!r} must be >= 1, got {value}")
    return value


def read_gguf_shape(path: str | os.PathLike[str], *, kv_dtype_bytes: float = 2.0) -> ModelShape:
    """Read layers, KV heads, head dim, training context and weight bytes from a GGUF file.

    Raises :class:`ModelFileError` (a ``ValueError``) naming the path and the problem when the
    file is missing, truncated or garbage, or lacks a key.
    """
    # Imported lazily: gguf pulls in numpy, which most commands never need.
    from gguf import GGUFReader

    shown = os.fspath(path)
    try:
        reader: Any = GGUFReader(path)
    except Exception as exc:  # gguf raises ValueError/IndexError/OSError on bad files
        raise ModelFileError(
            shown, f"not a readable GGUF file ({type(exc).__name__}: {exc})"
        ) from exc

    arch = _field_value(reader, shown, "general.architecture")
    if not isinstance(arch, str) or not arch:
        raise ModelFileError(shown, f"key 'general.architecture' is not a name: {arch!r}")
    n_layers = _int_value(reader, shown, f"{arch}.block_count")
    n_heads = _int_value(reader, shown, f"{arch}.attention.head_count", per_layer_max=True)
    if reader.get_field(f"{arch}.attention.head_count_kv") is not None:
        n_kv_heads = _int_value(
            reader, shown, f"{arch}.attention.head_count_kv", per_layer_max=True
        )
    else:
        n_kv_heads = n_heads
    if reader.get_field(f"{arch}.attention.key_length") is not None:
        head_dim = _int_value(reader, shown, f"{arch}.attention.key_length")
        if reader.get_field(f"{arch}.attention.value_length") is not None:
            value_dim = _int_value(reader, shown, f"{arch}.attention.value_length")
            # K and V rows may differ in width; the mean keeps 2 * head_dim exact-or-above.
            head_dim = math.ceil((head_dim + value_dim) / 2)
    else:
        embedding = _int_value(reader, shown, f"{arch}.embedding_length")
        head_dim = embedding // n_heads
        if head_dim < 1:
            raise ModelFileError(shown, f"embedding_length {embedding} < head_count {n_heads}")
    train_ctx = _int_value(reader, shown, f"{arch}.context_length")

    file_size = int(reader.data.size)
    weights = 0
    for tensor in reader.tensors:
        end = int(tensor.data_offset) + int(tensor.n_bytes)
        if end > file_size:
            raise ModelFileError(
                shown,
                f"tensor {tensor.name!r} ends at byte {end}, past the end of file {file_size}",
            )
        weights += int(tensor.n_bytes)
    return ModelShape(
        n_layers=n_layers,
        n_kv_heads=n_kv_heads,
        head_dim=head_dim,
        kv_dtype_bytes=kv_dtype_bytes,
        train_ctx=train_ctx,
        weights_bytes=weights,
    )
