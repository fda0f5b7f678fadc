"""Parse what models emit into ``FilePatch``es: unified diffs, V4A operations, patch envelopes.

- Unified diffs (Chat Completions backends) go through ``unidiff``. Models get hunk line
  counts wrong, and unidiff either refuses (count too large) or silently drops the lines
  past a count that is too small, so a lenient parser that ignores counts reads every diff
  too; when the two disagree the lenient reading wins.
- V4A diffs (the Responses ``apply_patch`` tool) have no line numbers: ``@@ <anchor>``
  lines (possibly several, narrowing the search), then `` ``/``-``/``+`` lines.
- The ``*** Begin Patch`` envelope carries V4A sections for several files; chat answers use it.

Nothing is located here: that is ``apply.py``'s job, against the file's current text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import unidiff
from unidiff.errors import UnidiffParseError

from sparkforge.models.events import PatchOperation

from .extract import find_diffs, is_envelope
from .model import FilePatch, Hunk, PatchError

_HUNK_HEADER_RE = re.compile(r"^@@+\s*-(\d+)(?:,(\d+))?(?:\s+\+(\d+)(?:,(\d+))?)?\s*@@+")
_SECTION_RE = re.compile(r"^\s*\*\*\* (Add File|Delete File|Update File): (.+?)\s*$")
_MOVE_RE = re.compile(r"^\s*\*\*\* Move to: (.+?)\s*$")
_EOF_MARKER = "*** End of File"


def parse_patches(text: str) -> list[FilePatch]:
    """Every file patch in a model's answer, whichever format it used, fenced or not."""
    pieces = find_diffs(text) or [text]
    patches: list[FilePatch] = []
    for piece in pieces:
        if is_envelope(piece):
            patches.extend(parse_patch_envelope(piece))
        else:
            patches.extend(_parse_unified(piece))
    if not patches:
        raise PatchError("the answer contains no diff or patch to apply")
    return patches


def parse_unified_diff(text: str, default_path: str | None = None) -> list[FilePatch]:
    """Unified diff(s), possibly inside a ```diff fence with prose around; [] if none.

    ``default_path`` names the file when the diff has hunks but no ``---``/``+++`` headers.
    """
    if "```" in text or "~~~" in text:
        text = "\n".join(d for d in find_diffs(text) if not is_envelope(d))
    return _parse_unified(text, default_path)


def parse_v4a(op: PatchOperation) -> FilePatch:
    """One ``apply_patch`` tool operation."""
    path = op.path.strip()
    if not path:
        raise PatchError("refused: an apply_patch operation has an empty path")
    if op.diff.lstrip().startswith("*** Begin Patch"):
        # Some models wrap a single operation's diff in the envelope anyway.
        for patch in parse_patch_envelope(op.diff):
            if patch.path == path:
                return patch
    lines = _split(op.diff)
    if op.type == "create_file":
        return FilePatch(path, "create", content=_added_content(lines), source="v4a")
    if op.type == "delete_file":
        return FilePatch(path, "delete", source="v4a")
    if op.type == "update_file":
        hunks = _parse_v4a_hunks(lines)
        if not hunks:
            raise PatchError(f"the patch for {path} contains no changes; nothing was applied", path=path)
        return FilePatch(path, "update", hunks, source="v4a")
    raise PatchError(f"unknown apply_patch operation {op.type!r} for {path}", path=path)


def parse_operations(ops: Iterable[PatchOperation]) -> list[FilePatch]:
    """All operations of one model turn, in order."""
    return [parse_v4a(op) for op in ops]


