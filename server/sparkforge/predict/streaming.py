"""Read a rewrite while it streams, and tell which of its changes can no longer change.

The fast model writes the region top to bottom, about a thousand tokens a second. A change
near the top is known long before the answer ends, and ``sparkforge/nextEdit`` can show it
early. ``StreamingRewriteParser`` is fed the text deltas and reports such **final hunks**.

The rule: a hunk (a run of changed lines in the line diff of the region against the rewrite
so far, compared ignoring trailing whitespace) is final once the rewrite has gone on with a
run of complete lines equal to the region's lines right after it, among which at least
``settle_lines`` (default 2) are *landmarks*: not blank and found only once in the region.
(One landmark is enough when the run reaches the region's end.) The model has then visibly
gone back to copying the region, so the hunk, and any before it, is complete.
(Landmarks, because a blank line or a ``}`` also matches a copy of itself the model is
inserting, and would settle a half-written insertion as a replacement.) Final
hunks are never withdrawn; the diff afterwards only looks at the region and rewrite after
them. A change in the region's last lines cannot be final before the answer ends; then
``finish`` returns the full rewrite, and ``classify`` of it is the authoritative prediction
(a final hunk is, barring model oddities, among its edits).

Cost: deltas are only appended until a line ends; each complete line triggers one line diff
of the part not yet settled, which stays a few lines long. Overall O(length of the answer).
"""

from __future__ import annotations

import difflib

from sparkforge.predict.diffing import (
    Hunk,
    RegionEdit,
    block_hunks,
    line_starts,
    slide_to_cursor,
    split_keepends,
    to_region_edit,
    trim_at_cursor,
)
from sparkforge.predict.postprocess import (
    PROSE_LANGUAGES,
    LineFixer,
    clean_rewrite,
    is_fence,
    is_intro,
    restore_space_before_cursor,
    strip_cursor_markers,
)
from sparkforge.predict.prompt import CURSOR, REGION_END, REGION_START, Prompt

SETTLE_LINES = 2


