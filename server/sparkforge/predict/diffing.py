"""One prediction, two views: split a rewrite of the region into ghost text and next edits.

The model rewrote the editable region; ``classify`` compares the rewrite with the region.
An insertion exactly at the cursor is **ghost text** (``textDocument/inlineCompletion``);
every other change is a **next edit** (``sparkforge/nextEdit``), as small as it can be: the
line diff's changed blocks are narrowed to the characters that differ, so renaming ``total``
to ``sum_total`` two lines up is an edit of those characters, not of the line.

Coordinates are document lines and Python ``str`` indices (not UTF-16). Inserted text uses
the document's line ending.
"""

from __future__ import annotations

import bisect
import difflib
from dataclasses import dataclass, field
from typing import Sequence

from sparkforge.predict.postprocess import trim_duplicate_suffix
from sparkforge.predict.prompt import Prompt, to_lf

# A change in region coordinates: replace region_lf[start:end] with text (LF).
Hunk = tuple[int, int, str]


@dataclass(frozen=True)
class Ghost:
    """Text to show at the cursor, as an insertion."""

    line: int
    character: int
    text: str


@dataclass(frozen=True)
class RegionEdit:
    """Replace the text from (start_line, start_char) to (end_line, end_char) by new_text."""

    start_line: int
    start_char: int
    end_line: int
    end_char: int
    new_text: str


@dataclass(frozen=True)
class Prediction:
    """What a rewrite means for the user.

    ``ghost`` is the insertion at the cursor, if any; ``edits`` are the other changes;
    ``all_edits`` are both together, in document order, for a client that shows everything
    as an inline diff.
    """

    ghost: Ghost | None = None
    edits: list[RegionEdit] = field(default_factory=list)
    all_edits: list[RegionEdit] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.ghost is None and not self.edits


def classify(prompt: Prompt, rewrite: str | None) -> Prediction:
    """Split ``rewrite`` (``clean_rewrite``'s result) into ghost text and edits."""
    if rewrite is None:
        return Prediction()
    old, new, cursor = prompt.region_lf, to_lf(rewrite), prompt.cursor_offset_lf
    hunks = region_hunks(old, new, cursor)
    return hunks_to_prediction(prompt, hunks)


def region_hunks(old: str, new: str, cursor: int) -> list[Hunk]:
    """The changes from ``old`` to ``new``, minimal and in order; an insertion that can be
    placed at ``cursor`` is placed there."""
    if old == new:
        return []
    grown = len(new) - len(old)
    # The common case, and cheap: the rewrite only inserts at the cursor.
    if grown > 0 and new.startswith(old[:cursor]) and new.endswith(old[cursor:]):
        return [(cursor, cursor, new[cursor : cursor + grown])]
    # At the end of a file the region's last line has no "\n"; its copy in the rewrite may
    # have one. Give both a final "\n" so that such a line still matches, then take it off.
    n = len(old)
    sentinel = "" if old.endswith("\n") else "\n"
    old_s, new_s = old + sentinel, new + sentinel
    old_lines, new_lines = split_keepends(old_s), split_keepends(new_s)
    starts = line_starts(old_lines)
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    hunks: list[Hunk] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            hunks += block_hunks(old_s, starts, old_lines, new_lines, i1, i2, j1, j2, cursor)
    if sentinel and hunks and hunks[-1][1] > n:  # only the last hunk can reach it
        s, _, text = hunks[-1]
        if s > n:  # an insertion after the sentinel: "T\n" there is "\nT" before it
            hunks[-1] = (n, n, "\n" + text[:-1])
        elif text:  # the hunk replaced the sentinel, so its text ends with one
            hunks[-1] = (s, n, text[:-1])
        else:  # it deleted lines up to the end: delete the line break before them too
            hunks[-1] = (s - 1, n, "")
    hunks = slide_to_cursor(old, hunks, cursor)
    if apply_hunks(old, hunks) != new:  # never show a wrong edit; be coarse instead
        hunks = [_narrow(old, 0, n, new, cursor)]
    return hunks


def apply_hunks(old: str, hunks: Sequence[Hunk]) -> str | None:
    """``old`` with the hunks applied, or None if they are out of order or overlap."""
    out, pos = [], 0
    for s, e, text in hunks:
        if s < pos:
            return None
        out += [old[pos:s], text]
        pos = e
    out.append(old[pos:])
    return "".join(out)


