"""Recent edits per document, as small unified diffs, for the fast model's prompt.

The model predicts the next edit far better when it sees the last few: a rename begun two
lines up, a parameter just added. ``EditHistory`` turns the stream of text changes the editor
reports into a short list of edits:

- Keystrokes less than ``coalesce_seconds`` apart on the same or adjacent lines of one
  document become one edit, diffed from the text as it was when the edit began. So typing
  ``total`` is one edit, not five.
- Each edit is rendered as a unified diff of the changed lines only, with a little context,
  headed by the file's path.
- The history is bounded: ``max_per_document`` edits per document, ``max_total`` overall,
  and ``render`` fits the most recent ones into a token budget.

``record_lines`` runs on every keystroke, so nothing in it grows with the document: it is
given the document's lines before and after (immutable tuples, shared, not copied) and the
lines the change touched (the didChange ranges tell where), keeps the span of lines the
pending edit touched, and the diff is made at render time from those lines and a little
context only. ``record_change`` takes two whole texts instead (it finds the changed span by
comparing them from both ends in C-speed chunks) and then does the same.
"""

from __future__ import annotations

import difflib
import functools
import time
from dataclasses import dataclass
from typing import Sequence
from urllib.parse import unquote, urlparse

from sparkforge.models.tokens import count_tokens
from sparkforge.textpos import merge_spans, pieces

COALESCE_SECONDS = 1.5
CONTEXT_LINES = 2
# A diff body longer than this is cut: a paste or a reformat says little about the next edit.
MAX_DIFF_LINES = 24
# Above this many changed lines difflib is skipped (its cost grows quadratically).
_MAX_DIFFED_LINES = 400


@dataclass(frozen=True)
class Edit:
    """One (possibly coalesced) edit of one document."""

    uri: str
    path: str
    diff: str  # unified diff, "--- a/path" header included, ends with a newline
    started: float
    ended: float


@dataclass
class _Pending:
    """The edit being coalesced: where it started and the lines it touches so far."""

    path: str
    snapshot: Sequence[str]  # the document's lines (with endings) when this edit began
    current: Sequence[str]
    started: float
    ended: float
    # Lines [first_line, snapshot_end) of ``snapshot`` became [first_line, last_line) of
    # ``current``; every other line is the same in both.
    first_line: int
    snapshot_end: int
    last_line: int


def _common_prefix_len(a: str, b: str) -> int:
    """Length of the common prefix, comparing doubling slices so the work is mostly memcmp."""
    limit = min(len(a), len(b))
    pos, step = 0, 64
    while pos < limit:
        end = min(pos + step, limit)
        if a[pos:end] != b[pos:end]:
            while end - pos > 32:  # bisect the differing chunk, still by slices
                mid = (pos + end) // 2
                if a[pos:mid] == b[pos:mid]:
                    pos = mid
                else:
                    end = mid
            while a[pos] == b[pos]:
                pos += 1
            return pos
        pos, step = end, step * 2
    return limit


def _common_suffix_len(a: str, b: str, limit: int) -> int:
    """Length of the common suffix, at most ``limit`` (so it never overlaps the prefix)."""
    la, lb = len(a), len(b)
    limit = min(limit, la, lb)
    n, step = 0, 64
    while n < limit:
        m = min(n + step, limit)
        if a[la - m : la - n] != b[lb - m : lb - n]:
            while m - n > 32:
                mid = (n + m) // 2
                if a[la - mid : la - n] == b[lb - mid : lb - n]:
                    n = mid
                else:
                    m = mid
            while a[la - n - 1] == b[lb - n - 1]:
                n += 1
            return n
        n, step = m, step * 2
    return limit


def changed_span(before: str, after: str) -> tuple[int, int, int, int, int]:
    """The lines that differ: (first_line, old_end_line, new_end_line, prefix, suffix).

    Lines are ``[first_line, old_end_line)`` in ``before`` and ``[first_line, new_end_line)``
    in ``after``; a change inside one line spans that line. ``prefix``/``suffix`` are the
    lengths in characters of the unchanged text at either end.
    """
    prefix = _common_prefix_len(before, after)
    suffix = _common_suffix_len(before, after, min(len(before), len(after)) - prefix)
    first = before.count("\n", 0, prefix)
    old_end = before.count("\n", 0, len(before) - suffix) + 1
    new_end = after.count("\n", 0, len(after) - suffix) + 1
    return first, old_end, new_end, prefix, suffix


