"""GPU tests (OC-GPU-9510): skipped, with the reason, where NVML lists no GPU.

Every test under ``tests/gpu`` gets the mark ``gpu`` (so ``pytest -m gpu`` selects them, as
``behave --tags=@gpu`` selects the GPU scenarios) and, without a GPU, a skip whose reason is
:func:`harness.gpu.gpu_skip_reason`'s: never a silent pass. ``bench/gpu/run.sh`` runs them.
"""

from __future__ import annotations

import pytest

from harness.gpu import gpu_skip_reason


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "gpu: needs a real GPU (skipped without one)")


@pytest.hookimpl(tryfirst=True)  # before -m selects: ``-m gpu`` must see the mark
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = gpu_skip_reason()
    for item in items:
        if "tests/gpu/" not in item.nodeid.replace("\\", "/"):
            continue
        item.add_marker(pytest.mark.gpu)
        if reason is not None:
            item.add_marker(pytest.mark.skip(reason=reason))
