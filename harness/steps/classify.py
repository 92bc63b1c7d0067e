"""Steps of engine output classification: which lines of a running engine are fatal, and what
an engine's exit is put down to, from its exit status and the last lines it wrote.

Serves OC-POOL-3027..3029, and the output side of OC-POOL-3010 and OC-POOL-3012 (decision
level). The lines are real engine output (llama.cpp's llama-server, vLLM, TGI, PyTorch, the
NVIDIA driver), written in the features. The decisions are :mod:`poolmgr.runtime.classify`'s;
the steps only carry the lines and the exit status to it, as
:class:`poolmgr.runtime.watch.ExitWatch` does (a signal is reported as a negative return code
plus the signal, as :mod:`subprocess` reports it); a pool's engine gets the very event the
supervisor would send, built by :mod:`poolmgr.runtime.verdicts`.

Registered in the step table with :func:`harness.registry.step` (OC-BDD-7006); every Then-step
asserts (OC-BDD-7003).
"""

from __future__ import annotations

from collections import deque

from harness.assertions import assert_equal
from harness.registry import step
from harness.world import PoolWorld
from poolmgr.runtime.classify import classify_exit, scan_line
from poolmgr.runtime.output import new_tail
from poolmgr.runtime.verdicts import exit_event, fault_event

_KINDS = {"GPU": True, "CPU": False}

_HARMLESS = "harmless"
"""How a feature names a line that is not fatal on its own."""


def _gpu_pool(kind: str) -> bool:
    assert kind in _KINDS, f"a pool is a GPU or a CPU pool, not {kind!r}"
    return _KINDS[kind]


def _lines(docstring: str) -> list[str]:
    return docstring.split("\n") if docstring else []


@step("when", "the engine of a {kind} pool writes: {line}")
def engine_writes(world: PoolWorld, kind: str, line: str) -> None:
    world.output.line_cause = scan_line(line, gpu_pool=_gpu_pool(kind))


@step("then", 'the manager reads the line as "{verdict}"')
def then_line_verdict(world: PoolWorld, verdict: str) -> None:
    cause = world.output.line_cause
    assert_equal(_HARMLESS if cause is None else str(cause), verdict, "verdict on the line")


@step("given", "the engine of a {kind} pool wrote")
def engine_wrote(world: PoolWorld, kind: str, docstring: str) -> None:
    world.output.gpu_pool = _gpu_pool(kind)
    world.output.tail = _lines(docstring)


@step("given", "the engine of a {kind} pool wrote nothing")
def engine_wrote_nothing(world: PoolWorld, kind: str) -> None:
    world.output.gpu_pool = _gpu_pool(kind)
    world.output.tail = []


@step("given", "the engine of a {kind} pool wrote the line: {line}")
def engine_wrote_line(world: PoolWorld, kind: str, line: str) -> None:
    world.output.gpu_pool = _gpu_pool(kind)
    world.output.tail = [line]


@step("given", "after it, the line: {line}")
def engine_wrote_then(world: PoolWorld, line: str) -> None:
    world.output.tail.append(line)


@step("given", "the engine of a {kind} pool wrote a CUDA error line of {n:d} characters")
def engine_wrote_long(world: PoolWorld, kind: str, n: int) -> None:
    head = "CUDA error: an illegal memory access was encountered; "
    assert n > len(head), f"setup: a line of {n} characters cannot hold the error"
    world.output.gpu_pool = _gpu_pool(kind)
    world.output.tail = [head + "x" * (n - len(head))]


def _classify(world: PoolWorld, returncode: int | None) -> None:
    """As the supervisor reports an exit: its process's return code (negative: a signal)."""
    out = world.output
    exited = exit_event(returncode, deque(out.tail), gpu_pool=out.gpu_pool)
    out.exit_cause, out.exit_message = exited.cause, exited.message


def _classify_as(world: PoolWorld, exit_code: int | None, signal_number: int | None) -> None:
    """The classifier alone, for statuses that come apart (a return code, a signal number)."""
    out = world.output
    out.exit_cause, out.exit_message = classify_exit(
        exit_code, signal_number, out.tail, gpu_pool=out.gpu_pool
    )


@step("when", "the engine exits with code {code:d}")
def engine_exits_code(world: PoolWorld, code: int) -> None:
    _classify(world, code)


@step("when", "the engine is killed by signal {sig:d}")
def engine_killed(world: PoolWorld, sig: int) -> None:
    _classify(world, -sig)


@step("when", "the engine ends with the return code {code:d} and no signal reported")
def engine_return_code_only(world: PoolWorld, code: int) -> None:
    _classify_as(world, code, None)


@step("when", "the engine ends by signal {sig:d} and no return code is reported")
def engine_signal_only(world: PoolWorld, sig: int) -> None:
    _classify_as(world, None, sig)


@step("when", "the engine ends with an unknown status")
def engine_unknown(world: PoolWorld) -> None:
    _classify(world, None)


@step("then", 'the exit is put down to "{cause}"')
def then_exit_cause(world: PoolWorld, cause: str) -> None:
    got = world.output.exit_cause
    assert got is not None, "no exit was classified"
    assert_equal(str(got), cause, f"cause of the exit ({world.output.exit_message})")


@step("then", 'the exit is explained as "{message}"')
def then_exit_message_inline(world: PoolWorld, message: str) -> None:
    assert_equal(world.output.exit_message, message, "message of the exit")


@step("then", "the exit is explained as")
def then_exit_message(world: PoolWorld, docstring: str) -> None:
    assert_equal(world.output.exit_message, " | ".join(_lines(docstring)), "message of the exit")


@step("then", "the exit message shows that line in full")
def then_line_in_full(world: PoolWorld) -> None:
    tail = world.output.tail
    assert len(tail) == 1, f"setup: one line expected, got {len(tail)}"
    assert world.output.exit_message.endswith(" | " + tail[0]), world.output.exit_message


@step("then", "the exit message shows that line cut to its first {n:d} characters and an ellipsis")
def then_line_cut(world: PoolWorld, n: int) -> None:
    tail = world.output.tail
    assert len(tail) == 1, f"setup: one line expected, got {len(tail)}"
    shown = world.output.exit_message.rsplit(" | ", 1)[-1]
    assert_equal(shown, tail[0][:n] + "...", "line shown in the message")


# --- a pool's engine: the supervisor hands what the classifier found to the pool ------------


@step("when", 'the engine of "{pool}" writes: {line}')
def pool_engine_writes(world: PoolWorld, pool: str, line: str) -> None:
    tail = world.pools.tails.setdefault(pool, new_tail())
    tail.append(line)
    fault = fault_event(line, tail, gpu_pool=not world.pools.specs[pool].cpu)
    if fault is not None:
        world.dispatch(pool, fault)


@step("when", 'the engine of "{pool}" exits with code {code:d} after writing')
def pool_engine_exits(world: PoolWorld, pool: str, code: int, docstring: str) -> None:
    tail = deque(_lines(docstring))
    world.dispatch(pool, exit_event(code, tail, gpu_pool=not world.pools.specs[pool].cpu))
