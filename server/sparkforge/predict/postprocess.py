"""From the fast model's raw answer to a clean rewrite of the editable region.

Models drift from the requested format in predictable ways: a markdown fence around the
answer, a sentence before it, the cursor marker echoed back, four spaces where the file uses
tabs, trailing whitespace dropped from a line they meant to keep. ``clean_rewrite`` undoes
all of that, restores the document's line endings, and returns None when nothing useful is
left (no change, an empty answer, a runaway one).

``trim_duplicate_suffix`` fixes the classic completion mistake of writing what already
follows the cursor: ``foo(a, b))`` when the editor had already closed the parenthesis.
"""

from __future__ import annotations

import difflib
import re
from typing import Sequence

from sparkforge.predict.prompt import CURSOR, REGION_END, REGION_START, Prompt, to_lf

# A rewrite may add this many lines to the region before it counts as a runaway answer.
MAX_EXTRA_LINES = 40
MAX_EXTRA_CHARS = 4000

_FENCE_RE = re.compile(r"[ \t]*(?:`{3,}|~{3,})[\w+#.-]*[ \t]*$")
_OPENERS = {")": "(", "]": "[", "}": "{"}
_QUOTES = "\"'`"
# What may repeat at the seam between an insertion and the text after the cursor.
_SEAM_PUNCTUATION = ";,"
_CLOSERS = ")]};,"


def is_fence(line: str) -> bool:
    return bool(_FENCE_RE.match(line))


def clean_rewrite(raw: str, prompt: Prompt, *, max_extra_lines: int = MAX_EXTRA_LINES,
                  max_extra_chars: int = MAX_EXTRA_CHARS) -> str | None:
    """The rewritten region in the document's line endings, or None if there is nothing to do.

    With markers, what lies between them is the rewrite. Without, the whole answer is,
    minus any markdown fence around it. Without the end marker, an answer whose last line is
    not the region's last line is taken as cut short (the output limit, a dropped stream) and
    refused: it would read as deleting the rest of the region.
    """
    region = prompt.region_lf
    text = to_lf(raw)
    start = text.find(REGION_START)
    ended = REGION_END in text[max(start, 0):]
    if start >= 0:
        body = text[start + len(REGION_START):]
        end = body.rfind(REGION_END)
        body = body[:end] if end >= 0 else body
        if body.startswith("\n"):
            body = body[1:]  # the newline after the start marker belongs to the format
        body = _unfence(body, region, inside_markers=True)
    else:
        end = text.rfind(REGION_END)
        body = _unfence(text[:end] if end >= 0 else text, region, inside_markers=False)
    if CURSOR not in region:  # a region may legitimately contain the marker's text
        body = body.replace(CURSOR, "")
    # The prompt puts a newline before the end marker when the region (with the cursor
    # marker) does not end with one: at the end of the file, or with the cursor on a last,
    # empty line. That newline is the format's, not the region's.
    added_newline = not region.endswith("\n") or prompt.cursor_offset_lf == len(region)
    if added_newline:
        if body.endswith("\n"):
            body = body[:-1]
    elif body and not body.endswith("\n"):
        body += "\n"
    if not body.strip() and region.strip():
        return None  # an empty answer is a failure far more often than a wish to delete
    if not ended and _last_line(body) != _last_line(region):
        return None  # no end marker and the region's end is missing: likely cut short
    fixer = LineFixer(prompt)
    lines = restore_unchanged(fixer.originals, [fixer.fix(line) for line in body.split("\n")])
    body = "\n".join(lines)
    if body == region:
        return None
    if (body.count("\n") > region.count("\n") + max_extra_lines
            or len(body) > len(region) + max_extra_chars):
        return None
    return body.replace("\n", prompt.line_ending) if prompt.line_ending != "\n" else body


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    return lines[-1] if lines else ""


def _unfence(body: str, region: str, inside_markers: bool) -> str:
    """Drop a markdown fence around ``body``, and any chatter outside it.

    Between markers there is no chatter, so only a fence on the first line counts.
    """
    lines = body.split("\n")
    if any(is_fence(line) for line in region.split("\n")):
        return body  # a markdown document: fences may be content
    fences = [i for i, line in enumerate(lines) if is_fence(line)]
    if not fences or (inside_markers and fences[0] != 0):
        return body
    first = fences[0]
    last = fences[1] if len(fences) > 1 else len(lines)
    inner = lines[first + 1 : last]
    # Keep the newline that ended the last line inside the fence.
    return "\n".join(inner) + ("\n" if last < len(lines) and inner else "")


