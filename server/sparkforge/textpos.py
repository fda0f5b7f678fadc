"""Positions: LSP (line, UTF-16 code unit) <-> index into a Python str, strictly.

pygls's helpers clamp a position past the end of a line to the end; we would rather refuse
it with a clear error, and we convert on every keystroke, so this keeps a line index per
document text and converts ASCII lines without scanning them.
"""

from __future__ import annotations

from bisect import bisect_right
from itertools import accumulate, repeat
from operator import add
from dataclasses import dataclass


class PositionError(ValueError):
    """A position that does not exist in the document."""


def utf16_len(text: str) -> int:
    if text.isascii():
        return len(text)
    return len(text) + sum(1 for c in text if ord(c) > 0xFFFF)


def utf16_to_column(line: str, character: int) -> int:
    """The str index of UTF-16 column ``character`` in ``line`` (no line ending)."""
    if line.isascii():
        if character > len(line):
            raise PositionError(f"character {character} is past the end of the line ({len(line)})")
        return character
    units = 0
    for i, ch in enumerate(line):
        if units == character:
            return i
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > character:
            raise PositionError(f"character {character} falls inside a surrogate pair")
    if units == character:
        return len(line)
    raise PositionError(f"character {character} is past the end of the line ({units})")


def column_to_utf16(line: str, column: int) -> int:
    if line.isascii():
        return column
    return utf16_len(line[:column])


@dataclass(frozen=True)
class LineIndex:
    """Start offsets of the lines of one text; lines end at \\n (a \\r before it is kept)."""

    text: str
    starts: tuple[int, ...]

    @classmethod
    def of(cls, text: str) -> "LineIndex":
        # str.split, map and accumulate all run in C: about ten times faster than a loop.
        lines = text.split("\n")
        lines.pop()
        return cls(text, (0, *accumulate(map(add, map(len, lines), repeat(1)))))

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
        """Str offset of an LSP position (UTF-16); PositionError if it is not in the text."""
        if line < 0 or character < 0:
            raise PositionError(f"position ({line}, {character}) is negative")
        if line >= len(self.starts):
            raise PositionError(
                f"line {line} is past the end of the document ({len(self.starts)} lines)"
            )
        try:
            return self.starts[line] + utf16_to_column(self.line(line), character)
        except PositionError as exc:
            raise PositionError(f"line {line}: {exc}") from None

    def column(self, line: int, character: int) -> int:
        return self.offset(line, character) - self.starts[line]

    def position(self, offset: int) -> tuple[int, int]:
        """LSP (line, UTF-16 character) of a str offset."""
        offset = max(0, min(offset, len(self.text)))
        line = bisect_right(self.starts, offset) - 1
        start = self.starts[line]
        return line, column_to_utf16(self.text[start:offset], offset - start)

    def to_utf16(self, line: int, column: int) -> tuple[int, int]:
        """LSP position of (line, str column)."""
        return line, column_to_utf16(self.line(line), column)
