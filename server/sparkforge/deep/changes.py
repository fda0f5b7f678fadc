"""A plan's changes as editor ranges, and moved over an edit the user made meanwhile.

``PatchApplier`` gives changes as (line, ``str`` index) against the text it read; editors
want columns in the negotiated position encoding (``to_lsp``). When the user edited the document while the model was
working, the changes may still be valid: if the user's edit does not touch any of them,
``rebase`` shifts them onto the current text, else it refuses (None) and the caller keeps
the edit versioned to the old text, which the editor then refuses: never an edit applied to
text it was not planned for. Lines are split as LSP counts them (``\\n``, ``\\r\\n``, ``\\r``),
the same way ``edits/`` does.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from sparkforge.edits.locate import Document
from sparkforge.edits.model import TextChange
from sparkforge.textpos import UTF16, column_to_units


@dataclass(frozen=True, slots=True)
class RangeEdit:
    """A change in editor coordinates: (line, character in the position encoding), end
    exclusive."""

    start: tuple[int, int]
    end: tuple[int, int]
    new_text: str


def _line_text(doc: Document, line: int) -> str:
    return doc.lines[line] if line < len(doc.lines) else ""


def to_lsp(text: str, changes: Sequence[TextChange], encoding: str = UTF16) -> list[RangeEdit]:
    """``changes`` (against ``text``) with columns in ``encoding`` (utf-8, utf-16, utf-32)."""
    doc = Document.from_text(text)

    def pos(line: int, char: int) -> tuple[int, int]:
        return line, column_to_units(_line_text(doc, line), char, encoding)

    return [
        RangeEdit(pos(c.start_line, c.start_char), pos(c.end_line, c.end_char), c.new_text)
        for c in changes
    ]


def _offset(doc: Document, line: int, char: int) -> int:
    return doc.starts[min(line, len(doc.lines))] + char


def _position(doc: Document, offset: int) -> tuple[int, int]:
    line = bisect_right(doc.starts, offset) - 1
    if line >= len(doc.lines):
        if doc.trailing_newline or not doc.lines:
            return len(doc.lines), 0  # the empty line after a final newline
        line = len(doc.lines) - 1
    return line, offset - doc.starts[line]


def changed_region(old: str, new: str) -> tuple[int, int, int]:
    """(start, old end, new end) of the part of ``old`` that differs from ``new``."""
    limit = min(len(old), len(new))
    p = 0
    while p < limit and old[p] == new[p]:
        p += 1
    s = 0
    while s < limit - p and old[len(old) - 1 - s] == new[len(new) - 1 - s]:
        s += 1
    return p, len(old) - s, len(new) - s


def rebase(changes: Sequence[TextChange], old: str, new: str) -> list[TextChange] | None:
    """``changes`` planned against ``old``, moved onto ``new``; None if the user's edit touches one."""
    if old == new:
        return list(changes)
    start, old_end, new_end = changed_region(old, new)
    a, b = Document.from_text(old), Document.from_text(new)
    delta = new_end - old_end
    # Widen the user's change to whole lines: where a common prefix ends inside repeated
    # text is arbitrary, and an edit on the same line as the user's is not safe to move.
    start = a.starts[_position(a, start)[0]]
    last = _position(a, old_end)[0]
    old_end = a.starts[min(last + 1, len(a.lines))]
    out: list[TextChange] = []
    for c in changes:
        o0 = _offset(a, c.start_line, c.start_char)
        o1 = _offset(a, c.end_line, c.end_char)
        if o0 == o1:  # an insertion next to the user's edit has no safe order
            clash = start <= o0 <= old_end
        else:
            clash = o0 < old_end and o1 > start
        if clash:
            return None
        if o1 <= start:
            n0, n1 = o0, o1
        else:
            n0, n1 = o0 + delta, o1 + delta
        (l0, c0), (l1, c1) = _position(b, n0), _position(b, n1)
        out.append(TextChange(l0, c0, l1, c1, c.new_text))
    return out


def apply_changes(text: str, changes: Sequence[TextChange]) -> str:
    """``text`` with ``changes`` applied (non-overlapping, against ``text``)."""
    doc = Document.from_text(text)
    pieces: list[str] = []
    cursor = 0
    for c in sorted(changes, key=lambda c: (c.start_line, c.start_char)):
        o0, o1 = _offset(doc, c.start_line, c.start_char), _offset(doc, c.end_line, c.end_char)
        pieces += (text[cursor:o0], c.new_text)
        cursor = o1
    pieces.append(text[cursor:])
    return "".join(pieces)
