"""EXPORT: round trips per format, options, atomic single files, directory outputs."""

from __future__ import annotations

import gzip
import json
import os
import threading
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from noctra import Session
from noctra.errors import CancelledQueryError, ExportError, OptionError
from noctra.results import Message

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
        session.execute("EXPORT (SELECT 1) TO 'x.xlsx'")
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