def parse_patch_envelope(text: str) -> list[FilePatch]:
    """``*** Begin Patch`` … ``*** End Patch`` with Add/Delete/Update File sections.

    Tolerates padding around markers, a missing ``*** End Patch`` (a cut-off answer still
    has whole sections before the cut) and prose before ``*** Begin Patch``.
    """
    lines = _split(text)
    start = next((i + 1 for i, l in enumerate(lines) if l.strip() == "*** Begin Patch"), 0)
    patches: list[FilePatch] = []
    i = start
    while i < len(lines):
        if lines[i].strip() == "*** End Patch":
            break
        m = _SECTION_RE.match(lines[i])
        if not m:
            i += 1
            continue
        kind, path = m[1], m[2]
        j = i + 1
        while j < len(lines) and not _SECTION_RE.match(lines[j]) and lines[j].strip() != "*** End Patch":
            j += 1
        body = lines[i + 1 : j]
        if kind == "Add File":
            patches.append(FilePatch(path, "create", content=_added_content(body), source="v4a"))
        elif kind == "Delete File":
            patches.append(FilePatch(path, "delete", source="v4a"))
        else:
            move_to = None
            if body and (mm := _MOVE_RE.match(body[0])):
                move_to, body = mm[1], body[1:]
            hunks = _parse_v4a_hunks(body)
            if not hunks and not move_to:
                raise PatchError(f"the patch for {path} contains no changes; nothing was applied", path=path)
            patches.append(FilePatch(path, "update", hunks, move_to=move_to, source="v4a"))
        i = j
    return patches


# --- V4A -------------------------------------------------------------------------------


def _added_content(lines: list[str]) -> str:
    # Lines of a new file all start with "+"; tolerate a model that forgot some, and one that
    # wrote unified-diff headers first ("--- /dev/null", "+++ b/x", "@@ -0,0 +1,3 @@").
    head = 0
    while head < len(lines) and re.match(r"(--- |\+\+\+ |@@ -0(,0)? \+1(,\d+)? @@)", lines[head]):
        head += 1
    if head and not re.match(r"@@ ", lines[head - 1]) and not (head >= 2 and lines[0].startswith("--- ")):
        head = 0  # a lone "+++" line is content ("++" written with its marker), not a header
    lines = lines[head:]
    body = [l[1:] if l.startswith("+") else l for l in lines if l.strip() != _EOF_MARKER]
    while body and body[-1] == "":
        body.pop()
    return "\n".join(body) + "\n" if body else ""


def _parse_v4a_hunks(lines: list[str]) -> tuple[Hunk, ...]:
    hunks: list[Hunk] = []
    anchors: list[str] = []
    ops: list[tuple[str, str]] = []
    old_start: int | None = None

    def flush(at_eof: bool = False) -> None:
        nonlocal anchors, ops, old_start
        if any(op != " " or text.strip() for op, text in ops):
            hunks.append(Hunk(tuple(ops), old_start=old_start, anchors=tuple(anchors), at_eof=at_eof))
        anchors, ops, old_start = [], [], None

    for line in lines:
        if line.strip() == _EOF_MARKER:
            flush(at_eof=True)
            continue
        if line.startswith("@@"):
            if ops:
                flush()
            if m := _HUNK_HEADER_RE.match(line):
                # A unified-style header inside a V4A diff: keep its line as a hint.
                old_start = int(m[1])
            elif anchor := line[2:].strip():
                # Successive anchors narrow the search: class, then method.
                anchors.append(anchor)
            continue
        if not ops and not line.strip():
            continue  # blank lines between hunks
        if line.startswith("*** ") or (not hunks and not ops and line.startswith(("--- ", "+++ "))):
            continue  # envelope or unified file headers a model put inside an operation's diff
        if line and line[0] in " +-":
            ops.append((line[0], line[1:]))
        else:
            # An empty context line, or a context line whose leading space the model dropped.
            ops.append((" ", line))
    flush()
    return tuple(h for h in hunks if h.ops)


# --- unified ---------------------------------------------------------------------------


def _parse_unified(text: str, default_path: str | None = None) -> list[FilePatch]:
    lenient = _parse_lenient(_split(text), default_path)
    try:
        strict = _from_unidiff(unidiff.PatchSet(text))
    except (UnidiffParseError, ValueError, IndexError, KeyError):
        # Whatever unidiff cannot read, the lenient reading stands on its own.
        return lenient
    # unidiff trusts the header counts; if its hunks differ from what is on the page, the
    # counts were wrong and the lenient reading is the one the model meant.
    return strict if strict and _same(strict, lenient) else lenient


def _same(a: list[FilePatch], b: list[FilePatch]) -> bool:
    return [(p.path, p.kind, p.content, [h.ops for h in p.hunks]) for p in a] == [
        (p.path, p.kind, p.content, [h.ops for h in p.hunks]) for p in b
    ]


