"""Excel workbooks, Avro files and CSVs in legacy encodings (issue 16), written by their own tools."""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import fastavro
import openpyxl
import pytest

from noctra import Session
from noctra.errors import NoctraError
from tests.conftest import HttpServer, RunMain

PEOPLE = [
    ("id", "name", "amount", "joined"),
    (1, "Zoë", 10.5, dt.date(2024, 1, 2)),
    (2, "Ωmega café", None, dt.date(2024, 2, 29)),
    (3, "Ann", -3.25, None),
]


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def book(tmp_path: Path) -> Path:
    """A workbook: an empty cover sheet, 'People', 'Sheet 2' (a name with a space) and a chart sheet."""
    workbook = openpyxl.Workbook()
    cover = workbook.active
    assert cover is not None
    cover.title = "Cover"
    people = workbook.create_sheet("People")
    for row in PEOPLE:
        people.append(list(row))
    other = workbook.create_sheet("Sheet 2")
    other.append(["code", "label"])
    other.append(["a", "Ärger"])
    other.append(["b", "Łódź"])
    workbook.create_chartsheet("Chart")
    path = tmp_path / "book.xlsx"
    workbook.save(path)
    return path


def open_session(tmp_path: Path, restore: bool = True) -> Session:
    return Session(state_path=tmp_path / "state" / "session.toml", restore=restore)


# --- Excel ----------------------------------------------------------------------------------


def test_workbook_reads_its_first_sheet_with_rows_and_every_sheet_by_name(book: Path, tmp_path: Path) -> None:
    with open_session(tmp_path) as s:
        s.execute("USE 'book.xlsx' AS b")
        rows = s.sql("SELECT id, name, amount, joined FROM b ORDER BY id").rows(10)
        assert rows == [
            (1.0, "Zoë", 10.5, dt.date(2024, 1, 2)),
            (2.0, "Ωmega café", None, dt.date(2024, 2, 29)),
            (3.0, "Ann", -3.25, None),
        ]
        assert s.sql('SELECT * FROM b."Sheet 2" ORDER BY code').rows(10) == [("a", "Ärger"), ("b", "Łódź")]
        assert s.sql("SELECT count(*) FROM b.People").rows(1) == [(3,)]
        # The empty cover and the chart sheet have no cells: they are not tables.
        assert s.sql("SHOW TABLES FROM b").rows(10) == [("People", "sheet", 4), ("Sheet 2", "sheet", 2)]
        described = s.sql("DESCRIBE b").rows(10)
        assert [(r[0], r[1]) for r in described] == [
            ("id", "DOUBLE"),
            ("name", "VARCHAR"),
            ("amount", "DOUBLE"),
            ("joined", "DATE"),
        ]
        assert [r[0] for r in s.sql('DESCRIBE b."Sheet 2"').rows(10)] == ["code", "label"]
        assert s.sql("DESCRIBE b").notes == ["book.xlsx: Excel, sheet 'People'"]
        sources = s.sql("SHOW SOURCES").rows(10)
        assert [(r[0], r[1], r[4]) for r in sources] == [("b", "Excel", "ok")]


def test_a_restored_workbook_gives_the_same_rows_and_sheets(book: Path, tmp_path: Path) -> None:
    with open_session(tmp_path) as first:
        first.execute("USE 'book.xlsx' AS b OPTIONS (sheet = 'Sheet 2')")
        before = first.sql("SELECT * FROM b").rows(10), first.sql("SHOW SOURCES").rows(10)
    with open_session(tmp_path) as later:
        assert (later.sql("SELECT * FROM b").rows(10), later.sql("SHOW SOURCES").rows(10)) == before
        assert later.sql("SELECT count(*) FROM b.People").rows(1) == [(3,)]
        assert [r[0] for r in later.sql("SHOW TABLES FROM b").rows(10)] == ["People", "Sheet 2"]


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ("sheet = 'Sheet 2'", [("a", "Ärger"), ("b", "Łódź")]),
        ("sheet = 'People', range = 'A1:B3'", [(1.0, "Zoë"), (2.0, "Ωmega café")]),
        ("sheet = 'People', range = 'B2:B4', header = false", [("Zoë",), ("Ωmega café",), ("Ann",)]),
        ("sheet = 'People', range = 'A1:C2', all_varchar = true", [("1", "Zoë", "10.5")]),
        ("format = 'excel', sheet = 'Sheet 2', range = 'A2:A3', header = false", [("a",), ("b",)]),
    ],
)
def test_excel_options(book: Path, options: str, expected: list[tuple[object, ...]]) -> None:
    with Session() as s:
        s.execute(f"USE 'book.xlsx' AS b OPTIONS ({options})")
        assert s.sql("SELECT * FROM b").rows(10) == expected


