"""KV-cache arithmetic: how much memory a context costs on each GPU, and how much fits.

Decides the per-GPU share of weights and KV cache for a layer split, and the largest context
that fits on *every* GPU of a mask, so the smallest or most loaded GPU sets the cap
(OC-POOL-3021 / ORCH-3052). A context above the model's training context is capped by the
engine itself, so sizing always uses the capped value (placement caps it before it asks here).
Contexts are per slot: an engine serving ``slots`` sequences holds ``ctx x slots`` tokens of KV
cache, and the cap is the largest context *per slot* that fits beside the others
(OC-POOL-3070).

Everything here is pure integer/rational arithmetic; the model's shape is read from its GGUF
header by :mod:`poolmgr.io.gguf`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from poolmgr.core.inventory import GpuDevice


@dataclass(frozen=True)
class ModelShape:
    """What KV sizing needs to know about a model.

    ``kv_dtype_bytes`` is the size of one cached element (2.0 for f16; fractional for quantised
    caches, e.g. 1.0625 for q8_0). ``weights_bytes`` is the size of all tensors.
    """

    n_layers: int
    n_kv_heads: int
    head_dim: int
    kv_dtype_bytes: float
    train_ctx: int
    weights_bytes: int

    def __post_init__(self) -> None:
        for name in ("n_layers", "n_kv_heads", "head_dim", "train_ctx"):
            value = getattr(self, name)
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        if not math.isfinite(self.kv_dtype_bytes) or self.kv_dtype_bytes <= 0:
            raise ValueError(f"kv_dtype_bytes must be finite and > 0, got {self.kv_dtype_bytes}")
        if self.weights_bytes < 0:
            raise ValueError(f"weights_bytes must be >= 0, got {self.weights_bytes}")


def _dtype_fraction(kv_dtype_bytes: float) -> Fraction:
    # Exact rational so that ceil() never rounds a whole number of bytes up by float noise.
    return Fraction(kv_dtype_bytes).limit_denominator(1 << 20)


def _layer_token_bytes(shape: ModelShape) -> Fraction:
    """Bytes of K and V for one layer and one token."""
    return 2 * shape.n_kv_heads * shape.head_dim * _dtype_fraction(shape.kv_dtype_bytes)


def kv_bytes_per_token(shape: ModelShape) -> int:
    """KV bytes one token costs over all layers: 2 (K and V) x layers x heads x dim x dtype."""
    return math.ceil(shape.n_layers * _layer_token_bytes(shape))


def _check_ratios(ratios: Sequence[float]) -> list[Fraction]:
    if not ratios:
        raise ValueError("ratios must name at least one device")
    for ratio in ratios:
        if not math.isfinite(ratio) or ratio <= 0:
            raise ValueError(f"every ratio must be finite and > 0, got {list(ratios)}")
    return [Fraction(r) for r in ratios]


def split_layers(n_layers: int, ratios: Sequence[float]) -> tuple[int, ...]:
    """Share ``n_layers`` between devices in proportion to ``ratios`` (largest remainder).

    The result sums to ``n_layers``; ties on the remainder go to the lower position. Ratios
    need not be normalised.
    """
    if n_layers < 0:
        raise ValueError(f"n_layers must be >= 0, got {n_layers}")
    exact = _check_ratios(ratios)
    total = sum(exact)
    quotas = [n_layers * r / total for r in exact]
    shares = [math.floor(q) for q in quotas]
    left = n_layers - sum(shares)
    by_remainder = sorted(range(len(quotas)), key=lambda i: (-(quotas[i] - shares[i]), i))
    for i in by_remainder[:left]:
        shares[i] += 1
    return tuple(shares)


def kv_bytes_per_gpu(shape: ModelShape, ctx: int, ratios: Sequence[float]) -> tuple[int, ...]:
    """KV-cache bytes each device holds at ``ctx`` tokens, by its share of the layers."""
    if ctx < 0:
        raise ValueError(f"ctx must be >= 0, got {ctx}")
    per_layer = _layer_token_bytes(shape) * ctx
    return tuple(math.ceil(n * per_layer) for n in split_layers(shape.n_layers, ratios))


def weights_bytes_per_gpu(shape: ModelShape, ratios: Sequence[float]) -> tuple[int, ...]:
    """Weight bytes each device holds, by its share of the layers; sums to ``weights_bytes``.

    The rounding remainder goes to the last device that holds layers (where llama.cpp also
    places the output head).
    """
    layers = split_layers(shape.n_layers, ratios)
    shares = [shape.weights_bytes * n // shape.n_layers for n in layers]
    holders = [i for i, n in enumerate(layers) if n > 0]
    shares[holders[-1]] += shape.weights_bytes - sum(shares)
    return tuple(shares)


def max_ctx_per_device(
    shape: ModelShape,
    ratios: Sequence[float],
    devices: Sequence[GpuDevice],
    margin_bytes: int,
    *,
    slots: int,
) -> tuple[int, ...]:
    """For each device, the largest context per slot (<= training context) that fits there.

    The engine holds a KV cache for ``slots`` sequences of ``ctx`` tokens each, ``ctx x slots``
    tokens in all (OC-POOL-3070). A device fits ``ctx`` when weights share + KV share(ctx x
    slots) + ``margin_bytes`` <= free bytes; 0 means not even the weights (plus margin) fit
    there.
    """
    if slots < 1:
        raise ValueError(f"slots must be >= 1, got {slots}")
    if len(ratios) != len(devices):
        raise ValueError(f"{len(ratios)} ratios for {len(devices)} devices")
    if margin_bytes < 0:
        raise ValueError(f"margin_bytes must be >= 0, got {margin_bytes}")
    layers = split_layers(shape.n_layers, ratios)
    weights = weights_bytes_per_gpu(shape, ratios)
    per_layer_token = _layer_token_bytes(shape)
    caps: list[int] = []
    for device, n_layers, weight in zip(devices, layers, weights, strict=True):
        room = device.free_bytes - weight - margin_bytes
        if room < 0:
            caps.append(0)
        elif n_layers == 0:
            caps.append(shape.train_ctx)
        else:
            # ceil(n * b * ctx * s) <= room  <=>  n * b * ctx * s <= room (room is an integer).
            per_slot = math.floor(room / (n_layers * per_layer_token * slots))
            caps.append(min(shape.train_ctx, per_slot))
    return tuple(caps)
