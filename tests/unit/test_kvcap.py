"""KV-cache arithmetic and the smallest-GPU cap (OC-POOL-3021, ORCH-3052, OC-POOL-3002)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.gguf_files import write_tiny_llama_gguf
from poolmgr.core.errors import ModelFileError
from poolmgr.core.inventory import GpuDevice
from poolmgr.core.kvcap import (
    ModelShape,
    kv_bytes_per_gpu,
    kv_bytes_per_token,
    max_ctx_per_device,
    split_layers,
    weights_bytes_per_gpu,
)
from poolmgr.io.gguf import read_gguf_shape


def max_ctx_that_fits(
    s: ModelShape, ratios: list[float], devices: list[GpuDevice], margin: int
) -> int:
    """The largest context every GPU of the split holds (placement takes this minimum)."""
    return min(max_ctx_per_device(s, ratios, devices, margin, slots=1))


GIB = 2**30
MIB = 2**20


def shape(
    n_layers: int = 32,
    n_kv_heads: int = 8,
    head_dim: int = 128,
    kv_dtype_bytes: float = 2.0,
    train_ctx: int = 131072,
    weights_bytes: int = 16 * GIB,
) -> ModelShape:
    return ModelShape(n_layers, n_kv_heads, head_dim, kv_dtype_bytes, train_ctx, weights_bytes)


def gpu(index: int, free_gib: float) -> GpuDevice:
    free = int(free_gib * GIB)
    return GpuDevice(index, f"GPU-{index}", free, free)


# --- bytes per token: table of known models -------------------------------------------------------


@pytest.mark.parametrize(
    ("layers", "kv_heads", "head_dim", "dtype", "expected"),
    [
        # Llama-3-8B style, f16 cache: 2 * 32 * 8 * 128 * 2
        (32, 8, 128, 2.0, 131_072),
        # Llama-2-7B (no GQA), f16: 2 * 32 * 32 * 128 * 2
        (32, 32, 128, 2.0, 524_288),
        # Llama-3-70B style, f16: 2 * 80 * 8 * 128 * 2
        (80, 8, 128, 2.0, 327_680),
        # same 8B with a q8_0 cache (34 bytes per 32 values): 2 * 32 * 8 * 128 * 34 / 32
        (32, 8, 128, 34 / 32, 69_632),
        # f32 cache on the tiny test model: 2 * 2 * 4 * 16 * 4
        (2, 4, 16, 4.0, 1_024),
    ],
)
def test_kv_bytes_per_token_matches_hand_arithmetic(
    layers: int, kv_heads: int, head_dim: int, dtype: float, expected: int
) -> None:
    assert kv_bytes_per_token(shape(layers, kv_heads, head_dim, dtype)) == expected


def test_kv_bytes_per_token_rounds_a_fractional_total_up() -> None:
    # 2 * 1 * 1 * 1 * 0.75 = 1.5 bytes -> 2: an estimate must never be short.
    assert kv_bytes_per_token(shape(1, 1, 1, 0.75)) == 2


@pytest.mark.parametrize("field", ["n_layers", "n_kv_heads", "head_dim", "train_ctx"])
def test_model_shape_refuses_non_positive_dimensions(field: str) -> None:
    values = dict(
        n_layers=1, n_kv_heads=1, head_dim=1, kv_dtype_bytes=2.0, train_ctx=1, weights_bytes=0
    )
    values[field] = 0
    with pytest.raises(ValueError, match=field):
        ModelShape(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("dtype", [0.0, -1.0, math.nan, math.inf])
def test_model_shape_refuses_a_nonsense_kv_dtype(dtype: float) -> None:
    with pytest.raises(ValueError, match="kv_dtype_bytes"):
        shape(kv_dtype_bytes=dtype)


# --- layer split ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n_layers", "ratios", "expected"),
    [
        (32, [0.5, 0.5], (16, 16)),
        (32, [0.25, 0.75], (8, 24)),
        (32, [0.6, 0.4], (19, 13)),  # quotas 19.2 / 12.8: the larger remainder gets the spare
        (10, [1, 1, 1], (4, 3, 3)),  # equal remainders: the lower position wins
        (2, [0.9, 0.1], (2, 0)),
        (7, [3, 1], (5, 2)),  # ratios need not be normalised: 5.25 / 1.75
    ],
)
def test_split_layers_uses_largest_remainder(
    n_layers: int, ratios: list[float], expected: tuple[int, ...]
) -> None:
    assert split_layers(n_layers, ratios) == expected


@settings(deadline=None)
@given(
    n_layers=st.integers(0, 200),
    ratios=st.lists(st.floats(0.01, 100.0), min_size=1, max_size=8),
)
def test_split_layers_always_sums_to_the_layer_count_and_stays_within_one_of_the_quota(
    n_layers: int, ratios: list[float]
) -> None:
    shares = split_layers(n_layers, ratios)
    assert sum(shares) == n_layers
    total = sum(ratios)
    for share, ratio in zip(shares, ratios, strict=True):
        assert abs(share - n_layers * ratio / total) < 1 + 1e-9


@pytest.mark.parametrize("ratios", [[], [0.5, 0.0], [1.0, -0.5], [math.nan], [math.inf, 1.0]])
def test_split_layers_refuses_bad_ratios(ratios: list[float]) -> None:
    with pytest.raises(ValueError):
        split_layers(32, ratios)


# --- per-GPU shares -------------------------------------------------------------------------------


def test_kv_bytes_per_gpu_follow_the_layer_share() -> None:
    s = shape()  # 32 layers, 4096 bytes per layer per token (2 * 8 * 128 * 2)
    assert kv_bytes_per_gpu(s, 1000, [0.25, 0.75]) == (8 * 4096 * 1000, 24 * 4096 * 1000)


def test_weights_bytes_per_gpu_follow_the_layer_share_and_sum_to_the_total() -> None:
    s = shape(n_layers=3, weights_bytes=1000)
    shares = weights_bytes_per_gpu(s, [1, 1, 1])
    assert shares == (333, 333, 334)
    assert sum(shares) == 1000


# --- smallest-GPU cap -----------------------------------------------------------------------------


def _independent_cap(s: ModelShape, layers: int, free: int, weights: int, margin: int) -> int:
    """Largest ctx with weights + layers * per-layer-token * ctx + margin <= free."""
    per_layer_token = 2 * s.n_kv_heads * s.head_dim * int(s.kv_dtype_bytes)
    return min(s.train_ctx, (free - weights - margin) // (layers * per_layer_token))


def test_oc_pool_3021_even_split_over_24_and_80_gib_is_capped_by_the_24_gib_gpu() -> None:
    s = shape(weights_bytes=16 * GIB, train_ctx=1_000_000)
    devices = [gpu(0, 24), gpu(1, 80)]
    margin = 512 * MIB
    expected = _independent_cap(s, 16, 24 * GIB, 8 * GIB, margin)
    assert max_ctx_that_fits(s, [0.5, 0.5], devices, margin) == expected
    # The 80 GiB GPU alone would fit far more: it is the small one that sets the cap.
    caps = max_ctx_per_device(s, [0.5, 0.5], devices, margin, slots=1)
    assert caps[0] == expected < caps[1]


def test_oc_pool_3021_a_split_weighted_to_the_big_gpu_fits_a_longer_context() -> None:
    s = shape(weights_bytes=16 * GIB, train_ctx=1_000_000)
    devices = [gpu(0, 24), gpu(1, 80)]
    margin = 512 * MIB
    even = max_ctx_that_fits(s, [0.5, 0.5], devices, margin)
    weighted = max_ctx_that_fits(s, [0.25, 0.75], devices, margin)
    small = _independent_cap(s, 8, 24 * GIB, 4 * GIB, margin)
    big = _independent_cap(s, 24, 80 * GIB, 12 * GIB, margin)
    assert weighted == min(small, big)
    assert weighted > even


def test_orch_3052_cap_is_exact_kv_of_the_cap_fits_and_one_more_token_does_not() -> None:
    s = shape(weights_bytes=16 * GIB, train_ctx=1_000_000)
    devices = [gpu(0, 24), gpu(1, 80)]
    ratios = [0.5, 0.5]
    margin = 512 * MIB
    cap = max_ctx_that_fits(s, ratios, devices, margin)

    def fits(ctx: int) -> bool:
        kv = kv_bytes_per_gpu(s, ctx, ratios)
        w = weights_bytes_per_gpu(s, ratios)
        return all(
            wi + ki + margin <= d.free_bytes for wi, ki, d in zip(w, kv, devices, strict=True)
        )

    assert fits(cap)
    assert not fits(cap + 1)


def test_cap_never_exceeds_the_training_context() -> None:
    s = shape(weights_bytes=GIB, train_ctx=8192)
    assert max_ctx_that_fits(s, [1.0], [gpu(0, 80)], 512 * MIB) == 8192


def test_cap_is_zero_when_the_weights_do_not_fit_on_one_gpu() -> None:
    s = shape(weights_bytes=60 * GIB)
    assert max_ctx_that_fits(s, [0.5, 0.5], [gpu(0, 24), gpu(1, 80)], 512 * MIB) == 0


def test_cap_counts_the_margin_against_free_memory() -> None:
    # 1 layer, 4096 B per token; 1 GiB free, no weights: margin 0 -> 262144 tokens, margin 512 MiB
    # -> half of that.
    s = shape(n_layers=1, weights_bytes=0, train_ctx=10**9)
    assert max_ctx_that_fits(s, [1.0], [gpu(0, 1)], 0) == GIB // 4096
    assert max_ctx_that_fits(s, [1.0], [gpu(0, 1)], 512 * MIB) == (GIB - 512 * MIB) // 4096


def test_cap_refuses_a_ratio_count_that_differs_from_the_device_count() -> None:
    with pytest.raises(ValueError, match="ratios"):
        max_ctx_that_fits(shape(), [1.0], [gpu(0, 24), gpu(1, 24)], 0)


# --- reading a real GGUF file ---------------------------------------------------------------------


def test_read_gguf_shape_reads_the_tiny_model(tmp_path: Path) -> None:
    path = write_tiny_llama_gguf(
        tmp_path / "tiny.gguf", n_layers=3, dim=64, n_heads=4, n_kv_heads=2, ctx=1024
    )
    got = read_gguf_shape(path)
    assert (got.n_layers, got.n_kv_heads, got.head_dim, got.train_ctx) == (3, 2, 16, 1024)
    assert got.kv_dtype_bytes == 2.0


def test_read_gguf_shape_counts_every_tensor_byte_as_weights(tmp_path: Path) -> None:
    dim, layers, vocab = 64, 2, 259
    ff = 2 * dim
    per_block = 2 * dim + 4 * dim * dim + 3 * dim * ff  # 2 norms, q/k/v/o, gate/up/down
    params = vocab * dim * 2 + dim + layers * per_block  # embeddings, output, output norm
    path = write_tiny_llama_gguf(tmp_path / "tiny.gguf", n_layers=layers, dim=dim, vocab=vocab)
    assert read_gguf_shape(path).weights_bytes == 4 * params  # float32


def test_read_gguf_shape_passes_the_kv_dtype_through(tmp_path: Path) -> None:
    path = write_tiny_llama_gguf(tmp_path / "tiny.gguf")
    assert read_gguf_shape(path, kv_dtype_bytes=1.0).kv_dtype_bytes == 1.0


@pytest.mark.parametrize("keep", [0, 16, 200, 4000, -100])
def test_oc_pool_3002_a_truncated_gguf_raises_model_file_error_naming_the_path(
    tmp_path: Path, keep: int
) -> None:
    full = write_tiny_llama_gguf(tmp_path / "full.gguf")
    size = full.stat().st_size
    cut = keep if keep >= 0 else size + keep
    bad = write_tiny_llama_gguf(tmp_path / "bad.gguf", truncate_to=cut)
    with pytest.raises(ModelFileError) as info:
        read_gguf_shape(bad)
    assert str(bad) in str(info.value)
    assert isinstance(info.value, ValueError)


def test_a_garbage_file_raises_model_file_error(tmp_path: Path) -> None:
    path = tmp_path / "garbage.gguf"
    path.write_bytes(b"this is not a model at all" * 10)
    with pytest.raises(ModelFileError, match=r"garbage\.gguf"):
        read_gguf_shape(path)


def test_a_missing_file_raises_model_file_error(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match=r"absent\.gguf"):
        read_gguf_shape(tmp_path / "absent.gguf")


def _header_only_gguf(path: Path, **keys: int) -> Path:
    """A llama GGUF with just the given ``llama.*`` integer keys and no tensors."""
    from gguf import GGUFWriter

    writer = GGUFWriter(path, "llama")
    for key, value in keys.items():
        writer.add_uint32(f"llama.{key.replace('__', '.')}", value)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_a_gguf_without_a_context_length_names_the_missing_key(tmp_path: Path) -> None:
    path = _header_only_gguf(
        tmp_path / "nokey.gguf", block_count=2, attention__head_count=4, embedding_length=64
    )
    with pytest.raises(ModelFileError, match=r"llama\.context_length"):
        read_gguf_shape(path)


def test_kv_heads_fall_back_to_the_head_count_without_grouped_query_attention(
    tmp_path: Path,
) -> None:
    path = _header_only_gguf(
        tmp_path / "mha.gguf",
        block_count=2,
        attention__head_count=8,
        embedding_length=256,
        context_length=512,
    )
    got = read_gguf_shape(path)
    assert (got.n_kv_heads, got.head_dim, got.weights_bytes) == (8, 32, 0)


def test_an_explicit_key_length_sets_the_head_dim(tmp_path: Path) -> None:
    path = _header_only_gguf(
        tmp_path / "keylen.gguf",
        block_count=2,
        attention__head_count=8,
        attention__head_count_kv=2,
        attention__key_length=128,
        embedding_length=256,
        context_length=512,
    )
    assert read_gguf_shape(path).head_dim == 128
