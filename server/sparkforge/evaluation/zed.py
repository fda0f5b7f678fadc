"""Zed's edit-prediction eval cases, read as they are (docs/eval.md, "Zed and Copilot cases").

Followed: zed-industries/zed, ``crates/edit_prediction/src/example_spec.rs``
(``ExampleSpec::from_markdown``, ``cursor_excerpt``) and ``crates/edit_prediction/src/udiff.rs``
(``apply_diff_to_string``), with the cases in ``crates/edit_prediction_cli/evals/*.md``:

- optional TOML front matter between ``+++`` lines: ``repository_url``, ``revision``, ``tags``;
- ``# name`` (else the file's stem); level-2 sections, titles compared case-insensitively:
  ``Edit History`` (its diff fences, concatenated: one ``--- a/P`` / ``+++ b/P`` pair per
  edit, in order), ``Cursor Position`` (one fence whose info string is the file's path: an
  excerpt of the file, the cursor shown inline by ``<|user_cursor|>`` or by a comment line
  below the cursor line holding ``[CURSOR_POSITION]``, with ``^`` under the cursor's column
  or ``<`` for the column of the comment's first character), ``Expected Patch`` (each fence
  one acceptable patch), ``Uncommitted Diff`` (changes on top of the revision);
  ``Reasoning``, ``Rejected Patch``, other level-2 titles, level 3 and 4 are ignored;
- a hunk is located by its context and ``-`` lines as one string, wherever it occurs in the
  file (line numbers are not used); lines of a patch holding ``[CURSOR_POSITION]`` (the
  cursor after the expected edit) are dropped.

A case names a repository at a revision. With ``repo_root`` (the checkout, or a folder holding
``<owner>/<name>`` or ``<name>`` checkouts) the files come from it at that revision (``git
show``; the working tree when the revision is not there, with a note). Without it, the case's
own excerpt is the file, the history is undone on it to get the file before the history
(edits outside the excerpt, or to other files, are left out), and ``Case.notes`` says so.
"""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

from sparkforge.textpos import UTF8, PositionError, units_to_column

from .hunks import DiffHunk, FileDiff, parse_diff
from .mdsections import split_sections
from .model import Case, CaseError, Expected, HistoryEdit, language_of

CURSOR_POSITION_MARKER = "[CURSOR_POSITION]"
INLINE_CURSOR_MARKER = "<|user_cursor|>"

_SECTIONS = {
    "uncommitted diff": "uncommitted",
    "edit history": "history",
    "cursor position": "cursor",
    "expected patch": "expected",
    "rejected patch": "rejected",
}


def is_zed_case(text: str) -> bool:
    """Front matter, or a heading only Zed's format has."""
    text = text.lstrip("\ufeff")
    if text.startswith("+++\n") or text.startswith("+++\r\n"):
        return True
    return re.search(r"(?im)^##[ \t]+(cursor position|expected patch)[ \t]*$", text) is not None


def parse_zed_case(text: str, source: str, *, repo_root: Path | None = None) -> Case:
    try:
        return _ZedCase(text, source).build(repo_root)
    except CaseError:
        raise
    except ValueError as exc:
        raise CaseError(f"{source}: {exc}") from None


