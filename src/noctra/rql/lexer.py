"""One tokenizer for the splitter, the parser and the rewriters.

It knows SQL's quoting rules (``'..'`` with ``''``, ``E'..'`` with backslashes,
``".."``, ``$$..$$`` and ``$tag$..$tag$``, ``--`` and nested ``/* */`` comments),
so that nothing inside a string or comment is ever taken for syntax.
"""

from __future__ import annotations

import re
from enum import Enum

from noctra.errors import RqlSyntaxError, Span
from noctra.records import record


class Kind(Enum):
    """What a token is."""

    SPACE = "space"
    COMMENT = "comment"
    STRING = "string"
    QIDENT = "qident"
    DOLLAR = "dollar"
    WORD = "word"
    NUMBER = "number"
    HASHVAR = "hashvar"
    PARAM = "param"
    OP = "op"
    SEMI = "semi"


@record(frozen=True)
class Token:
    """A piece of the script with its offset, line and column (1-based)."""

    kind: Kind
    text: str
    start: int
    line: int
    column: int

    @property
    def end(self) -> int:
        return self.start + len(self.text)

    @property
    def upper(self) -> str:
        return self.text.upper()

    def is_word(self, *words: str) -> bool:
        return self.kind is Kind.WORD and self.text.upper() in words


