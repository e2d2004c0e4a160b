"""CLI fuzz (issue 11): odd bytes, encodings, file names and files, full disks and signals.

Every case runs the real ``noctra`` in a subprocess and checks the same contract: no
traceback, an exit code of SPEC §1 (or 128 + a stop signal), a few stderr lines at most,
no hidden temp file left behind, and a session file that still parses.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

EXIT_CODES = {0, 1, 2, 4, 130, 128 + signal.SIGHUP, 128 + signal.SIGTERM}
# engine/export.py names its temp files ".<stem>.noctra-<pid>-<hex><suffix>"; state.py ".session-*".
TEMP_MARKERS = ("noctra-", ".session-")
FUZZ = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
CSV = b"a,b\n1,x\n2,y\n"
Arg = str | bytes


def command(*args: Arg) -> list[bytes]:
    """``python -m noctra ARGS``, as bytes: arguments need not be UTF-8."""
    return [os.fsencode(sys.executable), b"-m", b"noctra", *(os.fsencode(a) for a in args)]


@dataclass(frozen=True)
class Run:
    """One finished noctra process."""

    code: int  # as a shell reports it: a process killed by signal N exits 128 + N
    out: bytes
    err: str


@dataclass
class Sandbox:
    """A working directory and a state directory of one's own, and noctra run in them."""

    root: Path
    env: dict[str, str]
    before: set[bytes] = field(default_factory=set)

    @property
    def state_dir(self) -> Path:
        return Path(self.env["XDG_STATE_HOME"]) / "noctra"

    def write(self, name: Arg, data: bytes | None) -> bytes:
        """A file (or, for None, a directory) in root; returns its name as bytes."""
        raw = os.fsencode(name)
        path = os.path.join(os.fsencode(self.root), raw)
        if data is None:
            os.mkdir(path)
        else:
            with open(path, "wb") as handle:
                handle.write(data)
        self.before = set(os.listdir(os.fsencode(self.root)))
        return raw

    def popen(self, *args: Arg) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            command(*args),
            cwd=self.root,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )

    def run(self, *args: Arg, stdin: bytes = b"", stdout: IO[bytes] | None = None) -> Run:
        proc = subprocess.run(
            command(*args),
            cwd=self.root,
            env=self.env,
            input=stdin,
            stdout=subprocess.PIPE if stdout is None else stdout,
            stderr=subprocess.PIPE,
            timeout=60,
            check=False,
        )
        return self.check(proc.returncode, proc.stdout or b"", proc.stderr)

    def check(self, returncode: int, out: bytes, err_bytes: bytes) -> Run:
        """The contract every run keeps, whatever it was given."""
        err = err_bytes.decode("utf-8", "replace")
        code = 128 - returncode if returncode < 0 else returncode
        assert "Traceback" not in err, err
        assert code in EXIT_CODES, (code, err)
        assert len(err.splitlines()) <= 3, err
        left = [
            name
            for name in set(os.listdir(os.fsencode(self.root))) - self.before
            if name.startswith(b".") or any(m.encode() in name for m in TEMP_MARKERS)
        ]
        assert not left, f"left behind: {left}"
        if self.state_dir.is_dir():
            strays = [p.name for p in self.state_dir.iterdir() if p.name.startswith(".session-")]
            assert not strays, f"left behind in the state directory: {strays}"
        state = self.state_dir / "session.toml"
        if state.is_file():
            tomllib.loads(state.read_text(encoding="utf-8"))
        return Run(code, out, err)


@pytest.fixture
def sandbox(isolated_env: dict[str, str], tmp_path: Path) -> Sandbox:
    env = {k: v for k, v in isolated_env.items() if k != "PYTHONIOENCODING"}
    return Sandbox(tmp_path, {**env, "LC_ALL": "C.UTF-8"})