def block_hunks(old: str, starts: Sequence[int], old_lines: Sequence[str],
                new_lines: Sequence[str], i1: int, i2: int, j1: int, j2: int,
                cursor: int) -> list[Hunk]:
    """Minimal hunks for one changed block of lines: old_lines[i1:i2] -> new_lines[j1:j2]."""
    if i2 - i1 == j2 - j1:  # line for line: narrow each line on its own
        return [_narrow(old, starts[i], starts[i + 1], new_lines[j], cursor)
                for i, j in zip(range(i1, i2), range(j1, j2)) if old_lines[i] != new_lines[j]]
    cursor_line = old.count("\n", 0, cursor)
    before, after = cursor_line - i1, i2 - cursor_line - 1
    if i2 - i1 > 1 and i1 <= cursor_line < i2 and j2 - j1 > before + after:
        # The cursor's line grew into several (a multi-line completion) while the lines
        # around it changed one for one: keep the completion apart from those changes.
        hunks = block_hunks(old, starts, old_lines, new_lines, i1, cursor_line, j1, j1 + before,
                            cursor)
        hunks += block_hunks(old, starts, old_lines, new_lines, cursor_line, cursor_line + 1,
                             j1 + before, j2 - after, cursor)
        hunks += block_hunks(old, starts, old_lines, new_lines, cursor_line + 1, i2,
                             j2 - after, j2, cursor)
        return hunks
    return [_narrow(old, starts[i1], starts[i2], "".join(new_lines[j1:j2]), cursor)]


def _narrow(old: str, start: int, end: int, text: str, cursor: int) -> Hunk:
    """Shrink the replacement of old[start:end] by ``text`` to the characters that differ."""
    was = old[start:end]
    if start <= cursor <= end:
        k = cursor - start
        if len(text) >= len(was) and text.startswith(was[:k]) and text.endswith(was[k:]):
            return (cursor, cursor, text[k : k + len(text) - len(was)])
    limit = min(len(was), len(text))
    p = 0
    while p < limit and was[p] == text[p]:
        p += 1
    s = 0
    while s < limit - p and was[-1 - s] == text[-1 - s]:
        s += 1
    return (start + p, end - s, text[p : len(text) - s])


def slide_to_cursor(old: str, hunks: list[Hunk], cursor: int) -> list[Hunk]:
    """Move a pure insertion to the cursor when the result is the same text.

    Inserting "return 1\\n" at the start of the next line equals inserting "\\nreturn 1" at
    the end of this one; as ghost text only the latter works.
    """
    if any(s == e == cursor for s, e, _ in hunks):
        return hunks
    for n, (s, e, text) in enumerate(hunks):
        if s != e or not text:
            continue
        lo, hi = min(s, cursor), max(s, cursor)
        if hi - lo > len(text) or any(
                lo < s2 < hi or lo < e2 < hi for m, (s2, e2, _) in enumerate(hunks) if m != n):
            continue
        seg = old[lo:hi]
        if cursor < s and text.endswith(seg):
            moved = seg + text[: len(text) - len(seg)]
        elif cursor > s and text.startswith(seg):
            moved = text[len(seg):] + seg
        else:
            continue
        return sorted(hunks[:n] + [(cursor, cursor, moved)] + hunks[n + 1 :])
    return hunks


def hunks_to_prediction(prompt: Prompt, hunks: Sequence[Hunk]) -> Prediction:
    """Ghost text for the insertion at the cursor, document edits for everything."""
    old, cursor = prompt.region_lf, prompt.cursor_offset_lf
    starts = [0] + [i + 1 for i, ch in enumerate(old) if ch == "\n"]
    ghost = None
    edits: list[RegionEdit] = []
    all_edits: list[RegionEdit] = []
    for s, e, text in hunks:
        if s == e == cursor:
            text = trim_at_cursor(old, cursor, text)
            if not text:
                continue
            ghost = Ghost(prompt.cursor_line, prompt.cursor_character,
                          _eol(text, prompt.line_ending))
            all_edits.append(to_region_edit(prompt, starts, s, e, text))
        else:
            edit = to_region_edit(prompt, starts, s, e, text)
            edits.append(edit)
            all_edits.append(edit)
    return Prediction(ghost, edits, all_edits)


def trim_at_cursor(old: str, cursor: int, text: str) -> str:
    """``trim_duplicate_suffix`` with what follows the cursor in the region."""
    eol = old.find("\n", cursor)
    after = old[cursor:] if eol < 0 else old[cursor:eol]
    following = [] if eol < 0 else old[eol + 1 :].split("\n")
    return trim_duplicate_suffix(text, after, following)


def to_region_edit(prompt: Prompt, starts: Sequence[int], s: int, e: int, text: str) -> RegionEdit:
    """A hunk in document coordinates; ``starts`` are the region's line start offsets."""
    sl, sc = _position(starts, s)
    el, ec = _position(starts, e)
    base = prompt.region_start_line
    return RegionEdit(base + sl, sc, base + el, ec, _eol(text, prompt.line_ending))


def _position(starts: Sequence[int], offset: int) -> tuple[int, int]:
    """(line, character) of an offset, given the offset where each line starts."""
    line = bisect.bisect_right(starts, offset) - 1
    return line, offset - starts[line]


def _eol(text: str, line_ending: str) -> str:
    return text.replace("\n", line_ending) if line_ending != "\n" else text


def split_keepends(text: str) -> list[str]:
    """Lines of an LF text, each with its "\\n" (the last one may have none)."""
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def line_starts(lines: Sequence[str]) -> list[int]:
    """Offsets where each line starts, plus one past the end."""
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    return starts
