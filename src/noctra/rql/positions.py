"""Where in the user's statement an error happened.

An engine reports a position in the SQL it ran, and that is rarely the user's text as
typed: output runs it inside a wrapper (``COPY (...) TO``, ``DESCRIBE (...)``,
``SELECT COLUMNS(*)::VARCHAR FROM (...)``, LET's ``SELECT typeof(v) ... FROM (SELECT (...``),
``#name`` became a literal, ``:name`` a bound parameter, ``path::table`` an alias. DuckDB
shows the line it means (at most ~120 cells of it) and a caret under the spot; that line is
matched, token by token, against the lines of the user's statement. A position inside text
Noctra put there points at what the user wrote instead: the ``#name`` whose literal it is,
the ``:name``, or where the wrapper meets the user's text.
"""

from __future__ import annotations

import difflib
import re
import unicodedata

from noctra.errors import NoctraError, RqlSyntaxError, Span
from noctra.rql.lexer import Kind, line_starts_of, significant, tokenize
from noctra.rql.splitter import Statement

# A user's line longer than this is matched around an anchor, not whole.
_WINDOW = 4096
# How many lines below the reported one the user's text may start (LET x =\n  expr).
_LINES_BELOW = 12
_LINES_ABOVE = 3
# How much of a statement is read to find where its query starts (LET x = ..., EXPORT (...).
_HEAD = 4096


def locate(exc: NoctraError, statement: Statement) -> NoctraError:
    """Give an error the statement's position: the engine's line/column mapped to the user's
    text when it said one, the word the error is about (``:name``), else the statement's start."""
    if exc.token is not None:
        found = _find_token(statement, exc.token)
        if found is not None:
            exc.span = found
            return exc
    if exc.span is not None:
        return exc
    span: Span | None = None
    position = engine_position(exc)
    if position is not None:
        span = engine_span(statement, *position)
    elif "at end of input" in exc.message:
        span = _input_end(statement)
    exc.span = span or statement.span
    return exc


def engine_position(exc: BaseException) -> tuple[int, str, int] | None:
    """(line, the line as the engine showed it, caret) of an error or of the one it wraps."""
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 4:
        position = getattr(current, "engine_position", None)
        if position is not None:
            return position  # type: ignore[no-any-return]
        current, seen = current.__cause__, seen + 1
    return None


def engine_span(statement: Statement, line: int, shown: str, caret: int) -> Span | None:
    """The span in the statement of the spot an engine showed (None if it cannot be told).

    ``shown`` is the engine's line ``line`` of the SQL it ran (``...`` where it cut it), and
    ``caret`` the 0-based cell of the spot in it, in terminal cells as DuckDB counts them.
    """
    text = statement.text
    starts = line_starts_of(text)
    ends = [*starts[1:], len(text)]
    lines = [text[start:end].rstrip("\r\n") for start, end in zip(starts, ends, strict=True)]
    spot = _char_at(shown, caret)
    shown_words = _words(shown)
    # The engine's line 1 is where the query starts: after ``LET x =`` or ``EXPORT (``, maybe
    # on a line of its own. Lines around are tried too (a #name's value may hold a newline).
    first_line, first_column = _query_start(statement)
    line += first_line - 1
    below = range(line + 1, line + _LINES_BELOW + 1)
    candidates = [line, *below, *range(line - 1, line - _LINES_ABOVE - 1, -1)]
    best: tuple[bool, int, int, int] | None = None  # exact, matched characters, -order, index
    best_line = 0
    for order, number in enumerate(candidates):
        if not shown_words or not 1 <= number <= len(lines):
            continue
        skip = first_column if number == first_line else 0  # LET x = ... is not in the SQL run
        found = _align(shown, shown_words, spot, lines[number - 1][skip:], near=number == line)
        if found is None:
            continue
        exact, index, characters = found
        key = (exact, characters, -order, index + skip)
        if best is None or key[:3] > best[:3]:
            best, best_line = key, number
    if best is not None:
        return statement.span_at(best_line, best[3] + 1)
    if line > len(lines):
        # The spot is past the user's text (the wrapper's closing parenthesis): it ended too soon.
        return statement.end_span()
    return None


def _query_start(statement: Statement) -> tuple[int, int]:
    """Where in the statement the SQL handed to the engine starts (line, 0-based column):
    LET's expression, the query of ``EXPORT (query)`` or ``DESCRIBE (query)``, else its start."""
    head = statement.text[:_HEAD]  # the words that matter come first: a statement may be huge
    words = _words(head)[:8]
    first = words[0][1].upper() if words else ""
    after: int | None = None
    if first == "LET":
        after = next((n + 1 for n, (_, word) in enumerate(words) if word in ("=", ":=")), None)
    elif first in ("EXPORT", "DESCRIBE", "DESC") and len(words) > 1 and words[1][1] == "(":
        after = 2
    if after is None or after >= len(words):
        return 1, 0
    offset = words[after][0]
    starts = line_starts_of(head[:offset])
    return len(starts), offset - starts[-1]


def _input_end(statement: Statement) -> Span:
    """Where the SQL the engine parsed ends: the statement's end, or the ``)`` that closes the
    query of ``EXPORT (query)`` and ``DESCRIBE (query)``."""
    try:
        words = significant(tokenize(statement.text, statement=statement.number))
    except RqlSyntaxError:
        return statement.end_span()
    if len(words) > 2 and words[0].is_word("EXPORT", "DESCRIBE", "DESC") and words[1].text == "(":
        depth = 0
        for word in words[1:]:
            if word.kind is Kind.OP and word.text in ("(", ")"):
                depth += 1 if word.text == "(" else -1
                if depth == 0:
                    return statement.span_at(word.line, word.column)
    return statement.end_span()