@pytest.fixture
def sandboxes(isolated_env: dict[str, str]) -> Iterator[Callable[[], Sandbox]]:
    """Fresh sandboxes for hypothesis, which runs one test function many times."""
    with tempfile.TemporaryDirectory() as top:
        count = 0

        def make() -> Sandbox:
            nonlocal count
            count += 1
            root = Path(top) / f"run{count}"
            (root / "work").mkdir(parents=True)
            env = {k: v for k, v in isolated_env.items() if k != "PYTHONIOENCODING"}
            env["XDG_STATE_HOME"] = str(root / "state")
            env["LC_ALL"] = "C.UTF-8"
            return Sandbox(root / "work", env)

        yield make


# --- random bytes ------------------------------------------------------------------------

# SQL-ish pieces, so that random scripts reach past the splitter now and then.
PIECES = [
    b"SELECT ",
    b"FROM ",
    b"USE ",
    b"EXPORT (",
    b") TO ",
    b"'x.csv'",
    b"'",
    b'"',
    b"$$",
    b"--",
    b"/*",
    b";",
    b":x",
    b"#v",
    b"::",
    b"\xff",
    b"\xed\xa0\x80",
    b"\xc3",
    b"\r\n",
    b"1",
    b"(",
    b")",
]
scripts = st.lists(st.one_of(st.sampled_from(PIECES), st.binary(max_size=8)), max_size=12).map(b"".join)


@FUZZ
@given(script=scripts.map(lambda b: b.replace(b"\x00", b"")))
def test_random_bytes_as_sql_argument(sandboxes: Callable[[], Sandbox], script: bytes) -> None:
    sandboxes().run("--format", "csv", "-c", script)


@FUZZ
@given(script=scripts | st.binary(max_size=64))
def test_random_bytes_as_script_on_stdin(sandboxes: Callable[[], Sandbox], script: bytes) -> None:
    sandboxes().run("--format", "csv", stdin=script)


EXTENSIONS = [".csv", ".tsv", ".parquet", ".json", ".ndjson", ".db", ".sqlite", ".duckdb", ".csv.gz", ""]


@FUZZ
@given(
    content=st.one_of(st.binary(max_size=200), st.sampled_from([CSV, b"", b"\x00" * 64])),
    extension=st.sampled_from(EXTENSIONS),
    as_argument=st.booleans(),
)
def test_random_bytes_as_a_file(
    sandboxes: Callable[[], Sandbox], content: bytes, extension: str, as_argument: bool
) -> None:
    box = sandboxes()
    name = box.write(f"f{extension}", content).decode()
    if as_argument:
        box.run("--format", "csv", "query", "SELECT count(*) FROM f", name)
    else:
        box.run("--format", "csv", "-c", f"SELECT count(*) FROM '{name}'")


# Any byte but NUL and "/" can be in a file name.
file_names = st.binary(min_size=1, max_size=60).filter(
    lambda b: b"\x00" not in b and b"/" not in b and b not in (b".", b"..")
)


@FUZZ
@given(name=file_names, extension=st.sampled_from([b".csv", b".json", b""]))
def test_random_file_names(sandboxes: Callable[[], Sandbox], name: bytes, extension: bytes) -> None:
    box = sandboxes()
    path = box.write(name + extension, CSV)
    box.run("--format", "csv", "query", "SELECT 1", path)


# --- a table of odd inputs ---------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """Arguments, stdin and the files to make first; the exit code when it is known."""

    args: tuple[Arg, ...]
    stdin: bytes = b""
    files: tuple[tuple[Arg, bytes | None], ...] = ()
    code: int | None = None
    says: str = ""  # in the error line


def utf16(text: str, *, big_endian: bool = False) -> bytes:
    return (b"\xfe\xff" if big_endian else b"\xff\xfe") + text.encode(
        "utf-16-be" if big_endian else "utf-16-le"
    )


