"""Fixtures for the specgate tests: a throw-away project directory as the working directory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

Write = Callable[[str, str], Path]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project directory that is also the current directory (no parse cache)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SPECGATE_CACHE_DIR", "")
    return tmp_path


@pytest.fixture
def write(project: Path) -> Write:
    """``write("spec/a.md", text)`` creates a file (and its folders) in the project."""

    def _write(relative: str, text: str) -> Path:
        path = project / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    return _write
