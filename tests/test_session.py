"""The Python API: Session, Result, Arrow out, cross-source joins, cancel."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest

from noctra import NoctraError, Result, Session
from noctra.errors import CancelledQueryError, QueryError, VariableError
from noctra.output.model import Message


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sales.csv").write_text("id,customer_id,amount\n1,1,10.5\n2,2,20\n3,1,\n")
    with sqlite3.connect(tmp_path / "crm.db") as conn:
        conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
        conn.executemany("INSERT INTO users VALUES (?, ?)", [(1, "Ann"), (2, "Bo"), (3, "Cy")])
    conn.close()
    return tmp_path


JOINED = [(1, "Ann", 10.5), (2, "Bo", 20.0), (3, "Ann", None)]


def test_join_csv_with_sqlite_through_alias_table(data: Path) -> None:
    with Session() as s:
        s.execute("USE 'sales.csv' AS sales; USE 'crm.db' AS crm")
        rows = s.sql(
            "SELECT s.id, u.name, s.amount FROM sales s "
            "JOIN crm.users u ON u.id = s.customer_id ORDER BY s.id"
        ).rows(10)
        assert rows == JOINED


def test_join_through_path_shorthand_attaches_once(data: Path) -> None:
    with Session() as s:
        query = (
            "SELECT s.id, u.name, s.amount FROM 'sales.csv' s "
            "JOIN crm.db::users u ON u.id = s.customer_id ORDER BY s.id"
        )
        assert s.sql(query).rows(10) == JOINED
        assert s.sql(query).rows(10) == JOINED
        assert [(src.alias, src.kind.value) for src in s.sources] == [("crm", "SQLite")]
        assert s.sources.current is None


def test_bare_file_name_in_from(data: Path) -> None:
    with Session() as s:
        assert s.sql("SELECT count(*) FROM sales.csv").rows(1) == [(3,)]


def test_cast_operator_outside_from_is_untouched(data: Path) -> None:
    with Session() as s:
        assert s.sql("SELECT '7'::INTEGER + 1 AS x, 'crm.db'::VARCHAR AS y").rows(1) == [(8, "crm.db")]


def test_arrow_reader_and_rows(data: Path) -> None:
    with Session() as s:
        s.execute("USE 'sales.csv' AS sales")
        table = s.sql("SELECT id, amount FROM sales ORDER BY id").arrow()
        assert isinstance(table, pa.Table)
        assert table.column("amount").to_pylist() == [10.5, 20.0, None]
        reader = s.sql("SELECT * FROM range(5000)").reader(batch_rows=1000)
        assert isinstance(reader, pa.RecordBatchReader)
        assert sum(batch.num_rows for batch in reader) == 5000
        assert s.sql("SELECT * FROM range(100000)").rows(3) == [(0,), (1,), (2,)]


def test_a_result_reads_once(data: Path) -> None:
    with Session() as s:
        result = s.sql("SELECT 1")
        result.arrow()
        with pytest.raises(NoctraError, match="already read"):
            result.arrow()


def test_execute_keeps_earlier_results_readable(data: Path) -> None:
    with Session() as s:
        first, message, second = s.execute("SELECT 1 AS a; CREATE TABLE t (x INT); SELECT 2 AS b")
        assert isinstance(first, Result) and isinstance(second, Result)
        assert isinstance(message, Message)
        assert first.rows(1) == [(1,)] and second.rows(1) == [(2,)]


def test_positional_and_named_parameters_are_bound(data: Path) -> None:
    with Session() as s:
        assert s.sql("SELECT $1 || $2", ["a'", "; drop"]).rows(1) == [("a'; drop",)]


def test_writes_report_counts(data: Path) -> None:
    with Session() as s:
        messages = s.execute("CREATE TABLE t (x INT); INSERT INTO t VALUES (1), (2); DELETE FROM t")
        assert [m.text for m in messages if isinstance(m, Message)] == [
            "create: ok",
            "2 rows inserted",
            "2 rows deleted",
        ]


def test_sql_errors_point_at_statement_line_and_column(data: Path) -> None:
    with Session() as s, pytest.raises(QueryError) as info:
        s.execute("SELECT 1;\nSELECT *\n  FROM nosuch_table")
    error = info.value
    assert error.span is not None
    assert (error.span.statement, error.span.line, error.span.column) == (2, 3, 8)
    assert "nosuch_table" in error.message


def test_cancel_interrupts_and_session_stays_usable(data: Path) -> None:
    with Session() as s:
        timer = threading.Timer(0.3, s.cancel)
        timer.start()
        with pytest.raises(CancelledQueryError):
            s.sql("SELECT count(*) FROM range(100000000000) t(a) WHERE a % 7 = 3").rows(1)
        timer.cancel()
        assert s.sql("SELECT 42").rows(1) == [(42,)]


def test_sessions_are_independent(data: Path) -> None:
    with Session() as one, Session() as two:
        one.execute("USE 'sales.csv' AS sales")
        assert "sales" in one.sources and "sales" not in two.sources
        with pytest.raises(QueryError):
            two.sql("SELECT * FROM sales").rows(1)


def test_timestamps_with_time_zone_are_shown(data: Path) -> None:
    import io

    with Session() as s:
        out = io.StringIO()
        s.sql("SET TimeZone = 'UTC'; SELECT TIMESTAMPTZ '2024-01-01 10:00:00+03' AS t").write(out, "table")
        assert "2024-01-01 07:00:00+00 " in out.getvalue()


def test_progress_is_tracked_only_once_a_front_end_asks_for_it(tmp_path: Path) -> None:
    """DuckDB's Python client tracks every query's progress when Python looks interactive
    (``python -c``, a notebook, the REPL), for a bar Noctra never lets it print. Noctra's
    sessions track it only once a front end draws a bar (enable_progress)."""
    script = (
        "from noctra import Session\n"
        "s = Session(restore=False)\n"
        "on = \"SELECT current_setting('enable_progress_bar') AS on\"\n"
        "print(s.sql(on).rows(1), s.progress())\n"
        "s.enable_progress()\n"
        "print(s.sql(on).rows(1))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True, cwd=tmp_path
    )
    assert done.stdout.splitlines() == ["[(False,)] None", "[(True,)]"]


def test_a_long_query_through_the_python_api_prints_nothing_of_its_own(tmp_path: Path) -> None:
    """DuckDB prints its progress bar to stdout once a query runs past progress_bar_time:
    into the output of a script piped to a file. Noctra's library never does."""
    data = tmp_path / "d.csv"
    data.write_text("a,b\n" + "".join(f"{i},{i % 97}\n" for i in range(20_000)))
    expected = sum(len(range(b, 20_000, 97)) ** 2 for b in range(97))
    script = (
        "from noctra import Session\n"
        "s = Session(restore=False)\n"
        "s.engine.set_option('progress_bar_time', '0')\n"  # the bar would show at once
        f"t = s.sql(\"SELECT count(*) AS n FROM '{data}' x JOIN '{data}' y USING (b)\").arrow()\n"
        "print(t.column('n')[0].as_py())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True, cwd=tmp_path
    )
    assert done.stdout == f"{expected}\n"


