"""Eval cases: the model, and ``load_cases`` for our Markdown format, Zed's and Copilot's.

Our format (docs/eval.md, "Case format") is one Markdown file per case::

    # Title
    tags: python, rename-propagation        (optional: kind:, language:, crlf: true)
    ## File: PATH          one fence: the file before the history
    ## Edit history        one ```diff fence per edit ("diff 400ms": the pause before it)
    ## Cursor: PATH        one fence: lines of the current file, <|user_cursor|> once
    ## Expected            one ```diff fence against the current text (repeatable: alternatives)
    ## Expected: no edit   instead, when no edit is wanted

Unknown headings, stray text and unknown ``key:`` lines are errors: a typo must not drop data.
Every problem is a ``CaseError`` reading ``"<file>: <what is wrong>"``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from .hunks import FileDiff, apply_file_diff, parse_diff, split_lines, strip_git_prefix
from .mdsections import Fence, Section, split_sections
from .model import Case, CaseError, Expected, HistoryEdit, language_of

__all__ = ["Case", "CaseError", "Expected", "HistoryEdit", "load_cases", "parse_case", "CURSOR_MARKER"]

CURSOR_MARKER = "<|user_cursor|>"
DEFAULT_DELAY_MS = 300.0

LANGUAGES = ("python", "typescript", "javascript", "go", "rust", "java", "markdown")
KINDS = (
    "completion",
    "rename-propagation",
    "signature-change",
    "import",
    "delete",
    "mirror",
    "no-edit",
)
_META_KEYS = ("tags", "kind", "language", "crlf")
_META_RE = re.compile(r"^([A-Za-z][A-Za-z_-]*):\s*(.*)$")
_DELAY_RE = re.compile(r"^(\d+(?:\.\d+)?)(ms|s)$")


def load_cases(paths: Sequence[str | Path], *, repo_root: Path | None = None) -> list[Case]:
    """Every case under ``paths``: our ``.md`` cases, Zed ``.md`` cases, Copilot recordings.

    A directory is walked (sorted; ``README.md`` files, hidden entries and other files
    skipped); a folder holding ``recording.w.json`` is one Copilot case, and so is a file
    ``<name>.recording.w.json`` (with ``<name>.scoredEdits.w.json`` beside it). ``repo_root`` is the checkout Zed cases
    name (see ``zed.py``).
    """
    from . import copilot, zed

    cases: list[Case] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise CaseError(f"{path}: no such file or directory")
        for item in _walk(path):
            if item.is_dir() or copilot.is_recording(item):
                cases.append(copilot.read_recording(item))
            elif item.suffix.lower() == ".md":
                text = _read(item)
                if zed.is_zed_case(text):
                    cases.append(zed.parse_zed_case(text, str(item), repo_root=repo_root))
                else:
                    cases.append(parse_case(text, str(item)))
            else:
                raise CaseError(f"{item}: not a case (expected a .md case or a Copilot recording.w.json)")
    return cases


def _walk(path: Path) -> Iterable[Path]:
    from .copilot import RECORDING, is_recording

    if path.is_file():
        yield path
        return
    if (path / RECORDING).is_file():
        yield path
        return
    for child in sorted(path.iterdir()):
        if child.name.startswith("."):
            continue
        if child.is_dir():
            yield from _walk(child)
        elif is_recording(child) or child.suffix.lower() == ".md" and child.name.lower() != "readme.md":
            yield child


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise CaseError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise CaseError(f"{path}: cannot be read ({exc.strerror})") from None


def parse_case(text: str, source: str) -> Case:
    """One case in our Markdown format; ``source`` names it in errors."""
    try:
        return _CaseParser(source).parse(text)
    except CaseError:
        raise
    except ValueError as exc:
        raise CaseError(f"{source}: {exc}") from None


class _CaseParser:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, what: str) -> CaseError:
        return CaseError(f"{self.source}: {what}")

    def parse(self, text: str) -> Case:
        sections = split_sections(text)
        preamble, body = sections[0], sections[1:]
        if preamble.prose or preamble.fences or not body or body[0].level != 1:
            raise self.fail("the first line must be the case's title, '# <title>'")
        head = body[0]
        meta = self._metadata(head)
        files: dict[str, str] = {}
        history_fences: list[Fence] = []
        seen_history = False
        cursor: tuple[str, Fence] | None = None
        expected_fences: list[Fence] = []
        no_edit = False
        for section in body[1:]:
            name = self._section_kind(section)
            where = f"'{'#' * section.level} {section.title}' (line {section.line})"
            if section.prose:
                number, line = section.prose[0]
                raise self.fail(f"line {number}: text outside a fence under {where}: {line.strip()[:60]!r}")
            if name == "file":
                path = self._path(section, "File")
                if path in files:
                    raise self.fail(f"{where}: a second '## File: {path}'")
                files[path] = self._one_fence(section, where).text_with_newline
            elif name == "history":
                if seen_history:
                    raise self.fail(f"{where}: a second '## Edit history' section")
                seen_history = True
                for fence in section.fences:
                    self._require_diff(fence, where)
                history_fences.extend(section.fences)
            elif name == "cursor":
                if cursor is not None:
                    raise self.fail(f"{where}: a second '## Cursor' section")
                cursor = (self._path(section, "Cursor"), self._one_fence(section, where).fence)
            elif name == "expected":
                fence = self._one_fence(section, where).fence
                self._require_diff(fence, where)
                expected_fences.append(fence)
            else:  # no edit
                if section.fences:
                    raise self.fail(f"{where}: '## Expected: no edit' takes no fence")
                no_edit = True
        if not files:
            raise self.fail("no '## File: PATH' section")
        if cursor is None:
            raise self.fail("no '## Cursor: PATH' section")
        if no_edit and expected_fences:
            raise self.fail("both '## Expected: no edit' and '## Expected' sections")
        if not no_edit and not expected_fences:
            raise self.fail("no '## Expected' section (write '## Expected: no edit' when no edit is wanted)")

        history = self._history(files, history_fences)
        current = dict(files)
        for edit in history:
            current[edit.path] = edit.after
        cursor_path, cursor_fence = cursor
        if cursor_path not in current:
            raise self.fail(f"'## Cursor: {cursor_path}' names a file the case does not have")
        cursor_offset = find_cursor(current[cursor_path], cursor_fence.text, CURSOR_MARKER)
        expected = tuple(self._expected(current, cursor_path, fence) for fence in expected_fences)

        tags = meta["tags"]
        language = meta["language"] or next((t for t in tags if t in LANGUAGES), "") or language_of(cursor_path)
        kind = meta["kind"] or next((t for t in tags if t in KINDS), "")
        if no_edit:
            if kind and kind != "no-edit":
                raise self.fail(f"'## Expected: no edit' but kind is {kind!r}")
            kind = "no-edit"
        elif kind == "no-edit":
            raise self.fail("kind is 'no-edit' but the case has '## Expected' edits")
        return Case(
            name=Path(self.source).stem,
            source=self.source,
            format="sparkforge",
            files=files,
            history=history,
            cursor_path=cursor_path,
            cursor_offset=cursor_offset,
            expected=expected,
            tags=tuple(tags),
            language=language,
            kind=kind,
            crlf=meta["crlf"],
            title=head.title,
        )

    # -- sections -------------------------------------------------------------------------

    def _metadata(self, head: Section) -> dict:
        if head.fences:
            raise self.fail(f"line {head.fences[0].line}: a fence under the title, before any '##' section")
        meta: dict = {"tags": [], "kind": "", "language": "", "crlf": False}
        for number, line in head.prose:
            match = _META_RE.match(line.strip())
            if not match:
                continue  # prose describing the case
            key, value = match.group(1).lower(), match.group(2).strip()
            if key not in _META_KEYS:
                raise self.fail(f"line {number}: unknown setting {key!r} (known: {', '.join(_META_KEYS)})")
            if key == "tags":
                meta["tags"] = [t.strip() for t in value.split(",") if t.strip()]
            elif key == "crlf":
                if value.lower() not in ("true", "false"):
                    raise self.fail(f"line {number}: crlf must be true or false, not {value!r}")
                meta["crlf"] = value.lower() == "true"
            else:
                meta[key] = value
        return meta

    def _section_kind(self, section: Section) -> str:
        title = section.title
        lower = title.lower()
        if section.level == 2:
            if lower.startswith("file:"):
                return "file"
            if lower == "edit history":
                return "history"
            if lower.startswith("cursor:"):
                return "cursor"
            if lower == "expected":
                return "expected"
            if re.fullmatch(r"expected:\s*no edit", lower):
                return "no-edit"
        raise self.fail(
            f"line {section.line}: unknown heading {'#' * section.level + ' ' + title!r} "
            "(known: '## File: PATH', '## Edit history', '## Cursor: PATH', '## Expected', "
            "'## Expected: no edit')"
        )

    def _path(self, section: Section, word: str) -> str:
        path = section.title.split(":", 1)[1].strip().strip("`")
        if not path:
            raise self.fail(f"line {section.line}: '## {word}:' without a path")
        if path.startswith("/") or "\\" in path or ".." in path.split("/"):
            raise self.fail(f"line {section.line}: {path!r} must be relative with '/' separators")
        return path

    def _one_fence(self, section: Section, where: str) -> _FenceText:
        if len(section.fences) != 1:
            raise self.fail(f"{where}: expected one fenced block, found {len(section.fences)}")
        return _FenceText(section.fences[0])

    def _require_diff(self, fence: Fence, where: str) -> None:
        if fence.info.split()[:1] != ["diff"]:
            raise self.fail(f"line {fence.line}: the fence under {where} must be a ```diff fence")

    # -- history and expected -------------------------------------------------------------

    def _history(self, files: dict[str, str], fences: list[Fence]) -> tuple[HistoryEdit, ...]:
        current = dict(files)
        edits: list[HistoryEdit] = []
        for number, fence in enumerate(fences, 1):
            delay = self._delay(fence)
            for diff in self._diffs(fence, current, f"edit {number} (line {fence.line})"):
                path = diff.path
                before = "" if diff.creates else current[path]
                after = self._apply(before, diff, f"edit {number} (line {fence.line})")
                edits.append(HistoryEdit(path, before, after, delay, created=diff.creates))
                current[path] = after
                delay = 0.0  # the other files of one edit change at the same moment
        return tuple(edits)

    def _delay(self, fence: Fence) -> float:
        words = fence.info.split()[1:]
        if not words:
            return DEFAULT_DELAY_MS
        match = _DELAY_RE.match(words[0]) if len(words) == 1 else None
        if not match:
            raise self.fail(f"line {fence.line}: cannot read the pause {' '.join(words)!r} (write e.g. 'diff 400ms')")
        value = float(match.group(1))
        return value * 1000 if match.group(2) == "s" else value

    def _diffs(self, fence: Fence, current: dict[str, str], what: str) -> list[FileDiff]:
        try:
            diffs = parse_diff(fence.text)
        except ValueError as exc:
            raise self.fail(f"{what}: {exc}") from None
        if not diffs:
            raise self.fail(f"{what}: the fence holds no diff ('--- PATH', '+++ PATH', '@@', lines)")
        known = set(current)
        for diff in diffs:
            diff.old_path = strip_git_prefix(diff.old_path, "a", known)
            diff.new_path = strip_git_prefix(diff.new_path, "b", known)
            if diff.new_path == "/dev/null":
                raise self.fail(f"{what}: deleting {diff.old_path} is not supported")
            if not diff.creates and diff.old_path != diff.new_path:
                raise self.fail(f"{what}: renaming {diff.old_path} to {diff.new_path} is not supported")
            if diff.creates and diff.path in current:
                raise self.fail(f"{what}: creates {diff.path}, which already exists")
            if not diff.creates and diff.path not in current:
                raise self.fail(f"{what}: changes {diff.path}, which has no '## File: {diff.path}' section")
        return diffs

    def _apply(self, text: str, diff: FileDiff, what: str) -> str:
        try:
            after = apply_file_diff(text, diff)
        except ValueError as exc:
            raise self.fail(f"{what}, {diff.path}: {exc}") from None
        if after == text:
            raise self.fail(f"{what}, {diff.path}: the diff changes nothing")
        return after

    def _expected(self, current: dict[str, str], cursor_path: str, fence: Fence) -> Expected:
        what = f"expected edit (line {fence.line})"
        texts = dict(current)
        changed: list[str] = []
        for diff in self._diffs(fence, texts, what):
            before = "" if diff.creates else texts[diff.path]
            texts[diff.path] = self._apply(before, diff, what)
            if diff.path not in changed:
                changed.append(diff.path)
        primary = cursor_path if cursor_path in changed else changed[0]
        others = tuple((p, texts[p]) for p in changed if p != primary)
        return Expected(primary, texts[primary], 1.0, others)


class _FenceText:
    """A fence read as a file: its content plus the final newline (empty fence: empty file)."""

    def __init__(self, fence: Fence) -> None:
        self.fence = fence
        self.text_with_newline = fence.text + "\n" if fence.text else ""


def find_cursor(text: str, excerpt: str, marker: str) -> int:
    """Offset in ``text`` of ``marker`` in ``excerpt``: consecutive whole lines of ``text``.

    ValueError unless the marker occurs once and the excerpt, without it, occurs exactly once.
    """
    count = excerpt.count(marker)
    if count != 1:
        raise ValueError(f"the cursor excerpt must hold {marker} once, not {count} times")
    at = excerpt.index(marker)
    plain = excerpt.replace(marker, "")
    wanted = plain.split("\n")
    lines = [line.removesuffix("\n") for line in split_lines(text)]
    found = [i for i in range(len(lines) - len(wanted) + 1) if lines[i : i + len(wanted)] == wanted]
    if not found:
        raise ValueError(f"the cursor excerpt (from {wanted[0]!r}) is not in the file as it is after the history")
    if len(found) > 1:
        raise ValueError(f"the cursor excerpt occurs {len(found)} times in the file; give more lines")
    start = sum(len(line) + 1 for line in lines[: found[0]])
    return start + at
