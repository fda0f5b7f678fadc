"""From the fast model's raw answer to a clean rewrite of the editable region.

Models drift from the requested format in predictable ways: a markdown fence around the
answer, a sentence before it, the cursor marker echoed back, a marker written twice, four
spaces where the file uses tabs, the whole region unindented, trailing whitespace dropped from
a line they meant to keep, the region's last lines left out. ``clean_rewrite`` undoes all of
that, restores the document's line endings, and returns None when nothing useful is left (no
change, an empty answer, a runaway one, one cut short). The corpus of such answers is
``tests/data/hygiene/`` (docs/eval.md, "Post-processing corpus").

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
# Cursor markers of other next-edit prompts (Zeta's) that a model may echo instead of ours.
_OTHER_CURSORS = ("<|user_cursor|>", "<|cursor|>")
# A sentence a model puts before its answer ("Here is the updated code:", "Sure!"); one that
# ends with a full stop could be a line of a docstring.
_INTRO_RE = re.compile(
    r"(?i)(here('s| is| are)|sure|certainly|of course|okay|ok|below is|i('ve| have)|"
    r"the (updated|rewritten|completed|edited|next)|updated|rewritten)\b[^`]*[:!]$")
# Languages whose lines are prose (a sentence is content) and whose trailing spaces matter.
PROSE_LANGUAGES = {"markdown", "plaintext", "restructuredtext", "latex"}
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
    body, ended, marked = _between_markers(text, region)
    prose = prompt.language_id in PROSE_LANGUAGES
    if not prose:
        body = _drop_intro(body, region)
    body = _unfence(body, region, inside_markers=marked)
    if not ended:
        body, ended = _drop_partial_end_marker(body)
    body = strip_cursor_markers(body, region)
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
    if not ended and not _ends_like(body, region):
        return None  # no end marker and the region's end is missing: likely cut short
    fixer = LineFixer(prompt)
    originals = fixer.originals
    cursor_line = region.count("\n", 0, prompt.cursor_offset_lf)
    cursor_column = prompt.cursor_offset_lf - (region.rfind("\n", 0, prompt.cursor_offset_lf) + 1)
    lines = restore_indentation(originals, [fixer.fix(line) for line in body.split("\n")])
    lines = restore_unchanged(originals, lines, cursor_line)
    lines = restore_space_before_cursor(originals, lines, cursor_line, cursor_column)
    lines = restore_dropped_ends(originals, lines, cursor_line, cursor_column)
    lines = drop_lines_after_region(originals, lines, lines_after_region(prompt))
    body = "\n".join(lines)
    if body == region:
        return None
    if (body.count("\n") > region.count("\n") + max_extra_lines
            or len(body) > len(region) + max_extra_chars):
        return None
    return body.replace("\n", prompt.line_ending) if prompt.line_ending != "\n" else body


def lines_after_region(prompt: Prompt) -> list[str]:
    """The file's lines the prompt shows after the editable region (LF, without endings)."""
    region, at = prompt.region_lf, prompt.cursor_offset_lf
    marked = region[:at] + CURSOR + region[at:]
    if not marked.endswith("\n"):
        marked += "\n"
    block = f"{REGION_START}\n{marked}{REGION_END}\n"
    where = prompt.input.rfind(block)
    if where < 0:
        return []
    return prompt.input[where + len(block):].split("\n")[:-1]


def drop_lines_after_region(originals: Sequence[str], lines: list[str],
                            after: Sequence[str]) -> list[str]:
    """The rewrite without the lines that follow the region, when the model copied them
    after its copy of the region's end ("Do not repeat code that follows the region")."""
    if not after:
        return lines
    final = bool(lines and originals and lines[-1] == originals[-1] == "")
    body = lines[:-1] if final else list(lines)
    while body and not body[-1].strip():
        body.pop()
    for k in range(min(len(after), len(body)), 0, -1):
        tail = [x.rstrip() for x in body[len(body) - k :]]
        if tail != [x.rstrip() for x in after[:k]] or not any(tail):
            continue
        head = body[: len(body) - k]
        if any(x.strip() for x in head):
            return head + ([""] if final else [])
    return lines


def strip_cursor_markers(text: str, region: str) -> str:
    """``text`` without echoed cursor markers, ours or another prompt's (Zeta's)."""
    for cursor in (CURSOR, *_OTHER_CURSORS):
        if cursor not in region:  # a region may legitimately contain the marker's text
            text = text.replace(cursor, "")
    return text