class _ZedCase:
    def __init__(self, text: str, source: str) -> None:
        self.source = source
        self.notes: list[str] = []
        text = text.lstrip("\ufeff").replace("\r\n", "\n")
        self.repository_url = ""
        self.revision = ""
        self.tags: list[str] = []
        if text.startswith("+++\n") and "+++\n" in text[4:]:
            front, text = text[4:].split("+++\n", 1)
            try:
                data = tomllib.loads(front)
            except tomllib.TOMLDecodeError as exc:
                raise ValueError(f"the front matter is not TOML ({exc})") from None
            self.repository_url = str(data.get("repository_url", ""))
            self.revision = str(data.get("revision", ""))
            self.tags = [str(t) for t in data.get("tags", [])]
        self.name = Path(source).stem
        self.root = Path(".")
        self.title = ""
        self.uncommitted = ""
        self.history_text = ""
        self.cursor_path = ""
        self.cursor_block = ""
        self.expected_texts: list[str] = []
        section = ""
        for part in split_sections(text):
            if part.level == 1:
                self.title = part.title
                self.name = part.title or self.name
            elif part.level == 2:
                section = _SECTIONS.get(part.title.lower(), "other")
            elif part.level > 4:
                raise ValueError(f"line {part.line}: unexpected heading level {part.level}")
            for fence in part.fences:
                content = fence.text + "\n" if fence.text else ""
                if section == "uncommitted":
                    self.uncommitted = content
                elif section == "history":
                    self.history_text += content
                elif section == "cursor":
                    self.cursor_path = fence.info
                    self.cursor_block = fence.text
                elif section == "expected":
                    self.expected_texts.append(content)
        if not self.cursor_path or not self.cursor_block:
            raise ValueError("no '## Cursor Position' fence (with the file's path as its info string)")
        if not self.expected_texts:
            raise ValueError("no '## Expected Patch' fence: nothing to score")

    # -- building the case ----------------------------------------------------------------

    def build(self, repo_root: Path | None) -> Case:
        excerpt, cursor_in_excerpt = cursor_excerpt(self.cursor_block)
        history = self._diffs(self.history_text, "the edit history")
        path = self.cursor_path
        if repo_root is None:
            files, edits, current_text = self._from_excerpt(excerpt, history)
            cursor_offset = cursor_in_excerpt
        else:
            files, edits = self._from_checkout(repo_root, history)
            current = _current(files, edits)
            if path not in current:
                raise ValueError(f"the cursor's file {path} is not in the checkout")
            current_text = current[path]
            at = current_text.find(excerpt)
            if at < 0:
                raise ValueError(f"the cursor excerpt is not in {path} as it is after the history")
            cursor_offset = at + cursor_in_excerpt
        expected = self._expected(files, edits, current_text, repo_root)
        return Case(
            name=self.name,
            source=self.source,
            format="zed",
            files=files,
            history=tuple(edits),
            cursor_path=path,
            cursor_offset=cursor_offset,
            expected=expected,
            tags=tuple(self.tags),
            language=language_of(path),
            kind="no-edit" if not expected else "",
            notes=tuple(self.notes),
            title=self.title,
        )

    def _diffs(self, text: str, what: str) -> list[FileDiff]:
        lines = [line for line in text.split("\n") if CURSOR_POSITION_MARKER not in line]
        try:
            diffs = parse_diff("\n".join(lines).replace(INLINE_CURSOR_MARKER, ""), garbage="skip")
        except ValueError as exc:
            raise ValueError(f"{what}: {exc}") from None
        for diff in diffs:
            # As Zed's parse_header_path: "a/" off the old path, "b/" off the new one.
            diff.old_path = diff.old_path.removeprefix("a/")
            diff.new_path = diff.new_path.removeprefix("b/")
        return diffs

    def _from_excerpt(
        self, excerpt: str, history: list[FileDiff]
    ) -> tuple[dict[str, str], list[HistoryEdit], str]:
        path = self.cursor_path
        current = excerpt + "\n" if excerpt else ""
        where = f" ({self.repository_url} at {self.revision})" if self.repository_url else ""
        self.notes.append(f"no --repo-root: the case's excerpt of {path}{where} is used as the file")
        states = [current]
        kept: list[bool] = []
        skipped_other: set[str] = set()
        skipped = 0
        # Undo the history, last edit first, on the excerpt.
        for diff in reversed(history):
            if diff.path != path:
                skipped_other.add(diff.path)
                kept.append(False)
                continue
            text = states[-1]
            try:
                for hunk in reversed(diff.hunks):
                    text = _apply_trimmed(text, hunk, reverse=True)
            except ValueError:
                skipped += 1
                kept.append(False)
                continue
            states.append(text)
            kept.append(True)
        if skipped:
            self.notes.append(f"{skipped} edit(s) of the history lie outside the excerpt and were left out")
        if skipped_other:
            self.notes.append(f"history edits to other files were left out: {', '.join(sorted(skipped_other))}")
        states.reverse()  # states[0]: before the kept history; states[-1]: current
        edits = [
            HistoryEdit(path, states[i], states[i + 1])
            for i in range(len(states) - 1)
            if states[i] != states[i + 1]
        ]
        return {path: states[0]}, edits, current

    def _from_checkout(self, repo_root: Path, history: list[FileDiff]) -> tuple[dict[str, str], list[HistoryEdit]]:
        root = self.root = self._checkout(repo_root)
        files: dict[str, str] = {}
        uncommitted = self._diffs(self.uncommitted, "the uncommitted diff")
        wanted = [self.cursor_path] + [d.path for d in uncommitted + history if not d.creates]
        for path in wanted:
            if path not in files:
                files[path] = self._read(root, path)
        for diff in uncommitted:
            before = "" if diff.creates else files[diff.path]
            files[diff.path] = _apply_zed(before, diff, "the uncommitted diff")
        current = dict(files)
        edits: list[HistoryEdit] = []
        for number, diff in enumerate(history, 1):
            before = "" if diff.creates else current.get(diff.path)
            if before is None:
                before = current[diff.path] = files[diff.path] = self._read(root, diff.path)
            after = _apply_zed(before, diff, f"edit {number} of the history")
            edits.append(HistoryEdit(diff.path, before, after, created=diff.creates))
            current[diff.path] = after
        return files, edits

    def _checkout(self, repo_root: Path) -> Path:
        owner, name = _repo_name(self.repository_url)
        for candidate in (repo_root / owner / name, repo_root / name):
            if owner and name and candidate.is_dir():
                return candidate
        if not repo_root.is_dir():
            raise ValueError(f"--repo-root {repo_root} is not a directory")
        return repo_root

    def _read(self, root: Path, path: str) -> str:
        if self.revision:
            shown = subprocess.run(
                ["git", "-C", str(root), "show", f"{self.revision}:{path}"],
                capture_output=True,
                check=False,
            )
            if shown.returncode == 0:
                return shown.stdout.decode("utf-8", errors="replace").replace("\r\n", "\n")
            note = f"revision {self.revision} is not in {root}: files were read from its working tree"
            if note not in self.notes:
                self.notes.append(note)
        try:
            return (root / path).read_text(encoding="utf-8").replace("\r\n", "\n")
        except OSError:
            raise ValueError(f"{path} is not in the checkout {root}") from None

    def _expected(
        self,
        files: dict[str, str],
        edits: list[HistoryEdit],
        current_text: str,
        repo_root: Path | None,
    ) -> tuple[Expected, ...]:
        path = self.cursor_path
        current = _current(files, edits)
        alternatives: list[Expected] = []
        left_out = 0
        for number, patch in enumerate(self.expected_texts, 1):
            what = f"expected patch {number}"
            texts = {path: current_text}
            others: list[str] = []
            for diff in self._diffs(patch, what):
                if diff.path != path:
                    if repo_root is None:
                        continue
                    if diff.path not in texts:
                        if not diff.creates and diff.path not in current:
                            # Opened by the case too, as the editor would have it.
                            current[diff.path] = files[diff.path] = self._read(self.root, diff.path)
                        texts[diff.path] = "" if diff.creates else current[diff.path]
                    others.append(diff.path)
                if repo_root is None:
                    text = texts[path]
                    for hunk in diff.hunks:
                        text = _apply_trimmed(text, hunk, reverse=False, what=what)
                    texts[path] = text
                else:
                    texts[diff.path] = _apply_zed(texts[diff.path], diff, what, first=True)
            touched = {d.path for d in self._diffs(patch, what)}
            if repo_root is None and touched - {path}:
                left_out += 1
                if path not in touched:
                    continue  # nothing of it can be scored without the other files
            alternatives.append(
                Expected(path, texts[path], 1.0, tuple((p, texts[p]) for p in dict.fromkeys(others)))
            )
        if left_out:
            self.notes.append(
                f"{left_out} expected patch(es) change other files than {path}: those changes are left out"
            )
        if not alternatives:
            raise ValueError(f"every expected patch changes other files than {path}: give --repo-root")
        if all(e.after == current_text and not e.other_files for e in alternatives):
            return ()
        return tuple(alternatives)


