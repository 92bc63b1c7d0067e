"""GGUF model files written for scenarios and tests: a tiny complete model, bare headers, breakage.

:func:`write_tiny_llama_gguf` writes a tiny but complete llama-architecture model. The file
carries everything llama.cpp's ``llama-server`` needs to load and serve the llama architecture
(hyper-parameters, a byte-level SentencePiece-style vocabulary of 3 control
tokens + 256 byte tokens, and every tensor of the graph as float32 random weights), so the same
file serves KV-shape unit tests and real-engine scenarios. ``truncate_to`` cuts the file short
to make a model that must fail to load (OC-POOL-3002 / model_load_failed scenarios).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from gguf import GGUFValueType, GGUFWriter, LlamaFileType, TokenType

ARCH = "llama"
_SPECIAL = ("<unk>", "<s>", "</s>")


def _byte_vocab(vocab: int) -> tuple[list[str], list[float], list[int]]:
    """3 special tokens, the 256 byte tokens ``<0xNN>``, then filler tokens up to ``vocab``."""
    if vocab < len(_SPECIAL) + 256:
        raise ValueError(f"vocab must be >= {len(_SPECIAL) + 256} to hold every byte, got {vocab}")
    tokens = list(_SPECIAL) + [f"<0x{b:02X}>" for b in range(256)]
    types = [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL] + [TokenType.BYTE] * 256
    tokens += [f"<extra_{i}>" for i in range(vocab - len(tokens))]
    types += [TokenType.UNUSED] * (vocab - len(types))
    return tokens, [0.0] * vocab, [int(t) for t in types]


def write_tiny_llama_gguf(
    path: str | os.PathLike[str],
    *,
    n_layers: int = 2,
    dim: int = 64,
    n_heads: int = 4,
    n_kv_heads: int = 4,
    ctx: int = 2048,
    vocab: int = 259,
    seed: int = 0,
    truncate_to: int | None = None,
) -> Path:
    """Write the model to ``path`` and return it; ``truncate_to`` keeps only that many bytes."""
    if dim % n_heads or n_heads % n_kv_heads:
        raise ValueError("dim must divide by n_heads, and n_heads by n_kv_heads")
    out = Path(path)
    head_dim = dim // n_heads
    ff = 2 * dim
    rng = np.random.default_rng(seed)

    def weight(*shape: int) -> np.ndarray[tuple[int, ...], np.dtype[np.float32]]:
        # numpy shape is (rows, cols) = ggml (ne1, ne0): the writer reverses it.
        return (rng.standard_normal(shape) * 0.02).astype(np.float32)

    def ones(n: int) -> np.ndarray[tuple[int, ...], np.dtype[np.float32]]:
        return np.ones(n, dtype=np.float32)

    writer = GGUFWriter(out, ARCH)
    writer.add_name("tiny-test-llama")
    writer.add_file_type(LlamaFileType.ALL_F32)
    writer.add_context_length(ctx)
    writer.add_embedding_length(dim)
    writer.add_block_count(n_layers)
    writer.add_feed_forward_length(ff)
    writer.add_head_count(n_heads)
    writer.add_head_count_kv(n_kv_heads)
    writer.add_rope_dimension_count(head_dim)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_vocab_size(vocab)

    tokens, scores, types = _byte_vocab(vocab)
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_unk_token_id(0)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(False)

    writer.add_tensor("token_embd.weight", weight(vocab, dim))
    for i in range(n_layers):
        blk = f"blk.{i}"
        writer.add_tensor(f"{blk}.attn_norm.weight", ones(dim))
        writer.add_tensor(f"{blk}.attn_q.weight", weight(n_heads * head_dim, dim))
        writer.add_tensor(f"{blk}.attn_k.weight", weight(n_kv_heads * head_dim, dim))
        writer.add_tensor(f"{blk}.attn_v.weight", weight(n_kv_heads * head_dim, dim))
        writer.add_tensor(f"{blk}.attn_output.weight", weight(dim, n_heads * head_dim))
        writer.add_tensor(f"{blk}.ffn_norm.weight", ones(dim))
        writer.add_tensor(f"{blk}.ffn_gate.weight", weight(ff, dim))
        writer.add_tensor(f"{blk}.ffn_up.weight", weight(ff, dim))
        writer.add_tensor(f"{blk}.ffn_down.weight", weight(dim, ff))
    writer.add_tensor("output_norm.weight", ones(dim))
    writer.add_tensor("output.weight", weight(vocab, dim))

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()

    if truncate_to is not None:
        size = out.stat().st_size
        if not 0 <= truncate_to < size:
            raise ValueError(f"truncate_to must be in [0, {size}), got {truncate_to}")
        with out.open("r+b") as fh:
            fh.truncate(truncate_to)
    return out


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
