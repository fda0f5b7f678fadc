"""Turn parsed patches into an ``EditPlan`` against the files' current text, or refuse.

``PatchApplier.plan`` is all or nothing: every path is confined to the workspace, every
hunk is located (see ``locate.py``), hunks must not overlap, and the first failure raises
``PatchError`` before anything is returned. Line endings (CRLF stays CRLF) and the file's
trailing-newline state are preserved; the changes are minimal line ranges per hunk.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from sparkforge.models.events import PatchOperation

from .locate import LOOSEST, Document, find_anchor, find_block, find_fuzzy, indent_delta
from .model import EditPlan, FileEdit, FilePatch, Hunk, PatchError, SourceText, TextChange, text_sha256
from .patch import parse_v4a

ReadFile = Callable[[str], str | SourceText | None]
_NOTHING = "nothing was applied"


def apply_hunks(text: str, hunks: Sequence[Hunk], path: str = "the file") -> tuple[str, list[TextChange]]:
    """Apply ``hunks`` to ``text``: the new text and the minimal changes that produce it."""
    doc = Document.from_text(text)
    n = len(doc.lines)
    located: list[tuple[int, int, int, list[tuple[str, str]]]] = []  # (start, end, number, pairs)
    lo, drift = 0, 0
    want_nl = doc.trailing_newline or n == 0
    for number, hunk in enumerate(hunks, 1):
        start, tier, ops = _locate(doc, hunk, lo, drift, path, number)
        old_len = sum(op != "+" for op, _ in ops)
        if hunk.old_start is not None and old_len:
            drift = start - (hunk.old_start - 1)
        lo = start + old_len
        located.append((start, start + old_len, number, _replacement(doc, ops, start, tier)))
        if start + old_len == n and (hunk.new_no_eol or hunk.old_no_eol):
            # Only an explicit "\ No newline at end of file" changes the file's ending.
            want_nl = not hunk.new_no_eol
    located.sort(key=lambda r: (r[0], r[1]))
    for (_, e1, h1, _), (s2, _, h2, _) in zip(located, located[1:]):
        if s2 < e1:
            first, second = sorted((h1, h2))
            raise PatchError(
                f"hunks {first} and {second} of {path} change the same lines; the patch is wrong; {_NOTHING}",
                path=path, hunk=second,
            )
    return _render(doc, [(s, e, pairs) for s, e, _, pairs in located], want_nl)


def _locate(
    doc: Document, hunk: Hunk, lo: int, drift: int, path: str, number: int
) -> tuple[int, int, tuple[tuple[str, str], ...]]:
    """(start line, tier, the ops that matched) for a hunk; raises PatchError naming it."""
    n = len(doc.lines)
    anchor_at: int | None = None
    for anchor in hunk.anchors:
        start_from = anchor_at + 1 if anchor_at is not None else lo
        found = find_anchor(doc, anchor, start_from)
        if found is None and anchor_at is None:
            found = find_anchor(doc, anchor, 0)  # hunks given out of order
        if found is None:
            raise PatchError(
                f'cannot locate hunk {number} of {path}: no line matches its anchor "@@ {anchor}"; '
                f"the file has changed or the patch is wrong; {_NOTHING}",
                path=path, hunk=number,
            )
        anchor_at = found
    old = [t for op, t in hunk.ops if op != "+"]
    if hunk.old_start is not None:
        # "-5,0" means "after line 5"; "-5,3" starts at line 5.
        base = hunk.old_start if hunk.old_count == 0 else hunk.old_start - 1
        expected = max(base, 0) + drift
    elif anchor_at is not None:
        expected = anchor_at + 1
    else:
        expected = lo
    if not old:
        # Pure insertion: after the anchor, at the stated line, else at the end (as codex does).
        if hunk.at_eof or (anchor_at is None and hunk.old_start is None):
            return n, 0, hunk.ops
        return (anchor_at + 1 if anchor_at is not None else min(max(expected, lo), n)), 0, hunk.ops
    # Blank context at the end is often a separator the model added, or the file's final
    # newline written as a line (codex retries the same way): try without it too.
    variants = [hunk.ops]
    end = len(hunk.ops)
    while end and hunk.ops[end - 1][0] == " " and not hunk.ops[end - 1][1].strip():
        end -= 1
    if end < len(hunk.ops) and any(op != "+" for op, _ in hunk.ops[:end]):
        variants.append(hunk.ops[:end])
    # The anchor line itself may be the hunk's first context line, so search from it.
    search_from = anchor_at if anchor_at is not None else lo
    for region_lo in dict.fromkeys((search_from, 0)):
        for ops in variants:
            pattern = [t for op, t in ops if op != "+"]
            for tier in range(LOOSEST + 1):
                start = find_block(doc, pattern, region_lo, expected, tier, hunk.at_eof)
                if start is not None:
                    return start, tier, ops
        for ops in variants:
            start = find_fuzzy(doc, ops, region_lo, expected)
            if start is not None:
                return start, LOOSEST + 1, ops
    raise PatchError(_not_found(hunk, path, number, old), path=path, hunk=number)


def _not_found(hunk: Hunk, path: str, number: int, old: list[str]) -> str:
    snippet = next((l.strip() for l in old if l.strip()), "")
    if len(snippet) > 60:
        snippet = snippet[:57] + "..."
    if hunk.old_start is not None:
        where = f"near line {hunk.old_start}: "
    elif hunk.anchors:
        where = f'after "{hunk.anchors[-1]}": '
    else:
        where = ""
    return (
        f'cannot locate hunk {number} of {path} ({where}"{snippet}"): '
        f"the file has changed or the patch is wrong; {_NOTHING}"
    )


def _replacement(
    doc: Document, ops: Sequence[tuple[str, str]], start: int, tier: int
) -> list[tuple[str, str]]:
    """The new lines with their endings: the file's own context lines, the patch's added ones."""
    i = start
    matched: list[tuple[str, str]] = []
    for op, text in ops:
        if op != "+":
            matched.append((doc.lines[i], text))
            i += 1
    # Loose tiers matched whitespace only; shift added lines like the context was shifted.
    shift = indent_delta(matched) if tier >= 2 else None
    pairs: list[tuple[str, str]] = []
    i = start
    for op, text in ops:
        if op == " ":
            pairs.append((doc.lines[i], doc.ends[i] or doc.eol))
        elif op == "+":
            pairs.append((shift(text) if shift else text, doc.eol))
        if op != "+":
            i += 1
    return pairs


def _render(
    doc: Document, regions: list[tuple[int, int, list[tuple[str, str]]]], want_nl: bool
) -> tuple[str, list[TextChange]]:
    n = len(doc.lines)
    merged: list[tuple[int, int, list[tuple[str, str]]]] = []
    for s, e, pairs in regions:
        if merged and merged[-1][1] == s:
            ps, _, pp = merged[-1]
            merged[-1] = (ps, e, pp + pairs)
        else:
            merged.append((s, e, list(pairs)))
    changes: list[TextChange] = []
    pieces: list[str] = []
    cursor = 0
    for s, e, pairs in merged:
        eat_prev_eol = False
        if e == n:
            if n and not doc.trailing_newline and s == n:
                # Appending after an unterminated last line: that line gains an ending.
                s, pairs = n - 1, [(doc.lines[n - 1], doc.eol), *pairs]
            if pairs:
                text, end = pairs[-1]
                pairs[-1] = (text, (end or doc.eol) if want_nl else "")
            elif s > 0 and not want_nl:
                eat_prev_eol = True  # deleting the last lines must not leave a newline behind
        if not eat_prev_eol:
            while pairs and s < e and pairs[0] == (doc.lines[s], doc.ends[s]):
                s, pairs = s + 1, pairs[1:]
            while pairs and e > s and pairs[-1] == (doc.lines[e - 1], doc.ends[e - 1]):
                e, pairs = e - 1, pairs[:-1]
            if not pairs and s == e:
                continue
        if eat_prev_eol:
            start_pos = (s - 1, len(doc.lines[s - 1]))
            start_off = doc.starts[s - 1] + len(doc.lines[s - 1])
        else:
            start_pos, start_off = doc.position(s), doc.starts[s]
        new = "".join(t + end for t, end in pairs)
        changes.append(TextChange(*start_pos, *doc.position(e), new))
        pieces += (doc.text[cursor:start_off], new)
        cursor = doc.starts[e]
    pieces.append(doc.text[cursor:])
    return "".join(pieces), changes


def whole_text_change(old: str, new: str) -> TextChange:
    """One change turning ``old`` into ``new``, trimmed to the lines that differ."""
    a, b = Document.from_text(old), Document.from_text(new)
    pa, pb = list(zip(a.lines, a.ends)), list(zip(b.lines, b.ends))
    p = 0
    while p < min(len(pa), len(pb)) and pa[p] == pb[p]:
        p += 1
    q = 0
    while q < min(len(pa), len(pb)) - p and pa[-1 - q] == pb[-1 - q]:
        q += 1
    text = "".join(t + e for t, e in pb[p : len(pb) - q])
    return TextChange(*a.position(p), *a.position(len(pa) - q), text)


@dataclass
class _FileState:
    original: str | None
    version: int | None
    current: str | None
    changes: list[TextChange] | None = None
    touches: int = 0

    def set(self, text: str | None, changes: list[TextChange] | None = None) -> None:
        self.current, self.touches = text, self.touches + 1
        # Changes are only valid against the original text if this is the only edit.
        self.changes = changes if self.touches == 1 else None


class PatchApplier:
    """Plans patches against the workspace; never writes anything itself."""

    def __init__(self, workspace_root: Path, read_file: ReadFile) -> None:
        self._root = Path(os.path.abspath(workspace_root))
        self._real_root = self._root.resolve()
        self._read_file = read_file

    def confine(self, path: str) -> str:
        """The workspace-relative posix path for ``path``, or PatchError if it leaves the workspace."""
        raw = path.strip()
        p = raw.replace("\\", "/")
        if p.startswith("file://"):
            p = unquote(urlparse(p).path)
        if not p:
            raise PatchError(f"refused: a patch names an empty path; {_NOTHING}")
        if re.match(r"^[A-Za-z]:/", p) and os.name != "nt":
            raise PatchError(f"refused: {raw} is outside the workspace; {_NOTHING}", path=raw)
        candidate = Path(os.path.normpath(p))
        if candidate.is_absolute():
            for root in (self._root, self._real_root):
                if candidate.is_relative_to(root):
                    candidate = candidate.relative_to(root)
                    break
            else:
                raise PatchError(f"refused: {raw} is outside the workspace; {_NOTHING}", path=raw)
        if candidate.parts[:1] == ("..",) or str(candidate) == ".":
            raise PatchError(f"refused: {raw} is outside the workspace; {_NOTHING}", path=raw)
        if ".git" in candidate.parts:
            raise PatchError(f"refused: {raw} is inside .git; {_NOTHING}", path=raw)
        # Symlinks are followed: a link inside the workspace may point anywhere.
        if not (self._real_root / candidate).resolve().is_relative_to(self._real_root):
            raise PatchError(
                f"refused: {raw} resolves outside the workspace (through a symbolic link); {_NOTHING}",
                path=raw,
            )
        return candidate.as_posix()

    def plan(self, patches: Iterable[FilePatch | PatchOperation]) -> EditPlan:
        """Every file's edit, or PatchError for the first problem (and then no plan at all)."""
        states: dict[str, _FileState] = {}
        for patch in patches:
            if isinstance(patch, PatchOperation):
                patch = parse_v4a(patch)
            path = self.confine(patch.path)
            st = self._state(states, path)
            if patch.kind == "create":
                if st.current is not None:
                    if st.current == patch.content:
                        continue  # the model re-created a file as it already is
                    raise PatchError(
                        f"cannot create {path}: the file already exists; {_NOTHING}", path=path
                    )
                st.set(patch.content)
            elif patch.kind == "delete":
                if st.current is None:
                    raise PatchError(f"cannot delete {path}: no such file; {_NOTHING}", path=path)
                st.set(None)
            else:
                self._update(states, st, path, patch)
        return EditPlan([e for path, st in states.items() if (e := self._file_edit(path, st))])

    def _update(self, states: dict[str, _FileState], st: _FileState, path: str, patch: FilePatch) -> None:
        current = st.current
        if current is None:
            # "--- a/new.py" / "+++ b/new.py" / "@@ -0,0 +1,3 @@" is a create in disguise.
            if patch.hunks and all(h.old_start == 0 and not h.old_lines for h in patch.hunks):
                current = ""
            else:
                raise PatchError(
                    f"cannot update {path}: no such file in the workspace; {_NOTHING}", path=path
                )
        new_text, changes = apply_hunks(current, patch.hunks, path)
        if not patch.move_to:
            st.set(new_text, changes if st.current is not None else None)
            return
        dest = self.confine(patch.move_to)
        dst = self._state(states, dest)
        if dest != path and dst.current is not None:
            raise PatchError(f"cannot move {path} to {dest}: {dest} already exists; {_NOTHING}", path=path)
        st.set(None)
        dst.set(new_text)

    def _state(self, states: dict[str, _FileState], path: str) -> _FileState:
        if path not in states:
            try:
                got = self._read_file(path)
            except OSError as exc:
                raise PatchError(f"cannot read {path}: {exc.strerror or exc}; {_NOTHING}", path=path) from exc
            text, version = (got.text, got.version) if isinstance(got, SourceText) else (got, None)
            states[path] = _FileState(text, version, text)
        return states[path]

    @staticmethod
    def _file_edit(path: str, st: _FileState) -> FileEdit | None:
        old, new = st.original, st.current
        if old == new:
            return None
        if old is None:
            return FileEdit(path, "create", [TextChange(0, 0, 0, 0, new or "")], new or "")
        sha = text_sha256(old)
        if new is None:
            return FileEdit(path, "delete", [], "", sha, st.version)
        changes = st.changes if st.changes is not None else [whole_text_change(old, new)]
        return FileEdit(path, "update", changes, new, sha, st.version)
