"""Steps of the model file: a GGUF header the scenario describes, damaged or not, and its shape.

The scenario describes the file (its keys in a table, its tensor sizes, how it is damaged);
the file is written into the scenario's private folder when it is read, so the GGUF reader
runs over real bytes (OC-POOL-3024). The shape read becomes the model the placement steps
plan with, so the training context from the file caps the context (OC-POOL-3023).

Registered in the step table with :func:`harness.registry.step` (OC-BDD-7006); every Then-step
asserts (OC-BDD-7003).
"""

from __future__ import annotations

import re

from harness.assertions import assert_equal, assert_refused
from harness.registry import step
from harness.steps.fields import ints, rows
from harness.world import KeyValue, ModelFileDraft, PoolWorld
from poolmgr.core.errors import ModelFileError
from poolmgr.core.kvcap import kv_bytes_per_token

_INTEGER = re.compile(r"-?\d+")
_LIST = re.compile(r"-?\d+(,-?\d+)+")


def _value(text: str) -> KeyValue:
    """A header value as the feature writes it: 32, 8,8,4,8 (one per layer), true, or text."""
    if _INTEGER.fullmatch(text):
        return int(text)
    if _LIST.fullmatch(text):
        return list(ints(text))
    if text in ("true", "false"):
        return text == "true"
    return text


def _draft(world: PoolWorld) -> ModelFileDraft:
    draft = world.placement.model_file
    assert draft is not None, "setup: describe the model file first"
    return draft


@step("given", "a GGUF model file with the keys:")
def given_model_file(world: PoolWorld, datatable: list[list[str]]) -> None:
    keys: dict[str, KeyValue] = {row["key"]: _value(row["value"]) for row in rows(datatable)}
    world.placement.model_file = ModelFileDraft(keys=keys)


@step("given", 'the model file holds tensors of "{sizes}" bytes')
def given_tensors(world: PoolWorld, sizes: str) -> None:
    _draft(world).tensor_bytes = list(ints(sizes))


@step("given", "the model file holds no tensors")
def given_no_tensors(world: PoolWorld) -> None:
    _draft(world).tensor_bytes = []


@step("given", 'the model file lacks the key "{key}"')
def given_key_missing(world: PoolWorld, key: str) -> None:
    keys = _draft(world).keys
    assert key in keys, f"setup: the file has no key {key!r} to leave out"
    del keys[key]


@step("given", 'the model file sets "{key}" to "{value}"')
def given_key_value(world: PoolWorld, key: str, value: str) -> None:
    _draft(world).keys[key] = _value(value)


@step("given", 'the model file sets "{key}" to an empty text')
def given_key_empty(world: PoolWorld, key: str) -> None:
    _draft(world).keys[key] = ""


@step("given", 'the model file sets "{key}" to bytes that are not UTF-8 text')
def given_key_not_utf8(world: PoolWorld, key: str) -> None:
    _draft(world).keys[key] = b"\xff\xfe"


@step("given", "the model file is cut short after its first {n:d} bytes")
def given_truncated(world: PoolWorld, n: int) -> None:
    _draft(world).keep_bytes = n


@step("given", 'the model file starts with "{magic}" instead of the GGUF magic')
def given_bad_magic(world: PoolWorld, magic: str) -> None:
    _draft(world).magic = magic.encode("ascii")


@step("given", "the model file declares GGUF format version {version:d}")
def given_version(world: PoolWorld, version: int) -> None:
    _draft(world).version = version


@step("given", "the model file does not exist")
def given_no_file(world: PoolWorld) -> None:
    _draft(world).exists = False


@step("when", "the model file is read")
def read_model_file(world: PoolWorld) -> None:
    # Imported here: the GGUF writer and reader pull in numpy, which other scenarios never need.
    from harness.gguf_files import break_model_file, write_model_header
    from poolmgr.io.gguf import read_gguf_shape

    draft = _draft(world)
    draft.path = world.gate.tmp / "model.gguf"
    if draft.exists:
        write_model_header(draft.path, draft.keys, draft.tensor_bytes)
        break_model_file(
            draft.path, keep_bytes=draft.keep_bytes, magic=draft.magic, version=draft.version
        )
    world.error = None
    world.placement.shape = None
    try:
        world.placement.shape = read_gguf_shape(draft.path)
    except ModelFileError as exc:
        world.error = exc


_SHAPE_COLUMNS = (
    "layers",
    "KV heads",
    "head dimension",
    "training context",
    "weight bytes",
    "KV bytes per token",
)


@step("then", "the model file reads as:")
def then_shape(world: PoolWorld, datatable: list[list[str]]) -> None:
    table = rows(datatable)
    assert len(table) == 1, f"setup: one row of expected values, got {len(table)}"
    shape = world.placement.shape
    assert shape is not None, f"the model file was refused: {world.error!r}"
    got = {
        "layers": shape.n_layers,
        "KV heads": shape.n_kv_heads,
        "head dimension": shape.head_dim,
        "training context": shape.train_ctx,
        "weight bytes": shape.weights_bytes,
        "KV bytes per token": kv_bytes_per_token(shape),
    }
    for column in _SHAPE_COLUMNS:
        assert_equal(got[column], int(table[0][column]), column)


@step("then", 'the model file is refused as invalid, naming the file and the problem "{problem}"')
def then_refused(world: PoolWorld, problem: str) -> None:
    error = assert_refused(world, "MODEL_FILE_INVALID")
    assert isinstance(error, ModelFileError), f"not a model file error: {error!r}"
    draft = _draft(world)
    assert_equal(error.path, str(draft.path), "file named")
    assert str(error).startswith(f"{draft.path}: "), f"message does not name the file: {error}"
    assert problem in error.problem, f"problem {error.problem!r} does not say {problem!r}"
    assert world.placement.shape is None, "a shape was read from a refused file"
