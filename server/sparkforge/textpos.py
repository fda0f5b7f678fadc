"""Positions: LSP (line, character) <-> index into a Python str, strictly, in the position
encoding the client negotiated.

LSP counts ``character`` in UTF-16 code units unless the client and server agreed otherwise
(``general.positionEncodings`` → ``capabilities.positionEncoding``): ``utf-8`` counts bytes
(Neovim offers it first), ``utf-32`` counts code points, which is exactly a Python str index.
pygls's helpers clamp a position past the end of a line to the end; we would rather refuse
it with a clear error, and we convert on every keystroke, so this keeps a line index per
document text and converts ASCII lines without scanning them (every encoding agrees there).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from itertools import accumulate, repeat
from operator import add
from typing import Any, Callable, Sequence

UTF8 = "utf-8"
UTF16 = "utf-16"
UTF32 = "utf-32"


class PositionError(ValueError):
    """A position that does not exist in the document."""


def utf16_len(text: str) -> int:
    if text.isascii():
        return len(text)
    return len(text) + sum(1 for c in text if ord(c) > 0xFFFF)


def units(text: str, encoding: str = UTF16) -> int:
    """The length of ``text`` in the encoding's code units (what LSP's ``character`` counts)."""
    if text.isascii() or encoding == UTF32:
        return len(text)
    if encoding == UTF8:
        return len(text.encode("utf-8", "surrogatepass"))
    return utf16_len(text)


def units_to_column(line: str, character: int, encoding: str = UTF16) -> int:
    """The str index of column ``character`` (in ``encoding`` units) in ``line`` (no line
    ending); PositionError if it is past the end or inside a character."""
    if line.isascii() or encoding == UTF32:
        if character > len(line):
            raise PositionError(f"character {character} is past the end of the line ({len(line)})")
        return character
    if encoding == UTF8:
        data = line.encode("utf-8", "surrogatepass")
        if character > len(data):
            raise PositionError(f"character {character} is past the end of the line ({len(data)} bytes)")
        try:
            return len(data[:character].decode("utf-8", "surrogatepass"))
        except UnicodeDecodeError:
            raise PositionError(f"character {character} falls inside a multi-byte character") from None
    count = 0
    for i, ch in enumerate(line):
        if count == character:
            return i
        count += 2 if ord(ch) > 0xFFFF else 1
        if count > character:
            raise PositionError(f"character {character} falls inside a surrogate pair")
    if count == character:
        return len(line)
    raise PositionError(f"character {character} is past the end of the line ({count})")


def column_to_units(line: str, column: int, encoding: str = UTF16) -> int:
    """The LSP character (in ``encoding`` units) of str index ``column`` in ``line``."""
    if encoding == UTF32 or line.isascii():
        return column
    return units(line[:column], encoding)


@dataclass(frozen=True)
class LineIndex:
    """Start offsets of the lines of one text; lines end at \\n (a \\r before it is kept).
    Positions are read and written in ``encoding`` (``utf-16`` unless told)."""

    text: str
    starts: tuple[int, ...]
    encoding: str = UTF16

    @classmethod
    def of(cls, text: str, encoding: str = UTF16) -> "LineIndex":
        # str.split, map and accumulate all run in C: about ten times faster than a loop.
        lines = text.split("\n")
        lines.pop()
        return cls(text, (0, *accumulate(map(add, map(len, lines), repeat(1)))), encoding)

    @property
    def line_count(self) -> int:
        return len(self.starts)

    def line(self, n: int) -> str:
        """Line ``n`` without its line ending."""
        start = self.starts[n]
        if n + 1 < len(self.starts):
            end = self.starts[n + 1] - 1
            if end > start and self.text[end - 1] == "\r":
                end -= 1
        else:
            end = len(self.text)
        return self.text[start:end]

    def offset(self, line: int, character: int) -> int:
        """Str offset of an LSP position; PositionError if it is not in the text."""
        if line < 0 or character < 0:
            raise PositionError(f"position ({line}, {character}) is negative")
        if line >= len(self.starts):
            raise PositionError(
                f"line {line} is past the end of the document ({len(self.starts)} lines)"
            )
        try:
            return self.starts[line] + units_to_column(self.line(line), character, self.encoding)
        except PositionError as exc:
            raise PositionError(f"line {line}: {exc} ({self.encoding})") from None

    def column(self, line: int, character: int) -> int:
        return self.offset(line, character) - self.starts[line]

    def position(self, offset: int) -> tuple[int, int]:
        """LSP (line, character) of a str offset."""
        offset = max(0, min(offset, len(self.text)))
        line = bisect_right(self.starts, offset) - 1
        start = self.starts[line]
        return line, column_to_units(self.text[start:offset], offset - start, self.encoding)

    def to_lsp(self, line: int, column: int) -> tuple[int, int]:
        """LSP position of (line, str column); past the last line is the end of the text."""
        if line >= len(self.starts):
            last = len(self.starts) - 1
            return last, units(self.line(last), self.encoding)
        return line, column_to_units(self.line(line), column, self.encoding)


def pieces(text: str) -> list[str]:
    """``text`` cut after each \\n: its lines, each with its ending (the last has none)."""
    parts = text.split("\n")
    last = parts.pop()
    out = [p + "\n" for p in parts]
    out.append(last)
    return out


def _content(line: str) -> str:
    """A line (as ``pieces`` cuts it) without its ending."""
    if line.endswith("\n"):
        return line[:-2] if line.endswith("\r\n") else line[:-1]
    return line


def merge_spans(a: tuple[int, int, int] | None, b: tuple[int, int, int]) -> tuple[int, int, int]:
    """Two line spans (first, old_end, new_end), ``b`` after ``a``: the span of both."""
    if a is None:
        return b
    f1, o1, n1 = a
    f2, o2, n2 = b
    mid_end = max(n1, o2)  # in the text between the two, lines [min(f1, f2), mid_end) changed
    return min(f1, f2), mid_end + (o1 - n1), mid_end + (n2 - o2)


class TextLines:
    """A document's text kept as its lines, changed in place by LSP ranges.

    Lines end at \\n as in ``LineIndex`` (a \\r before it is part of the ending; a lone \\r
    stays inside its line). A change costs what the lines it touches cost, not the document:
    nothing joins, splits or copies the whole text per keystroke. The whole text (``text``) and
    an immutable copy of the lines (``snapshot``) are made only when asked, once per change. A
    document is split into lines only when first changed or read by line: most open documents
    never are, and keep one string.

    Positions of changes are read in ``encoding``, leniently (a notification cannot be refused,
    and a change dropped would leave the document out of step with the editor): a position past
    the end of a line or of the document is taken as that end, as pygls does, and one inside a
    character as the start of that character.
    """

    def __init__(self, text: str = "", encoding: str = UTF16) -> None:
        self.encoding = encoding
        self._lines: list[str] | None = None  # split on first use
        self._text: str | None = text
        self._snapshot: tuple[str, ...] | None = None
        self._span: tuple[int, int, int] | None = None
        self._before: tuple[str, ...] = ()
        # per_line's lists, kept in step with the lines, and their copies for this change
        self._derived: dict[Callable[[str], Any], list[Any]] = {}
        self._derived_copies: dict[Callable[[str], Any], tuple[Any, ...]] = {}

    # -- reading ---------------------------------------------------------------------------
    @property
    def text(self) -> str:
        """The whole text (joined once per change, on demand)."""
        if self._text is None:
            self._text = "".join(self._split())
        return self._text

    def _split(self) -> list[str]:
        if self._lines is None:
            self._lines = pieces(self._text or "")
        return self._lines

    def snapshot(self) -> tuple[str, ...]:
        """The lines now, each with its ending: an immutable copy, made once per change."""
        if self._snapshot is None:
            self._snapshot = tuple(self._split())
        return self._snapshot

    def per_line(self, fn: Callable[[str], Any]) -> tuple[Any, ...]:
        """``fn`` of each line (with its ending), as an immutable copy made once per change.
        Computed for every line on the first call; after that a change recomputes only the
        lines it touched (``fn`` must depend on its line alone)."""
        copy = self._derived_copies.get(fn)
        if copy is None:
            values = self._derived.get(fn)
            if values is None:
                values = self._derived[fn] = list(map(fn, self._split()))
            copy = self._derived_copies[fn] = tuple(values)
        return copy

    @property
    def line_count(self) -> int:
        return len(self._split())

    def line(self, n: int) -> str:
        """Line ``n`` without its line ending."""
        return _content(self._split()[n])

    def column(self, line: int, character: int) -> int:
        """The str column of an LSP position, strictly (PositionError if not in the text)."""
        if line < 0 or character < 0:
            raise PositionError(f"position ({line}, {character}) is negative")
        count = len(self._split())
        if line >= count:
            raise PositionError(f"line {line} is past the end of the document ({count} lines)")
        try:
            return units_to_column(self.line(line), character, self.encoding)
        except PositionError as exc:
            raise PositionError(f"line {line}: {exc} ({self.encoding})") from None

    def take_change(self) -> tuple[tuple[str, ...], tuple[int, int, int]] | None:
        """What changed since the last call: the lines then (the ``snapshot`` of that time)
        and the span (first, old_end, new_end): lines [first, old_end) of the text then
        became lines [first, new_end) of the text now. None if nothing changed."""
        span, self._span = self._span, None
        before, self._before = self._before, ()
        return None if span is None else (before, span)

    # -- changing --------------------------------------------------------------------------
    def _lenient(self, line: int, character: int) -> tuple[int, int]:
        """(line, str column) of a position, clamped into the text."""
        last = len(self._split()) - 1
        if line > last:
            return last, len(self.line(last))
        line, character = max(line, 0), max(character, 0)
        content = self.line(line)
        try:
            return line, units_to_column(content, character, self.encoding)
        except PositionError:
            column = 0
            for i in range(1, len(content) + 1):  # the last column at or before ``character``
                if units(content[:i], self.encoding) > character:
                    break
                column = i
            return line, column

    def replace(self, start: tuple[int, int], end: tuple[int, int], text: str) -> None:
        """Replace the text between two LSP positions (in ``encoding``) with ``text``."""
        self._keep_before()
        sl, sc = self._lenient(*start)
        el, ec = self._lenient(*end)
        if (el, ec) < (sl, sc):
            el, ec = sl, sc
        lines = self._split()
        new = pieces(lines[sl][:sc] + text + lines[el][ec:])
        if el < len(lines) - 1:
            new.pop()  # the "" after the kept line ending: that line is still there
        lines[sl : el + 1] = new
        for fn, values in self._derived.items():
            values[sl : el + 1] = map(fn, new)
        self._changed((sl, el + 1, sl + len(new)))

    def replace_all(self, text: str) -> None:
        self._keep_before()
        old = len(self._split())
        self._lines = pieces(text)
        self._derived.clear()  # recomputed when next asked for
        self._changed((0, old, len(self._lines)))
        self._text = text

    def _keep_before(self) -> None:
        if self._span is None:  # the first change since take_change: the lines before it
            self._before = self.snapshot()

    def _changed(self, span: tuple[int, int, int]) -> None:
        self._text = None
        self._snapshot = None
        self._derived_copies.clear()
        self._span = merge_spans(self._span, span)


class LinePositions:
    """Positions in lines as ``TextLines.snapshot`` gives them (each with its ending), without
    joining them: ``LineIndex``'s line reading and (line, str column) -> LSP conversion for a
    text that is only ever read near a few lines."""

    def __init__(self, lines: Sequence[str], encoding: str = UTF16) -> None:
        self.lines = lines
        self.encoding = encoding

    @property
    def line_count(self) -> int:
        return len(self.lines)

    def line(self, n: int) -> str:
        """Line ``n`` without its line ending."""
        return _content(self.lines[n])

    def to_lsp(self, line: int, column: int) -> tuple[int, int]:
        """LSP position of (line, str column); past the last line is the end of the text."""
        if line >= len(self.lines):
            last = len(self.lines) - 1
            return last, units(self.line(last), self.encoding)
        return line, column_to_units(self.line(line), column, self.encoding)
