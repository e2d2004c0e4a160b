"""Processes sharing one session file: each save merges its own changes into what is on disk."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from noctra import state
from noctra.engine.sources import Source, SourceKind
from noctra.state import SavedState
from noctra.variables import Variable

PROCESSES = 8

# Each child waits here until all have loaded, so that every save races every other one.
BARRIER = """
import pathlib, sys, time
def barrier(directory: str, n: int, count: int) -> None:
    (pathlib.Path(directory) / f"ready-{n}").touch()
    deadline = time.monotonic() + 60
    while len(list(pathlib.Path(directory).glob("ready-*"))) < count:
        if time.monotonic() > deadline:
            sys.exit("barrier: the other processes never came")
        time.sleep(0.005)
"""


def source(alias: str, path: str = "x.csv") -> Source:
    return Source(alias=alias, path=path, location=f"/data/{path}", kind=SourceKind.CSV, read_pattern=path)


def variable(name: str, value: str) -> Variable:
    return Variable(name, "VARCHAR", value, f"'{value}'")


def text_of(
    sources: list[Source], variables: list[Variable] | None = None, current: str | None = None
) -> str:
    return state.snapshot(sources, variables or [], current)


def aliases(saved: SavedState) -> list[str]:
    return [s.alias for s in saved.sources]


def run_in_parallel(code: str, tmp_path: Path, count: int = PROCESSES) -> None:
    """Start count `python -c code N BARRIER_DIR COUNT` at once; each must exit 0 and print nothing."""
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    script = BARRIER + textwrap.dedent(code)
    children = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(n), str(barrier), str(count)],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(count)
    ]
    for child in children:
        out, err = child.communicate(timeout=120)
        assert (child.returncode, out, err) == (0, "", "")


def test_merge_keeps_what_other_processes_added() -> None:
    disk = SavedState(sources=[source("theirs")], variables=[variable("t", "1")], current="theirs")
    base = SavedState()
    mine = SavedState(sources=[source("mine")], variables=[variable("m", "2")], current="mine")
    merged = state.merge(disk, base, mine)
    assert aliases(merged) == ["theirs", "mine"]
    assert [v.name for v in merged.variables] == ["t", "m"]
    assert merged.current == "mine"


def test_merge_applies_changes_and_removals_by_alias_ignoring_case() -> None:
    disk = SavedState(sources=[source("Sales", "old.csv"), source("gone"), source("other")])
    base = SavedState(sources=[source("sales", "old.csv"), source("GONE")])
    mine = SavedState(sources=[source("SALES", "new.csv")])
    merged = state.merge(disk, base, mine)
    assert [(s.alias, s.path) for s in merged.sources] == [("SALES", "new.csv"), ("other", "x.csv")]


def test_merge_leaves_what_this_process_did_not_touch() -> None:
    # Another process re-registered `a` and changed `v` after this one loaded them.
    disk = SavedState(sources=[source("a", "theirs.csv")], variables=[variable("V", "theirs")], current="a")
    base = SavedState(sources=[source("a", "first.csv")], variables=[variable("v", "first")], current="a")
    mine = SavedState(sources=[source("a", "first.csv")], variables=[variable("v", "first")], current="a")
    assert state.merge(disk, base, mine) == disk


def test_merge_of_variables_and_current() -> None:
    disk = SavedState(
        sources=[source("a"), source("b")], variables=[variable("x", "1"), variable("y", "1")], current="b"
    )
    base = SavedState(sources=[source("a"), source("b")], variables=[variable("x", "1")], current="a")
    mine = SavedState(sources=[source("a")], variables=[variable("X", "2")], current="a")
    merged = state.merge(disk, base, mine)
    # b was removed here: the current source another process chose goes with it.
    assert (aliases(merged), merged.current) == (["a"], None)
    assert merged.variables == [variable("X", "2"), variable("y", "1")]
    moved = state.merge(disk, base, SavedState(sources=base.sources, variables=base.variables, current=None))
    assert moved.current is None  # this process cleared its current source: that is a change too


def test_save_merged_adds_to_the_file_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "session.toml"
    first = text_of([source("a")], current="a")
    assert state.save_merged(path, None, first) == first == path.read_text()
    second = text_of([source("b")], [variable("v", "1")], current="b")
    written = state.save_merged(path, None, second)
    assert written == path.read_text()
    saved = state.parse(written)
    assert (aliases(saved), saved.current, [v.name for v in saved.variables]) == (["a", "b"], "b", ["v"])
    # Removing b here (its base had it) leaves a, which another process saved.
    state.save_merged(path, second, text_of([], [variable("v", "1")], current=None))
    assert aliases(state.parse(path.read_text())) == ["a"]


def test_save_merged_sets_a_corrupt_file_aside(tmp_path: Path) -> None:
    path = tmp_path / "session.toml"
    path.write_text("version = 1\n[[sources]\nbroken")
    mine = text_of([source("a")])
    assert state.save_merged(path, None, mine) == mine == path.read_text()
    (aside,) = tmp_path.glob("session.toml.corrupt-*")
    assert aside.read_text() == "version = 1\n[[sources]\nbroken"


def test_save_merged_in_a_directory_that_cannot_be_made_raises_oserror(tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("a file where the state directory should be")
    with pytest.raises(OSError):
        state.save_merged(tmp_path / "blocker" / "noctra" / "session.toml", None, text_of([source("a")]))


def test_a_busy_lock_times_out_and_saves_anyway(tmp_path: Path) -> None:
    path = tmp_path / "session.toml"
    state.save_merged(path, None, text_of([source("theirs")]))
    holder = os.open(tmp_path / "session.toml.lock", os.O_RDONLY)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        with pytest.raises(state.StateLockError) as caught:
            state.save_merged(path, None, text_of([source("mine")]), timeout=0.2)
    finally:
        os.close(holder)
    assert isinstance(caught.value, OSError)  # Session.save_state turns it into one warning
    assert caught.value.strerror == "session.toml.lock was busy for 0.2 s; saved without the lock"
    assert caught.value.written == path.read_text()
    assert aliases(state.parse(path.read_text())) == ["theirs", "mine"]


def test_processes_saving_at_once_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "state" / "session.toml"
    run_in_parallel(
        f"""
        from pathlib import Path
        from noctra import state
        from noctra.engine.sources import Source, SourceKind
        from noctra.variables import Variable
        n = int(sys.argv[1])
        mine = state.snapshot(
            [Source(alias=f"a{{n}}", path=f"f{{n}}.csv", location=f"/d/f{{n}}.csv", kind=SourceKind.CSV)],
            [Variable(f"v{{n}}", "INTEGER", str(n), str(n))],
            f"a{{n}}",
        )
        barrier(sys.argv[2], n, int(sys.argv[3]))
        state.save_merged(Path({str(path)!r}), None, mine)
        """,
        tmp_path,
    )
    saved = state.parse(path.read_text())
    assert sorted(aliases(saved)) == sorted(f"a{n}" for n in range(PROCESSES))
    assert sorted(v.name for v in saved.variables) == sorted(f"v{n}" for n in range(PROCESSES))
    assert saved.current in aliases(saved)
    assert sorted(p.name for p in path.parent.iterdir()) == ["session.toml", "session.toml.lock"]


def test_noctra_processes_started_at_once_keep_every_source(tmp_path: Path) -> None:
    path = tmp_path / "state" / "session.toml"
    for n in range(PROCESSES):
        (tmp_path / f"f{n}.csv").write_text(f"x\n{n}\n")
    run_in_parallel(
        f"""
        from noctra.session import Session
        n = int(sys.argv[1])
        with Session(state_path={str(path)!r}) as session:
            barrier(sys.argv[2], n, int(sys.argv[3]))
            session.execute(f"USE 'f{{n}}.csv' AS a{{n}}")
            print(*session.warnings, sep="\\n", end="")
        """,
        tmp_path,
    )
    saved = state.load(path)
    assert saved is not None
    assert sorted(aliases(saved)) == sorted(f"a{n}" for n in range(PROCESSES))


def test_saves_after_another_process_wrote_keep_merging(tmp_path: Path) -> None:
    """Once another process wrote, each later save of this one merges: nothing of either is lost."""
    path = tmp_path / "state" / "session.toml"
    code = (
        "import sys; from noctra.session import Session\n"
        f"with Session(state_path={str(path)!r}) as s:\n"
        "    s.execute(sys.argv[1])\n"
        "    print(*s.warnings, sep='\\n', end='')\n"
    )

    def other(statement: str) -> None:
        done = subprocess.run(
            [sys.executable, "-c", code, statement], capture_output=True, text=True, check=False
        )
        assert (done.returncode, done.stdout, done.stderr) == (0, "", "")

    from noctra.session import Session

    with Session(state_path=path) as mine:
        mine.execute("LET m0 = 0")
        for i in range(1, 4):
            other(f"LET o{i} = {i}")
            mine.execute(f"LET m{i} = {i}; LET m{i}b = {i}")
        mine.execute("LET o1 = 'mine now'; UNSET m0")
        other("UNSET o2")
        mine.execute("LET m9 = 9")
        assert mine.warnings == []
    saved = state.parse(path.read_text())
    values = {v.name: v.text for v in saved.variables}
    assert values == {
        "m1": "1", "m1b": "1", "o1": "mine now", "m2": "2", "m2b": "2",
        "o3": "3", "m3": "3", "m3b": "3", "m9": "9",
    }  # fmt: skip


def test_a_burst_of_saves_is_fsynced_once_a_second(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every save is atomic; only the disk flush is spaced out (it cost as much as a query)."""
    path = tmp_path / "session.toml"
    synced: list[int] = []
    clock = [1000.0]
    monkeypatch.setattr(state.os, "fsync", synced.append)
    monkeypatch.setattr(state.time, "monotonic", lambda: clock[0])
    for n in range(5):
        state.save(path, f"version = 1\n# {n}\n")
        assert path.read_text() == f"version = 1\n# {n}\n"
        clock[0] += 0.1
    assert len(synced) == 1  # the first
    clock[0] += 1.0
    state.save(path, "version = 1\n# later\n")
    assert len(synced) == 2  # a change made a while after the last flush is flushed at once
    assert sorted(p.name for p in tmp_path.iterdir()) == ["session.toml"]
