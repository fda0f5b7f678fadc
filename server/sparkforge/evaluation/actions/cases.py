"""Code-action cases: one Markdown file each (docs/eval.md, "Actions").

````markdown
# Fix: the last, shorter chunk is dropped
kind: fix
at: chunks.py:3
diagnostic: test_keeps_the_short_last_chunk failed: assert [[1, 2]] == [[1, 2], [3]]
failing: test_keeps_the_short_last_chunk

## File: chunks.py
```python
...the module the action works on (the workspace: one or more files)...
```

## Tests: tests/test_chunks.py
```python
...the hidden test suite (never in the workspace while the action runs)...
```

## Answer
The oracle's reply (optional prose), then its edits as an apply_patch envelope:
```patch
*** Begin Patch
*** Update File: chunks.py
@@ def chunks(items, size):
-    for i in range(0, len(items) - size + 1, size):
+    for i in range(0, len(items), size):
*** End Patch
```
````

Header lines: ``kind`` (generate-tests | document | fix | refactor), ``at`` (``PATH:LINE``,
``PATH:LINE:COLUMN`` or ``PATH:FIRST-LAST``, 1-based), ``open`` (other files open in the
editor, e.g. callers a refactor must update), for fix ``diagnostic`` and ``failing``
(the hidden tests that fail now), for refactor an optional ``instruction``, for document an
optional ``function`` (else the innermost definition around ``at``), ``tags``, ``notes``.
Generate tests needs a ``## Mutant`` section: a ```diff against the workspace (bare ``@@``
hunks allowed) that seeds a bug the generated tests must catch.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sparkforge.evaluation.hunks import apply_file_diff, parse_diff, strip_git_prefix
from sparkforge.evaluation.mdsections import Fence, Section, split_sections

KINDS = ("generate-tests", "document", "fix", "refactor")
# our case kind -> the action's data.kind (docs/actions.md)
ACTION_KINDS = {"generate-tests": "tests", "document": "document", "fix": "fix", "refactor": "refactor"}
HEADER_KEYS = ("kind", "at", "open", "diagnostic", "failing", "instruction", "function", "tags", "notes")

_AT_RE = re.compile(r"^(?P<path>[^:\s]+):(?P<first>\d+)(?:(?::(?P<col>\d+))|(?:-(?P<last>\d+)))?$")
_HEADER_RE = re.compile(r"^(?P<key>[a-z-]+):\s*(?P<value>.*)$")
_ENVELOPE_OP_RE = re.compile(r"^\*\*\* (Add|Update|Delete) File: (.+)$")


class ActionCaseError(ValueError):
    """A malformed case: "<file>: <what is wrong>"."""


@dataclass(frozen=True, slots=True)
class Answer:
    """What the oracle model answers: a short reply and apply_patch operations
    (``{"type": "create_file" | "update_file" | "delete_file", "path", "diff"}``)."""

    text: str
    operations: tuple[dict[str, str], ...]


@dataclass(frozen=True, slots=True)
class ActionCase:
    name: str  # the file's stem
    title: str
    source: str  # the case file
    kind: str  # one of KINDS
    path: str  # the file the action is asked on
    start: tuple[int, int]  # 0-based (line, column in code points)
    end: tuple[int, int]
    files: dict[str, str]  # the workspace
    tests: dict[str, str]  # the hidden test suite
    mutant: dict[str, str] = field(default_factory=dict)  # the workspace with a seeded bug (generate-tests)
    open: tuple[str, ...] = ()  # other files open in the editor (before the ``at`` file)
    failing: tuple[str, ...] = ()  # fix: hidden tests that fail before the fix
    diagnostic: str = ""  # fix: the message the editor shows on the ``at`` line
    instruction: str = ""  # refactor: what the user asks for
    function: str = ""  # document: the definition that must get a docstring
    answer: Answer | None = None
    tags: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def action_kind(self) -> str:
        return ACTION_KINDS[self.kind]


def load_action_cases(paths: Sequence[str | Path]) -> list[ActionCase]:
    """The cases in ``paths`` (files, or directories walked for ``*.md``), sorted by path
    within each directory; ActionCaseError for a missing path or a malformed case."""
    cases: list[ActionCase] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*.md") if p.name.lower() != "readme.md")
            if not files:
                raise ActionCaseError(f"{path}: no case files (*.md) in this directory")
        elif path.is_file():
            files = [path]
        else:
            raise ActionCaseError(f"{path}: no such file or directory")
        cases.extend(read_case(f) for f in files)
    seen: dict[str, str] = {}
    for case in cases:
        if case.name in seen and seen[case.name] != case.source:
            raise ActionCaseError(f"{case.source}: the case name {case.name!r} is also {seen[case.name]}'s")
        seen[case.name] = case.source
    return cases


def read_case(path: Path) -> ActionCase:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ActionCaseError(f"{path}: cannot read it ({exc})") from None
    try:
        return parse_case(text, name=path.stem, source=str(path))
    except ValueError as exc:
        raise ActionCaseError(f"{path}: {exc}") from None


def parse_case(text: str, *, name: str, source: str) -> ActionCase:
    """One case from its Markdown; ValueError saying what is wrong (without the file name)."""
    sections = split_sections(text)
    preamble, rest = sections[0], sections[1:]
    if preamble.prose or preamble.fences:
        raise ValueError(f"line {(preamble.prose or [(0, '')])[0][0] or 1}: text before the '# title' heading")
    if not rest or rest[0].level != 1 or not rest[0].title:
        raise ValueError("the case must start with a '# title' heading")
    title_section, body = rest[0], rest[1:]
    header = _header(title_section)
    files: dict[str, str] = {}
    tests: dict[str, str] = {}
    mutant_diff: Fence | None = None
    answer: Answer | None = None
    for section in body:
        heading, _, arg = section.title.partition(":")
        heading, arg = heading.strip().lower(), arg.strip()
        where = f"line {section.line} ({'#' * section.level} {section.title})"
        if section.level != 2:
            raise ValueError(f"{where}: only '## ' sections go under the title")
        if heading in ("file", "tests"):
            if not arg:
                raise ValueError(f"{where}: name the file ('## {heading.title()}: PATH')")
            target = files if heading == "file" else tests
            if arg in files or arg in tests:
                raise ValueError(f"{where}: {arg} is given twice")
            body = _one_fence(section, where)
            target[_clean_path(arg, where)] = body + "\n" if body else ""  # an empty fence: an empty file
        elif heading == "mutant" and not arg:
            if mutant_diff is not None:
                raise ValueError(f"{where}: a second '## Mutant' section")
            mutant_diff = _fence_of(section, where)
        elif heading == "answer" and not arg:
            if answer is not None:
                raise ValueError(f"{where}: a second '## Answer' section")
            answer = _answer(section, where)
        else:
            raise ValueError(f"{where}: unknown section (expected File, Tests, Mutant or Answer)")
    kind = header.get("kind", "")
    if kind not in KINDS:
        raise ValueError(f"kind: {kind!r} is not one of {', '.join(KINDS)}" if kind else "no 'kind:' line")
    if not files:
        raise ValueError("no '## File: PATH' section: the action needs a file to work on")
    if not tests:
        raise ValueError("no '## Tests: PATH' section: every case has a hidden test suite")
    at = header.get("at", "")
    match = _AT_RE.match(at)
    if not match:
        raise ValueError(f"at: {at!r} is not PATH:LINE, PATH:LINE:COLUMN or PATH:FIRST-LAST" if at else "no 'at:' line")
    path = match["path"]
    if path not in files:
        raise ValueError(f"at: {path} is none of the '## File' sections ({', '.join(files)})")
    start, end = _range(files[path], int(match["first"]), match["col"], match["last"])
    opened = tuple(p for p in re.split(r"[\s,]+", header.get("open", "")) if p)
    for other in opened:
        if other not in files or other == path:
            raise ValueError(f"open: {other} is {'the at file' if other == path else 'none of the File sections'}")
    failing = tuple(t for t in re.split(r"[\s,]+", header.get("failing", "")) if t)
    diagnostic = header.get("diagnostic", "")
    if kind == "fix" and not (failing and diagnostic):
        raise ValueError("a fix case needs 'diagnostic:' (what the editor shows) and 'failing:' (the hidden tests that fail)")
    if kind != "fix" and (failing or diagnostic):
        raise ValueError("'diagnostic:' and 'failing:' are for fix cases only")
    if header.get("instruction") and kind != "refactor":
        raise ValueError("'instruction:' is for refactor cases only")
    mutant: dict[str, str] = {}
    if kind == "generate-tests":
        if mutant_diff is None:
            raise ValueError("a generate-tests case needs a '## Mutant' section (a diff that seeds a bug)")
        mutant = _apply_mutant(files, mutant_diff)
    elif mutant_diff is not None:
        raise ValueError("'## Mutant' is for generate-tests cases only")
    function = header.get("function", "")
    if kind == "document":
        function = function or enclosing_definition(files[path], start[0])
        if not function:
            raise ValueError(f"at: no def or class around line {start[0] + 1} of {path}; add 'function: NAME'")
    elif function:
        raise ValueError("'function:' is for document cases only")
    return ActionCase(
        name=name, title=title_section.title, source=source, kind=kind, path=path, start=start, end=end,
        files=files, tests=tests, mutant=mutant, open=opened, failing=failing, diagnostic=diagnostic,
        instruction=header.get("instruction", ""), function=function, answer=answer,
        tags=tuple(t for t in re.split(r"[\s,]+", header.get("tags", "")) if t),
        notes=(header["notes"],) if header.get("notes") else (),
    )


def _header(section: Section) -> dict[str, str]:
    if section.fences:
        raise ValueError(f"line {section.fences[0].line}: a code block before the first '## ' section")
    header: dict[str, str] = {}
    for line_no, line in section.prose:
        match = _HEADER_RE.match(line.strip())
        if not match or match["key"] not in HEADER_KEYS:
            raise ValueError(f"line {line_no}: {line.strip()!r} is not a 'key: value' line "
                             f"({', '.join(HEADER_KEYS)})")
        if match["key"] in header:
            raise ValueError(f"line {line_no}: a second '{match['key']}:' line")
        header[match["key"]] = match["value"].strip()
    return header


def _clean_path(path: str, where: str) -> str:
    p = path.strip().strip("`")
    if p.startswith("/") or "\\" in p or ".." in p.split("/"):
        raise ValueError(f"{where}: {path!r} must be a relative path inside the workspace")
    return p


def _fence_of(section: Section, where: str) -> Fence:
    if len(section.fences) != 1:
        raise ValueError(f"{where}: expected one fenced block, found {len(section.fences)}")
    if section.prose:
        raise ValueError(f"line {section.prose[0][0]}: text outside the fenced block")
    return section.fences[0]


def _one_fence(section: Section, where: str) -> str:
    return _fence_of(section, where).text


def _answer(section: Section, where: str) -> Answer:
    if len(section.fences) > 1:
        raise ValueError(f"{where}: expected at most one fenced block (the apply_patch envelope)")
    text = "\n".join(line.strip() for _, line in section.prose)
    if not section.fences:
        return Answer(text, ())
    fence = section.fences[0]
    try:
        operations = parse_envelope(fence.text)
    except ValueError as exc:
        raise ValueError(f"line {fence.line}: {exc}") from None
    return Answer(text, tuple(operations))


def parse_envelope(text: str) -> list[dict[str, str]]:
    """apply_patch operations from a ``*** Begin Patch`` … ``*** End Patch`` envelope."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "*** Begin Patch":
        raise ValueError("the answer's block must start with '*** Begin Patch'")
    if lines[-1].strip() != "*** End Patch":
        raise ValueError("the answer's block must end with '*** End Patch'")
    operations: list[dict[str, str]] = []
    body: list[str] = []
    for line in lines[1:-1]:
        match = _ENVELOPE_OP_RE.match(line)
        if match:
            _close(operations, body)
            verb, path = match.groups()
            kind = {"Add": "create_file", "Update": "update_file", "Delete": "delete_file"}[verb]
            operations.append({"type": kind, "path": path.strip()})
            body = []
        elif line.startswith("*** "):
            raise ValueError(f"unsupported envelope line {line!r}")
        elif not operations:
            raise ValueError(f"line {line!r} comes before any '*** Add/Update/Delete File: PATH'")
        else:
            body.append(line)
    _close(operations, body)
    if not operations:
        raise ValueError("the envelope holds no operation")
    return operations


