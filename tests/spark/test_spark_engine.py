"""The Spark engine through the session and the CLI: choosing it, errors, cancel (issue 14)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from noctra.errors import ConfigError
from noctra.session import Session
from tests.conftest import RunMain
from tests.spark.conftest import spark_missing

needs_spark = pytest.mark.skipif(spark_missing() is not None, reason=spark_missing() or "")
# A query that runs for minutes on any machine: cancelled by the tests.
LONG_QUERY = "SELECT count(*) FROM range(0, 100000000000) t(a) WHERE a % 7 = 3"


def _noctra(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "noctra", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _processes_naming(text: str) -> list[int]:
    """Processes whose command line contains text (a local Spark server names its scratch dir)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                if text.encode() in handle.read():
                    found.append(int(entry))
        except OSError:
            continue
    return found


def test_duckdb_runs_never_import_pyspark(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from noctra.cli import main\n"
        "main(['--fresh', '-c', 'select 1'])\n"
        "print('pyspark' in sys.modules, 'noctra.engine.spark' in sys.modules, file=sys.stderr)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert proc.stderr.strip().splitlines()[-1] == "False False"


def test_without_the_extra_choosing_spark_is_one_error_naming_it(
    run_main: RunMain, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "pyspark" else real(name, *a)
    )
    result = run_main("--fresh", "--engine", "spark", "-c", "select 1")
    assert result.code == 2
    assert result.err.splitlines() == [
        "noctra: error: the Spark engine needs pyspark with its Connect client (pyspark is not installed)",
        "hint: pip install 'noctra[spark]'",
    ]


def test_a_bad_engine_name_is_a_usage_error(run_main: RunMain) -> None:
    result = run_main("--fresh", "--engine", "oracle", "-c", "select 1")
    assert result.code == 2
    assert result.err.startswith('noctra: error: --engine \'oracle\': expected "auto", "duckdb"')


@needs_spark
def test_an_unreachable_endpoint_is_one_error_line(run_main: RunMain) -> None:
    result = run_main("--fresh", "--engine", "sc://localhost:1", "-c", "select 1")
    assert result.code == 2
    lines = result.err.splitlines()
    assert lines[0].startswith(
        "noctra: error: statement 1, line 1, column 1: cannot reach Spark Connect at sc://localhost:1"
    )
    assert len(lines) == 2 and lines[1].startswith("hint: check the host and port")


@needs_spark
def test_missing_java_is_one_error_line_exit_2(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env["PATH"] = str(tmp_path)  # no java on it
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    proc = subprocess.run(
        [sys.executable, "-m", "noctra", "--fresh", "--engine", "spark", "-c", "select 1"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "noctra: error: statement 1, line 1, column 1: "
        "Java is not installed: the local Spark server cannot start",
        "hint: the local Spark server needs Java 17: apt-get install openjdk-17-jre-headless "
        "(or set JAVA_HOME), or connect to a cluster with --engine sc://HOST:15002",
    ]


def test_engine_choice_from_config_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from noctra.config import engine_choice, load_config

    config_file = tmp_path / "config.toml"
    config_file.write_text('[spark]\nremote = "sc://spark.example:15002"\n')
    monkeypatch.delenv("NOCTRA_ENGINE", raising=False)
    assert engine_choice(load_config(config_file)) == ("spark", "sc://spark.example:15002")
    monkeypatch.setenv("NOCTRA_ENGINE", "duckdb")
    assert engine_choice(load_config(config_file)) == ("duckdb", None)
    monkeypatch.setenv("NOCTRA_ENGINE", "sc://other:15002")
    assert engine_choice(load_config(config_file)) == ("spark", "sc://other:15002")
    config_file.write_text('[spark]\nremote = "yarn"\n')
    with pytest.raises(ConfigError, match=r"\[spark\] remote = \"yarn\": expected \"local\[\*\]\""):
        load_config(config_file)


@needs_spark
def test_status_info_and_show_config_name_spark_and_its_endpoint(spark_endpoint: str, tmp_path: Path) -> None:
    with Session(config=tmp_path / "none.toml") as session:
        session.execute(f"SET engine = '{spark_endpoint}'; SELECT 1")
        status = session.status()
        assert status.endpoint == spark_endpoint
        assert status.line().startswith(f"Engine: Spark ({spark_endpoint})")
        assert session.engine_version().startswith("spark 4.") and session.engine_version().endswith(
            spark_endpoint
        )
        config_rows = session.sql("SHOW CONFIG").rows(100)
        assert ("engine", f"spark at {spark_endpoint}", "engine") in config_rows


@needs_spark
def test_set_engine_registers_the_sources_so_far_and_back(
    spark_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "t.csv").write_text("a,b\n1,x\n2,y\n")
    monkeypatch.chdir(tmp_path)
    with Session(config=tmp_path / "none.toml") as session:
        session.execute("USE 't.csv' AS t")
        session.execute(f"SET engine = '{spark_endpoint}'")
        on_spark = session.sql("SELECT sum(a) AS s FROM t")
        assert (on_spark.engine, on_spark.rows(1)) == ("spark", [(3,)])
        session.execute("USE 't.csv' AS u")
        session.execute("SET engine = duckdb")
        on_duck = session.sql("SELECT count(*) FROM u JOIN t USING (a)")
        assert (on_duck.engine, on_duck.rows(1)) == ("duckdb", [(2,)])


@needs_spark
def test_ctrl_c_cancels_a_long_spark_query_exit_130(
    spark_endpoint: str, tmp_path: Path, isolated_env: dict[str, str]
) -> None:
    proc = _noctra("--fresh", "--engine", spark_endpoint, "-c", LONG_QUERY, cwd=tmp_path, env=isolated_env)
    time.sleep(6)  # connected, the query running on the server
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert out == ""
    assert err.splitlines()[-1].startswith("noctra: error:") or err.strip() == "noctra: interrupted"


@needs_spark
def test_timeout_on_a_local_server_exits_4_and_leaves_no_server(
    tmp_path: Path, isolated_env: dict[str, str]
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    env = {**isolated_env, "TMPDIR": str(scratch)}
    env.pop("SPARK_CONNECT_AUTHENTICATE_TOKEN", None)
    proc = _noctra("--fresh", "--engine", "spark", "--timeout", "30", "-c", LONG_QUERY, cwd=tmp_path, env=env)
    out, err = proc.communicate(timeout=150)
    assert proc.returncode == 4, err
    assert (out, err.splitlines()[0]) == (
        "",
        "noctra: error: statement 1, line 1, column 1: timed out after 30 s",
    )
    deadline = time.monotonic() + 20
    while _processes_naming(str(scratch)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _processes_naming(str(scratch)) == []
    assert list(scratch.iterdir()) == []


@needs_spark
def test_ctrl_c_while_the_local_server_starts_leaves_nothing_behind(
    tmp_path: Path, isolated_env: dict[str, str]
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    env = {**isolated_env, "TMPDIR": str(scratch)}
    env.pop("SPARK_CONNECT_AUTHENTICATE_TOKEN", None)
    proc = _noctra("--fresh", "--engine", "spark", "-c", LONG_QUERY, cwd=tmp_path, env=env)
    time.sleep(4)  # the JVM is starting
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert (proc.returncode, out, err) == (130, "", "noctra: interrupted\n")
    deadline = time.monotonic() + 20
    while _processes_naming(str(scratch)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _processes_naming(str(scratch)) == []
    assert [p.name for p in scratch.iterdir() if p.name.startswith("noctra-spark-")] == []