def _display_path(uri: str) -> str:
    parsed = urlparse(uri)
    path = unquote(parsed.path) if parsed.scheme else uri
    return path.rstrip("/").rsplit("/", 1)[-1] or uri


def unified_diff(path: str, before: str, after: str, context: int = CONTEXT_LINES,
                 max_lines: int = MAX_DIFF_LINES, line_offset: int = 0) -> str:
    """A unified diff of two versions of a document, looking only at the lines that changed.

    Returns "" when the texts are equal. Hunk headers carry the real line numbers: the texts
    may be excerpts (whole lines) that start at line ``line_offset`` of the document.
    """
    if before == after:
        return ""
    _, _, _, prefix, suffix = changed_span(before, after)
    # Expand the changed characters to whole lines, then to ``context`` lines either side.
    start = before.rfind("\n", 0, prefix) + 1
    for _ in range(context):
        if start == 0:
            break
        start = before.rfind("\n", 0, start - 1) + 1
    first_line = line_offset + before.count("\n", 0, start)
    old_stop = _line_end(before, len(before) - suffix)
    new_stop = _line_end(after, len(after) - suffix)
    # The text after old_stop equals the text after new_stop: both lie in the common suffix.
    tail_end = old_stop
    for _ in range(context):
        nxt = before.find("\n", tail_end)
        if nxt < 0:
            tail_end = len(before)
            break
        tail_end = nxt + 1
    old_lines = _lines(before[start:tail_end])
    new_lines = _lines(after[start : new_stop + tail_end - old_stop])
    if len(old_lines) + len(new_lines) > _MAX_DIFFED_LINES:
        groups = [[("replace", 0, len(old_lines), 0, len(new_lines))]]
    else:
        matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
        groups = list(matcher.get_grouped_opcodes(context))
    out = [f"--- a/{path}\n", f"+++ b/{path}\n"]
    body = 0
    for group in groups:
        i1, i2, j1, j2 = group[0][1], group[-1][2], group[0][3], group[-1][4]
        out.append(f"@@ -{_range(first_line + i1, i2 - i1)} +{_range(first_line + j1, j2 - j1)} @@\n")
        for tag, a1, a2, b1, b2 in group:
            if tag == "equal":
                rows = [" " + line for line in old_lines[a1:a2]]
            else:
                rows = ["-" + line for line in old_lines[a1:a2]]
                rows += ["+" + line for line in new_lines[b1:b2]]
            for row in rows:
                if body == max_lines:
                    out.append("…\n")  # the model only needs the gist of a long edit
                    return "".join(out)
                out.append(row if row.endswith("\n") else row + "\n\\ No newline at end of file\n")
                body += 1
    return "".join(out)


def _line_end(text: str, pos: int) -> int:
    """Offset just past the line containing ``pos`` (its newline included)."""
    nl = text.find("\n", pos)
    return len(text) if nl < 0 else nl + 1


def _lines(text: str) -> list[str]:
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _range(start0: int, count: int) -> str:
    # Unified diff convention: 1-based start, and an empty range names the line before it.
    return f"{start0 + 1 if count else start0},{count}"


@functools.lru_cache(maxsize=256)
def _tokens(diff: str) -> int:
    return count_tokens(diff)  # each finished edit is rendered on every prediction


