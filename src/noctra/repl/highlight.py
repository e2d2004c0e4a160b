"""SQL + RQL highlighting for the prompt: pygments' SQL lexer with Noctra's words and names."""

from __future__ import annotations

from typing import ClassVar

from pygments.lexer import inherit, words
from pygments.lexers.sql import SqlLexer
from pygments.token import Keyword, Name, Number, String

RQL_WORDS = ("USE", "DETACH", "UNUSE", "LET", "UNSET", "EXPORT", "SOURCES", "VARS", "OPTIONS", "FORMAT")


class RqlLexer(SqlLexer):
    """DuckDB SQL plus RQL commands, ``#variables``, ``:parameters``, ``$$`` bodies and numbers with dots."""

    name = "RQL"
    aliases: ClassVar[list[str]] = ["rql"]
    tokens: ClassVar[dict[str, list[object]]] = {
        "root": [
            (words(RQL_WORDS, suffix=r"\b"), Keyword),
            (r"#[^\W\d]\w*", Name.Variable),
            (r"(?<![\w:]):[^\W\d]\w*", Name.Variable.Magic),
            (r"\$\d+", Name.Variable.Magic),
            (r"\$([A-Za-z_]\w*)?\$(.|\n)*?\$\1\$", String),
            (r"[0-9]+\.[0-9]*([eE][+-]?[0-9]+)?|\.[0-9]+", Number.Float),
            (r"^\.[a-z]+", Keyword.Pseudo),
            inherit,
        ]
    }
