"""Text helpers for the prompt: lines as the LSP layer counts them, line endings, indentation.

Kept apart from ``prompt.py`` so that it and ``snippets.py`` can share them.
"""

from __future__ import annotations

from typing import Sequence, overload

from sparkforge.models.tokens import count_tokens

# A line this many characters per token of budget cannot fit: skip counting it.
CHARS_PER_TOKEN_MAX = 8


def to_lf(text: str) -> str:
    return text.replace("\r\n", "\n") if "\r" in text else text


def split_lines(text: str) -> tuple[list[str], list[str]]:
    r"""Lines without their endings, and the ending of each ("" for the last).

    Lines end at "\n", a "\r" before it being part of the ending: the same lines as
    ``sparkforge.textpos.LineIndex`` (a lone "\r" stays inside its line).
    """
    contents = text.split("\n")
    eols = ["\n"] * (len(contents) - 1) + [""]
    if "\r" in text:
        for i in range(len(contents) - 1):
            if contents[i].endswith("\r"):
                contents[i], eols[i] = contents[i][:-1], "\r\n"
    return contents, eols


def dominant_line_ending(text: str) -> str:
    crlf = text.count("\r\n")
    return "\r\n" if crlf * 2 > text.count("\n") else "\n"


def detect_indent(lines: Sequence[str]) -> str:
    """The indentation unit the lines use: a tab, or the smallest space indent (default 4)."""
    tabs = spaces = 0
    smallest = 0
    for line in lines:
        if line.startswith("\t"):
            tabs += 1
        elif line.startswith(" ") and line.strip():
            spaces += 1
            width = len(line) - len(line.lstrip(" "))
            if width >= 2 and (not smallest or width < smallest):
                smallest = width
    if tabs > spaces:
        return "\t"
    return " " * (min(smallest, 8) or 4)


def lines_cost(lines: Sequence[str]) -> int:
    """Tokens of ``lines`` joined, each ended by a newline, counted line by line (each line's
    count is cached, and the lines around the cursor repeat from one keystroke to the next).
    Joined, they never take more: the tokenizer splits its input at line breaks first, and
    only blank lines' breaks merge."""
    return sum(count_tokens(c + "\n") for c in lines)


def take_lines(lines: Sequence[str], budget: int) -> list[str]:
    """The longest leading run of ``lines`` whose text fits ``budget`` tokens."""
    taken: list[str] = []
    used = 0
    for line in lines:
        if len(line) > budget * CHARS_PER_TOKEN_MAX:
            break
        used += count_tokens(line + "\n")
        if used > budget:
            break
        taken.append(line)
    return taken


class DocumentLines(Sequence[str]):
    """Lines with their endings (``textpos.TextLines.snapshot``) seen as lines without them,
    as ``split_lines`` gives them, each stripped only when read: a prompt reads a few of a
    long document's lines."""

    def __init__(self, lines: Sequence[str]) -> None:
        self._lines = lines

    def __len__(self) -> int:
        return len(self._lines)

    @property
    def raw(self) -> Sequence[str]:
        """The lines with their endings, as given."""
        return self._lines

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> list[str]: ...
    def __getitem__(self, i: int | slice) -> str | list[str]:
        if isinstance(i, slice):
            return [_strip_eol(x) for x in self._lines[i]]
        return _strip_eol(self._lines[i])


def _strip_eol(line: str) -> str:
    if line.endswith("\n"):
        return line[:-2] if line.endswith("\r\n") else line[:-1]
    return line