class EditHistory:
    """Recent edits per document URI, coalesced and bounded."""

    def __init__(self, max_per_document: int = 10, max_total: int = 30,
                 coalesce_seconds: float = COALESCE_SECONDS, context_lines: int = CONTEXT_LINES,
                 max_diff_lines: int = MAX_DIFF_LINES) -> None:
        self.max_per_document = max_per_document
        self.max_total = max_total
        self.coalesce_seconds = coalesce_seconds
        self.context_lines = context_lines
        self.max_diff_lines = max_diff_lines
        self._done: list[Edit] = []  # oldest first
        self._pending: dict[str, _Pending] = {}

    def record_change(self, uri: str, before: str, after: str, now: float | None = None,
                      path: str | None = None) -> None:
        """Note that document ``uri`` went from ``before`` to ``after`` at time ``now``, given
        as whole texts (``record_lines`` is the same without them)."""
        if before == after:
            return
        first, old_end, new_end, _, _ = changed_span(before, after)
        self.record_lines(uri, tuple(pieces(before)), tuple(pieces(after)), (first, old_end, new_end),
                          now, path)

    def record_lines(self, uri: str, before: Sequence[str], after: Sequence[str],
                     span: tuple[int, int, int], now: float | None = None, path: str | None = None) -> None:
        """Note that document ``uri`` went from lines ``before`` to lines ``after`` (each with its
        line ending) at time ``now``, where lines [first, old_end) of ``before`` became lines
        [first, new_end) of ``after`` (``span``); the sequences are kept, not copied, and must
        not change.

        Call it once per didChange notification. ``path`` is the name shown to the model
        (workspace-relative is best); by default the URI's file name. ``now`` defaults to
        ``time.monotonic()``.
        """
        now = time.monotonic() if now is None else now
        for other in [u for u, p in self._pending.items()
                      if u != uri and now - p.ended > self.coalesce_seconds]:
            self._finish(other)  # so render() need not re-diff idle documents
        first, old_end, new_end = span
        pending = self._pending.get(uri)
        if pending is not None and (
            (pending.current is not before and pending.current != before)  # a change we did not see
            or now - pending.ended > self.coalesce_seconds
            or first > pending.last_line  # more than one line below the edit
            or old_end < pending.first_line  # more than one line above it
        ):
            self._finish(uri)
            pending = None
        if pending is None:
            self._pending[uri] = _Pending(path or _display_path(uri), before, after, now, now,
                                          first, old_end, new_end)
            return
        pending.current, pending.ended = after, now
        if path:
            pending.path = path
        pending.first_line, pending.snapshot_end, pending.last_line = merge_spans(
            (pending.first_line, pending.snapshot_end, pending.last_line), span)

    def forget(self, uri: str) -> None:
        """Drop every edit of ``uri`` (the document was closed or deleted)."""
        self._pending.pop(uri, None)
        self._done = [e for e in self._done if e.uri != uri]

    def edits(self, uri: str | None = None) -> list[Edit]:
        """The edits kept, oldest first, including the one still being coalesced."""
        pending = [self._render_pending(u, p) for u, p in self._pending.items()
                   if uri is None or u == uri]
        done = [e for e in self._done if uri is None or e.uri == uri]
        merged = sorted(done + [e for e in pending if e is not None], key=lambda e: e.ended)
        return self._bounded(merged)

    def render(self, max_tokens: int, exclude_uri: str | None = None) -> str:
        """The most recent edits that fit ``max_tokens``, oldest first, most recent last.

        Most recent last puts the freshest edit right before the file excerpt in the prompt.
        An edit too large for the budget is skipped, and older ones may still be included.
        """
        chosen: list[str] = []
        used = 0
        for edit in reversed(self.edits()):
            if edit.uri == exclude_uri:
                continue
            cost = _tokens(edit.diff)
            if used + cost <= max_tokens:
                chosen.append(edit.diff)
                used += cost
        # Each diff ends at a line break, and joined at line breaks the diffs take no more
        # tokens than counted apart: ``used`` bounds the whole, which fits.
        return "".join(reversed(chosen))

    def _render_pending(self, uri: str, pending: _Pending) -> Edit | None:
        # Only the touched lines and their context: every other line is the same in both.
        lo = max(0, pending.first_line - self.context_lines)
        snap_hi = min(len(pending.snapshot), pending.snapshot_end + self.context_lines)
        cur_hi = pending.last_line + (snap_hi - pending.snapshot_end)
        diff = unified_diff(pending.path, "".join(pending.snapshot[lo:snap_hi]),
                            "".join(pending.current[lo:cur_hi]), self.context_lines,
                            self.max_diff_lines, line_offset=lo)
        if not diff:
            return None
        return Edit(uri, pending.path, diff, pending.started, pending.ended)

    def _finish(self, uri: str) -> None:
        pending = self._pending.pop(uri, None)
        if pending is None:
            return
        edit = self._render_pending(uri, pending)
        if edit is not None:
            self._done.append(edit)
            self._done = self._bounded(self._done)

    def _bounded(self, edits: list[Edit]) -> list[Edit]:
        """Keep the newest ``max_per_document`` per document and ``max_total`` overall."""
        per_doc: dict[str, int] = {}
        kept: list[Edit] = []
        for edit in reversed(edits):
            n = per_doc.get(edit.uri, 0)
            if n < self.max_per_document and len(kept) < self.max_total:
                per_doc[edit.uri] = n + 1
                kept.append(edit)
        kept.reverse()
        return kept