def _find_token(statement: Statement, wanted: str) -> Span | None:
    """The span of the first token of the statement that reads ``wanted`` (case-insensitive)."""
    try:
        tokens = tokenize(statement.text, statement=statement.number)
    except RqlSyntaxError:
        return None
    lowered = wanted.lower()
    # A string is looked for only when the wanted text is one (a quoted path in FROM).
    skipped = {Kind.SPACE, Kind.COMMENT}
    if not wanted.startswith("'"):
        skipped.add(Kind.STRING)
    for token in tokens:
        if token.kind not in skipped and token.text.lower() == lowered:
            return statement.span_at(token.line, token.column)
    return None


def _cells(char: str) -> int:
    """Terminal cells of a character, as DuckDB counts them for its caret."""
    if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def _char_at(shown: str, caret: int) -> int:
    """The index in ``shown`` of the character the caret (a cell count) stands under."""
    cells = 0
    for index, char in enumerate(shown):
        if cells >= caret and _cells(char):
            return index
        cells += _cells(char)
    return len(shown)


def _words(text: str) -> list[tuple[int, str]]:
    """(offset, text) of text's significant tokens; never fails.

    A piece of a line may start or end inside a string or comment (DuckDB cuts long lines,
    a string may go on past the line): an opening that does not close is a word of its own.
    """
    words: list[tuple[int, str]] = []
    base = 0
    while True:
        try:
            tokens = tokenize(text)
        except RqlSyntaxError as exc:
            stop = 0
            if exc.span is not None:
                stop = line_starts_of(text)[exc.span.line - 1] + exc.span.column - 1
            try:
                words += [(base + t.start, t.text) for t in significant(tokenize(text[:stop]))]
            except RqlSyntaxError:  # not expected: the text before a token tokenizes alike
                words += [(base + m.start(), m.group()) for m in re.finditer(r"\S+", text[:stop])]
            words.append((base + stop, text[stop]))
            base, text = base + stop + 1, text[stop + 1 :]
            continue
        words += [(base + t.start, t.text) for t in significant(tokens)]
        return words


def _window(shown: str, spot: int, line: str) -> int | None:
    """Where to start matching in a long line: around where the shown text around the spot is."""
    core = shown.strip(".")
    for size in (48, 24, 12, 6):
        for piece in (shown[spot : spot + size], shown[max(spot - size, 0) : spot]):
            anchor = piece.strip(".")
            if len(anchor) >= min(size, len(core)) and (found := line.find(anchor)) >= 0:
                return max(found - 2 * len(shown), 0)
    return None


def _align(
    shown: str, shown_words: list[tuple[int, str]], spot: int, line: str, *, near: bool
) -> tuple[bool, int, int] | None:
    """Match the engine's line against one line of the user's statement, word by word.

    Returns (the spot is in words both have, its index in ``line``, characters matched), or
    None when the two are not alike enough to tell: on the line the engine named (``near``),
    the spot's word must be in a run of two matching words, or all the engine's words or half
    the user's must match;
    a spot in words the user wrote otherwise (a #name's literal, a wrapper) needs matching
    words around it. On another line, only a run of two words or the same words count.
    """
    base = 0
    if len(line) > _WINDOW:
        start = _window(shown, spot, line)
        if start is None:
            return None
        base, line = start, line[start : start + _WINDOW]
    user_words = _words(line)
    if not user_words:
        return None
    matcher = difflib.SequenceMatcher(
        None, [w for _, w in shown_words], [w for _, w in user_words], autojunk=False
    )
    opcodes = matcher.get_opcodes()
    matched = sum(i2 - i1 for tag, i1, i2, _, _ in opcodes if tag == "equal")
    if not matched:
        return None
    characters = sum(
        len(shown_words[n][1]) for tag, i1, i2, _, _ in opcodes if tag == "equal" for n in range(i1, i2)
    )
    whole = matched == len(shown_words) == len(user_words)
    # The word the spot is in (or the next one, when the spot is a space; else the last one).
    at = next(
        (n for n, (offset, word) in enumerate(shown_words) if spot < offset + len(word)),
        len(shown_words) - 1,
    )
    past = spot >= shown_words[at][0] + len(shown_words[at][1])
    for index, (tag, i1, i2, j1, j2) in enumerate(opcodes):
        if not i1 <= at < i2:
            continue
        if tag == "equal":
            alike = matched == len(shown_words) or 2 * matched >= len(user_words)
            if not (i2 - i1 >= 2 or whole or (near and alike)):
                return None  # one word in common is chance
            offset, word = user_words[j1 + at - i1]
            inside = len(word) if past else min(max(spot - shown_words[at][0], 0), len(word))
            return True, base + offset + inside, characters
        before = opcodes[index - 1] if index > 0 else None
        after = opcodes[index + 1] if index + 1 < len(opcodes) else None
        around = [o for o in (before, after) if o is not None]
        # Matching words next to it: two, or all the user's words but the stretch.
        enough = sum(o[2] - o[1] for o in around) >= 2 or matched + j2 - j1 == len(user_words)
        if not near or any(o[0] != "equal" for o in around) or not enough:
            return None
        if j1 == j2:  # words only the engine's text has (a wrapper): where the user's go on
            return False, base + (user_words[j1][0] if j1 < len(user_words) else len(line)), characters
        # Words the user wrote otherwise (#name -> its literal): counted from the end of the
        # stretch, since wrappers come before the user's words.
        return False, base + user_words[max(j1, j2 - (i2 - at))][0], characters
    return None
