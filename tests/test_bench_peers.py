"""The peer benchmark's own checks (benchmarks/peers.py): every tool's command gives the answer
the others give, a different answer is flagged, and its report block leaves the other one alone."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))

import data  # noqa: E402
import peers  # noqa: E402
import report  # noqa: E402

NOCTRA = Path(sys.executable).parent / "noctra"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Small data of the benchmark's shapes, and a runner with its own XDG dirs."""
    tmp = tmp_path_factory.mktemp("peers")
    small = tmp / "small.csv"
    rows = data.write_sized(small, 200_000, "HEADER", 54.0)
    parquet = tmp / "small.parquet"
    data.write_sized(parquet, 200_000, "FORMAT parquet", 29.0)
    lite = data.SqliteData(
        tmp / "crm.db",
        tmp / "lookup.db",
        tmp / "orders.csv",
        tmp / "countries.csv",
        data.sqlite_extension_path(),
    )
    data.write_sqlite(lite.users_db, 500)
    data.write_orders(lite.orders_csv, 2000, 500)
    env = {k: v for k, v in os.environ.items() if k != "NOCTRA_CONFIG"}
    for var in peers.XDG_VARS:
        env[var] = str(tmp / "xdg" / var.lower())
    env["NOCTRA_CACHE_MIN_SIZE"] = "0"  # the small CSV gets its persistent copy like a big one
    cwd = tmp / "cwd"
    cwd.mkdir()
    tools = peers.find_tools(NOCTRA)
    workloads = peers.peer_workloads(
        NOCTRA, tools, tmp, csv_path=small, big=small, big_rows=rows, parquet=parquet, lite=lite
    )
    return {"runner": peers.Runner(env, cwd, 120), "tools": tools, "workloads": workloads, "rows": rows}


def workload_names() -> list[str]:
    return ["CSV", "Parquet", "JOIN", "export"]


@pytest.mark.parametrize("which", workload_names())
def test_every_installed_tool_gives_the_same_answer(world: dict[str, object], which: str) -> None:
    """Each tool's first (checked) run: parsed answers agree (exports: the written rows)."""
    workloads = world["workloads"]
    assert isinstance(workloads, list)
    chosen = [w for w in workloads if which in w.name][:1]  # the first CSV one: csvsql runs there
    assert chosen
    w = chosen[0]
    runner = world["runner"]
    assert isinstance(runner, peers.Runner)
    peers.measure_workload(w, runner, runs=0, rss_runs=0, slow=1e9, log=lambda _m: None)
    verdicts = peers.judge(w)
    ran = [c for c in w.contenders if c.cmd is not None]
    assert any(c.tool == "noctra" for c in ran)
    for c in ran:
        assert not c.error and not c.killed, f"{c.label}: {c.error}"
        if w.kind == "export":
            assert c.written is not None and c.written[0] == world["rows"], c.label
            assert not c.output or not c.output.exists()  # removed after the run
        else:
            assert verdicts[id(c)] == "same", f"{c.label}: {verdicts[id(c)]}"
    for c in w.contenders:
        if c.cmd is None:
            assert c.na  # n/a or not installed, with the reason in the row
    rows = peers.PeerReport([], workloads=[w]).rows()
    assert len(rows) == len(w.contenders)


def test_repeated_noctra_reads_the_copy_two_runs_built(world: dict[str, object]) -> None:
    workloads = world["workloads"]
    assert isinstance(workloads, list)
    w = next(w for w in workloads if w.cached)
    repeated = next(c for c in w.contenders if c.warm is not None)
    runner = world["runner"]
    assert isinstance(runner, peers.Runner)
    assert peers.warm_cache(runner, repeated) == ""
    assert list((repeated.warm / "noctra").glob("*.parquet"))
    first = next(c for c in w.contenders if c.tool == "noctra" and c.warm is None)
    runner.run(first)  # a "first" run starts from an empty cache and leaves the warm one alone
    assert list((repeated.warm / "noctra").glob("*.parquet"))


def answer(key_count_sum_avg: list[tuple[str, int, float, float]]) -> list[tuple[str, int, float, float]]:
    return sorted(key_count_sum_avg)


