"""Round 7 CSV/JSON fixes: files DuckDB reads right are read on both roads (USE and FROM 'x.csv').

- A header holding another delimiter (``Name;Amount (EUR, net)``) is checked for ragged rows
  with the delimiter DuckDB reads the file with, not the first one found in the header.
- A key,value preamble over a header and a single row (a bank statement) reads as DuckDB
  reads it; a table over a longer table, or text over text, is still refused.
- Comment lines on top (``# exported by``) keep the header and every row.
- A JSON object holding a key twice says what reads it, not sample_size.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from noctra import Session
from noctra.engine import sources
from noctra.engine.duck import readers
from noctra.engine.sources import Sniffed, preamble_then_table
from noctra.errors import NoctraError

BANK = "Account,12345\nPeriod,2024-01\ndate,desc,amount\n2024-01-02,Coffee,-3.5\n"
BANK_ROW = [("2024-01-02", "Coffee", -3.5)]

# (file name, contents, column names, rows with dates as text): read alike by USE and FROM.
READS = {
    "header with a comma in a ; file": (
        "eu.csv",
        "Name;Amount (EUR, net);Date\nA;1,5;2024-01-01\nB;2;2024-01-02\nC;3,25;2024-01-03\n",
        ["Name", "Amount (EUR, net)", "Date"],
        [("A", "1,5", "2024-01-01"), ("B", "2", "2024-01-02"), ("C", "3,25", "2024-01-03")],
    ),
    "header with a ; in a .tsv": (
        "notes.tsv",
        "id\tnote; extra\n1\tx;y\n2\tz\n3\tw\n",
        ["id", "note; extra"],
        [(1, "x;y"), (2, "z"), (3, "w")],
    ),
    "header with a comma in a | file": (
        "pipe.csv",
        "id|name, first\n1|a,b\n2|c\n3|d\n",
        ["id", "name, first"],
        [(1, "a,b"), (2, "c"), (3, "d")],
    ),
    "bank statement, one row": ("bank.csv", BANK, ["date", "desc", "amount"], BANK_ROW),
    "bank statement, CRLF": ("bank.csv", BANK.replace("\n", "\r\n"), ["date", "desc", "amount"], BANK_ROW),
    "bank statement, a blank line before the header": (
        "bank.csv",
        BANK.replace("2024-01\n", "2024-01\n\n"),
        ["date", "desc", "amount"],
        BANK_ROW,
    ),
    "bank statement, one line of preamble": (
        "bank.csv",
        BANK.split("\n", 1)[1],
        ["date", "desc", "amount"],
        BANK_ROW,
    ),
    "bank statement, ; and a decimal comma": (
        "bank.csv",
        BANK.replace(",", ";").replace("-3.5", "-3,5"),
        ["date", "desc", "amount"],
        [("2024-01-02", "Coffee", "-3,5")],
    ),
    "bank statement, quoted fields": (
        "bank.csv",
        'Account,"12,345"\nPeriod,2024-01\ndate,desc,amount\n2024-01-02,"Coffee, large",-3.5\n',
        ["date", "desc", "amount"],
        [("2024-01-02", "Coffee, large", -3.5)],
    ),
    "bank statement, two rows": (
        "bank.csv",
        BANK + "2024-01-03,Tea,-2.0\n",
        ["date", "desc", "amount"],
        [*BANK_ROW, ("2024-01-03", "Tea", -2.0)],
    ),
    "two comment lines on top, one inside": (
        "c.csv",
        "# exported by tool\n# date 2024\na,b\n1,2\n#3,4\n5,6\n",
        ["a", "b"],
        [(1, 2), (5, 6)],
    ),
    "one comment line on top": (
        "c.csv",
        "# exported by tool\na,b\n1,2\n#3,4\n5,6\n",
        ["a", "b"],
        [(1, 2), (5, 6)],
    ),
    "a comment line inside only": ("c.csv", "a,b\n1,2\n#3,4\n5,6\n", ["a", "b"], [(1, 2), (5, 6)]),
    "comment lines and no header": (
        "c.csv",
        "# x\n1,2\n#3,4\n5,6\n",
        ["column0", "column1"],
        [(1, 2), (5, 6)],
    ),
    "a column named #": ("h.csv", "#,name\n1,a\n2,b\n", ["#", "name"], [(1, "a"), (2, "b")]),
    "a title, then a column named #": (
        "h.csv",
        "# title\n#,name\n1,a\n2,b\n",
        ["#", "name"],
        [(1, "a"), (2, "b")],
    ),
}


def _read(tmp_path: Path, name: str, road: str) -> tuple[list[str], list[tuple[object, ...]]]:
    sql = f"USE '{name}' AS t; SELECT * FROM t" if road == "USE" else f"SELECT * FROM '{name}'"
    with Session(restore=False, state_path=tmp_path / "s.toml") as s:
        table = s.sql(sql).arrow()
    rows = [tuple(str(v) if hasattr(v, "isoformat") else v for v in r.values()) for r in table.to_pylist()]
    return table.column_names, rows


@pytest.mark.parametrize("road", ["USE", "FROM"])
@pytest.mark.parametrize(("name", "text", "columns", "rows"), READS.values(), ids=READS.keys())
def test_files_duckdb_reads_right_read_on_both_roads(  # noqa: PLR0917 (a table of cases, two roads)
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    road: str,
    name: str,
    text: str,
    columns: list[str],
    rows: list,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / name).write_text(text, encoding="utf-8")
    assert _read(tmp_path, name, road) == (columns, rows)


# (contents, the error after "cannot read 'r.csv' as CSV: "): refused on both roads.
REFUSED = {
    # ; file whose header has a comma, a longer row inside: DuckDB reads one glued column.
    "ragged ; file, comma in the header": (
        "Name;Amount (EUR, net)\nA;1\nB;2;3\nC;4\n",
        "line 3 has 3 fields, its header has 2",
    ),
    "ragged ; tail, comma in the header": (
        "Name;Amount (EUR, net)\nA;1\nB;2\nC;4;5\n",
        "line 4 has 3 fields, the lines before it have 2",
    ),
    # A table (names over numbers), then a longer table: DuckDB keeps the second alone.
    "a table over a longer table": (
        "a,b\n1,2\n3,4\nx,y,z\n5,6,7\n",
        "line 4 has 3 fields, the lines before it have 2",
    ),
    "a short table over a longer table": (
        "a,b\n1,2\nx,y,z\n5,6,7\n",
        "line 3 has 3 fields, the lines before it have 2",
    ),
    # Text over text: the longer line cannot be told from a row.
    "a longer text row last": (
        "name,city\nAl,Paris\nBo,Rome\nCy,Oslo,extra\n",
        "line 4 has 3 fields, the lines before it have 2",
    ),
    "longer text rows last": (
        "name,city\nAl,Paris\nBo,Rome\nCy,Oslo,extra\nDe,Nice,x\n",
        "line 4 has 3 fields, the lines before it have 2",
    ),
    "a preamble over a header over text only": (
        "Account,12345\nPeriod,2024-01\nname,desc,note\nAl,Coffee,cheap\n",
        "line 3 has 3 fields, the lines before it have 2",
    ),
    "numbers, then a longer row of numbers": (
        "a,b\n1,2\n3,4\n5,6\n7,8,9\n",
        "line 5 has 3 fields, the lines before it have 2",
    ),
}


@pytest.mark.parametrize("road", ["USE", "FROM"])
@pytest.mark.parametrize(("text", "error"), REFUSED.values(), ids=REFUSED.keys())
def test_files_duckdb_misreads_are_still_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, road: str, text: str, error: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "r.csv").write_text(text, encoding="utf-8")
    with pytest.raises(NoctraError) as info:
        _read(tmp_path, "r.csv", road)
    assert info.value.message == f"cannot read 'r.csv' as CSV: {error}"


def _rows(text: str) -> tuple[list[list[str]], list[int]]:
    rows = [line.split(",") for line in text.splitlines() if line]
    return rows, list(range(1, len(rows) + 1))


# (file, index of the header, DuckDB's skip and header, accepted)
PREAMBLES = [
    (BANK, 2, 2, True, True),
    (BANK, 2, 3, False, False),  # DuckDB reads the header as a row
    (BANK, 2, 1, True, False),  # DuckDB keeps a preamble line
    (BANK + "2024-01-03,Tea\n", 2, 2, True, False),  # rows of another width after the header
    (BANK.rsplit("\n", 2)[0] + "\n", 2, 2, True, False),  # a header and no row
    ("a,b\n1,2\nx,y,z\n5,6,7\n", 2, 2, True, False),  # the preamble is a table
    ("k,v\nx,y\nd,e,f\ng,h,i\n", 2, 2, True, False),  # names over text: not a header
    ("k,v\n1,2\n3,4,5\n6,7,8\n", 2, 2, True, False),  # numbers: not a header
]


@pytest.mark.parametrize(("text", "start", "skip", "header", "accepted"), PREAMBLES)
def test_preamble_then_table_needs_a_header_over_typed_rows_and_duckdbs_agreement(
    text: str, start: int, skip: int, header: bool, accepted: bool
) -> None:
    rows, lines = _rows(text)
    assert preamble_then_table(rows, lines, start, Sniffed(",", "", "", skip, header)) is accepted


def test_duckdb_sniffs_only_files_the_quick_check_flags(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    real = sources.csv_sniff

    def counted(location: str) -> Sniffed | None:
        calls.append(os.path.basename(location))
        return real(location)

    monkeypatch.setattr(sources, "csv_sniff", counted)
    monkeypatch.setattr(readers, "csv_sniff", counted)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "plain.csv").write_text('a,b\n1,"x, y"\n3,4\n', encoding="utf-8")
    (tmp_path / "eu.csv").write_text("n;Amount (EUR, net)\nA;1,5\nB;2\n", encoding="utf-8")
    (tmp_path / "c.csv").write_text("# note\na,b\n1,2\n#3,4\n5,6\n", encoding="utf-8")
    with Session(restore=False, state_path=tmp_path / "s.toml") as s:
        for _ in range(3):
            assert s.sql("SELECT count(*) FROM 'plain.csv'").rows(1) == [(2,)]
            assert s.sql("SELECT count(*) FROM 'eu.csv'").rows(1) == [(2,)]
            assert s.sql("SELECT a FROM 'c.csv'").rows(1) == [(1,)]
    # Once each per file version: the ; file for its ragged check, the commented one for its comments.
    assert sorted(calls) == ["c.csv", "eu.csv"]


def test_a_commented_csv_quoted_in_from_is_read_with_its_comment_character(tmp_path: Path) -> None:
    commented = tmp_path / "c.csv"
    commented.write_text("# exported by tool\na,b\n1,2\n#3,4\n5,6\n", encoding="utf-8")
    plain = tmp_path / "p.csv"
    plain.write_text("#,name\n1,a\n", encoding="utf-8")
    assert readers.quoted_file_reader(str(commented), sources.SourceKind.CSV).endswith(", comment = '#')")
    assert "comment =" not in str(readers.quoted_file_reader(str(plain), sources.SourceKind.CSV))


def test_a_comment_option_or_skip_is_kept_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.csv").write_text("# exported by tool\na,b\n1,2\n5,6\n", encoding="utf-8")
    with Session(restore=False, state_path=tmp_path / "s.toml") as s:
        s.execute("USE 'c.csv' AS c OPTIONS (skip = 2, header = false)")
        assert s.sql("SELECT * FROM c").rows(5) == [(1, 2), (5, 6)]


JSON_DUPLICATES = {
    "array": ('[{"a":1,"a":2},{"a":3,"b":4}]', [(1, None), (3, 4)]),
    "newline-delimited": ('{"a":1,"a":2}\n{"a":3,"b":4}\n', [(1, None), (3, 4)]),
}


@pytest.mark.parametrize(("text", "first_values"), JSON_DUPLICATES.values(), ids=JSON_DUPLICATES.keys())
def test_a_json_key_given_twice_names_the_readers_that_read_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, first_values: list[tuple[object, ...]]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d.json").write_text(text, encoding="utf-8")
    with Session(restore=False, state_path=tmp_path / "s.toml") as s:
        for sql in ("SELECT * FROM 'd.json'", "USE 'd.json' AS d; SELECT * FROM d"):
            with pytest.raises(NoctraError) as info:
                s.sql(sql).rows(5)
            assert 'has duplicate key "a"' in info.value.message
            hint = info.value.hint or ""
            assert "sample_size" not in hint
            assert 'holds the key "a" twice' in hint and "read_json_objects(" in hint, hint
            assert "ignore_errors = true" in hint
        # What the hint says reads it.
        assert s.sql("SELECT json ->> 'a' FROM read_json_objects('d.json')").rows(5) == [("1",), ("3",)]
        assert s.sql("SELECT a, b FROM read_json('d.json', ignore_errors = true)").rows(5) == first_values
        s.execute("USE 'd.json' AS k OPTIONS (ignore_errors = true)")
        assert s.sql("SELECT a, b FROM k").rows(5) == first_values