ODD_NAME = 'it\'s a "quoted" name\nwith a newline.csv'
CASES: dict[str, Case] = {
    # -c SQL
    "utf-8 BOM in -c": Case(("-c", "\ufeffSELECT 1 AS x"), code=0),
    "latin-1 bytes in -c": Case(("-c", b"SELECT 'caf\xe9'"), code=2),
    "encoded surrogate in -c": Case(("-c", b"SELECT '\xed\xa0\x80'"), code=2),
    "non-UTF-8 --param value": Case(
        ("--param", b"k=\xff", "-c", "SELECT :k"), code=2, says="--param values are not UTF-8 text: byte 0xff"
    ),
    "long expression": Case(("-c", "SELECT " + "1+" * 30_000 + "1"), code=1),
    "deep parentheses": Case(("-c", "SELECT " + "(" * 5_000 + "1" + ")" * 5_000)),
    "100 kB string literal": Case(("-c", "SELECT length('" + "x" * 100_000 + "') AS n"), code=0),
    "50,000 empty statements": Case(("-c", ";" * 50_000), code=0),
    "unterminated comment": Case(("-c", "SELECT 1 /* never closed"), code=1),
    # scripts on stdin
    "UTF-16 LE script": Case((), utf16("SELECT 1;"), code=2),
    "UTF-16 BE script": Case((), utf16("SELECT 1;", big_endian=True), code=2),
    "latin-1 script": Case((), b"SELECT 'ni\xf1o';", code=2),
    "NUL in a script": Case((), b"SELECT 2 \x00+ 40 AS x;", code=1, says="column 10: a NUL character"),
    "empty script": Case((), b"", code=0),
    "CR-only lines": Case((), b"SELECT 1 AS x;\rSELECT 2 AS y;\r", code=0),
    "1 MB line": Case((), b"SELECT 1 AS x" + b" " * 1_000_000 + b";", code=0),
    # FILE arguments and their contents
    "empty CSV": Case(("query", "SELECT 1", "e.csv"), files=(("e.csv", b""),), code=1),
    "UTF-16 CSV": Case(
        ("query", "SELECT * FROM u", "u.csv"), files=(("u.csv", utf16("a,b\n1,x\n")),), code=1
    ),
    "latin-1 CSV": Case(("query", "SELECT * FROM l", "l.csv"), files=(("l.csv", b"a\ncaf\xe9\n"),), code=1),
    "NUL bytes in a CSV": Case(("query", "SELECT * FROM n", "n.csv"), files=(("n.csv", b"a,b\n1,\x00\n"),)),
    "CSV in a .parquet": Case(("query", "SELECT 1", "x.parquet"), files=(("x.parquet", CSV),), code=1),
    "text in a .db": Case(("query", "SELECT 1", "x.db"), files=(("x.db", CSV),), code=1),
    "bytes in a .duckdb": Case(
        ("query", "SELECT 1", "x.duckdb"), files=(("x.duckdb", bytes(range(256)) * 20),), code=1
    ),
    "not gzip in a .csv.gz": Case(("query", "SELECT 1", "x.csv.gz"), files=(("x.csv.gz", CSV),), code=1),
    "directory named like a CSV": Case(("query", "SELECT 1", "d.csv"), files=(("d.csv", None),), code=1),
    "empty directory": Case(("query", "SELECT 1", "d"), files=(("d", None),), code=1),
    "missing file": Case(("query", "SELECT 1", "missing.csv"), code=1),
    "quotes, spaces and a newline in the name": Case(
        ("query", "SELECT count(*) FROM it_s_a_quoted_name_with_a_newline", ODD_NAME),
        files=((ODD_NAME, CSV),),
        code=0,
    ),
    "non-UTF-8 file name": Case(
        ("query", "SELECT 1", b"caf\xe9.csv"),
        files=((b"caf\xe9.csv", CSV),),
        code=1,
        says="file name 'caf\ufffd.csv' is not UTF-8 text",
    ),
    "encoded surrogate in a file name": Case(
        ("query", "SELECT 1", b"\xed\xa0\x80.csv"),
        files=((b"\xed\xa0\x80.csv", CSV),),
        code=1,
        says="is not UTF-8 text",
    ),
    "255-byte file name": Case(
        ("query", "SELECT 1", "n" * 251 + ".csv"), files=(("n" * 251 + ".csv", CSV),), code=0
    ),
    "file name that looks like an option": Case(
        ("query", "SELECT 1", "-x.csv"), files=(("-x.csv", CSV),), code=2
    ),
    # script FILEs
    "UTF-16 script file": Case(("batch", "s.rql"), files=(("s.rql", utf16("SELECT 1;")),), code=2),
    "NUL in a script file": Case(("batch", "s.rql"), files=(("s.rql", b"SELECT 1;\x00"),), code=1),
    "directory as the script": Case(("batch", "d"), files=(("d", None),), code=2),
    "empty script file": Case(("batch", "s.rql"), files=(("s.rql", b""),), code=0),
    "non-UTF-8 script name": Case(
        ("batch", b"s\xe9.rql"), files=((b"s\xe9.rql", b"SELECT 1 AS x;"),), code=0
    ),
}