@pytest.mark.parametrize(
    ("other", "flagged"),
    [
        ([("a", 2, 3.0000000001, 1.5), ("b", 1, 4.0, 4.0)], False),  # last digits of a float sum
        ([("a", 2, 3.1, 1.55), ("b", 1, 4.0, 4.0)], True),  # another sum
        ([("a", 3, 3.0, 1.0), ("b", 1, 4.0, 4.0)], True),  # another count
        ([("a", 2, 3.0, 1.5)], True),  # a group missing
        ([("A", 2, 3.0, 1.5), ("b", 1, 4.0, 4.0)], True),  # another key
    ],
)
def test_a_tool_with_another_answer_is_flagged(
    other: list[tuple[str, int, float, float]], flagged: bool
) -> None:
    reference = answer([("a", 2, 3.0, 1.5), ("b", 1, 4.0, 4.0)])
    contenders = [
        peers.Contender(k, k, ["true"], answer=reference) for k in ("noctra", "duckdb-py", "polars")
    ]
    odd = peers.Contender("chdb", "chDB", ["true"], answer=answer(other))
    w = peers.PeerWorkload("x", [], [*contenders, odd])
    verdicts = peers.judge(w)
    assert all(verdicts[id(c)] == "same" for c in contenders)
    assert verdicts[id(odd)].startswith("DIFFERENT") is flagged


@pytest.mark.parametrize(
    "output",
    [
        "category,count_star(),sum(amount),avg(amount)\ncat_01,2,3.5,1.75\ncat_00,1,1,1\n",  # DuckDB, Noctra
        '"cat_00",1,1,1\n"cat_01",2,3.5,1.75\n',  # chDB CSV: no header, quoted keys
        "category,len,sum,avg\r\ncat_00,1,1.0,1.0\r\ncat_01,2,3.5,1.75\r\n",  # Polars, csvsql
    ],
)
def test_outputs_of_every_format_parse_to_one_answer(output: str) -> None:
    assert peers.parse_answer(output) == [("cat_00", 1, 1.0, 1.0), ("cat_01", 2, 3.5, 1.75)]


def test_the_peer_block_and_the_spec_block_are_written_apart(tmp_path: Path) -> None:
    doc = tmp_path / "BENCHMARKS.md"
    doc.write_text(
        f"# B\n\nprose\n\n{report.BEGIN_MARK}\nold spec table\n{report.END_MARK}\n\nmore prose\n",
        encoding="utf-8",
    )
    report.write_markdown(
        doc, f"{peers.PEER_BEGIN}\npeer table 1\n{peers.PEER_END}\n", peers.PEER_BEGIN, peers.PEER_END
    )
    report.write_markdown(
        doc, f"{peers.PEER_BEGIN}\npeer table 2\n{peers.PEER_END}\n", peers.PEER_BEGIN, peers.PEER_END
    )
    report.write_markdown(doc, f"{report.BEGIN_MARK}\nnew spec table\n{report.END_MARK}\n")
    text = doc.read_text(encoding="utf-8")
    assert "prose" in text and "more prose" in text
    assert "new spec table" in text and "old spec table" not in text
    assert text.count("peer table") == 1 and "peer table 2" in text


def test_the_done_when_lines_judge_the_medians_and_name_the_python_client() -> None:
    """The printed checks of issue 15: repeated ≥ 10× the CLI, first ≤ 1.05 × (CLI + Python
    start-up), and an INFO line putting the first run beside DuckDB's own Python client."""

    def contender(tool: str, label: str, times: list[float]) -> peers.Contender:
        return peers.Contender(tool, label, ["x"], times=times)

    workload = peers.PeerWorkload(
        "CSV 1.0 GB aggregate",
        [],
        [
            contender("noctra", "Noctra, first (cache empty)", [2.2, 2.0, 2.1]),
            contender("noctra", "Noctra, repeated (cache warm)", [0.12, 0.1, 0.11]),
            contender("duckdb-cli", "DuckDB CLI", [1.9, 2.0, 1.95]),
            contender("duckdb-py", "DuckDB Python API", [2.2, 2.05, 2.3]),
            contender("python", "Python start-up (python -c pass)", [0.015, 0.016, 0.014]),
        ],
    )
    made = peers.PeerReport(machine=[], workloads=[workload])
    made.done_when("CSV 1.0 GB aggregate", scaled=False)
    assert made.checks[0].startswith(
        "PASS: CSV 1.0 GB aggregate, repeated: Noctra 110 ms vs DuckDB CLI 1.95 s"
    )
    assert made.checks[1] == (
        "INFO: CSV 1.0 GB aggregate, first: Noctra 2.10 s vs DuckDB's own Python client 2.20 s "
        "(the same engine, started from Python): 0.955×"
    )
    assert made.checks[2].startswith("MISS: CSV 1.0 GB aggregate, first: Noctra 2.10 s vs DuckDB CLI 1.95 s")
    assert "1.069×" in made.checks[2]
