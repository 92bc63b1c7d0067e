"""Fixtures of the control-plane tests: a live manager and a fake-controller server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.helpers import (
    LIVE_CONFIG,
    READY_POOLS,
    AppServer,
    FakeController,
    LiveManager,
    fake_app,
)


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveManager]:
    """One manager with many stub pools; each test uses its own pool for what it changes."""
    manager = LiveManager(LIVE_CONFIG, tmp_path_factory.mktemp("live")).start()
    try:
        manager.wait_ready(*READY_POOLS, "rollback")
        yield manager
    finally:
        manager.stop()


@pytest.fixture
def fake_server() -> Iterator[tuple[AppServer, FakeController]]:
    app, _, ctl, _ = fake_app()
    with AppServer(app) as server:
        yield server, ctl