def test_a_workbook_quoted_in_from_and_the_query_command(book: Path, run_main: RunMain) -> None:
    with Session() as s:
        # The first sheet of a workbook quoted in FROM is the cover: read_xlsx names the sheet.
        assert s.sql("SELECT count(*) FROM read_xlsx('book.xlsx', sheet = 'People')").rows(1) == [(3,)]
        other = Path("other.xlsx")
        workbook = openpyxl.Workbook()
        sheet = workbook.active
        assert sheet is not None
        sheet.append(["k"])
        sheet.append([7])
        workbook.save(other)
        assert s.sql("SELECT k FROM 'other.xlsx'").rows(1) == [(7.0,)]
    run = run_main("query", "SELECT name FROM book WHERE id = 2", "book.xlsx", "--format", "csv")
    assert (run.code, run.out) == (0, "name\nΩmega café\n"), run.err


def test_a_workbook_that_changes_is_followed(tmp_path: Path) -> None:
    def save(sheets: dict[str, list[list[object]]]) -> None:
        workbook = openpyxl.Workbook()
        workbook.remove(workbook.active)
        for title, rows in sheets.items():
            sheet = workbook.create_sheet(title)
            for row in rows:
                sheet.append(row)
        workbook.save(tmp_path / "live.xlsx")

    save({"A": [["x"], [1]]})
    with Session() as s:
        s.execute("USE 'live.xlsx' AS live")
        assert s.sql("SELECT * FROM live").rows(10) == [(1.0,)]
        save({"A": [["x", "y"], [1, 2], [3, 4]], "B": [["z"], [5]]})
        assert s.sql("SELECT * FROM live ORDER BY x").rows(10) == [(1.0, 2.0), (3.0, 4.0)]
        assert s.sql("SELECT * FROM live.B").rows(10) == [(5.0,)]
        assert [r[0] for r in s.sql("SHOW TABLES FROM live").rows(10)] == ["A", "B"]


def test_a_workbook_shown_and_exported_by_the_cli_imports_neither_pandas_nor_pyarrow(
    book: Path, tmp_path: Path, isolated_env: dict[str, str]
) -> None:
    # DuckDB's Python client imports both (~0.7 s) the first time it binds a parameter.
    script = "USE 'book.xlsx' AS b; SHOW TABLES FROM b; EXPORT (SELECT * FROM b) TO 'o.xlsx'"
    code = (
        "import sys; from noctra.cli import main; code = main(['-c', " + repr(script) + "]); "
        "print(code, [m for m in ('pandas', 'pyarrow') if m in sys.modules])"
    )
    run = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=isolated_env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.stdout.splitlines()[-1] == "0 []", run.stdout + run.stderr
    assert (tmp_path / "o.xlsx").is_file()


def test_a_remote_workbook_and_avro_file_over_http(
    book: Path, tmp_path: Path, http_server: HttpServer
) -> None:
    name = f"book-{uuid.uuid4().hex[:8]}"
    shutil.copy(book, http_server.root / f"{name}.xlsx")
    write_avro(http_server.root / f"{name}.avro", AVRO_RECORDS)
    with open_session(tmp_path) as s:
        s.execute(f"USE '{http_server.url(name + '.xlsx')}' AS web")
        assert [r[0] for r in s.sql("SHOW TABLES FROM web").rows(10)] == ["People", "Sheet 2"]
        assert s.sql('SELECT count(*) FROM web."Sheet 2"').rows(1) == [(2,)]
        assert s.sql(f"SELECT count(*) FROM '{http_server.url(name + '.avro')}'").rows(1) == [(3,)]
    with open_session(tmp_path) as later:
        assert later.sql("SELECT name FROM web ORDER BY id LIMIT 1").rows(1) == [("Zoë",)]


