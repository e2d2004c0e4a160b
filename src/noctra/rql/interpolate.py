"""``#name`` -> a typed SQL literal; ``:name`` -> a bound parameter. Pure text work."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from noctra.errors import RqlSyntaxError, Span
from noctra.rql.lexer import Kind, tokenize


def _unknown(kind: str, name: str, known: list[str], span: Span | None, how: str) -> RqlSyntaxError:
    defined = ", ".join(sorted(known)) if known else "none defined"
    return RqlSyntaxError(
        f"unknown {kind} {name!r}",
        hint=f"defined variables: {defined}; {how}",
        span=span,
    )


def interpolate(text: str, literals: Mapping[str, str], *, statement: int = 1) -> str:
    """Replace every ``#name`` outside strings, identifiers and comments by its literal.

    ``literals`` maps lower-cased variable names to SQL literal text.
    """
    if "#" not in text:
        return text
    out: list[str] = []
    last = 0
    for token in tokenize(text, statement=statement):
        if token.kind is not Kind.HASHVAR:
            continue
        name = token.text[1:]
        literal = literals.get(name.lower())
        if literal is None:
            raise _unknown(
                "variable",
                "#" + name,
                ["#" + k for k in literals],
                Span(statement, token.line, token.column),
                f"define it with LET {name} = ...",
            )
        out.append(text[last : token.start])
        out.append(literal)
        last = token.end
    out.append(text[last:])
    return "".join(out)


def named_parameters(
    text: str, render: Callable[[str], str] = lambda name: "$" + name, *, statement: int = 1
) -> tuple[str, list[str]]:
    """Rewrite each ``:name`` with render(name) (DuckDB's ``$name`` by default).

    Returns the text and the lower-cased names in order; ``$1``-style positional
    parameters are left alone.
    """
    if ":" not in text:
        return text, []
    out: list[str] = []
    names: list[str] = []
    last = 0
    for token in tokenize(text, statement=statement):
        if token.kind is Kind.PARAM and token.text.startswith(":"):
            name = token.text[1:]
            out.append(text[last : token.start])
            out.append(render(name.lower()))
            last = token.end
            if name.lower() not in names:
                names.append(name.lower())
    out.append(text[last:])
    return "".join(out), names


def unknown_parameter(name: str, known: list[str], span: Span | None) -> RqlSyntaxError:
    """The error for a ``:name`` that no variable or parameter gives a value to.

    Its span is found again where the statement has the ``:name`` (the text bound may be a
    rewritten one, or a part of the statement, as LET's expression is).
    """
    error = _unknown(
        "parameter",
        ":" + name,
        known,
        span,
        f"define it with LET {name} = ..., --param {name}=VALUE or a keyword argument",
    )
    error.token = ":" + name
    return error