def test_let_does_not_import_pandas(tmp_path: Path, isolated_env: dict[str, str]) -> None:
    # DuckDB's Python client imports pandas and numpy (~0.4 s) to bind any parameter when they
    # are installed: LET checks its value with a literal instead, so the first LET stays cheap.
    import importlib.util

    if importlib.util.find_spec("pandas") is None:
        pytest.skip("pandas is not installed here, so nothing could import it")
    code = (
        "import sys\n"
        "from noctra import Session\n"
        "with Session(restore=False) as s:\n"
        "    s.execute(\"LET x = 42; LET t = 'it''s'; LET n = NULL; LET d = DATE '2024-01-02'\")\n"
        "    row = s.sql('SELECT #x, #t, #n, CAST(#d AS VARCHAR)').rows(1)\n"
        "    assert row == [(42, \"it's\", None, '2024-01-02')], row\n"
        "print('pandas' in sys.modules, 'numpy' in sys.modules)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=isolated_env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "False False"


@pytest.mark.parametrize(
    "value",
    [
        float("nan"),
        2**64,
        -(2**63) - 1,
        __import__("decimal").Decimal("1.00000000000000000001"),
        __import__("datetime").timedelta(days=1, microseconds=5),
        __import__("uuid").UUID(int=5),
        [1, 2],
    ],
    ids=["nan", "2^64", "below-int64", "long-decimal", "timedelta", "uuid", "list"],
)
def test_a_python_parameter_sqlite_cannot_hold_runs_the_statement_in_duckdb(
    tmp_path: Path, value: object
) -> None:
    # SQLite stores NaN as NULL, cannot bind 2^64 (OverflowError) nor a timedelta/UUID/list:
    # under engine = auto such a statement runs in DuckDB, which keeps the value as given.
    db = tmp_path / "one.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE t (id INTEGER)")
        conn.execute("INSERT INTO t VALUES (1)")
    conn.close()
    with Session(restore=False, state_path=tmp_path / "s.toml") as s:
        s.execute(f"USE '{db}' AS o")
        result = s.sql("SELECT :p AS p FROM o.t", p=value)
        [(got,)] = result.rows(1)
        assert result.engine == "duckdb"
        assert repr(got) == repr(value)
        s.execute("SET engine = sqlite")
        with pytest.raises(QueryError, match=r"engine = sqlite cannot run this statement: :p holds"):
            s.sql("SELECT :p AS p FROM o.t", p=value).rows(1)
        assert s.sql("SELECT :p AS p FROM o.t", p=7).rows(1) == [(7,)]  # values SQLite holds stay there