def _between_markers(text: str, region: str) -> tuple[str, bool, bool]:
    """The answer's rewrite, whether its end marker was seen, and whether it had markers.

    The rewrite runs from the start marker to the first end marker after it. A start marker
    written twice counts once; an answer written twice counts once (the first copy).
    """
    start = text.find(REGION_START)
    ends_in_region = REGION_START in region or REGION_END in region
    if start < 0:
        end = text.find(REGION_END) if not ends_in_region else text.rfind(REGION_END)
        return (text[:end] if end >= 0 else text), end >= 0, end >= 0
    body = text[start + len(REGION_START):]
    end = body.find(REGION_END) if not ends_in_region else body.rfind(REGION_END)
    body = body[:end] if end >= 0 else body
    if not ends_in_region and REGION_START in body:
        body = body[body.rfind(REGION_START) + len(REGION_START):]
    if body.startswith("\n"):
        body = body[1:]  # the newline after the start marker belongs to the format
    return body, end >= 0, True


def _drop_partial_end_marker(body: str) -> tuple[str, bool]:
    """An answer cut off while writing the end marker (``<|editable_reg``), on a line of its
    own or after the last line of code, is complete."""
    head, _, last = body.rstrip("\n").rpartition("\n")
    at = last.rfind("<|e")  # not a bare "<|", which is code in F# and Elm
    if at < 0 or not REGION_END.startswith(last[at:].rstrip()):
        return body, False
    code = last[:at]
    if not code.strip():
        return head + "\n", True
    return (head + "\n" if head or body.startswith("\n") else "") + code + "\n", True


def _drop_intro(body: str, region: str) -> str:
    """A first line that introduces the answer ("Here is the updated code:") is not code."""
    lines = body.split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None or not is_intro(lines[first], region):
        return body
    rest = lines[first + 1 :]
    while rest and not rest[0].strip():
        rest = rest[1:]
    return "\n".join(rest)


def is_intro(line: str, region: str) -> bool:
    """``line`` reads as a sentence introducing an answer, and is no line of the region."""
    text = line.strip()
    return bool(text and _INTRO_RE.match(text) and (" " in text or text.endswith("!"))  # "updated:" may be a YAML key
                and text not in {x.strip() for x in region.split("\n")})


def _ends_like(body: str, region: str) -> bool:
    """``body`` ends with the region's last non-blank lines: enough of them to name one place
    in the region (a lone ``}`` does not: the answer may have stopped at an inner one)."""
    ours = [line.strip() for line in region.split("\n") if line.strip()]
    theirs = [line.strip() for line in body.split("\n") if line.strip()]
    if not ours:
        return not theirs
    n = 1
    while n < len(ours) and _occurrences(ours, ours[-n:]) > 1:
        n += 1
    return theirs[-n:] == ours[-n:]


def _occurrences(lines: list[str], run: list[str]) -> int:
    k = len(run)
    return sum(lines[i : i + k] == run for i in range(len(lines) - k + 1))


def _unfence(body: str, region: str, inside_markers: bool) -> str:
    """Drop a markdown fence around ``body``, and any chatter outside it.

    Between markers there is no chatter, so only a fence on the first line counts, or a lone
    closing fence on the last.
    """
    lines = body.split("\n")
    if any(is_fence(line) for line in region.split("\n")):
        return body  # a markdown document: fences may be content
    fences = [i for i, line in enumerate(lines) if is_fence(line)]
    if inside_markers and len(fences) == 1 and fences[0] != 0:
        last = max(i for i, line in enumerate(lines) if line.strip())
        if fences[0] == last:  # a closing fence whose opening one was outside the markers
            return "\n".join(lines[:last] + lines[last + 1 :])
    if not fences or (inside_markers and fences[0] != 0):
        return body
    first = fences[0]
    last = fences[1] if len(fences) > 1 else len(lines)
    inner = lines[first + 1 : last]
    # Keep the newline that ended the last line inside the fence.
    return "\n".join(inner) + ("\n" if last < len(lines) and inner else "")


class LineFixer:
    """Per-line clean-up: indentation style, trailing whitespace on new lines. Shared with
    streaming so both agree."""

    def __init__(self, prompt: Prompt) -> None:
        self.originals = prompt.region_lf.split("\n")
        self._known = set(self.originals)
        self._indent = prompt.indent
        self._prose = prompt.language_id in PROSE_LANGUAGES

    def fix(self, line: str) -> str:
        if line.endswith("\r"):
            line = line[:-1]
        if line in self._known:
            return line
        line = reindent(line, self._indent)
        if line in self._known or self._prose:
            return line  # Markdown: two trailing spaces are a line break
        return line.rstrip()  # a new line's trailing whitespace is noise


