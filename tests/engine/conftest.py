"""Fixtures of the engine tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from noctra.engine.cache import cache_dir


@pytest.fixture
def results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty $XDG_CACHE_HOME; the stored results' directory inside it. Runs in tmp_path."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.chdir(tmp_path)
    return cache_dir() / "results"