# A NUL in a sniffed column name cannot be pinned in the view: one error naming the file.
NUL_HEADER = pytest.param(
    Case(("query", "SELECT 1", "h.csv"), files=(("h.csv", b"a\x00b,c\n1,2\n"),), code=1),
    id="NUL in a CSV header",
)


@pytest.mark.parametrize("case", [*CASES.values(), NUL_HEADER], ids=[*CASES.keys(), "NUL in a CSV header"])
def test_odd_input(sandbox: Sandbox, case: Case) -> None:
    for name, data in case.files:
        sandbox.write(name, data)
    run = sandbox.run("--format", "csv", *case.args, stdin=case.stdin)
    if case.code is not None:
        assert run.code == case.code, run.err
    assert case.says in run.err.partition("\n")[0], run.err


def test_unreadable_files(sandbox: Sandbox) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads files whatever their mode")
    sandbox.write("locked.csv", CSV)
    sandbox.write("locked.rql", b"SELECT 1;")
    (sandbox.root / "locked.csv").chmod(0)
    (sandbox.root / "locked.rql").chmod(0)
    assert sandbox.run("query", "SELECT 1", "locked.csv").code == 1
    assert sandbox.run("-c", "SELECT * FROM 'locked.csv'").code == 1
    assert sandbox.run("batch", "locked.rql").code == 2


# --- the session file ----------------------------------------------------------------------


def session_file(content: bytes | None) -> Callable[[Path], None]:
    """Make the state directory hold a session file with content (None: a directory)."""

    def setup(state_dir: Path) -> None:
        state_dir.mkdir(parents=True)
        if content is None:
            (state_dir / "session.toml").mkdir()
        else:
            (state_dir / "session.toml").write_bytes(content)

    return setup


def state_dir_is_a_file(state_dir: Path) -> None:
    state_dir.parent.mkdir(parents=True)
    state_dir.write_bytes(b"x")


STATES: dict[str, tuple[Callable[[Path], None], str]] = {
    "state directory is a file": (state_dir_is_a_file, "could not save the session"),
    "session file is a directory": (session_file(None), "is a directory"),
    "session file is binary": (session_file(b"\xff\xfe\x00[["), "could not be read"),
    "session file is not TOML": (session_file(b"[[sources]\nalias = "), "could not be read"),
}


@pytest.mark.parametrize(("setup", "warning"), STATES.values(), ids=STATES.keys())
def test_odd_session_file_gives_a_warning_not_an_error(
    sandbox: Sandbox, setup: Callable[[Path], None], warning: str
) -> None:
    setup(sandbox.state_dir)
    sandbox.write("x.csv", CSV)
    run = sandbox.run("--format", "csv", "-c", "USE 'x.csv' AS x; SELECT count(*) AS n FROM x")
    assert (run.code, run.out) == (0, b"n\n2\n"), run.err
    assert warning in run.err and run.err.count("noctra: warning:") in (1, 2), run.err


