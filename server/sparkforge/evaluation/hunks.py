"""Unified diffs as case files write them, applied strictly.

Case files may use bare ``@@`` hunk headers (no line numbers), which ``unidiff`` does not
read (it silently returns an empty patch set), so this is a small parser of its own. A hunk
is located by its old lines (context and ``-`` lines), which must occur exactly once in the
file; line numbers, when the header has them, only break ties. Unlike ``edits/apply.py``,
which forgives a model's mistakes, nothing here is fuzzy: a case must say what it means.

Errors are ``ValueError``s with a short message; the readers prefix the file name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

NO_NEWLINE = "\\ No newline at end of file"
DEV_NULL = "/dev/null"

_HEADER_RE = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


@dataclass(slots=True)
class DiffHunk:
    header: str
    old: list[str] = field(default_factory=list)  # lines with their "\n" (none on a last line without one)
    new: list[str] = field(default_factory=list)
    old_start: int | None = None  # 1-based, from the header
    old_count: int | None = None
    tags: list[str] = field(default_factory=list)  # " ", "-" or "+" for each hunk line, in order

    @property
    def changes(self) -> bool:
        return self.old != self.new


@dataclass(slots=True)
class FileDiff:
    old_path: str
    new_path: str
    hunks: list[DiffHunk] = field(default_factory=list)

    @property
    def creates(self) -> bool:
        return self.old_path == DEV_NULL

    @property
    def path(self) -> str:
        return self.new_path if self.creates else self.old_path


def split_lines(text: str) -> list[str]:
    """Lines with their "\\n"; only LF ends a line (unlike ``str.splitlines``)."""
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def parse_diff(text: str, *, garbage: str = "error") -> list[FileDiff]:
    """The file diffs of a unified diff (``diff --git``/``index`` lines are skipped).

    A line inside a hunk that is none of `` ``, ``-``, ``+``, ``\\`` or empty is an error, or
    with ``garbage="skip"`` is ignored (Zed's parser treats such lines as garbage).
    An empty line is a context line for a blank line (editors strip the lone space).
    """
    diffs: list[FileDiff] = []
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    i = 0
    current: FileDiff | None = None
    hunk: DiffHunk | None = None
    last: str = ""  # which side(s) the previous hunk line went to: " ", "-", "+"
    while i < len(lines):
        line = lines[i]
        if line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ "):
            current = FileDiff(_header_path(line[4:]), _header_path(lines[i + 1][4:]))
            diffs.append(current)
            hunk = None
            i += 2
            continue
        if line.startswith(("diff ", "index ")):
            hunk = None
            i += 1
            continue
        if line.startswith("@@"):
            if current is None:
                raise ValueError(f"hunk {line!r} comes before any '--- PATH' / '+++ PATH' header")
            hunk = DiffHunk(header=line)
            match = _HEADER_RE.match(line)
            if match:
                hunk.old_start = int(match.group(1))
                hunk.old_count = int(match.group(2)) if match.group(2) is not None else 1
            elif line.strip("@ \t") and not line.startswith("@@ "):
                raise ValueError(f"unreadable hunk header {line!r}")
            current.hunks.append(hunk)
            i += 1
            continue
        if hunk is None:
            if line.strip() and garbage == "error":
                raise ValueError(f"line {line!r} is outside any hunk")
            i += 1
            continue
        if line.startswith(NO_NEWLINE[:2]):
            # The previous line has no newline at the end of its file(s).
            if " " in last or "-" in last:
                hunk.old[-1] = hunk.old[-1].removesuffix("\n")
            if " " in last or "+" in last:
                hunk.new[-1] = hunk.new[-1].removesuffix("\n")
            i += 1
            continue
        tag, body = (line[0], line[1:]) if line else (" ", "")
        if tag in " -+":
            hunk.tags.append(tag)
        if tag == " ":
            hunk.old.append(body + "\n")
            hunk.new.append(body + "\n")
        elif tag == "-":
            hunk.old.append(body + "\n")
        elif tag == "+":
            hunk.new.append(body + "\n")
        elif garbage == "error":
            raise ValueError(f"line {line!r} in hunk {hunk.header!r} starts with none of ' ', '-', '+'")
        else:
            i += 1
            continue
        last = tag
        i += 1
    for diff in diffs:
        if not diff.hunks:
            raise ValueError(f"the diff of {diff.path} has no hunk")
    return diffs


def _header_path(raw: str) -> str:
    path = raw.split("\t")[0].strip()
    return path


def strip_git_prefix(path: str, side: str, known: set[str] | None = None) -> str:
    """``a/x`` -> ``x`` (``side`` "a" or "b"), unless a file of the literal path is known."""
    prefix = side + "/"
    if path.startswith(prefix) and not (known and path in known):
        return path[len(prefix) :]
    return path


def apply_file_diff(text: str, diff: FileDiff) -> str:
    """``text`` with every hunk of ``diff`` applied in order, each located exactly."""
    lines = split_lines(text)
    shift = 0  # lines added minus removed by the hunks before, for header line numbers
    for number, hunk in enumerate(diff.hunks, 1):
        at = locate(lines, hunk, shift, number)
        lines[at : at + len(hunk.old)] = hunk.new
        shift += len(hunk.new) - len(hunk.old)
    return "".join(lines)


def locate(lines: list[str], hunk: DiffHunk, shift: int = 0, number: int = 1) -> int:
    """Index of the line where ``hunk``'s old lines start in ``lines``; ValueError if not once."""
    name = f"hunk {number} ({hunk.header})"
    n = len(hunk.old)
    hinted = None
    if hunk.old_start is not None:
        # "@@ -5,0 ..." inserts after line 5; "@@ -5,2 ..." replaces from line 5.
        hinted = hunk.old_start + shift - (0 if n == 0 and hunk.old_count == 0 else 1)
    if n == 0:
        if not lines:
            return 0
        if hinted is not None and 0 <= hinted <= len(lines):
            return hinted
        raise ValueError(f"{name} has no context or removed lines to locate it in a non-empty file")
    found = [i for i in range(len(lines) - n + 1) if lines[i : i + n] == hunk.old]
    if len(found) == 1:
        return found[0]
    if not found:
        first = hunk.old[0].rstrip("\n")
        raise ValueError(f"{name}: its context and '-' lines (from {first!r}) are not in the file")
    if hinted in found:
        return hinted
    raise ValueError(
        f"{name}: its context and '-' lines occur {len(found)} times in the file; "
        "add context lines or line numbers"
    )