# --- a reader still streaming, threads, a closed session, variable names -----------------------


def test_a_reader_cut_off_by_a_later_call_raises_instead_of_ending_early(tmp_path: Path) -> None:
    # DuckDB ends the stream of a connection that runs another statement, silently: any call
    # that runs something (here Session.let, no script) must turn the rest into an error.
    with Session() as s:
        reader = s.sql("SELECT * FROM range(300000) t(a)").reader(batch_rows=10_000)
        assert reader.read_next_batch().num_rows == 10_000
        s.let("y", "2")
        with pytest.raises(NoctraError, match="replaced by a later statement") as info:
            for _ in reader:
                pass
        assert info.value.hint is not None and "before the next statement" in info.value.hint
        assert s.sql("SELECT #y AS y").rows(1) == [(2,)]  # the session stays usable


def test_a_kept_result_streams_every_row_after_later_statements(tmp_path: Path) -> None:
    with Session() as s:
        first, _ = s.execute("SELECT * FROM range(50000) t(a); LET x = 1")
        assert isinstance(first, Result)
        reader = first.reader(batch_rows=1000)
        seen = reader.read_next_batch().num_rows
        s.execute("LET y = 2; SELECT 3")
        assert seen + sum(batch.num_rows for batch in reader) == 50_000


def test_a_sqlite_reader_outlived_by_a_statement_says_so(data: Path) -> None:
    with sqlite3.connect(data / "big.db") as conn:
        conn.execute("CREATE TABLE t (id INTEGER)")
        conn.executemany("INSERT INTO t VALUES (?)", ((i,) for i in range(5000)))
    conn.close()
    with Session() as s:
        s.execute("USE 'big.db' AS b")
        reader = s.sql("SELECT id FROM b.t").reader(batch_rows=100)
        assert reader.read_next_batch().num_rows == 100
        assert s.sql("SELECT max(id) FROM b.t").rows(1) == [(4999,)]
        with pytest.raises(NoctraError, match="replaced by a later statement"):
            reader.read_all()


def test_a_closed_session_and_its_results_say_it_is_closed(data: Path) -> None:
    s = Session()
    s.execute("USE 'sales.csv' AS sales")
    pending = s.sql("SELECT * FROM sales")
    reader = s.sql("SELECT * FROM range(100000) t(a)").reader(batch_rows=1000)
    reader.read_next_batch()
    s.close()
    s.close()  # twice is harmless
    calls: list[Callable[[], object]] = [
        lambda: s.sql("SELECT 1"),
        lambda: list(s.iterate("SELECT 1")),
        lambda: s.execute("LET x = 1"),
        lambda: s.let("x", "1"),
        lambda: s.use("sales.csv"),
        s.status,
        pending.arrow,
        reader.read_all,
    ]
    for call in calls:
        with pytest.raises(NoctraError, match=r"^this session is closed$") as info:
            call()
        assert info.value.span is None and info.value.hint == "open a new noctra.Session()"
    s.cancel()  # nothing runs: nothing to interrupt, no error
    assert s.progress() is None
    pending.close()