def _close(operations: list[dict[str, str]], body: list[str]) -> None:
    if not operations:
        return
    op = operations[-1]
    if op["type"] == "delete_file":
        if any(line.strip() for line in body):
            raise ValueError(f"'*** Delete File: {op['path']}' has lines under it")
        return
    if op["type"] == "create_file" and any(line and not line.startswith("+") for line in body):
        raise ValueError(f"every line of '*** Add File: {op['path']}' must start with '+'")
    if not body:
        raise ValueError(f"'{op['path']}' has no lines under it")
    op["diff"] = "\n".join(body) + "\n"


def _range(text: str, first: int, col: str | None, last: str | None) -> tuple[tuple[int, int], tuple[int, int]]:
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    line_count = len(lines)

    def check(n: int) -> int:
        if not 1 <= n <= line_count:
            raise ValueError(f"at: line {n} is outside the file (1-{line_count})")
        return n - 1

    a = check(first)
    if last is not None:
        b = check(int(last))
        if b < a:
            raise ValueError(f"at: the range {first}-{last} runs backwards")
        return (a, 0), (b, len(lines[b]))
    if col is not None:
        c = int(col) - 1
        if not 0 <= c <= len(lines[a]):
            raise ValueError(f"at: column {col} is outside line {first}")
    else:
        c = len(lines[a]) - len(lines[a].lstrip())
    return (a, c), (a, c)


def _apply_mutant(files: dict[str, str], fence: Fence) -> dict[str, str]:
    where = f"line {fence.line} (## Mutant)"
    try:
        diffs = parse_diff(fence.text + "\n")
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    if not diffs:
        raise ValueError(f"{where}: the diff changes no file")
    out = dict(files)
    for diff in diffs:
        path = strip_git_prefix(diff.path, "a" if not diff.creates else "b", set(files))
        if path not in files:
            raise ValueError(f"{where}: {path} is none of the '## File' sections")
        try:
            out[path] = apply_file_diff(out[path], diff)
        except ValueError as exc:
            raise ValueError(f"{where}: {path}: {exc}") from None
    if out == files:
        raise ValueError(f"{where}: the mutant changes nothing")
    return out


def enclosing_definition(text: str, line: int) -> str:
    """The name of the innermost def or class whose lines hold ``line`` (0-based), or ""."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return ""
    best: tuple[int, str] | None = None
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
            last = (node.end_lineno or node.lineno) - 1
            if first <= line <= last and (best is None or first >= best[0]):
                best = (first, node.name)
    return best[1] if best else ""
