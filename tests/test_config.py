"""config.toml, environment variables, SET: loading, precedence, validation, `noctra config`."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest

from noctra import Session
from noctra.config import (
    DEFAULT_CONFIG_TOML,
    Config,
    IOType,
    PerformanceConfig,
    config_path,
    load_config,
)
from noctra.errors import ConfigError, NoctraError
from noctra.redact import has_credentials, redact_text, redact_url
from tests.conftest import RunMain


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def show_config(session: Session) -> dict[str, tuple[object, object]]:
    return {str(r[0]): (r[1], r[2]) for r in session.sql("SHOW CONFIG").rows(100)}


def user_config(isolated_env: dict[str, str]) -> Path:
    """Where `noctra` looks by default in the isolated environment of run_main."""
    return Path(isolated_env["XDG_CONFIG_HOME"]) / "noctra" / "config.toml"


# --- PerformanceConfig.calculate_threads -------------------------------------------------


@pytest.mark.parametrize(
    ("path", "threads"),
    [
        (None, 4),
        ("data/sales.csv", 4),
        ("/abs/x.parquet", 4),
        ("s3://bucket/x.parquet", 12),
        ("S3://bucket/x.parquet", 12),
        ("https://host/x.csv", 12),
        ("http://host/x.csv", 12),
        ("gs://bucket/x.csv", 12),
    ],
)
def test_adaptive_threads_follow_the_path(path: str | None, threads: int) -> None:
    assert PerformanceConfig(base_threads=4, remote_multiplier=3.0).calculate_threads(path) == threads


def test_explicit_io_type_ignores_the_path() -> None:
    local = PerformanceConfig(base_threads=2, remote_multiplier=2.5, io_type=IOType.LOCAL)
    remote = PerformanceConfig(base_threads=2, remote_multiplier=2.5, io_type=IOType.REMOTE)
    assert local.calculate_threads("s3://b/k.csv") == 2
    assert remote.calculate_threads("local.csv") == 5
    assert remote.calculate_threads(None) == 5


def test_default_base_threads_is_the_cpu_count() -> None:
    assert PerformanceConfig().base_threads == (os.cpu_count() or 1)


# --- discovery -------------------------------------------------------------------------


def test_config_path_precedence(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg"), "NOCTRA_CONFIG": str(tmp_path / "env.toml")}
    assert config_path("given.toml", env) == (Path("given.toml"), "--config")
    assert config_path(None, env) == (tmp_path / "env.toml", "NOCTRA_CONFIG")
    del env["NOCTRA_CONFIG"]
    assert config_path(None, env) == (tmp_path / "xdg" / "noctra" / "config.toml", "default")
    home = Path(os.path.expanduser("~"))
    assert config_path(None, {})[0] == home / ".config" / "noctra" / "config.toml"
    assert (
        config_path(None, {"XDG_CONFIG_HOME": "relative"})[0] == home / ".config" / "noctra" / "config.toml"
    )


def test_missing_config_file_gives_defaults(tmp_path: Path) -> None:
    config = load_config(environ={"XDG_CONFIG_HOME": str(tmp_path)})
    assert (config.loaded, config.warnings, config.origins) == (False, [], {})
    assert config.performance == PerformanceConfig()


def test_missing_explicit_config_file_is_a_warning(tmp_path: Path) -> None:
    config = load_config(tmp_path / "nope.toml", environ={})
    assert config.loaded is False
    assert config.warnings == [f"config file {tmp_path / 'nope.toml'} does not exist; using the defaults"]


# --- precedence: default < file < env < SET --------------------------------------------


def test_precedence_default_file_env_set(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[duckdb.performance]\nbase_threads = 3\nremote_multiplier = 2.0\nmemory_limit = "1GB"\n',
    )
    config = load_config(path, environ={"NOCTRA_REMOTE_MULTIPLIER": "4", "NOCTRA_MEMORY_LIMIT": "512MB"})
    performance = config.performance
    assert (performance.base_threads, performance.remote_multiplier, performance.memory_limit) == (
        3,
        4.0,
        "512MB",
    )
    assert config.origin("duckdb.performance.base_threads") == "file"
    assert config.origin("duckdb.performance.remote_multiplier") == "env"
    assert config.origin("duckdb.performance.io_type") == "default"
    with Session(config=config) as session:
        shown = show_config(session)
        assert shown["base_threads"] == ("3", "file")
        assert shown["remote_multiplier"] == ("4.0", "env")
        assert shown["memory_limit"] == ("488.2 MiB", "env")
        assert shown["io_type"] == ("adaptive", "default")
        assert shown["threads"] == ("3", "file")
        session.execute("SET base_threads = 1")
        session.execute("SET memory_limit = '256MB'")
        shown = show_config(session)
        assert shown["base_threads"] == ("1", "SET")
        assert shown["memory_limit"] == ("244.1 MiB", "SET")
        assert session.sql("SELECT current_setting('threads')").rows(1) == [(1,)]
        session.execute("RESET base_threads; RESET memory_limit")
        shown = show_config(session)
        assert shown["base_threads"] == ("3", "file")
        assert shown["memory_limit"] == ("488.2 MiB", "env")
        assert session.sql("SELECT current_setting('threads')").rows(1) == [(3,)]
    # The config passed in is not changed by SET in a session.
    assert config.performance.base_threads == 3


def test_environment_variables_for_every_section(tmp_path: Path) -> None:
    config = load_config(
        environ={
            "XDG_CONFIG_HOME": str(tmp_path),
            "NOCTRA_BASE_THREADS": "5",
            "NOCTRA_IO_TYPE": "Remote",
            "NOCTRA_STMT_CACHE_CAPACITY": "0",
            "NOCTRA_ENGINE": "duckdb",
            "NOCTRA_MATERIALIZE_MIN_ROWS": "7",
            "NOCTRA_SESSION_RESTORE": "no",
            "AWS_DEFAULT_REGION": "eu-west-1",
            "AWS_REGION": "sa-east-1",
            "AWS_ENDPOINT_URL": "http://127.0.0.1:9000",
        }
    )
    assert config.performance.base_threads == 5
    assert config.performance.io_type is IOType.REMOTE
    assert config.performance.stmt_cache_capacity == 0
    assert (config.engine.mode, config.engine.materialize_min_rows) == ("duckdb", 7)
    assert config.session.restore is False
    assert (config.s3.region, config.s3.endpoint) == ("sa-east-1", "http://127.0.0.1:9000")
    assert config.env_vars["s3.region"] == "AWS_REGION"


def test_set_of_noctra_settings_checks_values() -> None:
    with Session() as session:
        session.execute("SET io_type = 'remote'")
        assert show_config(session)["io_type"] == ("remote", "SET")
        with pytest.raises(NoctraError, match=r"SET io_type = 'fast': expected \"local\", \"remote\" or"):
            session.execute("SET io_type = 'fast'")
        with pytest.raises(
            NoctraError, match=r"SET base_threads = 0: expected a whole number from 1 to 1024"
        ):
            session.execute("SET base_threads = 0")
        session.execute("RESET io_type")
        assert show_config(session)["io_type"] == ("adaptive", "default")


# --- validation ------------------------------------------------------------------------

BAD_VALUES = [
    (
        '[duckdb.performance]\nbase_threads = "eight"\n',
        '[duckdb.performance] base_threads = "eight"',
        "from 1 to 1024",
    ),
    ("[duckdb.performance]\nbase_threads = 0\n", "[duckdb.performance] base_threads = 0", "from 1 to 1024"),
    (
        "[duckdb.performance]\nbase_threads = 2.5\n",
        "[duckdb.performance] base_threads = 2.5",
        "a whole number from 1 to 1024",
    ),
    (
        "[duckdb.performance]\nbase_threads = true\n",
        "[duckdb.performance] base_threads = true",
        "a whole number from 1 to 1024",
    ),
    (
        "[duckdb.performance]\nremote_multiplier = 0\n",
        "[duckdb.performance] remote_multiplier = 0",
        "a number above 0, at most 1024",
    ),
    (
        '[duckdb.performance]\nremote_multiplier = "3x"\n',
        '[duckdb.performance] remote_multiplier = "3x"',
        "a number above 0, at most 1024",
    ),
    (
        '[duckdb.performance]\nmemory_limit = "lots"\n',
        '[duckdb.performance] memory_limit = "lots"',
        'a size above 0 such as "2GB"',
    ),
    (
        "[duckdb.performance]\nmemory_limit = 2048\n",
        "[duckdb.performance] memory_limit = 2048",
        'a size above 0 such as "2GB"',
    ),
    (
        '[duckdb.performance]\nio_type = "fast"\n',
        '[duckdb.performance] io_type = "fast"',
        '"local", "remote" or "adaptive"',
    ),
    (
        "[duckdb.performance]\nstmt_cache_capacity = -1\n",
        "[duckdb.performance] stmt_cache_capacity = -1",
        "a whole number ≥ 0",
    ),
    (
        '[engine]\nmode = "hive"\n',
        '[engine] mode = "hive"',
        '"auto", "duckdb", "sqlite", "spark" or "sc://HOST:PORT"',
    ),
    ("[engine]\nmaterialize_min_rows = -5\n", "[engine] materialize_min_rows = -5", "a whole number ≥ 0"),
    ('[session]\nrestore = "yes"\n', '[session] restore = "yes"', "true or false"),
    ('[s3]\nurl_style = "virtual"\n', '[s3] url_style = "virtual"', '"path" or "vhost"'),
    ("[s3]\nsecret_access_key = 12345\n", '[s3] secret_access_key = "****"', "a string"),
    ("[duckdb.tuning]\nx = [1, 2]\n", "[duckdb.tuning] x = [1, 2]", "a string, number or boolean"),
    ("engine = 3\n", "engine = 3", "expected a section [engine]"),
]


@pytest.mark.parametrize(("text", "shown", "expected"), BAD_VALUES)
def test_bad_values_name_file_key_value_and_expectation(
    tmp_path: Path, text: str, shown: str, expected: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    message = caught.value.message
    assert message.startswith(f"{path}: {shown}: ")
    assert expected in message
    assert "\n" not in message
    assert "12345" not in message
    assert caught.value.exit_code == 2


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("NOCTRA_BASE_THREADS", "eight", "a whole number from 1 to 1024"),
        ("NOCTRA_REMOTE_MULTIPLIER", "-1", "a number above 0, at most 1024"),
        ("NOCTRA_MEMORY_LIMIT", "2 elephants", 'a size above 0 such as "2GB", "512MB" or "1.5GiB"'),
        ("NOCTRA_IO_TYPE", "sometimes", '"local", "remote" or "adaptive"'),
        ("NOCTRA_SESSION_RESTORE", "maybe", "true or false"),
    ],
)
def test_bad_environment_values(tmp_path: Path, variable: str, value: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(environ={"XDG_CONFIG_HOME": str(tmp_path), variable: value})
    assert caught.value.message == f'environment variable {variable} = "{value}": expected {expected}'


def test_bad_toml_is_one_clear_error(tmp_path: Path) -> None:
    path = write(tmp_path, "[duckdb.performance\nbase_threads = 2\n")
    with pytest.raises(ConfigError, match=r"not valid TOML: .*line 1") as caught:
        load_config(path, environ={})
    assert str(path) in caught.value.message


def test_unknown_keys_and_sections_are_warnings(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "top = 1\n[duckdb.performance]\nbase_thread = 3\n[engine]\nfoo = 1\n[plugins]\nx = 1\n"
        "[duckdb.tuning]\nthreads = 9\n",
    )
    config = load_config(path, environ={})
    assert config.warnings == [
        f"{path}: unknown key top (ignored)",
        f"{path}: unknown key [duckdb.performance] base_thread (ignored; did you mean base_threads?)",
        f"{path}: [duckdb.tuning] threads is managed by Noctra (ignored; set [duckdb.performance] "
        "base_threads instead)",
        f"{path}: unknown key [engine] foo (ignored; known: mode, materialize_min_rows, "
        "materialize_after_queries, materialize_always_rows, cache_files_under)",
        f"{path}: unknown section [plugins] (ignored; known: [duckdb.performance], [duckdb.tuning], "
        "[engine], [session], [cache], [s3], [postgres], [mysql], [spark])",
    ]
    assert config.performance.base_threads == PerformanceConfig().base_threads


def test_tuning_is_passed_to_duckdb_and_checked_by_trying(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "[duckdb.tuning]\ncatalog_error_max_schemas = 10\nenable_profiling = false\n"
        "preserve_insertion_order = false\n",
    )
    with Session(config=load_config(path, environ={})) as session:
        values = session.sql(
            "SELECT current_setting('catalog_error_max_schemas'), current_setting('preserve_insertion_order')"
        ).rows(1)
        assert values == [(10, False)]
        assert show_config(session)["catalog_error_max_schemas"] == ("10", "file")
    bad = write(tmp_path, "[duckdb.tuning]\nno_such_setting = 1\n", "bad.toml")
    with pytest.raises(ConfigError) as caught:
        Session(config=load_config(bad, environ={}))
    assert caught.value.message.startswith(f"{bad}: [duckdb.tuning] no_such_setting = 1: DuckDB refused it:")


def test_secret_tuning_values_are_masked(tmp_path: Path, run_main: RunMain) -> None:
    write(tmp_path, '[duckdb.tuning]\ns3_secret_access_key = "tuning-secret-xyz"\n', "t.toml")
    with Session(config=load_config(tmp_path / "t.toml", environ={})) as session:
        assert show_config(session)["s3_secret_access_key"] == ("****", "file")
    run = run_main("--config", "t.toml", "config", "show")
    assert 's3_secret_access_key = "****"  # file' in run.out.splitlines()
    assert "tuning-secret-xyz" not in run.out + run.err


def test_memory_limit_is_applied_at_start(tmp_path: Path) -> None:
    path = write(tmp_path, '[duckdb.performance]\nmemory_limit = "1GiB"\n')
    with Session(config=load_config(path, environ={})) as session:
        assert session.sql("SELECT current_setting('memory_limit')").rows(1) == [("1.0 GiB",)]
        session.execute("SET memory_limit = '2GiB'")
        session.execute("RESET memory_limit")
        assert session.sql("SELECT current_setting('memory_limit')").rows(1) == [("1.0 GiB",)]


# --- through the CLI -------------------------------------------------------------------


def test_cli_bad_config_exits_2_with_one_line(run_main: RunMain, tmp_path: Path) -> None:
    write(tmp_path, '[duckdb.performance]\nbase_threads = "eight"\n', "bad.toml")
    run = run_main("--config", "bad.toml", "-c", "SELECT 1")
    assert run.code == 2
    assert run.out == ""
    lines = run.err.splitlines()
    assert lines[0] == (
        'noctra: error: bad.toml: [duckdb.performance] base_threads = "eight": '
        "expected a whole number from 1 to 1024"
    )
    assert lines[1].startswith("hint: ")
    assert len(lines) == 2


def test_cli_bad_toml_and_bad_env_exit_2(
    run_main: RunMain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "[session]\nrestore = \n", "broken.toml")
    run = run_main("--config", "broken.toml", "-c", "SELECT 1")
    assert (run.code, run.out) == (2, "")
    assert run.err.startswith("noctra: error: broken.toml: not valid TOML: ")
    monkeypatch.setenv("NOCTRA_IO_TYPE", "sometimes")
    run = run_main("-c", "SELECT 1")
    assert run.code == 2
    assert run.err.startswith('noctra: error: environment variable NOCTRA_IO_TYPE = "sometimes"')


def test_cli_unknown_key_warns_and_runs(run_main: RunMain, isolated_env: dict[str, str]) -> None:
    path = user_config(isolated_env)
    path.parent.mkdir(parents=True)
    path.write_text("[duckdb.performance]\nbase_thread = 3\n", encoding="utf-8")
    run = run_main("-c", "SELECT 1 AS x", "--format", "csv")
    assert (run.code, run.out) == (0, "x\n1\n")
    assert run.err == (
        f"noctra: warning: {path}: unknown key [duckdb.performance] base_thread "
        "(ignored; did you mean base_threads?)\n"
    )


def test_noctra_config_env_variable_names_the_file(
    run_main: RunMain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "[duckdb.performance]\nbase_threads = 1\n", "from-env.toml")
    monkeypatch.setenv("NOCTRA_CONFIG", str(path))
    run = run_main("-c", "SELECT current_setting('threads') AS t", "--format", "csv")
    assert (run.code, run.out) == (0, "t\n1\n")
    run = run_main("config", "path")
    assert run.out == f"{path} (exists; from $NOCTRA_CONFIG)\n"


def test_config_init_writes_a_commented_default_file(run_main: RunMain, isolated_env: dict[str, str]) -> None:
    path = user_config(isolated_env)
    assert run_main("config", "path").out == f"{path} (does not exist; defaults in use)\n"
    run = run_main("config", "init")
    assert (run.code, run.err) == (0, f"wrote {path}\n")
    assert path.read_text(encoding="utf-8") == DEFAULT_CONFIG_TOML
    config = load_config(path, environ={})
    assert (config.loaded, config.warnings, config.origins) == (True, [], {})
    assert config.performance == PerformanceConfig()
    path.write_text("[session]\nrestore = false\n", encoding="utf-8")
    run = run_main("config", "init")
    assert run.code == 2
    assert run.err.startswith(f"noctra: error: config file {path} already exists\nhint: add --force")
    assert path.read_text(encoding="utf-8") == "[session]\nrestore = false\n"
    assert run_main("config", "init", "--force").code == 0
    assert path.read_text(encoding="utf-8") == DEFAULT_CONFIG_TOML
    assert run_main("config", "path").out == f"{path} (exists)\n"


def test_config_init_at_config_option(run_main: RunMain, tmp_path: Path) -> None:
    run = run_main("config", "init", "--config", "sub/dir/my.toml")
    assert run.code == 0
    assert (tmp_path / "sub" / "dir" / "my.toml").read_text(encoding="utf-8") == DEFAULT_CONFIG_TOML


def test_config_show_is_toml_with_origins(
    run_main: RunMain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(
        tmp_path,
        "[duckdb.performance]\nbase_threads = 3\n[duckdb.tuning]\ncatalog_error_max_schemas = 10\n"
        '[s3]\nsecret_access_key = "file-secret-value"\nendpoint = "http://127.0.0.1:9000"\n',
        "c.toml",
    )
    monkeypatch.setenv("NOCTRA_MEMORY_LIMIT", "3GB")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDENVVALUE")
    run = run_main("--config", "c.toml", "config", "show")
    assert run.code == 0
    assert "file-secret-value" not in run.out
    assert "AKIDENVVALUE" not in run.out
    lines = run.out.splitlines()
    assert "base_threads = 3  # file" in lines
    assert 'memory_limit = "3GB"  # env NOCTRA_MEMORY_LIMIT' in lines
    assert 'io_type = "adaptive"  # default' in lines
    assert 'secret_access_key = "****"  # file' in lines
    assert 'access_key_id = "****"  # env AWS_ACCESS_KEY_ID' in lines
    assert "catalog_error_max_schemas = 10  # file" in lines
    parsed = tomllib.loads(run.out)
    assert parsed["duckdb"]["performance"]["base_threads"] == 3
    assert parsed["s3"]["endpoint"] == "http://127.0.0.1:9000"


def test_info_shows_the_config_file(run_main: RunMain, tmp_path: Path, isolated_env: dict[str, str]) -> None:
    run = run_main("info")
    assert f"config file: none ({user_config(isolated_env)} does not exist; defaults in use)" in run.out
    write(tmp_path, "[duckdb.performance]\nbase_threads = 1\n", "i.toml")
    run = run_main("info", "--config", "i.toml")
    assert "config file: i.toml" in run.out.splitlines()
    assert "threads: 1" in run.out.splitlines()


def test_show_config_lists_settings_and_origins(isolated_env: dict[str, str]) -> None:
    with Session(config=Config()) as session:
        shown = show_config(session)
    for key in (
        "threads",
        "memory_limit",
        "io_type",
        "base_threads",
        "remote_multiplier",
        "stmt_cache_capacity",
        "engine.mode",
        "engine.materialize_min_rows",
        "engine.materialize_after_queries",
        "engine.materialize_always_rows",
        "session.restore",
        "s3.endpoint",
    ):
        assert shown[key][1] == "default", key
    assert shown["memory_limit"][0] == "1.8 GiB"


# --- redaction -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://host/x.csv", "https://host/x.csv"),
        ("https://user:pw@host/x.csv", "https://user:****@host/x.csv"),
        ("https://tok3n@host/x.csv", "https://****@host/x.csv"),
        (
            "https://b.s3.amazonaws.com/k.parquet?X-Amz-Algorithm=AWS4&X-Amz-Credential=AKID%2F2024"
            "&X-Amz-Signature=abc&X-Amz-Security-Token=tok&X-Amz-Expires=60",
            "https://b.s3.amazonaws.com/k.parquet?X-Amz-Algorithm=AWS4&X-Amz-Credential=****"
            "&X-Amz-Signature=****&X-Amz-Security-Token=****&X-Amz-Expires=60",
        ),
        ("https://acct.blob/x.csv?sv=2020&sig=ABC%3D", "https://acct.blob/x.csv?sv=2020&sig=****"),
        ("s3://bucket/logs/*.csv", "s3://bucket/logs/*.csv"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    assert has_credentials(url) is (url != shown)


def test_redact_text_masks_urls_and_known_secrets() -> None:
    text = "error reading 'https://u:secretpw@h/x.csv?token=abc' with key AKIDXYZ"
    assert redact_text(text, ["AKIDXYZ"]) == "error reading 'https://u:****@h/x.csv?token=****' with key ****"


def test_errors_never_carry_url_credentials() -> None:
    error = NoctraError("cannot read 'https://u:pw@host/x.csv?sig=zz'", hint="see https://u:pw@host/")
    assert (error.message, error.hint) == (
        "cannot read 'https://u:****@host/x.csv?sig=****'",
        "see https://u:****@host/",
    )