def test_workbook_joins_a_csv_and_a_sqlite_table(book: Path, tmp_path: Path) -> None:
    (tmp_path / "cities.csv").write_text("id,city\n1,Córdoba\n2,Zürich\n3,Oslo\n", encoding="utf-8")
    conn = sqlite3.connect(tmp_path / "crm.db")
    with conn:
        conn.execute("CREATE TABLE tiers (id INTEGER, tier TEXT)")
        conn.executemany("INSERT INTO tiers VALUES (?, ?)", [(1, "gold"), (2, "silver")])
    conn.close()
    with Session() as s:
        s.execute("USE 'book.xlsx' AS b; USE 'cities.csv' AS c; USE 'crm.db' AS crm")
        rows = s.sql(
            "SELECT b.name, c.city, t.tier FROM b JOIN c ON b.id = c.id "
            "LEFT JOIN crm.tiers t ON t.id = b.id ORDER BY b.id"
        ).rows(10)
        assert rows == [("Zoë", "Córdoba", "gold"), ("Ωmega café", "Zürich", "silver"), ("Ann", "Oslo", None)]


def test_export_to_xlsx_is_read_back_by_openpyxl_and_noctra(book: Path, tmp_path: Path) -> None:
    with Session() as s:
        s.execute("USE 'book.xlsx' AS b")
        s.execute("EXPORT (SELECT CAST(id AS INTEGER) AS id, name, joined FROM b ORDER BY id) TO 'out.xlsx'")
        s.execute("EXPORT (SELECT 'x' AS k) TO 'named.xlsx' OPTIONS (sheet = 'Data')")
        assert s.sql("SELECT * FROM 'out.xlsx' ORDER BY id").rows(10) == [
            (1.0, "Zoë", dt.date(2024, 1, 2)),
            (2.0, "Ωmega café", dt.date(2024, 2, 29)),
            (3.0, "Ann", None),
        ]
    written = openpyxl.load_workbook(tmp_path / "out.xlsx")
    cells = [tuple(c.value for c in row) for row in written.active.iter_rows()]
    assert cells[0] == ("id", "name", "joined")
    assert [(c[0], c[1]) for c in cells[1:]] == [(1, "Zoë"), (2, "Ωmega café"), (3, "Ann")]
    assert openpyxl.load_workbook(tmp_path / "named.xlsx").sheetnames == ["Data"]
    with Session() as s, pytest.raises(NoctraError) as caught:
        s.execute("EXPORT (SELECT range AS i FROM range(3)) TO 'named.xlsx' OPTIONS (sheet_row_limit = 2)")
    assert "row limit" in caught.value.message and "1,048,576" in str(caught.value.hint)
    assert openpyxl.load_workbook(tmp_path / "named.xlsx").sheetnames == ["Data"]  # left as it was
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize(
    ("statement", "message", "hint"),
    [
        (
            "USE 'book.xlsx' OPTIONS (sheet = 'Q9')",
            "has no sheet 'Q9'",
            "its sheets: 'Cover', 'People', 'Sheet 2'",
        ),
        ("USE 'book.xlsx' OPTIONS (sheet = 'People', range = 'nonsense')", "Invalid range", "A1:F200"),
        ("USE 'book.xlsx' OPTIONS (sheet = 'Cover')", "has no rows", "another sheet"),
        ("USE 'book.xlsx' OPTIONS (tab = 'People')", "unknown Excel option 'tab'", "sheet"),
        ("USE 'book.xlsx' OPTIONS (header = 'yes')", "must be true or false", "header = true"),
        ("USE 'old.xls'", "Excel 97-2003 workbooks (.xls) are not supported", "save it as .xlsx"),
        ("SELECT * FROM 'old.xls'", "(.xls) are not supported", "save it as .xlsx"),
        ("USE 'broken.xlsx'", "not an .xlsx workbook (not a zip file)", "format"),
        ("USE 'locked.xlsx'", "password-protected workbook", "save it as .xlsx"),
        ("SELECT * FROM 'broken.xlsx'", "not an .xlsx file", "saved as .xlsx"),
        ("USE '*.xlsx'", "Excel workbooks are read one at a time", "UNION ALL BY NAME"),
        ("SELECT * FROM '*.xlsx'", "Excel workbooks are read one at a time", "USE each workbook"),
    ],
)
def test_excel_errors_are_one_line_with_a_fix(
    book: Path, tmp_path: Path, statement: str, message: str, hint: str
) -> None:
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500))
    (tmp_path / "locked.xlsx").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500))
    (tmp_path / "broken.xlsx").write_bytes(b"this is not a workbook\n")
    with Session() as s:
        with pytest.raises(NoctraError) as caught:
            s.execute(statement)
        assert message in caught.value.message
        assert "\n" not in caught.value.message
        assert caught.value.hint is not None and hint in caught.value.hint
        assert len(s.sources) == 0


