"""EXPORT: round trips per format, options, atomic single files, directory outputs."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from noctra import Session
from noctra.cli import main
from noctra.errors import CancelledQueryError, ExportError, OptionError
from noctra.output.model import Message
from tests.conftest import RunNoctra

SOURCE = (
    "SELECT range AS id, 'name ' || range AS name, range * 1.5 AS amount, "
    "DATE '2024-01-01' + CAST(range % 30 AS INTEGER) AS day, "
    "CASE WHEN range % 7 = 0 THEN NULL ELSE 'x,\"y\"' END AS note FROM range(5000)"
)
HASH = "SELECT count(*), sum(hash(id, name, amount, day, note)) FROM ({q})"


@pytest.fixture
def session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Session:
    monkeypatch.chdir(tmp_path)
    return Session()


def fingerprint(session: Session, query: str) -> list[tuple[object, ...]]:
    return session.sql(HASH.format(q=query)).rows(1)


@pytest.mark.parametrize("target", ["out.parquet", "out.csv", "out.json", "out.ndjson", "out.csv.gz"])
def test_round_trip(session: Session, target: str) -> None:
    [message] = session.execute(f"EXPORT ({SOURCE}) TO '{target}'")
    assert isinstance(message, Message)
    assert message.text.startswith(f"exported 5,000 rows to {target} (")
    session.execute(f"USE '{target}' AS back")
    expected = fingerprint(session, SOURCE)
    got = fingerprint(
        session,
        "SELECT CAST(id AS BIGINT) AS id, name, CAST(amount AS DECIMAL(18,1)) AS amount, "
        "CAST(day AS DATE) AS day, note FROM back",
    )
    assert got == expected


def test_export_alias_and_alias_table(session: Session, tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("a,b\n1,x\n2,y\n")
    session.execute("USE 't.csv'; USE 'db.sqlite' AS db OPTIONS (create = true)")
    session.execute("CREATE TABLE db.items AS SELECT * FROM t")
    session.execute("EXPORT t TO 'a.parquet'; EXPORT db.items TO 'b.csv'")
    assert pq.read_table(tmp_path / "a.parquet").num_rows == 2
    assert (tmp_path / "b.csv").read_text() == "a,b\n1,x\n2,y\n"
    with pytest.raises(Exception, match="is a database: EXPORT one of its tables"):
        session.execute("EXPORT db TO 'c.csv'")


def test_parquet_defaults_and_options(session: Session, tmp_path: Path) -> None:
    session.execute(f"EXPORT ({SOURCE}) TO 'z.parquet'")
    meta = pq.ParquetFile(tmp_path / "z.parquet").metadata
    assert meta.row_group(0).column(0).compression == "ZSTD"
    session.execute(
        f"EXPORT ({SOURCE}) TO 's.parquet' OPTIONS (compression = 'snappy', row_group_size = 1000)"
    )
    meta = pq.ParquetFile(tmp_path / "s.parquet").metadata
    assert meta.row_group(0).column(0).compression == "SNAPPY"
    assert meta.num_row_groups >= 2


def test_csv_options(session: Session, tmp_path: Path) -> None:
    session.execute(
        "EXPORT (SELECT 1 AS a, 'p;q' AS b) TO 'o.csv' "
        "OPTIONS (delimiter = ';', header = false, quote = '''')"
    )
    assert (tmp_path / "o.csv").read_text() == "1;'p;q'\n"
    session.execute("EXPORT (SELECT 1 AS a) TO 'o.txt' FORMAT CSV OPTIONS (compression = 'gzip')")
    assert gzip.decompress((tmp_path / "o.txt").read_bytes()) == b"a\n1\n"
    session.execute("EXPORT (SELECT 1 AS a, 'x' AS b) TO 'o.tsv'")
    assert (tmp_path / "o.tsv").read_text() == "a\tb\n1\tx\n"


def test_json_lines_by_default_and_array_on_request(session: Session, tmp_path: Path) -> None:
    session.execute("EXPORT (SELECT * FROM range(3) t(n) ORDER BY n) TO 'l.json'")
    lines = (tmp_path / "l.json").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [{"n": 0}, {"n": 1}, {"n": 2}]
    session.execute("EXPORT (SELECT * FROM range(3) t(n) ORDER BY n) TO 'a.json' OPTIONS (array = true)")
    assert json.loads((tmp_path / "a.json").read_text()) == [{"n": 0}, {"n": 1}, {"n": 2}]


def test_order_by_is_honoured(session: Session, tmp_path: Path) -> None:
    session.execute("EXPORT (SELECT range AS n FROM range(200000) ORDER BY n DESC) TO 'o.csv'")
    lines = (tmp_path / "o.csv").read_text().splitlines()
    assert lines[1:4] == ["199999", "199998", "199997"]
    assert session.sql("SELECT current_setting('preserve_insertion_order')").rows(1) == [(True,)]


def test_directory_outputs_and_read_back(session: Session, tmp_path: Path) -> None:
    session.execute(f"EXPORT ({SOURCE}) TO 'parts' OPTIONS (partition_by = (day))")
    assert len(list((tmp_path / "parts").glob("day=*"))) == 30
    with pytest.raises(ExportError, match="is not empty"):
        session.execute(f"EXPORT ({SOURCE}) TO 'parts' OPTIONS (partition_by = (day))")
    session.execute(f"EXPORT ({SOURCE}) TO 'parts' OPTIONS (partition_by = (day), overwrite = true)")
    session.execute(f"EXPORT ({SOURCE}) TO 'threads' OPTIONS (per_thread_output = true)")
    session.execute("USE 'parts' AS p; USE 'threads' AS th")
    assert session.sql("SELECT count(*), count(DISTINCT day) FROM p").rows(1) == [(5000, 30)]
    assert session.sql("SELECT count(*) FROM th").rows(1) == [(5000,)]


def test_bad_exports(session: Session, tmp_path: Path) -> None:
    with pytest.raises(OptionError, match="cannot tell the export format") as info:
        session.execute("EXPORT (SELECT 1) TO 'x.ods'")
    assert info.value.hint is not None and "FORMAT PARQUET" in info.value.hint
    with pytest.raises(OptionError, match="unknown PARQUET export option 'delimiter'"):
        session.execute("EXPORT (SELECT 1) TO 'x.parquet' OPTIONS (delimiter = ';')")
    with pytest.raises(OptionError, match="compression"):
        session.execute("EXPORT (SELECT 1) TO 'x.parquet' OPTIONS (compression = 'best')")
    with pytest.raises(ExportError, match="does not exist"):
        session.execute("EXPORT (SELECT 1) TO 'nowhere/x.csv'")
    (tmp_path / "adir.csv").mkdir()
    with pytest.raises(ExportError, match="is a directory"):
        session.execute("EXPORT (SELECT 1) TO 'adir.csv'")
    with pytest.raises(ExportError, match="export failed"):
        session.execute("EXPORT (SELECT 1/0::INT AS boom, error('no') ) TO 'x.csv'")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir.csv"]


def test_failed_export_keeps_the_previous_file(session: Session, tmp_path: Path) -> None:
    (tmp_path / "keep.csv").write_text("old\n")
    with pytest.raises(ExportError):
        session.execute("EXPORT (SELECT error('boom') FROM range(10)) TO 'keep.csv'")
    assert (tmp_path / "keep.csv").read_text() == "old\n"
    assert os.listdir(tmp_path) == ["keep.csv"]


def test_interrupted_export_keeps_the_previous_file_and_leaves_no_temp(
    session: Session, tmp_path: Path
) -> None:
    (tmp_path / "big.parquet").write_bytes(b"previous contents")
    timer = threading.Timer(0.5, session.cancel)
    timer.start()
    with pytest.raises(CancelledQueryError):
        session.execute(
            "EXPORT (SELECT range AS a, md5(range::VARCHAR) AS b FROM range(2000000000)) TO 'big.parquet'"
        )
    timer.cancel()
    assert (tmp_path / "big.parquet").read_bytes() == b"previous contents"
    assert os.listdir(tmp_path) == ["big.parquet"]
    assert session.sql("SELECT 1").rows(1) == [(1,)]


def test_overwrite_refuses_a_directory_with_files_it_did_not_write(session: Session, tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    (scratch / "important").mkdir(parents=True)
    (scratch / "report.docx").write_bytes(b"a report")
    (scratch / "important" / "notes.txt").write_text("notes\n")
    with pytest.raises(ExportError, match="'important/' was not written by a PARQUET export") as info:
        session.execute(f"EXPORT ({SOURCE}) TO 'scratch' OPTIONS (partition_by = (day), overwrite = true)")
    assert info.value.hint == "choose an empty or new directory"
    assert (scratch / "report.docx").read_bytes() == b"a report"
    assert (scratch / "important" / "notes.txt").read_text() == "notes\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scratch"]


def test_not_empty_hint_offers_overwrite_only_for_earlier_export_output(
    session: Session, tmp_path: Path
) -> None:
    (tmp_path / "mixed").mkdir()
    (tmp_path / "mixed" / "report.docx").write_bytes(b"a report")
    with pytest.raises(ExportError, match=r"'report\.docx' was not written by a PARQUET export") as info:
        session.execute(f"EXPORT ({SOURCE}) TO 'mixed' OPTIONS (partition_by = (day))")
    assert info.value.hint == "choose an empty or new directory"
    session.execute(f"EXPORT ({SOURCE}) TO 'parts' OPTIONS (per_thread_output = true)")
    with pytest.raises(ExportError, match="is not empty") as info:
        session.execute(f"EXPORT ({SOURCE}) TO 'parts' OPTIONS (per_thread_output = true)")
    assert info.value.hint is not None and "overwrite = true" in info.value.hint


def test_overwrite_refuses_output_of_another_format(session: Session, tmp_path: Path) -> None:
    session.execute(f"EXPORT ({SOURCE}) TO 'parts' FORMAT CSV OPTIONS (partition_by = (day))")
    before = sorted(p.relative_to(tmp_path) for p in (tmp_path / "parts").rglob("*"))
    with pytest.raises(ExportError, match=r"'day=2024-01-01/data_0\.csv' was not written by a PARQUET"):
        session.execute(f"EXPORT ({SOURCE}) TO 'parts' OPTIONS (partition_by = (day), overwrite = true)")
    assert sorted(p.relative_to(tmp_path) for p in (tmp_path / "parts").rglob("*")) == before


def test_overwrite_replaces_earlier_export_output(session: Session, tmp_path: Path) -> None:
    session.execute(f"EXPORT ({SOURCE}) TO 'parts' OPTIONS (partition_by = (day))")
    session.execute(
        "EXPORT (SELECT range AS id, 'a' || (range % 2) AS half FROM range(10)) TO 'parts' "
        "OPTIONS (partition_by = (half), overwrite = true)"
    )
    assert sorted(p.name for p in (tmp_path / "parts").iterdir()) == ["half=a0", "half=a1"]
    session.execute(f"EXPORT ({SOURCE}) TO 'parts' OPTIONS (per_thread_output = true, overwrite = true)")
    session.execute("USE 'parts' AS p")
    assert session.sql("SELECT count(*) FROM p").rows(1) == [(5000,)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["parts"]


def test_failed_overwrite_keeps_the_earlier_directory(session: Session, tmp_path: Path) -> None:
    session.execute(f"EXPORT ({SOURCE}) TO 'parts' OPTIONS (partition_by = (day))")
    before = {p: p.read_bytes() for p in (tmp_path / "parts").rglob("*.parquet")}
    with pytest.raises(ExportError, match="export failed"):
        session.execute(
            "EXPORT (SELECT range AS day, error('boom') AS x FROM range(10)) TO 'parts' "
            "OPTIONS (partition_by = (day), overwrite = true)"
        )
    assert {p: p.read_bytes() for p in (tmp_path / "parts").rglob("*.parquet")} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["parts"]


def test_interrupted_directory_export_leaves_nothing(session: Session, tmp_path: Path) -> None:
    timer = threading.Timer(0.5, session.cancel)
    timer.start()
    with pytest.raises(CancelledQueryError):
        session.execute(
            "EXPORT (SELECT range % 3 AS p, md5(range::VARCHAR) AS b FROM range(2000000000)) TO 'parts' "
            "OPTIONS (partition_by = (p))"
        )
    timer.cancel()
    assert os.listdir(tmp_path) == []


def test_single_file_export_replaces_a_file_of_another_format_only_on_success(
    session: Session, tmp_path: Path
) -> None:
    (tmp_path / "notes.txt").write_text("my notes\n")
    with pytest.raises(ExportError, match="export failed"):
        session.execute("EXPORT (SELECT error('boom') AS x FROM range(10)) TO 'notes.txt' FORMAT CSV")
    assert (tmp_path / "notes.txt").read_text() == "my notes\n"
    assert os.listdir(tmp_path) == ["notes.txt"]
    session.execute("EXPORT (SELECT 1 AS a) TO 'notes.txt' FORMAT CSV")
    assert (tmp_path / "notes.txt").read_text() == "a\n1\n"


def test_directory_export_fills_an_existing_empty_directory_in_place(
    session: Session, tmp_path: Path
) -> None:
    (tmp_path / "empty").mkdir()
    inode = (tmp_path / "empty").stat().st_ino
    session.execute(f"EXPORT ({SOURCE}) TO 'empty' OPTIONS (partition_by = (day))")
    assert (tmp_path / "empty").stat().st_ino == inode
    assert len(list((tmp_path / "empty").glob("day=*/data_0.parquet"))) == 30
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"]


@pytest.mark.parametrize(
    ("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)], ids=["SIGTERM", "SIGHUP"]
)
def test_terminated_export_leaves_no_temp_file(
    tmp_path: Path, isolated_env: dict[str, str], signum: signal.Signals, code: int
) -> None:
    query = "SELECT range AS a, md5(range::VARCHAR) AS b FROM range(200000000)"
    proc = subprocess.Popen(
        [sys.executable, "-m", "noctra", "-c", f"EXPORT ({query}) TO 'big.parquet'"],
        cwd=tmp_path,
        env=isolated_env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 5
        while not list(tmp_path.glob(".big.noctra-*")):
            assert proc.poll() is None and time.monotonic() < deadline, "no temp file appeared"
            time.sleep(0.02)
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == code, err
    assert out == ""
    assert [line for line in err.splitlines() if line.startswith("noctra: error:")] == [err.splitlines()[0]]
    assert "Traceback" not in err and signum.name in err
    assert os.listdir(tmp_path) == []


def test_the_run_restores_the_stop_signal_handlers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_env: dict[str, str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", isolated_env["XDG_CONFIG_HOME"])
    monkeypatch.setenv("XDG_STATE_HOME", isolated_env["XDG_STATE_HOME"])
    before = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGHUP)}
    assert main(["-c", "EXPORT (SELECT 1 AS a) TO 'one.csv'"]) == 0
    assert {signum: signal.getsignal(signum) for signum in before} == before


@pytest.mark.parametrize(
    ("expression", "shown"),
    [
        ("12345678901234567890123::HUGEINT", "12345678901234567890123"),
        ("-99999999999999999999999999999999999999::HUGEINT", "-99999999999999999999999999999999999999"),
        ("9007199254740993::UHUGEINT", "9007199254740993"),  # 2^53 + 1: a DOUBLE rounds it
        ("(SELECT sum(x) FROM range(9007199254740993, 9007199254740994) t(x))", "9007199254740993"),
    ],
)
def test_parquet_export_keeps_128_bit_integers_exact(
    tmp_path: Path, run_noctra: RunNoctra, expression: str, shown: str
) -> None:
    # Parquet has no 128-bit integer: DuckDB wrote one as a DOUBLE, rounding past 2^53.
    run = run_noctra("query", "--fresh", f"EXPORT (SELECT {expression} AS h) TO 'h.parquet'", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    back = run_noctra("query", "--fresh", "--format", "csv", "SELECT h FROM 'h.parquet'", cwd=tmp_path)
    assert back.stdout == f"h\n{shown}\n", back.stderr


def test_parquet_export_of_a_128_bit_integer_past_38_digits_names_the_fix(
    tmp_path: Path, run_noctra: RunNoctra
) -> None:
    (tmp_path / "h.parquet").write_bytes(b"earlier")
    run = run_noctra(
        "query",
        "--fresh",
        "EXPORT (SELECT 340282366920938463463374607431768211455::UHUGEINT AS u) TO 'h.parquet'",
        cwd=tmp_path,
    )
    assert run.returncode == 1
    assert "hint: Parquet has no 128-bit integer" in run.stderr and "AS VARCHAR" in run.stderr, run.stderr
    assert (tmp_path / "h.parquet").read_bytes() == b"earlier"  # nothing lost