_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"[^\W\d][\w$]*")
_NUMBER = re.compile(r"(?:\d+(?:_\d+)*(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
# Compiled on first use (re caches them): only statements with $ or :name/#name need them.
_DOLLAR_TAG = r"\$([A-Za-z_][A-Za-z0-9_]*)?\$"
_POSITIONAL = r"\$\d+"
_NAME = r"[^\W\d]\w*"  # a letter or _, then letters, digits, _ (any script: #é, :año)
_OPS = ("::", "<=", ">=", "<>", "!=", "||", "->>", "->", "=>", "**", "//", "<<", ">>")


def _position(text: str, offset: int, line_starts: list[int]) -> tuple[int, int]:
    lo, hi = 0, len(line_starts) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if line_starts[mid] <= offset:
            lo = mid
        else:
            hi = mid - 1
    return lo + 1, offset - line_starts[lo] + 1


def line_starts_of(text: str) -> list[int]:
    """Offsets at which each line of text starts."""
    starts = [0]
    for match in re.finditer(r"\r\n|\r|\n", text):
        starts.append(match.end())
    return starts


def tokenize(text: str, *, statement: int = 1) -> list[Token]:
    """Cut text into tokens; unterminated quotes or comments raise RqlSyntaxError."""
    starts = line_starts_of(text)
    tokens: list[Token] = []
    pos = 0
    size = len(text)

    def fail(message: str, at: int, hint: str) -> RqlSyntaxError:
        line, column = _position(text, at, starts)
        return RqlSyntaxError(message, hint=hint, span=Span(statement, line, column))

    # DuckDB reads a statement only up to a NUL: ``SELECT 2 <NUL>+ 40`` would answer 2.
    has_nul = "\x00" in text
    while pos < size:
        char = text[pos]
        end: int
        kind: Kind
        if char.isspace():
            match = _SPACE.match(text, pos)
            assert match is not None
            kind, end = Kind.SPACE, match.end()
        elif text.startswith("--", pos):
            newline = text.find("\n", pos)
            kind, end = Kind.COMMENT, size if newline < 0 else newline
        elif text.startswith("/*", pos):
            depth, scan = 1, pos + 2
            while depth:
                opening = text.find("/*", scan)
                closing = text.find("*/", scan)
                if closing < 0:
                    raise fail("unterminated /* comment", pos, "close it with */")
                if 0 <= opening < closing:
                    depth, scan = depth + 1, opening + 2
                else:
                    depth, scan = depth - 1, closing + 2
            kind, end = Kind.COMMENT, scan
        elif char == "'" or (char in "eE" and text.startswith("'", pos + 1) and not _after_word(text, pos)):
            backslashes = char != "'"
            scan = pos + (2 if backslashes else 1)
            while True:
                if scan >= size:
                    raise fail("unterminated string", pos, "close the string with '")
                c = text[scan]
                if backslashes and c == "\\":
                    scan += 2
                elif c == "'":
                    if text.startswith("'", scan + 1):
                        scan += 2
                    else:
                        scan += 1
                        break
                else:
                    scan += 1
            kind, end = Kind.STRING, scan
        elif char == '"':
            scan = pos + 1
            while True:
                closing = text.find('"', scan)
                if closing < 0:
                    raise fail("unterminated quoted identifier", pos, 'close it with "')
                if text.startswith('"', closing + 1):
                    scan = closing + 2
                    continue
                break
            kind, end = Kind.QIDENT, closing + 1
        elif char == "$":
            positional = re.compile(_POSITIONAL).match(text, pos)
            tag = None if positional else re.compile(_DOLLAR_TAG).match(text, pos)
            if positional:
                kind, end = Kind.PARAM, positional.end()
            elif tag and not _after_word(text, pos):
                closing = text.find(tag.group(0), tag.end())
                if closing < 0:
                    raise fail(
                        f"unterminated dollar-quoted string {tag.group(0)}",
                        pos,
                        f"close it with {tag.group(0)}",
                    )
                kind, end = Kind.DOLLAR, closing + len(tag.group(0))
            else:
                kind, end = Kind.OP, pos + 1
        elif char == "#" and (name := re.compile(_NAME).match(text, pos + 1)):
            kind, end = Kind.HASHVAR, name.end()
        elif (
            char == ":"
            and not text.startswith("::", pos)
            and (name := re.compile(_NAME).match(text, pos + 1))
            and _starts_parameter(tokens)
        ):
            kind, end = Kind.PARAM, name.end()
        elif char == ";":
            kind, end = Kind.SEMI, pos + 1
        elif char in "0123456789" or (char == "." and pos + 1 < size and text[pos + 1] in "0123456789"):
            match = _NUMBER.match(text, pos)
            assert match is not None
            kind, end = Kind.NUMBER, match.end()
        elif match := _WORD.match(text, pos):
            kind, end = Kind.WORD, match.end()
        else:
            kind, end = Kind.OP, pos + 1
            for op in _OPS:
                if text.startswith(op, pos):
                    end = pos + len(op)
                    break
        if has_nul and "\x00" in text[pos:end]:
            raise fail(
                "a NUL character (byte 0) is not SQL text", pos, "is this a binary file? remove the NUL bytes"
            )
        line, column = _position(text, pos, starts)
        tokens.append(Token(kind, text[pos:end], pos, line, column))
        pos = end
    return tokens


def is_variable_name(name: str) -> bool:
    """True for a name #name and :name can use: a letter or _, then letters, digits or _."""
    return re.fullmatch(_NAME, name) is not None


def _after_word(text: str, pos: int) -> bool:
    """True when the character before pos continues a word (so ``a$b$`` is no tag)."""
    return pos > 0 and (text[pos - 1].isalnum() or text[pos - 1] in "_$")


# Words after which a value comes, so ``:name`` there is a parameter (``WHERE a = 1 AND :x``).
# After any other word ``:`` is DuckDB's: ``lambda x:x + 1``, ``{a:x}``, ``l[i:n]``, ``n: 42``.
_VALUE_KEYWORDS = frozenset(
    [
        "ALL",
        "AND",
        "ANY",
        "ARRAY",
        "AS",
        "BETWEEN",
        "BY",
        "CASE",
        "DEFAULT",
        "DISTINCT",
        "ELSE",
        "ESCAPE",
        "EXISTS",
        "FIRST",
        "FROM",
        "GLOB",
        "GROUPS",
        "HAVING",
        "ILIKE",
        "IN",
        "INTERVAL",
        "IS",
        "LIKE",
        "LIMIT",
        "NEXT",
        "NOT",
        "OFFSET",
        "ON",
        "OR",
        "QUALIFY",
        "RANGE",
        "RETURN",
        "RETURNING",
        "ROWS",
        "SELECT",
        "SET",
        "SIMILAR",
        "SOME",
        "THEN",
        "TO",
        "USING",
        "VALUES",
        "WHEN",
        "WHERE",
        "ZONE",
    ]
)


def _ends_operand(token: Token) -> bool:
    """True when token can end a value (a name, a literal, a closing bracket)."""
    if token.kind is Kind.WORD:
        return token.upper not in _VALUE_KEYWORDS
    if token.kind is Kind.OP:
        return token.text in (")", "]", "}")
    return token.kind not in (Kind.SPACE, Kind.COMMENT, Kind.SEMI)


def _starts_parameter(tokens: list[Token]) -> bool:
    """True when a ``:name`` after these tokens is a parameter, not DuckDB's own colon.

    A parameter starts a value: after an operator, ``(``, ``,``, a keyword or another
    ``:`` (``{'k': :v}``, ``l[1: :n]``). Right after a value the colon belongs to a
    lambda, a struct key, a prefix alias or a slice; so does the colon just after an
    index's ``[`` (``l[:n]`` slices to column n; ``l[: :n]`` slices to a parameter),
    while ``[:a, :b]`` is a list of parameters.
    """
    before: list[Token] = []
    for token in reversed(tokens):
        if token.kind not in (Kind.SPACE, Kind.COMMENT):
            before.append(token)
            if len(before) == 2:
                break
    if not before:
        return True
    previous = before[0]
    if previous.kind is Kind.OP and previous.text == "[":
        return len(before) < 2 or not _ends_operand(before[1])
    return not _ends_operand(previous)


def significant(tokens: list[Token]) -> list[Token]:
    """Tokens without spaces and comments."""
    return [t for t in tokens if t.kind not in (Kind.SPACE, Kind.COMMENT)]