# --- Avro ----------------------------------------------------------------------------------

AVRO_SCHEMA = {
    "type": "record",
    "name": "Person",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "name", "type": ["null", "string"]},
        {"name": "joined", "type": ["null", {"type": "int", "logicalType": "date"}]},
        {"name": "seen", "type": {"type": "long", "logicalType": "timestamp-micros"}},
        {"name": "amount", "type": ["null", "double"]},
    ],
}
AVRO_RECORDS: list[dict[str, object]] = [
    {"id": 1, "name": "Zoë", "joined": dt.date(2024, 1, 2), "amount": 10.5},
    {"id": 2, "name": None, "joined": None, "amount": None},
    {"id": 3, "name": "Ωmega café", "joined": dt.date(1999, 12, 31), "amount": -3.25},
]
for record, seen in zip(
    AVRO_RECORDS, ["2024-01-02 03:04:05", "2024-02-29 23:59:59", "2000-01-01 00:00:00"], strict=True
):
    record["seen"] = dt.datetime.fromisoformat(seen).replace(tzinfo=dt.UTC)


def write_avro(path: Path, records: list[dict[str, object]]) -> None:
    with path.open("wb") as handle:
        fastavro.writer(handle, AVRO_SCHEMA, records)


def expected_avro(records: list[dict[str, object]]) -> list[tuple[object, ...]]:
    out: list[tuple[object, ...]] = []
    for r in records:
        seen = r["seen"]
        assert isinstance(seen, dt.datetime)
        out.append((r["id"], r["name"], r["joined"], seen.replace(tzinfo=None), r["amount"]))
    return out


@pytest.mark.parametrize(
    ("setup", "relation"),
    [
        ("USE 'people.avro' AS p", "p"),
        ("", "'people.avro'"),
        ("USE 'parts/*.avro' AS p", "p"),
        ("USE 'parts' AS p", "p"),
        ("", "'parts/*.avro'"),
        ("USE 'people.avro' AS p OPTIONS (format = 'avro', hive_partitioning = false)", "p"),
    ],
)
def test_avro_files_globs_and_directories(tmp_path: Path, setup: str, relation: str) -> None:
    write_avro(tmp_path / "people.avro", AVRO_RECORDS)
    (tmp_path / "parts").mkdir()
    write_avro(tmp_path / "parts" / "a.avro", AVRO_RECORDS[:1])
    write_avro(tmp_path / "parts" / "b.avro", AVRO_RECORDS[1:])
    with open_session(tmp_path) as s:
        if setup:
            s.execute(setup)
        query = f"SELECT id, name, joined, seen, amount FROM {relation} ORDER BY id"
        assert s.sql(query).rows(10) == expected_avro(AVRO_RECORDS)
        types = [r[1] for r in s.sql(f"DESCRIBE (SELECT * FROM {relation})").rows(10)]
        assert types == ["BIGINT", "VARCHAR", "DATE", "TIMESTAMP", "DOUBLE"]
    if setup:
        with open_session(tmp_path) as later:
            assert later.sql(query).rows(10) == expected_avro(AVRO_RECORDS)
            assert [r[1] for r in later.sql("SHOW SOURCES").rows(10)] == ["Avro"]