def cursor_excerpt(block: str) -> tuple[str, int]:
    """The excerpt without its cursor marker, and the cursor's offset in it (as Zed's)."""
    inline = block.find(INLINE_CURSOR_MARKER)
    if inline >= 0:
        return block[:inline] + block[inline + len(INLINE_CURSOR_MARKER) :], inline
    marker = block.find(CURSOR_POSITION_MARKER)
    if marker < 0:
        raise ValueError(f"the cursor excerpt has neither {INLINE_CURSOR_MARKER} nor a {CURSOR_POSITION_MARKER} line")
    line_start = block.rfind("\n", 0, marker) + 1
    line_end = block.find("\n", marker)
    line_end = len(block) if line_end < 0 else line_end + 1
    marker_line = block[line_start:line_end].rstrip("\n")
    if "^" in marker_line:
        column = len(marker_line[: marker_line.index("^")].encode("utf-8"))
    elif "<" in marker_line:
        column = len(marker_line) - len(marker_line.lstrip())
    else:
        raise ValueError(f"the {CURSOR_POSITION_MARKER} line has neither '^' nor '<' under the cursor")
    if line_start == 0:
        raise ValueError(f"the {CURSOR_POSITION_MARKER} line must come below the cursor's line")
    excerpt = (block[:line_start] + block[line_end:]).rstrip("\n")
    cursor_line_start = block.rfind("\n", 0, line_start - 1) + 1
    cursor_line = block[cursor_line_start : line_start - 1]
    # Zed counts the column in UTF-8 bytes (Rust string offsets).
    try:
        column = units_to_column(cursor_line, column, UTF8)
    except PositionError as exc:
        raise ValueError(f"the cursor marked by the {CURSOR_POSITION_MARKER} line: {exc}") from None
    return excerpt, cursor_line_start + column