class StreamingRewriteParser:
    """Incremental reader of one streamed answer to ``prompt``."""

    def __init__(self, prompt: Prompt, settle_lines: int = SETTLE_LINES) -> None:
        self.prompt = prompt
        self.settle_lines = max(1, settle_lines)
        self._raw: list[str] = []
        self._partial: list[str] = []  # pieces of the line being streamed
        self._state = "before"  # before the start marker, "inside" the region, or "done"
        self._lines: list[str] = []  # complete lines of the rewrite, without "\n"
        self._fixer = LineFixer(prompt)
        self._old = prompt.region_lf
        self._old_lines = split_keepends(self._old)
        self._old_keys = [line.rstrip() for line in self._old_lines]
        # Lines that identify a place in the region: not blank, and found there only once.
        self._landmarks = {key for key in self._old_keys
                           if key.strip() and self._old_keys.count(key) == 1}
        self._starts = line_starts(self._old_lines)
        self._line_starts = [0] + [i + 1 for i, ch in enumerate(self._old) if ch == "\n"]
        self._settled_old = 0  # region lines [0, _settled_old) are settled ...
        self._settled_new = 0  # ... as are rewrite lines [0, _settled_new)
        self._final: list[RegionEdit] = []
        self._hunks: list[Hunk] = []  # the final hunks in region offsets
        self._fence_checked = False
        self._intro = False
        cursor = prompt.cursor_offset_lf
        self._cursor_line = self._old.count("\n", 0, cursor)
        self._cursor_column = cursor - (self._old.rfind("\n", 0, cursor) + 1)

    def feed(self, delta: str) -> list[RegionEdit]:
        """Take the next piece of the answer; return the hunks that just became final."""
        self._raw.append(delta)
        if "\n" not in delta:
            self._partial.append(delta)
            return []
        before = len(self._final)
        pieces = delta.split("\n")
        self._partial.append(pieces[0])
        self._take_line("".join(self._partial))
        for piece in pieces[1:-1]:
            self._take_line(piece)
        self._partial = [pieces[-1]]
        return self._final[before:]

    @property
    def rewrite_so_far(self) -> str:
        """The region's rewrite streamed so far, LF line endings, perhaps ending mid-line."""
        if self._state == "before":
            return ""
        text = "".join(line + "\n" for line in self._lines)
        if self._state == "inside":
            text += "".join(self._partial).split(REGION_END)[0].replace(CURSOR, "")
        return text

    def final_hunks(self) -> list[RegionEdit]:
        """Every hunk final so far, in document order and coordinates."""
        return list(self._final)

    def finish(self) -> str | None:
        """The complete rewrite, as ``clean_rewrite`` makes it (None: nothing to do)."""
        return clean_rewrite("".join(self._raw), self.prompt)

    def _take_line(self, line: str) -> None:
        if self._state == "before":
            at = line.find(REGION_START)
            if at < 0:
                return  # chatter before the answer
            self._state = "inside"
            line = line[at + len(REGION_START):]
            if not line.strip():
                return
        if self._state != "inside":
            return
        if REGION_END in line:
            # The last line has no newline of its own; finish() will deal with it.
            self._state = "done"
            return
        if not self._lines:
            if REGION_START in line:
                return  # the start marker written twice
            if self.prompt.language_id not in PROSE_LANGUAGES and is_intro(line, self._old):
                self._intro = True  # a sentence before the rewrite, as clean_rewrite drops it
                return
            if self._intro and not line.strip():
                return
        if not self._fence_checked:
            self._fence_checked = True
            if is_fence(line) and not any(is_fence(x) for x in self._old_lines):
                return
        line = self._fixer.fix(strip_cursor_markers(line, self._old))
        if not self._lines and line.strip() and not self._old_keys[0].strip():
            # As clean_rewrite does: blank lines the region starts with, left out, are kept.
            first = next((i for i, key in enumerate(self._old_keys) if key.strip()), 0)
            if line.rstrip() == self._old_keys[first]:
                self._lines += [self._old_lines[i].rstrip("\n") for i in range(first)]
        if len(self._lines) == self._cursor_line:
            line = restore_space_before_cursor(self._fixer.originals, self._lines + [line],
                                               self._cursor_line, self._cursor_column)[-1]
        self._lines.append(line)
        self._settle()

    def _settle(self) -> None:
        """Diff what is not settled yet; settle hunks followed by enough equal lines."""
        oi, ni, k = self._settled_old, self._settled_new, self.settle_lines
        old_keys = self._old_keys[oi:]
        new_keys = [line.rstrip() for line in self._lines[ni:]]
        matcher = difflib.SequenceMatcher(None, old_keys, new_keys, autojunk=False)
        changed: list[tuple[int, int, int, int]] = []
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag != "equal":
                changed.append((i1, i2, j1, j2))
                continue
            marks = sum(key in self._landmarks for key in old_keys[i1:i2])
            if marks < k and not (marks and oi + i2 == len(self._old_keys)):
                continue  # too little to be sure the model is copying the region again
            for c1, c2, d1, d2 in changed:
                self._emit(oi + c1, oi + c2, ni + d1, ni + d2)
            changed = []
            self._settled_old, self._settled_new = oi + i2, ni + j2

    def _emit(self, i1: int, i2: int, j1: int, j2: int) -> None:
        new_lines = [line + "\n" for line in self._lines[j1:j2]]
        cursor = self.prompt.cursor_offset_lf
        hunks = block_hunks(self._old, self._starts, self._old_lines, new_lines,
                            i1, i2, 0, j2 - j1, cursor)
        # As classify does: an insertion next to the cursor that can move there, does.
        # (Earlier final hunks lie before these, and a slide never crosses a hunk.)
        hunks = slide_to_cursor(self._old, self._hunks + hunks, cursor)[len(self._hunks):]
        self._hunks += hunks
        for s, e, text in hunks:
            if s == e == cursor:
                text = trim_at_cursor(self._old, cursor, text)
                if not text:
                    continue
            self._final.append(to_region_edit(self.prompt, self._line_starts, s, e, text))
