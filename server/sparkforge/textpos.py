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
