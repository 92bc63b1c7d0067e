"""The models of the GPU check (``bench/gpu/run.sh``, OC-GPU-9509): written with ``gguf``.

Decides which GGUF files the GPU scenarios and tests load, and writes them with the product's
own writer (:func:`poolmgr.io.gguf_write.write_tiny_llama_gguf`, llama.cpp's ``gguf`` package
underneath), so nothing is downloaded:

- ``tiny.gguf``: the tiny model of ``poolmgr make-tiny-model`` (about 0.4 MB, 2 layers);
- ``rand-<size>.gguf``: random-weight llama models of the same architecture, wide (1024) and
  as deep as the size asks, trained for 131072 tokens so that the context sizes of the memory
  tests are never capped by the training context. The full run writes them in the hundreds of
  MiB to GiB (weights to load onto the GPU, KV cache of ~200 KiB per token at the largest);
  ``--small`` writes a few MiB each (the ``--check`` form).

``manifest.json`` beside the files lists each model with the shape the manager reads back
(:func:`poolmgr.io.gguf.read_gguf_shape`): weights bytes, layers, KV bytes per token, training
context. The GPU steps and tests find the models through it (``POOLMGR_GPU_MODELS``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from poolmgr.core.kvcap import kv_bytes_per_token
from poolmgr.io.gguf import read_gguf_shape
from poolmgr.io.gguf_write import write_tiny_llama_gguf

__all__ = ["MODELS_FULL", "MODELS_SMALL", "main", "write_models"]

HEADS = 8
TRAIN_CTX = 131072

#: name -> (width, layers). Float32 weights of one layer of width w: q, k, v, o (4 w^2) and the
#: 2w-wide FFN (3 x 2 w^2), 40 w^2 bytes: 40 MiB at w = 1024, so 12 layers are about 0.5 GiB
#: and 51 about 2 GiB; the KV cache costs 2 x layers x w x 2 bytes (f16) per token.
MODELS_FULL = {"rand-512m": (1024, 12), "rand-2g": (1024, 51)}
MODELS_SMALL = {"rand-512m": (256, 2), "rand-2g": (256, 4)}


def write_models(out: Path, sizes: dict[str, tuple[int, int]]) -> dict[str, object]:
    """Write ``tiny.gguf`` and one random model per entry of ``sizes``; return the manifest."""
    out.mkdir(parents=True, exist_ok=True)
    models: dict[str, dict[str, object]] = {}
    started = time.monotonic()
    write_tiny_llama_gguf(out / "tiny.gguf")
    for seed, (name, (width, layers)) in enumerate(sorted(sizes.items()), start=1):
        write_tiny_llama_gguf(
            out / f"{name}.gguf",
            n_layers=layers,
            dim=width,
            n_heads=HEADS,
            n_kv_heads=HEADS,
            ctx=TRAIN_CTX,
            seed=seed,
        )
    for path in sorted(out.glob("*.gguf")):
        shape = read_gguf_shape(path)
        models[path.stem] = {
            "path": str(path.resolve()),
            "file_bytes": path.stat().st_size,
            "weights_bytes": shape.weights_bytes,
            "n_layers": shape.n_layers,
            "kv_bytes_per_token": kv_bytes_per_token(shape),
            "train_ctx": shape.train_ctx,
        }
    manifest: dict[str, object] = {
        "models": models,
        "seconds": round(time.monotonic() - started, 3),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder to write the models and manifest.json")
    parser.add_argument("--small", action="store_true", help="a few MiB each (the --check form)")
    args = parser.parse_args(argv)
    try:
        manifest = write_models(args.out, MODELS_SMALL if args.small else MODELS_FULL)
    except (OSError, ValueError) as exc:
        print(f"models: cannot write the models into {args.out}: {exc}", file=sys.stderr)
        return 1
    models = manifest["models"]
    assert isinstance(models, dict)
    for name, entry in sorted(models.items()):
        weights, layers = entry["weights_bytes"], entry["n_layers"]
        print(f"models: {name}: {weights} bytes of weights, {layers} layers")
    print(f"models: written in {manifest['seconds']} s into {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
