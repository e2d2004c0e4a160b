"""A session and an app over it, with history and state kept in tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from noctra.session import Session
from noctra.tui.app import NoctraApp


@pytest.fixture
def session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sample_files: Path) -> Iterator[Session]:
    monkeypatch.chdir(sample_files)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    with Session() as opened:
        yield opened


@pytest.fixture
def app(session: Session, tmp_path: Path) -> NoctraApp:
    return NoctraApp(session, history_file=tmp_path / "history")