def _from_unidiff(patch_set: unidiff.PatchSet) -> list[FilePatch]:
    files = []
    for pf in patch_set:
        hunks = []
        for h in pf:
            ops: list[tuple[str, str]] = []
            old_no_eol = new_no_eol = False
            for line in h:
                if line.line_type in (" ", "-", "+"):
                    ops.append((line.line_type, _chomp(line.value)))
                elif line.line_type == "\\" and ops:
                    old_no_eol |= ops[-1][0] in " -"
                    new_no_eol |= ops[-1][0] in " +"
            hunks.append(Hunk(tuple(ops), h.source_start, h.source_length,
                              old_no_eol=old_no_eol, new_no_eol=new_no_eol))
        files.append(_file_patch(pf.source_file, pf.target_file, hunks, pf.is_rename))
    return files


def _parse_lenient(lines: list[str], default_path: str | None) -> list[FilePatch]:
    """Hunks as they are on the page: counts are only used to decide about blank lines."""
    files: list[FilePatch] = []
    old_path = new_path = default_path
    rename = False
    hunks: list[Hunk] = []
    seen_header = default_path is not None

    def flush_file() -> None:
        # A deletion ("+++ /dev/null") needs no hunk: models often write only its headers.
        deleted = new_path is not None and old_path is not None and _clean_path(new_path) is None
        if seen_header and (hunks or rename or deleted):
            files.append(_file_patch(old_path, new_path, hunks, rename))

    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        if line.startswith("diff --git "):
            flush_file()
            hunks, rename, seen_header = [], False, True
            old_path, _, rest = line[len("diff --git "):].partition(" b/")
            new_path = "b/" + rest if rest else old_path
            i += 1
            continue
        if line.startswith("--- ") and i + 1 < n and lines[i + 1].startswith("+++ "):
            # After a "diff --git" line these only restate the paths; otherwise a new file.
            if hunks:
                flush_file()
                hunks, rename = [], False
            seen_header = True
            old_path, new_path = line[4:], lines[i + 1][4:]
            i += 2
            if _clean_path(old_path) is None and i < n and lines[i].startswith("+"):
                # A new file written without a hunk header, as models do: its lines are the file.
                name = _clean_path(new_path) or "the new file"
                hunk, i = _read_new_file(lines, i, name[2:] if name.startswith(("a/", "b/")) else name)
                hunks.append(hunk)
            continue
        if line.startswith("rename from "):
            old_path, rename = "a/" + line[len("rename from "):], True
        elif line.startswith("rename to "):
            new_path, rename = "b/" + line[len("rename to "):], True
        elif line.startswith("@@"):
            if not seen_header:
                raise PatchError("the diff has hunks but no file name (--- / +++ lines)")
            hunk, i = _read_hunk(lines, i)
            hunks.append(hunk)
            continue
        i += 1
    flush_file()
    return files


def _read_hunk(lines: list[str], i: int) -> tuple[Hunk, int]:
    m = _HUNK_HEADER_RE.match(lines[i])
    old_start = int(m[1]) if m else None
    old_count = int(m[2]) if m and m[2] is not None else (1 if m else None)
    new_count = int(m[4]) if m and m[4] is not None else (1 if m and m[3] else None)
    ops: list[tuple[str, str]] = []
    old_no_eol = new_no_eol = False
    j, n = i + 1, len(lines)
    while j < n:
        line = lines[j]
        if line.startswith("@@") or line.startswith("diff --git ") or _is_file_header(lines, j):
            break
        if line.startswith("\\"):
            if ops:
                old_no_eol |= ops[-1][0] in " -"
                new_no_eol |= ops[-1][0] in " +"
            j += 1
            continue
        if line == "":
            old_seen = sum(op != "+" for op, _ in ops)
            new_seen = sum(op != "-" for op, _ in ops)
            counts_open = old_count is not None and (
                old_seen < old_count or (new_count is not None and new_seen < new_count)
            )
            k = j
            while k < n and lines[k] == "":
                k += 1
            if k < n and lines[k][:1] in (" ", "-", "+") and not _is_file_header(lines, k):
                take = k - j  # blank context between body lines (trailing spaces stripped)
            elif counts_open:
                # Trailing blanks: as many as the header still expects, not the prose gap.
                missing = max(old_count - old_seen, (new_count or 0) - new_seen)  # type: ignore[operator]
                take = min(k - j, missing)
            else:
                take = 0
            if take == 0:
                break
            ops.extend((" ", "") for _ in range(take))
            j += take
            continue
        if line[0] not in " -+":
            break  # prose after the diff
        ops.append((line[0], line[1:]))
        j += 1
    hunk = Hunk(tuple(ops), old_start, old_count,
                old_no_eol=old_no_eol, new_no_eol=new_no_eol)
    return hunk, j


