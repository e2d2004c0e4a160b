"""Red team, round 7: messy real-world files and databases through every road.

Each test is a real file or database pushed through the CLI (a separate process) or the
Session API. A test marked xfail(strict=True) is a bug not fixed yet (the mark comes off with
the fix); the others pin roads that work and were not covered.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import duckdb
import pytest

import noctra
from tests.conftest import RunNoctra


def _error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("noctra: error: ")]


def _sqlite(path: Path, script: str) -> Path:
    with sqlite3.connect(path) as conn:
        conn.executescript(script)
    conn.close()
    return path


def _csv(proc: object) -> str:
    assert proc.returncode == 0, proc.stderr  # type: ignore[attr-defined]
    return proc.stdout  # type: ignore[attr-defined, no-any-return]


# --- auto routing: a string that looks like a file name sends a SQLite statement to DuckDB ------
#
# planner._names_a_file takes any string literal ending in a data-file extension, holding
# "://" or "*" for a file DuckDB must read, so a statement on one SQLite database that merely
# compares text with 'report.csv' runs in DuckDB with DuckDB's semantics: LIKE turns
# case-sensitive, 7 / 2 is 3.5, and an INSERT writes 4 where SQLite writes 3. The same
# statement with 'report.pdf' runs in SQLite. RQL_EXTENSIONS.md: "a statement that touches
# exactly one SQLite source and no files runs natively in SQLite".


@pytest.fixture
def files_db(tmp_path: Path) -> Path:
    return _sqlite(
        tmp_path / "files.db",
        "CREATE TABLE files (name TEXT, size INTEGER);"
        "INSERT INTO files VALUES ('REPORT.CSV', 10), ('a.csv', 5), ('NOTES.PDF', 7), ('b.pdf', 3);",
    )


FILE_LIKE_LITERALS = ["'report.csv'", "'https://example.org/x'", "'*'", "'data.parquet'"]


@pytest.mark.parametrize("literal", FILE_LIKE_LITERALS)
def test_file_like_string_in_a_sqlite_statement_keeps_sqlite_semantics(
    literal: str, files_db: Path, run_noctra: RunNoctra
) -> None:
    sql = f"USE 'files.db' AS f; SELECT 7 / 2 AS d, {literal} AS s FROM f.files LIMIT 1"
    auto = _csv(run_noctra("query", "--fresh", "--format", "csv", sql, cwd=files_db.parent))
    native = _csv(
        run_noctra("query", "--fresh", "--engine", "sqlite", "--format", "csv", sql, cwd=files_db.parent)
    )
    assert auto == native


def test_like_on_file_names_counts_as_sqlite_does(files_db: Path, run_noctra: RunNoctra) -> None:
    counts = {}
    for pattern in ("%.csv", "%.pdf"):
        sql = f"USE 'files.db' AS f; SELECT count(*) AS n FROM f.files WHERE name LIKE '{pattern}'"
        counts[pattern] = _csv(run_noctra("query", "--fresh", "--format", "csv", sql, cwd=files_db.parent))
    # Two of each, as SQLite's (case-insensitive) LIKE finds them.
    assert counts == {"%.csv": "n\n2\n", "%.pdf": "n\n2\n"}


def test_insert_with_a_file_like_string_writes_what_sqlite_writes(
    files_db: Path, run_noctra: RunNoctra
) -> None:
    sql = (
        "USE 'files.db' AS f;"
        "INSERT INTO f.files VALUES ('c.csv', 7 / 2); INSERT INTO f.files VALUES ('c.txt2', 7 / 2)"
    )
    proc = run_noctra("query", "--fresh", sql, cwd=files_db.parent)
    assert proc.returncode == 0, proc.stderr
    with sqlite3.connect(files_db) as conn:
        stored = dict(conn.execute("SELECT name, size FROM files WHERE name LIKE 'c.%'").fetchall())
    conn.close()
    assert stored["c.csv"] == stored["c.txt2"]


def test_file_like_parameter_keeps_sqlite_semantics(files_db: Path, run_noctra: RunNoctra) -> None:
    """The same value bound as :name (not a literal) runs in SQLite: the road the literal should take."""
    sql = "USE 'files.db' AS f; SELECT count(*) AS n FROM f.files WHERE name LIKE :p"
    proc = run_noctra("query", "--fresh", "--format", "csv", "--param", "p=%.csv", sql, cwd=files_db.parent)
    assert _csv(proc) == "n\n2\n"


# --- a WAL database written by another process: the DuckDB road keeps reading the old rows -------
#
# A long-running session (REPL, TUI, Python API) with a WAL-mode SQLite database that an app
# keeps writing: after the app's UPDATE commits, a statement SQLite runs natively sees it, but
# any statement DuckDB runs on the database (a join with a CSV, SET engine = duckdb) keeps
# returning the old value, even after the writer closes. A rollback-journal database is read
# fresh. SPEC 4.3: "results are never stale".


@pytest.mark.parametrize(
    "journal",
    [
        "wal",  # read fresh: DuckDB attaches it read-only, and never beside Noctra's own connection
        "delete",  # a rollback-journal database is read fresh: the road that works
    ],
)
def test_wal_database_written_by_another_process_is_read_fresh(journal: str, tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    (tmp_path / "k.csv").write_text("id\n5\n", encoding="utf-8")
    writer = sqlite3.connect(db, isolation_level=None)
    try:
        writer.execute(f"PRAGMA journal_mode = {journal}")
        writer.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v INT)")
        writer.executemany("INSERT INTO t VALUES (?, ?)", [(i, i) for i in range(100)])
        with noctra.Session(state_path=tmp_path / "s.toml") as s:
            s.execute(f"USE '{db}' AS m")
            join = f"SELECT t.v FROM m.t JOIN '{tmp_path / 'k.csv'}' k USING (id)"
            assert s.sql(join).rows(1) == [(5,)]
            writer.execute("UPDATE t SET v = 1005 WHERE id = 5")
            native = s.sql("SELECT v FROM m.t WHERE id = 5").rows(1)
            joined = s.sql(join + " -- again").rows(1)
    finally:
        writer.close()
    assert (native, joined) == ([(1005,)], [(1005,)])


# --- EXPORT of a SQLite query with no rows: every column becomes INTEGER -------------------------
#
# SQLite's rows reach COPY as Arrow batches typed from the values; with no rows every column is
# Arrow `null`, which DuckDB writes to Parquet as INTEGER. The same query with rows writes
# BIGINT / VARCHAR / DOUBLE, and DESCRIBE (query) says VARCHAR: a nightly export of "today's
# rows" changes schema on an empty day, and a folder of such files no longer reads as one.


@pytest.fixture
def events_db(tmp_path: Path) -> Path:
    return _sqlite(
        tmp_path / "ev.db",
        "CREATE TABLE t (id INTEGER, note TEXT, amt REAL);"
        "INSERT INTO t VALUES (1, 'hello', 1.5), (2, 'bye', 2.5);",
    )


def _parquet_types(path: Path) -> list[tuple[str, str]]:
    with duckdb.connect() as con:
        rows = con.execute(
            "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(?))", [str(path)]
        )
        return [(str(a), str(b)) for a, b in rows.fetchall()]


def test_empty_sqlite_export_keeps_the_column_types(events_db: Path, run_noctra: RunNoctra) -> None:
    sql = (
        "USE 'ev.db' AS e;"
        "EXPORT (SELECT * FROM e.t WHERE id > 0) TO 'some.parquet';"
        "EXPORT (SELECT * FROM e.t WHERE id > 100) TO 'none.parquet'"
    )
    proc = run_noctra("query", "--fresh", sql, cwd=events_db.parent)
    assert proc.returncode == 0, proc.stderr
    assert _parquet_types(events_db.parent / "none.parquet") == _parquet_types(
        events_db.parent / "some.parquet"
    )


def test_empty_duckdb_export_of_a_sqlite_table_keeps_declared_types(
    events_db: Path, run_noctra: RunNoctra
) -> None:
    """The DuckDB road already keeps them: what the native road should match."""
    sql = "USE 'ev.db' AS e; EXPORT (SELECT * FROM e.t WHERE id > 100) TO 'none.parquet'"
    proc = run_noctra("query", "--fresh", "--engine", "duckdb", sql, cwd=events_db.parent)
    assert proc.returncode == 0, proc.stderr
    assert _parquet_types(events_db.parent / "none.parquet") == [
        ("id", "BIGINT"),
        ("note", "VARCHAR"),
        ("amt", "DOUBLE"),
    ]


# --- LET of an empty list (or a NULL inside a list/struct) is lost at the next start -----------
#
# DuckDB types [] as "NULL"[] and {'b': NULL} as STRUCT(b "NULL"); the session file keeps that
# type, and variables.problem_with refuses it at restore ("is not an SQL type"), so the variable
# is dropped: the CLI warns, the Python API says nothing, and #name is then unknown.
# Fixed: is_type_name takes DuckDB's "NULL" type at any depth (tests/test_r7_variables.py).

EMPTYISH = ["[]", "[NULL]", "{'a': 1, 'b': NULL}"]


@pytest.mark.parametrize("expr", EMPTYISH)
def test_let_with_a_null_typed_part_survives_a_restart(
    expr: str, tmp_path: Path, run_noctra: RunNoctra
) -> None:
    first = run_noctra("query", "--format", "csv", f"LET v = {expr}; SELECT #v AS v", cwd=tmp_path)
    second = run_noctra("query", "--format", "csv", "SELECT #v AS v", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0 and "warning" not in second.stderr, second.stderr
    assert second.stdout == first.stdout


def test_api_let_empty_list_survives_a_new_session(tmp_path: Path) -> None:
    state = tmp_path / "session.toml"
    with noctra.Session(state_path=state) as s:
        s.execute("LET tags = []")
    with noctra.Session(state_path=state) as s:
        assert s.sql("SELECT #tags AS t").arrow().to_pylist() == [{"t": []}]


NESTED_LETS = [
    ("['a,b', 'c''d', 'x]y', NULL, 'NULL', '']", "len(#v) = 6 AND (#v)[4] IS NULL AND (#v)[5] = 'NULL'"),
    ("{'a': 'x, y', 'b': '}{', 'd': 'NULL'}", "(#v).a = 'x, y' AND (#v).b = '}{' AND (#v).d = 'NULL'"),
    ("MAP {'k,1': 'v:2', 'k''3': 'w'}", "(#v)['k''3'] = 'w' AND (#v)['k,1'] = 'v:2'"),
    ("[{'k': [' sp ', '\"q\"']}]", "(#v)[1].k[1] = ' sp ' AND (#v)[1].k[2] = '\"q\"'"),
]


@pytest.mark.parametrize(("expr", "check"), NESTED_LETS)
def test_let_nested_value_with_tricky_text_survives_a_restart(
    expr: str, check: str, tmp_path: Path, run_noctra: RunNoctra
) -> None:
    first = run_noctra("query", f"LET v = {expr}", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    second = run_noctra("query", "--format", "csv", f"SELECT {check} AS ok", cwd=tmp_path)
    assert (second.returncode, second.stdout) == (0, "ok\ntrue\n"), second.stderr


# --- FROM 'x.csv' ragged check guesses the delimiter from the header line ----------------------
#
# sources._check_ragged splits by the first of , ; TAB | found in the header, not by the
# delimiter DuckDB sniffs: a ';' file whose header says "Amount (EUR, net)" and whose amounts
# are "1,5" is refused as "line 3 has 1 field, its header has 2", though USE and DuckDB read it.

HEADER_WITH_ANOTHER_DELIMITER = [
    (
        "eu.csv",
        "Name;Amount (EUR, net);Date\nA;1,5;2024-01-01\nB;2;2024-01-02\nC;3,25;2024-01-03\nD;4;2024-01-04\n",
    ),
    ("notes.tsv", "id\tnote; extra\n1\tx;y\n2\tz\n3\tw\n"),
]


@pytest.mark.parametrize(("name", "text"), HEADER_WITH_ANOTHER_DELIMITER)
def test_from_reads_a_csv_whose_header_holds_another_delimiter(
    name: str, text: str, tmp_path: Path, run_noctra: RunNoctra
) -> None:
    (tmp_path / name).write_text(text, encoding="utf-8")
    used = _csv(
        run_noctra("query", "--fresh", "--format", "csv", f"USE '{name}' AS t; SELECT * FROM t", cwd=tmp_path)
    )
    quoted = run_noctra("query", "--fresh", "--format", "csv", f"SELECT * FROM '{name}'", cwd=tmp_path)
    assert quoted.returncode == 0, quoted.stderr
    assert quoted.stdout == used


# --- a key,value preamble then a header and one row --------------------------------------------
#
# A bank statement: "Account,12345 / Period,2024-01 / date,desc,amount / 2024-01-02,Coffee,-3.5".
# DuckDB reads it (skip = 2), and so does Noctra once it has two transactions; with one, the R4-3
# ragged-tail check calls the file malformed ("line 3 has 3 fields, the lines before it have 2").


@pytest.mark.parametrize("road", ["USE", "FROM"])
def test_preamble_then_a_single_row_reads_like_duckdb(
    road: str, tmp_path: Path, run_noctra: RunNoctra
) -> None:
    path = tmp_path / "bank.csv"
    path.write_text(
        "Account,12345\nPeriod,2024-01\ndate,desc,amount\n2024-01-02,Coffee,-3.5\n", encoding="utf-8"
    )
    with duckdb.connect() as con:
        relation = con.sql(f"SELECT * FROM '{path}'")
        expected = (
            ",".join(relation.columns)
            + "\n"
            + "".join(",".join(map(str, r)) + "\n" for r in relation.fetchall())
        )
    sql = "USE 'bank.csv' AS t; SELECT * FROM t" if road == "USE" else "SELECT * FROM 'bank.csv'"
    assert _csv(run_noctra("query", "--fresh", "--format", "csv", sql, cwd=tmp_path)) == expected


def test_preamble_then_two_rows_reads(tmp_path: Path, run_noctra: RunNoctra) -> None:
    (tmp_path / "bank.csv").write_text(
        "Account,12345\nPeriod,2024-01\ndate,desc,amount\n2024-01-02,Coffee,-3.5\n2024-01-03,Tea,-2.0\n",
        encoding="utf-8",
    )
    out = _csv(run_noctra("query", "--fresh", "--format", "csv", "SELECT * FROM 'bank.csv'", cwd=tmp_path))
    assert out == "date,desc,amount\n2024-01-02,Coffee,-3.5\n2024-01-03,Tea,-2.0\n"


# --- comment lines: DuckDB's sniffer drops the header or a row without a word --------------------
#
# "# exported by / # date / a,b / 1,2 / #3,4 / 5,6": DuckDB sniffs comment='#', skip=2,
# header=false and reads the one row (5,6) under column0, column1; with one comment line on top
# it reads both rows but loses the header (column0, column1). Noctra passes that on.

COMMENTED = [
    "# exported by tool\n# date 2024\na,b\n1,2\n#3,4\n5,6\n",
    "# exported by tool\na,b\n1,2\n#3,4\n5,6\n",
]


@pytest.mark.parametrize("text", COMMENTED)
def test_csv_with_comment_lines_keeps_header_and_rows_or_is_an_error(
    text: str, tmp_path: Path, run_noctra: RunNoctra
) -> None:
    (tmp_path / "c.csv").write_text(text, encoding="utf-8")
    proc = run_noctra(
        "query", "--fresh", "--format", "csv", "USE 'c.csv' AS c; SELECT * FROM c", cwd=tmp_path
    )
    assert proc.stdout == "a,b\n1,2\n5,6\n" or (proc.returncode == 1 and len(_error_lines(proc.stderr)) == 1)


# --- files given after an option ----------------------------------------------------------------
#
# USAGE: "Options go before or after the subcommand"; `noctra query SQL --format csv f.csv`
# stops with "unrecognized arguments: f.csv" (parse_fast gives up and argparse takes a
# subcommand's positionals as one run of words): only `query SQL f.csv --format csv` works.
# Fixed: a subcommand's words are parsed intermixed, by argparse and parse_fast alike
# (tests/cli/test_args.py).


def test_file_after_an_option_is_registered(tmp_path: Path, run_noctra: RunNoctra) -> None:
    (tmp_path / "t.csv").write_text("id\n1\n", encoding="utf-8")
    proc = run_noctra("query", "SELECT * FROM t", "--format", "csv", "t.csv", cwd=tmp_path)
    assert (proc.returncode, proc.stdout) == (0, "id\n1\n"), proc.stderr


def test_file_before_an_option_is_registered(tmp_path: Path, run_noctra: RunNoctra) -> None:
    (tmp_path / "t.csv").write_text("id\n1\n", encoding="utf-8")
    proc = run_noctra("query", "SELECT * FROM t", "t.csv", "--format", "csv", cwd=tmp_path)
    assert (proc.returncode, proc.stdout) == (0, "id\n1\n"), proc.stderr


# --- JSON object with a duplicate key: the hint points at sample_size, which does not help -------


def test_json_duplicate_key_error_does_not_suggest_sample_size(tmp_path: Path, run_noctra: RunNoctra) -> None:
    (tmp_path / "d.json").write_text('[{"a":1,"a":2}]', encoding="utf-8")
    proc = run_noctra("query", "--fresh", "USE 'd.json' AS d; SELECT * FROM d", cwd=tmp_path)
    assert proc.returncode == 1 and len(_error_lines(proc.stderr)) == 1, proc.stderr
    assert "duplicate" in proc.stderr and "sample_size" not in proc.stderr, proc.stderr


# --- roads that work: messy CSV/JSON agree on csv, json, EXPORT and the Python API -------------

MESSY = [
    # (file name, bytes, SELECT list, rows as JSON values)
    (
        "bom_crlf.csv",
        "\ufeffid,name,amt\r\n007,Zoë,1.5\r\n008,Al,2\r\n".encode(),
        "*",
        [["007", "Zoë", 1.5], ["008", "Al", 2.0]],
    ),
    ("dups.csv", b'a,a,b.c,"q""x",select,order\n1,2,3,4,5,6\n', "*", [[1, 2, 3, 4, 5, 6]]),
    ("trail.csv", b"a,b,\n1,2,\n3,4,\n", "a, b", [[1, 2], [3, 4]]),
    ("ws.csv", b"id,name\n1,  padded  \n2,\t tab\n", "*", [[1, "  padded  "], [2, "\t tab"]]),
    ("hdr.csv", b"a,b,c\n", "*", []),
    (
        "hetero.ndjson",
        b'{"a":1}\n\n{"b":"x"}\n{"a":2,"c":[1,2]}\n',
        "a, b, c",
        [[1, None, None], [None, "x", None], [2, None, [1, 2]]],
    ),
    (
        "nest.json",
        b'[{"id":1,"m":{"k":[1,2],"d":{"x":"y"}}},{"id":2,"m":null}]',
        "*",
        [[1, {"k": [1, 2], "d": {"x": "y"}}], [2, None]],
    ),
    ("scalar.json", b"42", "*", [[42]]),
]


@pytest.mark.parametrize(("name", "data", "cols", "rows"), MESSY, ids=[m[0] for m in MESSY])
def test_messy_file_reads_alike_on_every_road(  # noqa: PLR0917 (four parametrized arguments)
    name: str, data: bytes, cols: str, rows: list[list[object]], tmp_path: Path, run_noctra: RunNoctra
) -> None:
    (tmp_path / name).write_bytes(data)
    sql = f"USE '{name}' AS t; SELECT {cols} FROM t; EXPORT (SELECT {cols} FROM t) TO 'out.parquet'"
    proc = run_noctra("query", "--format", "jsonl", sql, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    via_cli = [list(json.loads(line).values()) for line in proc.stdout.splitlines()]
    assert via_cli == rows
    # Restored session (the source comes back from the session file) and the exported Parquet.
    again = run_noctra("query", "--format", "jsonl", "SELECT * FROM 'out.parquet'", cwd=tmp_path)
    assert [list(json.loads(line).values()) for line in again.stdout.splitlines()] == rows, again.stderr
    with noctra.Session(state_path=tmp_path / "api.toml") as s:
        s.execute(f"USE '{tmp_path / name}' AS t")
        table = s.sql(f"SELECT {cols} FROM t").arrow()
    assert [list(r.values()) for r in table.to_pylist()] == rows


def test_nan_inf_and_negative_zero_agree_on_csv_output_and_exports(
    tmp_path: Path, run_noctra: RunNoctra
) -> None:
    (tmp_path / "n.csv").write_text("id,x\n1,NaN\n2,inf\n3,-0.0\n4,-inf\n", encoding="utf-8")
    sql = (
        "USE 'n.csv' AS n; SELECT * FROM n;EXPORT n TO 'n.parquet'; EXPORT n TO 'o.csv'; EXPORT n TO 'o.json'"
    )
    out = _csv(run_noctra("query", "--format", "csv", sql, cwd=tmp_path))
    assert out == "id,x\n1,nan\n2,inf\n3,-0.0\n4,-inf\n"
    assert (tmp_path / "o.csv").read_text(encoding="utf-8") == out
    back = _csv(run_noctra("query", "--format", "csv", "SELECT * FROM 'n.parquet'", cwd=tmp_path))
    assert back == out
    exported = [
        json.loads(line)["x"] for line in (tmp_path / "o.json").read_text(encoding="utf-8").splitlines()
    ]
    assert exported == [None, None, -0.0, None]


def test_persistent_copy_serves_the_same_values_as_the_text(
    tmp_path: Path, run_noctra: RunNoctra, isolated_env: dict[str, str]
) -> None:
    isolated_env["NOCTRA_CACHE_MIN_SIZE"] = "0"  # copy even a small file
    isolated_env["NOCTRA_CACHE_RESULTS"] = "false"  # a slow run would store its result instead
    (tmp_path / "m.csv").write_text(
        "id,ts,x,s\n1,2024-01-02 03:04:05+02,NaN,Zoë\n2,2024-06-01 00:00:00-05:30,-0.0,  sp \n",
        encoding="utf-8",
    )
    assert run_noctra("query", "USE 'm.csv' AS m", cwd=tmp_path).returncode == 0
    outs = []
    for _ in range(3):
        proc = run_noctra("query", "--stats", "--format", "json", "SELECT * FROM m", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        outs.append((proc.stdout, json.loads(proc.stderr.splitlines()[-1])["cache_hits"]))
    assert outs[-1][1] == 1  # the third run read the persistent copy
    assert {o for o, _ in outs} == {outs[0][0]}


ODD_NAMES = [
    "my file.csv",
    "it's.csv",
    'q"uote.csv',
    "zoë 数据.csv",
    "-x.csv",
    "a#b.csv",
    "a;b.csv",
    "$$x.csv",
]


def test_odd_file_names_register_and_restore(tmp_path: Path, run_noctra: RunNoctra) -> None:
    uses = []
    for i, name in enumerate(ODD_NAMES):
        (tmp_path / name).write_text(f"id,v{i}\n1,{i}\n", encoding="utf-8")
        uses.append(f"USE '{name.replace(chr(39), chr(39) * 2)}' AS s{i}")
    first = run_noctra("query", "; ".join(uses), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    joined = "SELECT * FROM s0 " + " ".join(f"JOIN s{i} USING (id)" for i in range(1, len(ODD_NAMES)))
    second = run_noctra("query", "--format", "csv", joined, cwd=tmp_path)
    assert second.returncode == 0 and "warning" not in second.stderr, second.stderr
    assert second.stdout.splitlines()[1] == ",".join(["1", *map(str, range(len(ODD_NAMES)))])


@pytest.fixture
def odd_db(tmp_path: Path) -> Path:
    return _sqlite(
        tmp_path / "odd.db",
        """
        CREATE TABLE wr (k TEXT PRIMARY KEY, v INT) WITHOUT ROWID;
        INSERT INTO wr VALUES ('a', 1), ('b', 2);
        CREATE TABLE "order" ("select" INT, "at" TEXT, "we""ird" TEXT, "x:1" INT,
                              g INT GENERATED ALWAYS AS ("select" * 2) VIRTUAL);
        INSERT INTO "order" ("select", "at", "we""ird", "x:1") VALUES (1, 'a', 'q', 5);
        CREATE TABLE "my table" (id INTEGER PRIMARY KEY, b BLOB);
        INSERT INTO "my table" VALUES (9007199254740993, x'00ff'), (9223372036854775807, x''), (-1, NULL);
        CREATE VIEW v AS SELECT k, v * 10 AS v10 FROM wr;
        CREATE TABLE empty (id INT, s TEXT);
        """,
    )


ODD_TABLES = ["k.wr ORDER BY 1", 'k."order"', 'k."my table" ORDER BY 1', "k.v ORDER BY 1", "k.empty"]


@pytest.mark.parametrize("table", ODD_TABLES)
def test_odd_sqlite_tables_read_alike_on_both_engines(
    table: str, odd_db: Path, run_noctra: RunNoctra
) -> None:
    outs = {}
    for engine in ("sqlite", "duckdb"):
        for fmt in ("csv", "json"):
            sql = f"USE 'odd.db' AS k; SELECT * FROM {table}"
            proc = run_noctra("query", "--fresh", "--engine", engine, "--format", fmt, sql, cwd=odd_db.parent)
            outs[engine, fmt] = _csv(proc)
    assert outs["sqlite", "csv"] == outs["duckdb", "csv"]
    assert outs["sqlite", "json"] == outs["duckdb", "json"]


def test_partition_key_with_leading_zeros_reads_back_as_text(tmp_path: Path, run_noctra: RunNoctra) -> None:
    (tmp_path / "z.csv").write_text("zip,v\n02134,1\n10001,2\n00501,3\n", encoding="utf-8")
    sql = (
        "USE 'z.csv' AS z; EXPORT z TO 'by_zip' OPTIONS (partition_by (zip));"
        "USE 'by_zip' AS b; SELECT zip, v FROM b ORDER BY v"
    )
    assert (
        _csv(run_noctra("query", "--format", "csv", sql, cwd=tmp_path))
        == "zip,v\n02134,1\n10001,2\n00501,3\n"
    )