def test_avro_filename_option_and_a_file_that_is_not_avro(tmp_path: Path) -> None:
    (tmp_path / "parts").mkdir()
    write_avro(tmp_path / "parts" / "a.avro", AVRO_RECORDS[:1])
    write_avro(tmp_path / "parts" / "b.avro", AVRO_RECORDS[1:])
    (tmp_path / "fake.avro").write_text("id,name\n1,x\n")
    with Session() as s:
        s.execute("USE 'parts/*.avro' AS p OPTIONS (filename = true)")
        rows = s.sql("SELECT id, parse_filename(filename) FROM p ORDER BY id").rows(10)
        assert rows == [(1, "a.avro"), (2, "b.avro"), (3, "b.avro")]
        with pytest.raises(NoctraError) as caught:
            s.execute("USE 'fake.avro'")
        assert "cannot read 'fake.avro' as Avro" in caught.value.message
        assert "magic" in caught.value.message
        with pytest.raises(NoctraError) as unknown:
            s.execute("USE 'parts/*.avro' OPTIONS (delimiter = ';')")
        assert unknown.value.hint is not None and "filename" in unknown.value.hint


# --- CSVs in legacy encodings ----------------------------------------------------------------

# (codec Python writes with, what the user writes in OPTIONS, text that codec can hold)
ENCODED = [
    ("latin-1", "latin-1", "Zoë, Ångström, café"),
    ("latin-1", "iso-8859-1", "Zoë, Ångström, café"),
    ("latin-1", "latin1", "Zoë, Ångström, café"),
    ("cp1252", "windows-1252", "Zoë paid 5 € – “quoted”"),
    ("cp1252", "cp1252", "Zoë paid 5 € – “quoted”"),
    ("utf-16", "utf-16", "Zoë, Ωmega café, 東京"),
    ("utf-16-le", "utf-16le", "Zoë, Ωmega café, 東京"),
    ("iso8859-15", "iso-8859-15", "Zoë paid 5 €"),
    ("cp1251", "windows-1251", "Москва, кафе"),
    ("shift_jis", "shift_jis", "東京 カフェ"),
    ("gbk", "gbk", "北京 咖啡"),
    ("big5", "big5", "臺北 咖啡"),
    ("koi8-r", "koi8-r", "Москва"),
]


@pytest.mark.parametrize(("codec", "name", "text"), ENCODED, ids=[f"{c}-as-{n}" for c, n, _ in ENCODED])
def test_legacy_encodings_read_the_right_text(tmp_path: Path, codec: str, name: str, text: str) -> None:
    data = f"id,note\n1,{text.replace(',', ';')}\n2,plain\n"
    (tmp_path / "legacy.csv").write_bytes(data.encode(codec))
    with Session() as s:
        s.execute(f"USE 'legacy.csv' AS t OPTIONS (encoding = '{name}')")
        assert s.sql("SELECT id, note FROM t ORDER BY id").rows(10) == [
            (1, text.replace(",", ";")),
            (2, "plain"),
        ]


def test_a_latin1_csv_reads_the_same_text_in_a_later_process(tmp_path: Path, run_main: RunMain) -> None:
    (tmp_path / "old.csv").write_bytes("id,name\n1,Zoë\n2,Ångström\n".encode("latin-1"))
    script = "USE 'old.csv' AS o OPTIONS (encoding = 'latin-1'); SELECT name FROM o ORDER BY id"
    first = run_main("-c", script, "--format", "csv")
    assert (first.code, first.out) == (0, "name\nZoë\nÅngström\n"), first.err
    for _ in range(3):  # restored, then read from the persistent copy
        again = run_main("-c", "SELECT name FROM o ORDER BY id", "--format", "csv")
        assert (again.code, again.out) == (0, "name\nZoë\nÅngström\n"), again.err