def _current(files: dict[str, str], edits: list[HistoryEdit]) -> dict[str, str]:
    texts = dict(files)
    for edit in edits:
        texts[edit.path] = edit.after
    return texts


def _apply_zed(text: str, diff: FileDiff, what: str, *, first: bool = False) -> str:
    """Each hunk's old text replaced where it occurs (once, or its first occurrence with ``first``)."""
    for number, hunk in enumerate(diff.hunks, 1):
        old, new = "".join(hunk.old), "".join(hunk.new)
        at = 0 if diff.creates or not old else text.find(old)
        if at < 0:
            raise ValueError(f"{what}, {diff.path}: hunk {number} ({hunk.header}): its context is not in the file")
        if not first and old and text.find(old, at + 1) >= 0:
            raise ValueError(f"{what}, {diff.path}: hunk {number} ({hunk.header}): its context is not unique")
        text = text[:at] + new + text[at + len(old) :]
    return text


def _apply_trimmed(text: str, hunk: DiffHunk, *, reverse: bool, what: str = "") -> str:
    """Apply (or undo) ``hunk`` on an excerpt: context lines beyond the excerpt's edges are
    dropped, fewest first, until the rest occurs exactly once."""
    rows = _rows(hunk)
    top = next((i for i, row in enumerate(rows) if row[0] != " "), len(rows))
    bottom = next((i for i, row in enumerate(reversed(rows)) if row[0] != " "), len(rows))
    for total in range(top + bottom + 1):
        for cut_top in range(min(total, top) + 1):
            cut_bottom = total - cut_top
            if cut_bottom > bottom or cut_top + cut_bottom > len(rows):
                continue
            kept = rows[cut_top : len(rows) - cut_bottom]
            old = "".join(o for _, o, _ in kept if o is not None)
            new = "".join(n for _, _, n in kept if n is not None)
            if reverse:
                old, new = new, old
            if not old:
                if not text:
                    return new
                continue
            at = text.find(old)
            if at >= 0 and text.find(old, at + 1) < 0:
                return text[:at] + new + text[at + len(old) :]
    raise ValueError(f"{what}: hunk {hunk.header!r} is not in the excerpt")


def _rows(hunk: DiffHunk) -> list[tuple[str, str | None, str | None]]:
    rows: list[tuple[str, str | None, str | None]] = []
    i = j = 0
    for tag in hunk.tags:
        if tag == " ":
            rows.append((tag, hunk.old[i], hunk.new[j]))
            i, j = i + 1, j + 1
        elif tag == "-":
            rows.append((tag, hunk.old[i], None))
            i += 1
        else:
            rows.append((tag, None, hunk.new[j]))
            j += 1
    return rows


def _repo_name(url: str) -> tuple[str, str]:
    """(owner, name) of ``git@host:owner/name.git`` or ``https://host/owner/name``."""
    if not url:
        return "", ""
    path = url.split(":", 1)[1] if "@" in url and "://" not in url else re.sub(r"^[a-z]+://[^/]+/", "", url)
    parts = [p for p in path.strip("/").split("/") if p]
    if len(parts) < 2:
        return "", ""
    return parts[0], parts[1].removesuffix(".git")
