"""The engine flags poolmgr owns: the one table of them, and the refusal of ``engine_args`` that
set one (OC-CFG-5009).

The manager puts the model, the listen address, the slots, the context, the devices, the GPU
layers and the split on every engine's command line from the pool's own fields, and sizes its
memory check and lease table from those fields. An ``engine_args`` entry that sets one of them
again would make the config say one thing and the engine do another (``-np 4`` with
``slots: 2`` runs four slots while two leases are granted), so config validation refuses it,
naming the entry and the field to use instead. ``--flag=value`` forms are refused like the
flag itself. The table is per engine because the engines spell the same fact differently.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from poolmgr.core.problems import FieldPath, Problems
from poolmgr.core.vocab import Engine

__all__ = ["OWNED_FLAGS", "OwnedFlag", "check_engine_args", "owned_flag"]


@dataclass(frozen=True)
class OwnedFlag:
    """Flags that set one fact poolmgr owns, and what the operator writes instead."""

    flags: tuple[str, ...]
    source: str
    """Where poolmgr takes the value from, in words naming the config field(s)."""
    instead: str
    """What to write in the config instead (a field, or what to do)."""


_MODEL = ("model", "use model")
_HOST = ("the address the manager probes", "remove it")
_PORT = ("port", "use port (0 picks a free one)")
_SLOTS = ("slots", "use slots")
_CTX = ("ctx", "use ctx")
_DEVICES = ("devices and cpu", "use devices (or cpu: true)")
_SPLIT = ("tensor_split", "use tensor_split")


def _owned(owner: tuple[str, str], *flags: str) -> OwnedFlag:
    return OwnedFlag(flags, *owner)


_LLAMACPP_PLACEMENT = (
    _owned(_DEVICES, "-dev", "--device", "-ngl", "--gpu-layers", "--n-gpu-layers"),
    _owned(_DEVICES, "-mg", "--main-gpu", "-fit", "--fit"),
    _owned(_SPLIT, "-ts", "--tensor-split", "-sm", "--split-mode"),
)

OWNED_FLAGS: Mapping[Engine, tuple[OwnedFlag, ...]] = {
    Engine.LLAMACPP: (
        _owned(_MODEL, "-m", "--model", "-mu", "--model-url", "-hf", "-hfr", "--hf-repo"),
        _owned(_HOST, "--host"),
        _owned(_PORT, "--port"),
        _owned(_SLOTS, "-np", "--parallel"),
        _owned(_CTX, "-c", "--ctx-size"),
        *_LLAMACPP_PLACEMENT,
    ),
    Engine.VLLM: (
        _owned(_MODEL, "--model"),
        _owned(_HOST, "--host"),
        _owned(_PORT, "--port"),
        _owned(_SLOTS, "--max-num-seqs"),
        _owned(_CTX, "--max-model-len"),
        _owned(_DEVICES, "-tp", "--tensor-parallel-size", "-pp", "--pipeline-parallel-size"),
        _owned(_DEVICES, "-dp", "--data-parallel-size", "--device"),
    ),
    Engine.TGI: (
        _owned(_MODEL, "--model-id"),
        _owned(_HOST, "--hostname"),
        _owned(_PORT, "-p", "--port"),
        _owned(_SLOTS, "--max-concurrent-requests"),
        _owned(_CTX, "--max-total-tokens"),
        _owned(_DEVICES, "--num-shard", "--sharded", "--cuda-visible-devices"),
    ),
    # The stub engine takes llama-server's placement flags from the plan, plus its own.
    Engine.STUB: (
        _owned(_MODEL, "--model"),
        _owned(_HOST, "--host"),
        _owned(_PORT, "--port"),
        _owned(_SLOTS, "--slots"),
        _owned(_CTX, "--ctx"),
        *_LLAMACPP_PLACEMENT,
        _owned(
            ("stub", "use the stub fault knobs"),
            "--preload-delay-ms",
            "--fail-preload",
            "--crash-after-ms",
            "--cuda-error-after-ms",
            "--hang-after-ms",
            "--cpu-fallback",
            "--silent-cpu-fallback",
            "--claim-gpus",
        ),
    ),
    # The in-process test engine takes no command line: engine_args are not used.
    Engine.TEST_INPROC: (),
}
"""For each engine, the flags poolmgr sets itself and the pool field each comes from."""


def owned_flag(engine: Engine, arg: str) -> tuple[str, OwnedFlag] | None:
    """The owned flag ``arg`` sets (``-c`` and ``-c=1``/``--ctx-size=1`` alike), or ``None``."""
    flag = arg.split("=", 1)[0] if arg.startswith("-") else None
    if not flag:
        return None
    for owner in OWNED_FLAGS[engine]:
        if flag in owner.flags:
            return flag, owner
    return None


def check_engine_args(
    here: FieldPath, engine: Engine, engine_args: Sequence[str], problems: Problems
) -> None:
    """A problem for each entry of a pool's ``engine_args`` that sets a flag poolmgr owns."""
    for i, arg in enumerate(engine_args):
        found = owned_flag(engine, arg)
        if found is None:
            continue
        flag, owner = found
        problems.add(
            (*here, "engine_args", i),
            f'"{flag}" is set by poolmgr from {owner.source}; {owner.instead}',
        )
