"""Issue 11: the seams Noctra adds on top of DuckDB and SQLite, each reproduced as a user met it."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from noctra import Session
from noctra.cli import typed_param
from tests.conftest import RunMain


@pytest.fixture
def flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    with sqlite3.connect(tmp_path / "t.db") as conn:
        conn.execute("CREATE TABLE t (id INTEGER, active BOOLEAN, score REAL, name TEXT)")
        conn.executemany(
            "INSERT INTO t VALUES (?, ?, ?, ?)",
            [(1, 1, 1.5, "a"), (2, 0, 2.5, "b"), (3, 1, 3.5, None)],
        )
    conn.close()
    return tmp_path


@pytest.mark.parametrize(
    ("let", "query", "expected"),
    [
        ("LET active = true", "SELECT count(*) FROM t WHERE active = :active", 2),
        ("LET lim = 2", "SELECT count(*) FROM t WHERE id <= :lim", 2),
        ("LET lim = 2", "SELECT typeof(:lim) FROM t LIMIT 1", "integer"),
        ("LET s = 2.5", "SELECT count(*) FROM t WHERE score >= :s", 2),
        ("LET who = 'b'", "SELECT id FROM t WHERE name = :who", 2),
        ("LET n = NULL", "SELECT count(*) FROM t WHERE coalesce(name, 'x') = coalesce(:n, 'x')", 1),
    ],
)
def test_let_variables_bind_with_their_type_on_native_sqlite(
    flags: Path, let: str, query: str, expected: object
) -> None:
    """11.3: a LET variable bound on the SQLite route is a number/boolean/NULL, not text."""
    with Session() as s:
        s.execute(f"USE 't.db' AS db; {let}")
        result = s.sql(query)
        assert (result.engine, result.rows(1)) == ("sqlite", [(expected,)])
        # The same through DuckDB (forced) gives the same answer, typed.
        s.execute("SET engine = duckdb")
        assert s.sql(query.replace("typeof(:lim)", "lower(typeof(:lim)) LIKE 'int%'")).rows(1)[0][0] in (
            expected,
            True,
        )


def test_null_variable_as_a_parameter_on_duckdb() -> None:
    with Session() as s:
        s.execute("LET n = NULL")
        assert s.sql("SELECT :n IS NULL AS is_null, coalesce(:n, 7) AS v").rows(1) == [(True, 7)]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("42", 42),
        ("-7", -7),
        ("true", True),
        ("FALSE", False),
        ("NULL", None),
        ("'42'", "42"),
        ('"x y"', "x y"),
        ("AR", "AR"),
        ("2024-02-30", "2024-02-30"),
        ("12345678901234567890123", "12345678901234567890123"),
        ("0", 0),
        ("-0", 0),
        ("01234", "01234"),
        ("-007", "-007"),
        ("0.5", Decimal("0.5")),
        ("01.5", "01.5"),
        ("10", 10),
    ],
)
def test_param_values_are_typed_like_literals(text: str, value: object) -> None:
    assert typed_param(text) == value


def test_typed_params_on_the_command_line(run_main: RunMain) -> None:
    """11.3: --param n=3 is an integer: range(:n) and :a + :b work."""
    run = run_main(
        "-c",
        "SELECT count(*) AS c FROM range(:n); SELECT :a + :b AS s, :d + 1 AS d, :q AS q",
        "--param",
        "n=3",
        "--param",
        "a=1.5",
        "--param",
        "b=2",
        "--param",
        "d=2024-01-31",
        "--param",
        "q='007'",
        "--format",
        "csv",
    )
    assert (run.code, run.err) == (0, "")
    assert run.out == "c\n3\ns,d,q\n3.5,2024-02-01,007\n"


def test_timeout_stops_a_native_sqlite_statement(run_main: RunMain, flags: Path) -> None:
    """11.4: --timeout interrupts SQLite too (a recursive CTE that would run for minutes)."""
    forever = (
        "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) "
        "SELECT count(*) FROM r, t WHERE i > 0 AND t.id > 0"
    )
    run = run_main("--fresh", "-c", f"USE 't.db' AS db; {forever}", "--timeout", "1")
    assert run.code == 4
    assert run.err.splitlines()[-2:][0].startswith("noctra: error: ")
    assert "timed out after 1 s" in run.err
    assert "Traceback" not in run.err


def test_cancel_stops_a_native_sqlite_statement(flags: Path) -> None:
    import threading

    from noctra.errors import CancelledQueryError

    with Session() as s:
        s.execute("USE 't.db' AS db")
        timer = threading.Timer(0.5, s.cancel)
        timer.start()
        with pytest.raises(CancelledQueryError):
            s.sql(
                "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) "
                "SELECT count(*) FROM r, t WHERE i > 0 AND t.id > 0"
            ).rows(1)
        timer.cancel()
        assert s.sql("SELECT count(*) FROM t").rows(1) == [(3,)]


def test_describe_a_bare_table_of_the_current_database(flags: Path) -> None:
    """11.15: USE 'crm.db' AS crm; DESCRIBE customers."""
    with Session() as s:
        s.execute("USE 't.db' AS db")
        rows = s.sql("DESCRIBE t").rows(10)
        assert [r[0] for r in rows] == ["id", "active", "score", "name"]


def test_settings_of_an_extension_not_loaded_yet(flags: Path) -> None:
    """11.16: SET sqlite_all_varchar loads the sqlite extension first."""
    with Session() as s:
        s.execute("SET sqlite_all_varchar = true; USE 't.db' AS db; SET engine = duckdb")
        assert s.sql("SELECT typeof(id) FROM db.t LIMIT 1").rows(1) == [("VARCHAR",)]


def test_session_takes_a_config_path(tmp_path: Path) -> None:
    """11.19: Session(config='path.toml')."""
    path = tmp_path / "c.toml"
    path.write_text("[duckdb.performance]\nbase_threads = 1\n", encoding="utf-8")
    with Session(config=str(path)) as s:
        assert s.status().threads == 1
    import noctra

    assert noctra.Config is not None


@pytest.mark.parametrize(
    ("path", "alias"),
    [
        ("logs/*.csv", "logs"),
        ("plogs/*.parquet", "plogs"),
        ("日本.csv", "日本"),
        ("中国.csv", "中国"),
        ("order.csv", "order_"),
        ("ventas-2024.csv.gz", "ventas_2024"),
        ("2024.csv", "t_2024"),
    ],
)
def test_default_aliases_are_usable_bare(path: str, alias: str) -> None:
    """11.17: globs are named by their folder, other scripts kept, reserved words avoided."""
    from noctra.lifecycle import default_alias

    assert default_alias(path) == alias


def test_non_ascii_and_reserved_stems_register_side_by_side(run_main: RunMain, tmp_path: Path) -> None:
    (tmp_path / "日本.csv").write_text("v\n1\n", encoding="utf-8")
    (tmp_path / "中国.csv").write_text("v\n2\n", encoding="utf-8")
    (tmp_path / "order.csv").write_text("v\n3\n", encoding="utf-8")
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "a.csv").write_text("v\n4\n", encoding="utf-8")
    run = run_main(
        "--fresh",
        "-c",
        "USE '日本.csv'; USE '中国.csv'; USE 'order.csv'; USE 'logs/*.csv';"
        "SELECT (SELECT v FROM 日本) + (SELECT v FROM 中国)"
        " + (SELECT v FROM order_) + (SELECT v FROM logs) AS s",
        "--format",
        "csv",
    )
    assert (run.code, run.out) == (0, "s\n10\n")


def test_two_file_arguments_with_one_stem_both_stay(run_main: RunMain, tmp_path: Path) -> None:
    for folder, value in (("a", 1), ("b", 2)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "sales.csv").write_text(f"v\n{value}\n", encoding="utf-8")
    run = run_main(
        "--fresh",
        "query",
        "SELECT (SELECT v FROM sales) * 10 + (SELECT v FROM sales_2) AS s",
        "a/sales.csv",
        "b/sales.csv",
        "--format",
        "csv",
    )
    assert (run.code, run.out) == (0, "s\n12\n")
    assert "sales_2: CSV" in run.err


def test_ctrl_c_while_the_cli_is_still_loading_is_a_quiet_exit(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import builtins
    import sys

    from noctra.__main__ import run

    real_import = builtins.__import__

    def interrupted(name: str, *args: object, **kwargs: object) -> object:
        if name == "noctra.cli":
            raise KeyboardInterrupt
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.delitem(sys.modules, "noctra.cli", raising=False)
    monkeypatch.setattr(builtins, "__import__", interrupted)
    assert run() == 130
    assert capsys.readouterr().err == "noctra: interrupted\n"