def _read_new_file(lines: list[str], i: int, path: str) -> tuple[Hunk, int]:
    """The body of a created file whose diff has no ``@@`` line: ``+`` lines, with blank
    lines between them read as blank lines of the file. Anything else inside it (a context or
    removed line) means the diff is not what it seems: refused rather than half-read."""
    ops: list[tuple[str, str]] = []
    j, n = i, len(lines)
    while j < n:
        line = lines[j]
        if line.startswith("+"):
            ops.append(("+", line[1:]))
            j += 1
            continue
        k = j
        while k < n and not lines[k].strip():
            k += 1
        if k > j and k < n and lines[k].startswith("+"):
            ops.extend(("+", "") for _ in range(k - j))  # blank lines whose "+" was dropped
            j = k
            continue
        next_file = line.startswith("--- ") and j + 1 < n and lines[j + 1].startswith("+++ ")
        if line[:1] in (" ", "-") and line.strip() and not next_file:
            raise PatchError(
                f"the diff creating {path} has no @@ hunk header and a line that is not an "
                f"addition ({line[:40]!r}); nothing was applied",
                path=path,
            )
        break
    return Hunk(tuple(ops), 0, 0), j


def _is_file_header(lines: list[str], i: int) -> bool:
    # "--- x" then "+++ y" then a hunk: inside a hunk that would be a removed "-- x" line
    # followed by an added "++ y" line, which no real diff pairs with a hunk header.
    return (
        lines[i].startswith("--- ")
        and i + 1 < len(lines)
        and lines[i + 1].startswith("+++ ")
        and (i + 2 >= len(lines) or lines[i + 2].startswith(("@@", "---", "diff ")) or lines[i + 2] == "")
    )


def _file_patch(old: str | None, new: str | None, hunks: list[Hunk], rename: bool) -> FilePatch:
    old_p, new_p = _clean_path(old), _clean_path(new)
    if old_p is not None and new_p is not None and old and new:
        # Strip git's a/ b/ prefixes only when both sides use them.
        if old.strip().startswith("a/") and new.strip().startswith("b/"):
            old_p, new_p = old_p[2:], new_p[2:]
    else:
        old_p = old_p[2:] if old_p and old_p.startswith(("a/", "b/")) else old_p
        new_p = new_p[2:] if new_p and new_p.startswith(("a/", "b/")) else new_p
    if old_p is None and new_p is None:
        raise PatchError("the diff names /dev/null on both sides")
    if old_p is None:
        content_lines = [t for h in hunks for op, t in h.ops if op != "-"]
        no_eol = bool(hunks) and hunks[-1].new_no_eol
        content = "\n".join(content_lines) + ("" if no_eol or not content_lines else "\n")
        return FilePatch(new_p, "create", content=content)
    if new_p is None:
        return FilePatch(old_p, "delete")
    if rename and old_p != new_p:
        return FilePatch(old_p, "update", tuple(hunks), move_to=new_p)
    return FilePatch(new_p, "update", tuple(hunks))


def _clean_path(raw: str | None) -> str | None:
    if raw is None:
        return None
    path = raw.split("\t", 1)[0].strip()
    if len(path) >= 2 and path[0] == path[-1] == '"':
        path = path[1:-1]
    # "--- a/x.py 2024-01-01 10:00:00" without a tab: drop a trailing timestamp.
    path = re.sub(r"\s+\d{4}-\d\d-\d\d[ T][\d:.]+(?:\s*[+-]\d{4})?$", "", path)
    if path in ("/dev/null", "dev/null", "a/dev/null", "b/dev/null", ""):
        return None
    return path


def _chomp(value: str) -> str:
    if value.endswith("\n"):
        value = value[:-1]
    return value[:-1] if value.endswith("\r") else value


def _split(text: str) -> list[str]:
    """Lines of a patch, without their endings (a CRLF patch reads like an LF one)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [l[:-1] if l.endswith("\r") else l for l in lines]