class LineFixer:
    """Per-line clean-up: indentation style. Shared with streaming so both agree."""

    def __init__(self, prompt: Prompt) -> None:
        self.originals = prompt.region_lf.split("\n")
        self._known = set(self.originals)
        self._indent = prompt.indent

    def fix(self, line: str) -> str:
        if line.endswith("\r"):
            line = line[:-1]
        if line in self._known:
            return line
        return reindent(line, self._indent)


def reindent(line: str, indent: str) -> str:
    """Re-express ``line``'s leading whitespace in the document's indentation style."""
    body = line.lstrip(" \t")
    lead = line[: len(line) - len(body)]
    if not lead or not body:
        return line
    if indent == "\t" and " " in lead:
        width = 4  # the usual tab width; the editor does not tell us
        cols = len(lead.expandtabs(width))
        return "\t" * (cols // width) + " " * (cols % width) + body
    if indent != "\t" and "\t" in lead:
        return " " * len(lead.expandtabs(len(indent))) + body
    return line


def restore_unchanged(originals: Sequence[str], lines: list[str]) -> list[str]:
    """Lines equal to an original except for trailing whitespace become the original.

    Models often drop (or add) trailing whitespace; each such line would be a useless edit.
    """
    if list(originals) == lines:
        return lines
    a = [line.rstrip() for line in originals]
    b = [line.rstrip() for line in lines]
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    out = list(lines)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out[j1:j2] = originals[i1:i2]
    return out


def trim_duplicate_suffix(insertion: str, text_after_cursor_on_line: str,
                          following_lines: Sequence[str]) -> str:
    """``insertion`` without its tail when that tail repeats what already follows the cursor.

    Two cases. The insertion ends with closers the line already has after the cursor
    (``a, b)`` before ``)``): only closers without their opener inside the insertion, or
    ``;``/``,``, are dropped, so a nested ``bar(1)`` before ``)`` is kept. Or a multi-line
    insertion ends with lines equal (ignoring indentation) to the lines that follow.
    """
    after = text_after_cursor_on_line
    if after and insertion:
        unmatched = _unmatched_closers(insertion)
        best = 0
        n = len(insertion)
        for k in range(1, min(n, len(after)) + 1):
            i = n - k  # index where the candidate suffix starts
            if insertion[i] not in _SEAM_PUNCTUATION and i not in unmatched:
                break
            if insertion.endswith(after[:k]):
                best = k
        if best:
            insertion = insertion[:-best]
    if "\n" in insertion and following_lines:
        ins = insertion.split("\n")
        # The lines the insertion would create after the cursor's line, as they would read.
        created = ins[1:-1] + [ins[-1] + after]
        for m in range(min(len(created), len(following_lines)), 0, -1):
            tail = created[-m:]
            if any(line.strip() for line in tail) and all(
                    _repeats(new, old) for new, old in zip(tail, following_lines[:m])):
                return "\n".join(ins[:-m])
    return insertion


def _repeats(created: str, following: str) -> bool:
    """``created`` reads as a copy of the line that follows it (indentation aside). A line of
    closers indented deeper than that line is no copy: it closes a block the user just opened
    (``if err != nil {`` completed with ``return err`` and ``\t}`` before the function's ``}``)."""
    text = created.strip()
    if text != following.strip():
        return False
    if text and all(ch in _CLOSERS for ch in text):
        return _indent_width(created) <= _indent_width(following)
    return True


def _indent_width(line: str) -> int:
    return len(line.expandtabs(4)) - len(line.expandtabs(4).lstrip())


def _unmatched_closers(text: str) -> set[int]:
    """Indices of closing brackets and quotes in ``text`` that close nothing opened in it."""
    stack: list[tuple[str, int]] = []
    unmatched: set[int] = set()
    for i, ch in enumerate(text):
        if ch in "([{":
            stack.append((ch, i))
        elif ch in _OPENERS:
            if stack and stack[-1][0] == _OPENERS[ch]:
                stack.pop()
            else:
                unmatched.add(i)
    for quote in _QUOTES:
        positions = [i for i, ch in enumerate(text) if ch == quote]
        if len(positions) % 2:
            unmatched.add(positions[-1])  # an odd quote closes a string opened before
    return unmatched