def reindent(line: str, indent: str) -> str:
    """Re-express ``line``'s leading whitespace in the document's indentation style."""
    body = line.lstrip(" \t")
    lead = line[: len(line) - len(body)]
    if not lead:
        return line
    if indent == "\t" and " " in lead:
        width = 4  # the usual tab width; the editor does not tell us
        cols = len(lead.expandtabs(width))
        return "\t" * (cols // width) + " " * (cols % width) + body
    if indent != "\t" and "\t" in lead:
        return " " * len(lead.expandtabs(len(indent))) + body
    return line


def restore_unchanged(originals: Sequence[str], lines: list[str],
                      cursor_line: int | None = None) -> list[str]:
    """Lines equal to an original except for trailing whitespace become the original.

    Models often drop (or add) trailing whitespace; each such line would be a useless edit.
    A blank cursor line is matched only by an exact copy: the model usually wrote its
    completion there, and a blank line of that completion is not the cursor's line.
    """
    if list(originals) == lines:
        return lines
    if originals and lines and originals[-1] == lines[-1] == "":
        # both end with a line break: the "" after it is the format's, not a blank line
        return restore_unchanged(originals[:-1], lines[:-1], cursor_line) + [""]
    a: list[str | tuple[str]] = [line.rstrip() for line in originals]
    if cursor_line is not None and cursor_line < len(a) and not a[cursor_line]:
        a[cursor_line] = (originals[cursor_line],)
    b: list[str | tuple[str]] = [line.rstrip() for line in lines]
    b = [(line,) if a.count((line,)) and not key else key for line, key in zip(lines, b)]
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    out = list(lines)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out[j1:j2] = originals[i1:i2]
    return out


def restore_indentation(originals: Sequence[str], lines: list[str]) -> list[str]:
    """Lines the model wrote without the indentation the whole region has, re-indented.

    A region inside a class or a function indented by some prefix, answered at column 0 (or
    less deep), is shifted back when that makes more of its lines copies of the region's.
    """
    def least(texts: Sequence[str]) -> str:
        leads = [t[: len(t) - len(t.lstrip(" \t"))] for t in texts if t.strip()]
        return min(leads, key=len) if leads else ""

    ours, theirs = least(originals), least(lines)
    if len(theirs) >= len(ours) or not ours.startswith(theirs):
        return lines
    shift = ours[len(theirs):]
    shifted = [shift + line if line.strip() else line for line in lines]
    known = set(originals)
    if sum(line in known for line in shifted) > sum(line in known for line in lines):
        return shifted
    return lines


def restore_space_before_cursor(originals: Sequence[str], lines: list[str], cursor_line: int,
                                cursor_column: int) -> list[str]:
    """``price *quantity`` for ``price * |``: a completion that swallowed the space the user
    typed before the cursor (a tokenizer merging it into the next word) keeps it."""
    if cursor_line >= len(lines) or cursor_line >= len(originals):
        return lines
    before = originals[cursor_line][:cursor_column]
    stem = before.rstrip()
    line = lines[cursor_line]
    if (stem == before or not stem or line.startswith(before) or not line.startswith(stem)
            or [x.rstrip() for x in lines[:cursor_line]] != [x.rstrip() for x in originals[:cursor_line]]):
        return lines
    word = line[len(stem):len(stem) + 1]
    if not (word.isalnum() or word in "_\"'`"):
        return lines
    return lines[:cursor_line] + [before + line[len(stem):]] + lines[cursor_line + 1 :]


def restore_dropped_ends(originals: Sequence[str], lines: list[str], cursor_line: int,
                         cursor_column: int) -> list[str]:
    """Put back the region's lines a model left out at its ends.

    The region starts and ends wherever the prompt cut the file, so an answer that stops
    right after its edit of the cursor's line (blank lines aside), with none of the region's
    later lines, left them out rather than meant to delete them: they are kept. So are blank
    lines left out at the region's start.
    """
    ours, theirs = list(originals), list(lines)
    final = bool(ours and theirs and ours[-1] == theirs[-1] == "")
    if final:
        ours, theirs = ours[:-1], theirs[:-1]
    if ours and theirs and not ours[0].strip() and theirs[0].strip():
        k = next((i for i, line in enumerate(ours) if line.strip()), len(ours))
        if k < len(ours) and theirs[0].rstrip() == ours[k].rstrip():
            theirs = ours[:k] + theirs
    c = cursor_line
    if (c + 1 < len(ours) and len(theirs) > c
            and [x.rstrip() for x in theirs[:c]] == [x.rstrip() for x in ours[:c]]
            and theirs[c].startswith(ours[c][:cursor_column].rstrip())):
        if not any(x.strip() for x in theirs[c + 1 :]):  # a changed later line is an edit
            theirs = theirs[: c + 1] + ours[c + 1 :]
    return theirs + [""] if final else theirs


def trim_duplicate_suffix(insertion: str, text_after_cursor_on_line: str,
                          following_lines: Sequence[str]) -> str:
    """``insertion`` without its tail when that tail repeats what already follows the cursor.

    Two cases. The insertion ends with closers the line already has after the cursor
    (``a, b)`` before ``)``): only closers without their opener inside the insertion, or
    ``;``/``,``, are dropped, so a nested ``bar(1)`` before ``)`` is kept. Or a multi-line
    insertion ends with lines equal (ignoring indentation) to the lines that follow.
    """
    after = text_after_cursor_on_line
    rest = after.rstrip()
    if len(rest.strip()) >= 2 and insertion.endswith(rest):
        # "a > b) {" before ") {": the model wrote the rest of the line again
        insertion = insertion[: len(insertion) - len(rest)]
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