def test_threads_sharing_a_session_each_get_their_own_rows() -> None:
    problems: list[str] = []
    with Session() as s:

        def work(i: int) -> None:
            for j in range(15):
                try:
                    s.execute(f"LET v{i} = {i * 100 + j}")
                    table = s.sql(f"SELECT #v{i} AS v{i}, a FROM range(20000) t(a)").arrow()
                    rows = s.sql(f"SELECT {i} AS n").rows(1)
                except Exception as exc:  # noqa: BLE001 - any error is a finding here
                    problems.append(f"{i}: {type(exc).__name__}: {exc}")
                    continue
                if table.column_names != [f"v{i}", "a"] or table.num_rows != 20_000:
                    problems.append(f"{i} got {table.column_names} x {table.num_rows}")
                elif table.column(0)[0].as_py() != i * 100 + j or rows != [(i,)]:
                    problems.append(f"{i} got {table.column(0)[0]} and {rows}")

        threads = [threading.Thread(target=work, args=(i,)) for i in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert problems == []


def test_status_and_cancel_answer_while_another_thread_runs_a_statement() -> None:
    # Statements take turns; status() and cancel() never wait for one to end.
    with Session() as s:
        failure: list[BaseException] = []

        def long_query() -> None:
            try:
                s.sql("SELECT count(*) FROM range(100000000000) t(a) WHERE a % 7 = 3").rows(1)
            except BaseException as exc:  # noqa: BLE001 - checked below
                failure.append(exc)

        worker = threading.Thread(target=long_query)
        worker.start()
        pause = threading.Event()
        while not s.busy and worker.is_alive():
            pause.wait(0.01)
        pause.wait(0.3)  # DuckDB drops an interrupt that comes before the query starts
        assert s.status().engine == "duckdb"  # answered now, from a cursor
        for _ in range(100):  # until it is interrupted (a few seconds at most)
            s.cancel()
            worker.join(timeout=0.5)
            if not worker.is_alive():
                break
        assert not worker.is_alive()
        assert len(failure) == 1 and isinstance(failure[0], CancelledQueryError)
        assert s.sql("SELECT 42").rows(1) == [(42,)]


@pytest.mark.parametrize("name", ["a b", "", "x'y", "1bad", "a-b", "#a"])
def test_let_refuses_a_name_no_hash_name_can_use(name: str, tmp_path: Path) -> None:
    state = tmp_path / "session.toml"
    with Session(state_path=state) as s:
        with pytest.raises(VariableError) as info:
            s.let(name, "1")
        assert repr(name) in info.value.message
        assert info.value.hint is not None and "a letter or _" in info.value.hint
        assert s.variables == {}
        s.let("total_2", "7")
        assert s.sql("SELECT #total_2 + :total_2 AS t").rows(1) == [(14,)]
    assert "total_2" in state.read_text(encoding="utf-8") and repr(name) not in state.read_text(
        encoding="utf-8"
    )


@pytest.mark.parametrize("road", ["arrow", "reader", "df"])
def test_128_bit_integers_reach_arrow_exactly_or_as_an_error(tmp_path: Path, road: str) -> None:
    # DuckDB hands HUGEINT/UHUGEINT to Arrow as decimal128(38, 0): a UHUGEINT past 2^127
    # wrapped to -1 and a 39-digit HUGEINT was an invalid decimal, both without a word.
    def read(s: Session, sql: str) -> list[object]:
        result = s.sql(sql)
        if road == "arrow":
            return result.arrow().column(0).to_pylist()
        if road == "reader":
            return result.reader(batch_rows=2).read_all().column(0).to_pylist()
        return list(result.df().iloc[:, 0])

    with Session(restore=False, state_path=tmp_path / "s.toml") as s:
        fits = "99999999999999999999999999999999999999"  # 38 digits
        sums = "SELECT sum(x) AS h FROM range(5) t(x) UNION ALL SELECT " + fits + "::HUGEINT"
        assert [int(str(v)) for v in read(s, sums)] == [10, int(fits)]
        hugeint_low = "-170141183460469231731687303715884105727"  # 39 digits
        for wide in ("340282366920938463463374607431768211455::UHUGEINT", f"({hugeint_low})::HUGEINT"):
            with pytest.raises(QueryError, match="more than 38 digits") as caught:
                kind = wide.rsplit("::", 1)[1]
                read(s, f"SELECT h FROM (VALUES (1::{kind}), (2), (3), ({wide})) v(h)")  # in batch 2
            assert caught.value.hint is not None and 'CAST("h" AS VARCHAR)' in caught.value.hint
            assert s.sql(f"SELECT {wide} AS h").rows(1)[0][0] in (2**128 - 1, int(hugeint_low))
