"""Write a tiny but complete llama-architecture GGUF model (``poolmgr make-tiny-model``).

Decides what a test model file holds: every hyper-parameter llama.cpp's ``llama-server`` needs
to load and serve the llama architecture, a byte-level SentencePiece-style vocabulary (3 control
tokens + 256 byte tokens) and every tensor of the graph as float32 random weights from a fixed
seed. The same file serves KV-shape checks (:mod:`poolmgr.io.gguf` reads it back), the example
configs (OC-CFG-5006) and real-engine tests; ``truncate_to`` cuts it short to make a model that
must fail to load (OC-POOL-3002, ``model_load_failed``).

Written with the ``gguf`` package's :class:`~gguf.GGUFWriter` (llama.cpp's own writer), so
the format is never hand-encoded here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["ARCH", "write_tiny_llama_gguf"]

ARCH = "llama"
_SPECIAL = ("<unk>", "<s>", "</s>")


def _byte_vocab(vocab: int) -> tuple[list[str], list[float], list[int]]:
    """3 special tokens, the 256 byte tokens ``<0xNN>``, then filler tokens up to ``vocab``."""
    from gguf import TokenType

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
    import numpy as np
    from gguf import GGUFWriter, LlamaFileType

    out = Path(path)
    head_dim = dim // n_heads
    ff = 2 * dim
    rng = np.random.default_rng(seed)

    def weight(*shape: int) -> np.ndarray[tuple[int, ...], np.dtype[np.float32]]:
        # numpy shape is (rows, cols) = ggml (ne1, ne0): the writer reverses it.
        return (rng.standard_normal(shape) * 0.02).astype(np.float32)

    def ones(n: int) -> np.ndarray[tuple[int, ...], np.dtype[np.float32]]:
        return np.ones(n, dtype=np.float32)

    # Written beside the target and renamed into place: no half-written model is ever seen.
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    writer = GGUFWriter(tmp, ARCH)
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

    _add_vocab(writer, vocab)

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

    _write_into_place(writer, tmp, out, truncate_to)
    return out


def _add_vocab(writer: Any, vocab: int) -> None:
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


def _write_into_place(writer: Any, tmp: Path, out: Path, truncate_to: int | None) -> None:
    """Write ``writer``'s model to ``tmp``, cut it to ``truncate_to``, rename it to ``out``."""
    try:
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        if truncate_to is not None:
            size = tmp.stat().st_size
            if not 0 <= truncate_to < size:
                raise ValueError(f"truncate_to must be in [0, {size}), got {truncate_to}")
            with tmp.open("r+b") as fh:
                fh.truncate(truncate_to)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