def test_a_windows_1252_csv_served_from_its_cached_copy_needs_no_extension(
    tmp_path: Path, run_main: RunMain, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOCTRA_CACHE_MIN_SIZE", "0")
    monkeypatch.setenv("NOCTRA_CACHE_RESULTS", "false")  # the copy, not a stored result, serves it
    (tmp_path / "old.csv").write_bytes("id,note\n1,5 € “ok”\n2,Zoë\n".encode("cp1252"))
    assert run_main("-c", "USE 'old.csv' AS o OPTIONS (encoding = 'windows-1252')").code == 0
    loaded = "SELECT count(*) AS n FROM duckdb_extensions() WHERE loaded AND extension_name = 'encodings'"
    runs = [
        run_main("-c", f"SELECT note FROM o ORDER BY id; {loaded}", "--format", "csv", "--stats")
        for _ in range(3)
    ]
    for run in runs:
        assert run.code == 0, run.err
        assert run.out.startswith("note\n5 € “ok”\nZoë\n"), run.out
    # Read twice, the file has a Parquet copy: the third process reads it, without the extension.
    assert '"cache_hits": 1' in runs[2].err
    assert runs[2].out.endswith("n\n0\n"), runs[2].out
    assert runs[0].out.endswith("n\n1\n"), runs[0].out


@pytest.mark.parametrize(
    ("content", "options", "message", "hint"),
    [
        ("id,name\n1,Zoë\n".encode("latin-1"), "", "not utf-8 encoded", "encoding = 'latin-1'"),
        ("id,name\n1,5 €\n".encode("cp1252"), "", "not utf-8 encoded", "encoding = 'windows-1252'"),
        ("id,name\n1,Zoë\n".encode("utf-16"), "", "not utf-8 encoded", "encoding = 'utf-16'"),
        ("id,name\n1,5 €\n".encode("cp1252"), "OPTIONS (encoding = 'latin-1')", "not latin-1",
         "encoding = 'windows-1252'"),
        (b"\xfe\xff" + "id,name\n1,Zoë\n".encode("utf-16-be"), "OPTIONS (encoding = 'utf-16')", "big-endian",
         "iconv"),
        (b"id\n1\n", "OPTIONS (encoding = 'utf-16be')", "not big-endian", "iconv"),
        (b"id\n1\n", "OPTIONS (encoding = 'lattin1')", "unknown encoding 'lattin1'", "did you mean latin1"),
    ],
)  # fmt: skip
def test_encoding_errors_name_the_encoding_to_use(
    tmp_path: Path, content: bytes, options: str, message: str, hint: str
) -> None:
    (tmp_path / "odd.csv").write_bytes(content)
    with Session() as s:
        with pytest.raises(NoctraError) as caught:
            s.execute(f"USE 'odd.csv' {options}")
        assert message in caught.value.message
        assert "\n" not in caught.value.message
        assert caught.value.hint is not None and hint in caught.value.hint
        if not options:
            # Quoted in FROM, the same advice.
            with pytest.raises(NoctraError) as quoted:
                s.execute("SELECT * FROM 'odd.csv'")
            assert quoted.value.hint is not None and hint in quoted.value.hint


def test_restored_sources_load_their_extension_only_when_used(book: Path, tmp_path: Path) -> None:
    write_avro(tmp_path / "people.avro", AVRO_RECORDS)
    (tmp_path / "old.csv").write_bytes("id,note\n1,5 € “ok”\n".encode("cp1252"))
    with open_session(tmp_path) as first:
        first.execute(
            "USE 'book.xlsx' AS b; USE 'people.avro' AS p; USE 'old.csv' AS o OPTIONS (encoding = 'cp1252')"
        )
    with open_session(tmp_path) as later:

        def loaded() -> set[str]:
            rows = later.sql("SELECT extension_name FROM duckdb_extensions() WHERE loaded").rows(100)
            return {str(r[0]) for r in rows} & {"excel", "avro", "encodings"}

        assert [r[4] for r in later.sql("SHOW SOURCES").rows(10)] == ["ok", "ok", "ok"]
        assert loaded() == set()
        assert later.sql("SELECT note FROM o").rows(1) == [("5 € “ok”",)]
        assert loaded() == {"encodings"}
        assert [c.name for c in later.catalog().columns("p")] == ["id", "name", "joined", "seen", "amount"]
        assert loaded() == {"encodings", "avro"}
        assert [r[0] for r in later.sql("SHOW TABLES FROM b").rows(10)] == ["People", "Sheet 2"]
        assert later.sql("SELECT count(*) FROM b").rows(1) == [(3,)]


def test_extensions_load_only_when_a_source_of_their_kind_is_used(book: Path, tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("a\n1\n")
    with Session() as s:

        def loaded() -> set[str]:
            rows = s.sql("SELECT extension_name FROM duckdb_extensions() WHERE loaded").rows(100)
            return {str(r[0]) for r in rows} & {"excel", "avro", "encodings"}

        s.execute("USE 't.csv'; SELECT * FROM t")
        assert loaded() == set()
        s.execute("USE 'book.xlsx'")
        assert loaded() == {"excel"}
