"""Fixtures for the integration tests: log folders, measurements, and no leftover engines.

The helpers that drive a real supervisor live in the test module itself (test modules in
folders without ``__init__.py`` cannot safely import a ``conftest``); this file only holds
fixtures and the terminal-summary hook that prints the latencies the tests measured.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

ENGINE_MARKERS = ("poolmgr.runtime.stub_engine", "llama-server")
"""Command-line fragments that identify an engine process."""

_MEASUREMENTS: list[str] = []


@pytest.fixture
def report() -> Callable[[str], None]:
    """``report(line)`` keeps one measurement line for the terminal summary."""
    return _MEASUREMENTS.append


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _MEASUREMENTS:
        terminalreporter.section("supervisor measurements")
        for line in _MEASUREMENTS:
            terminalreporter.write_line(line)


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    path = tmp_path / "logs"
    path.mkdir()
    return path


def _engine_children(since: float = 0.0) -> list[psutil.Process]:
    """Engine processes below this test process that were started at or after ``since``.

    Engines of session-scoped fixtures from other test folders (tests/api keeps one manager
    for the whole session) started earlier and are not this test's to answer for.
    """
    out = []
    for proc in psutil.Process(os.getpid()).children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if proc.create_time() < since:
                continue
            if proc.status() != psutil.STATUS_ZOMBIE and any(
                marker in " ".join(proc.cmdline()) for marker in ENGINE_MARKERS
            ):
                out.append(proc)
    return out


async def _survivors(procs: list[psutil.Process], timeout_s: float) -> list[psutil.Process]:
    deadline = time.monotonic() + timeout_s
    while True:
        alive = []
        for proc in procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                    alive.append(proc)
        if not alive or time.monotonic() > deadline:
            return alive
        await asyncio.sleep(0.005)


@pytest.fixture
def no_engine_left_behind() -> Iterator[None]:
    """After the test, no engine process started during the test may remain."""
    # create_time has a resolution of 1/CLK_TCK (10 ms); allow for it.
    started = time.time() - 0.02
    yield
    alive = asyncio.run(_survivors(_engine_children(started), 5.0))
    for proc in alive:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    assert not alive, f"engine processes left behind: {[p.pid for p in alive]}"