# --- a full disk -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(("--format", "csv", "-c", "SELECT * FROM range(10)"), id="small csv"),
        # The COPY pipe's forwarding thread meets ENOSPC: that cause is reported, not the
        # engine's "Broken pipe" on /dev/fd/N.
        pytest.param(("--format", "csv", "-c", "SELECT * FROM range(200000)"), id="large csv"),
        pytest.param(("--format", "json", "-c", "SELECT * FROM range(200000)"), id="large json"),
        pytest.param(("--format", "table", "-c", "SELECT * FROM range(200000)"), id="large table"),
        pytest.param(("--version",), id="version"),
        pytest.param(("--help",), id="help"),
        pytest.param(("query", "--help"), id="subcommand help"),
        pytest.param(("info",), id="info"),
    ],
)
def test_a_full_disk_on_stdout_fails_with_one_line(sandbox: Sandbox, args: tuple[str, ...]) -> None:
    with open("/dev/full", "wb") as full:
        run = sandbox.run(*args, stdout=full)
    assert run.code == 1
    assert run.err.splitlines()[0].startswith("noctra: error: cannot write"), run.err
    assert "No space left on device" in run.err, run.err


def test_a_full_disk_on_stderr_still_exits_with_a_known_code(sandbox: Sandbox) -> None:
    for args in (("-c", "SELEC 1"), ("-c", "SELECT 1"), ("query", "SELECT 1", "missing.csv")):
        with open("/dev/full", "wb") as full:
            proc = subprocess.run(
                command(*args),
                cwd=sandbox.root,
                env=sandbox.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=full,
                timeout=60,
                check=False,
            )
        assert proc.returncode in (0, 1)


# --- signals -----------------------------------------------------------------------------

LONG_QUERY = "SELECT count(*) FROM range(10000000000)"
LONG_EXPORT = "EXPORT (SELECT range AS i, range * 2 AS j FROM range(10000000000)) TO 'out.csv'"
STOPS = [
    (signal.SIGINT, 130, "cancelled"),
    (signal.SIGTERM, 143, "stopped by SIGTERM"),
    (signal.SIGHUP, 129, "stopped by SIGHUP"),
]


def hidden_files(root: Path) -> list[str]:
    return [p.name for p in root.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize(("signum", "code", "says"), STOPS, ids=[s.name for s, _, _ in STOPS])
def test_a_signal_stops_a_long_query(sandbox: Sandbox, signum: int, code: int, says: str) -> None:
    process = sandbox.popen("--format", "csv", "-c", f"SELECT 1 AS ready; {LONG_QUERY}")
    assert process.stdout is not None
    assert process.stdout.readline() + process.stdout.readline() == b"ready\n1\n"
    time.sleep(0.3)  # the long query is running now
    process.send_signal(signum)
    out, err = process.communicate(timeout=30)
    run = sandbox.check(process.returncode, out, err)
    assert run.code == code, run.err
    assert run.err.startswith("noctra: error: statement 2, line 1") and says in run.err, run.err


@pytest.mark.parametrize(("signum", "code", "says"), STOPS, ids=[s.name for s, _, _ in STOPS])
def test_a_signal_during_export_leaves_no_temp_file(
    sandbox: Sandbox, signum: int, code: int, says: str
) -> None:
    sandbox.write("out.csv", b"old\n")
    process = sandbox.popen("--format", "csv", "-c", LONG_EXPORT)
    deadline = time.monotonic() + 20
    while not hidden_files(sandbox.root) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert hidden_files(sandbox.root), "the export never started writing"
    process.send_signal(signum)
    out, err = process.communicate(timeout=30)
    run = sandbox.check(process.returncode, out, err)
    assert run.code == code, run.err
    assert says in run.err, run.err
    assert (sandbox.root / "out.csv").read_bytes() == b"old\n"


def test_timeout_during_export_leaves_no_temp_file(sandbox: Sandbox) -> None:
    run = sandbox.run("--timeout", "1", "-c", LONG_EXPORT)
    assert run.code == 4, run.err
    assert not (sandbox.root / "out.csv").exists()
