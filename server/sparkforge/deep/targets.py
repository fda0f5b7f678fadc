"""What a code action works on: the selection, else the function or class around the cursor.

Listing code actions must cost nothing, so the enclosing definition is found by a cheap,
language-agnostic heuristic instead of a parser: scan upwards from the cursor for a line that
opens a definition (``def``, ``class``, ``function``, ``func``, ``fn``, a method signature
ending in ``{`` ...), then find where its block ends, by brace matching when the header opens
a brace and by indentation otherwise (plus a closing ``end`` for Ruby, Lua, Elixir).
Only definitions indented no deeper than every line between them and the cursor can enclose
it, so the scan checks few candidates and stops at the first top-level statement.

Positions are (line, ``str`` index in the line); the LSP layer converts from and to UTF-16.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sparkforge.textpos import LineIndex, LinePositions

TargetKind = Literal["selection", "function", "class", "file"]

MAX_SCAN = 5000  # lines looked at above the cursor; deeper nesting than this is not code
MAX_HEADER = 40  # lines a signature may span

_MODIFIERS = (
    r"(?:(?:export|default|public|private|protected|internal|static|async|abstract|final|override|"
    r"virtual|unsafe|local|inline|open|sealed|data|suspend|partial|extern(?:\s+\"C\")?|"
    r"pub(?:\([^)]*\))?)\s+)*"
)
_DEF_RE = re.compile(
    r"^(?P<indent>[ \t]*)" + _MODIFIERS + r"(?P<kw>def|defp|defmodule|class|function\*?|func|fn|fun|"
    r"interface|struct|impl|trait|enum|module|object|record|namespace|union|sub|proc)"
    r"(?=[\s(<{:]|$)\s*(?P<rest>.*)$"
)
_ARROW_RE = re.compile(
    r"^(?P<indent>[ \t]*)(?:export\s+)?(?:default\s+)?(?:const|let|var)\s+(?P<name>[\w$]+)\s*"
    r"(?::[^=]+)?=\s*(?:async\s+)?(?:function\b|\([^)]*\)\s*(?::[^=]+)?=>|[\w$]+\s*=>)"
)
# A method or C-like function: `name(params) [: type] {` on one line.
_METHOD_RE = re.compile(
    r"^(?P<indent>[ \t]*)(?:[\w$<>\[\],.?*&]+\s+)*?(?P<name>[A-Za-z_$][\w$]*)\s*(?:<[^<>]*>)?\s*"
    r"\((?:[^()]*(?:\([^()]*\)[^()]*)*)\)\s*(?::\s*[\w$<>\[\]|&.,? ]+)?\s*(?:->\s*[^{]+)?"
    r"(?:throws\s+[\w., ]+)?\{\s*$"
)
_NOT_METHODS = frozenset(
    "if for while switch catch with return function else do try new await synchronized using "
    "lock foreach elif except sizeof typeof match when loop unless until case defer go select".split()
)
_CLASS_KWS = frozenset(
    "class defmodule interface struct impl trait enum module object record namespace union".split()
)
_NAME_RE = re.compile(r"[A-Za-z_$][\w$]*(?:(?:\.|::)[A-Za-z_$][\w$]*)*!?")
_STRING_RE = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`(?:[^`\\]|\\.)*`')
_HASH_COMMENT_LANGS = frozenset(
    "python ruby shellscript bash sh perl r elixir yaml toml coffeescript julia nim crystal".split()
)
_END_LANGS = frozenset("ruby lua elixir julia crystal".split())


@dataclass(frozen=True, slots=True)
class Target:
    """A span of the document an action works on; ``end`` is exclusive, as in LSP ranges."""

    kind: TargetKind
    start_line: int
    start_char: int
    end_line: int
    end_char: int
    name: str | None = None

    def describe(self) -> str:
        """How the prompt and titles name it: ``function total``, ``the selection``."""
        if self.kind in ("function", "class") and self.name:
            return f"{self.kind} {self.name}"
        return {"selection": "the selection", "file": "the file"}.get(self.kind, f"the {self.kind}")

    def label(self) -> str:
        """A short name for titles: ``total``, ``the selection``."""
        return self.name if self.kind in ("function", "class") and self.name else self.describe()

    def text(self, lines: Sequence[str], eol: str = "\n") -> str:
        if self.start_line == self.end_line:
            return lines[self.start_line][self.start_char : self.end_char]
        parts = [lines[self.start_line][self.start_char :]]
        parts.extend(lines[self.start_line + 1 : self.end_line])
        if self.end_line < len(lines):
            parts.append(lines[self.end_line][: self.end_char])
        return eol.join(parts)


class IndexLines(Sequence[str]):
    """A LineIndex (or LinePositions) seen as a sequence of lines, without splitting the whole
    text."""

    def __init__(self, index: LineIndex | LinePositions) -> None:
        self._index = index

    def __len__(self) -> int:
        return self._index.line_count

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self._index.line(k) for k in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        return self._index.line(i)


def indent_width(line: str) -> int:
    width = 0
    for ch in line:
        if ch == " ":
            width += 1
        elif ch == "\t":
            width += 4 - width % 4
        else:
            break
    return width


def definition_at(line: str, language: str = "") -> tuple[str, str | None] | None:
    """(kind, name) if ``line`` opens a function or class definition, else None."""
    if (m := _DEF_RE.match(line)) is not None:
        kw, rest = m["kw"], m["rest"]
        if kw in ("func", "fn", "fun") and rest.startswith("("):
            rest = rest[rest.find(")") + 1 :].lstrip()  # Go receiver, Kotlin extension
        name = _NAME_RE.match(rest)
        if name is None and kw not in ("function", "function*", "impl"):
            return None  # `class` or `def` used as a plain word
        return ("class" if kw in _CLASS_KWS else "function"), (name.group(0) if name else None)
    if language == "python":
        return None  # only def/class open definitions in Python
    if (m := _ARROW_RE.match(line)) is not None:
        return "function", m["name"]
    if (m := _METHOD_RE.match(line)) is not None and m["name"] not in _NOT_METHODS:
        return "function", m["name"]
    return None


def _code(line: str, language: str) -> str:
    """The line without string literals and its trailing comment, for bracket counting."""
    line = _STRING_RE.sub('""', line)
    marker = "#" if language in _HASH_COMMENT_LANGS else "//"
    cut = line.find(marker)
    return line[:cut] if cut >= 0 else line


def block_end(lines: Sequence[str], start: int, language: str = "") -> int:
    """The last line of the definition whose header starts at ``start``."""
    n = len(lines)
    base = indent_width(lines[start])
    depth = 0
    header_end = start
    brace_at: int | None = None
    for j in range(start, min(n, start + MAX_HEADER)):
        code = _code(lines[j], language)
        if language != "python" and "{" in code and depth >= 0:
            brace_at = j
            break
        depth += sum(code.count(c) for c in "([") - sum(code.count(c) for c in ")]")
        header_end = j
        if depth <= 0:
            break
    if brace_at is not None:
        return _brace_end(lines, brace_at, language)
    last = _code(lines[header_end], language).rstrip()
    if language != "python" and last.endswith(";"):
        return header_end  # a declaration without a body
    if language == "python" and not last.endswith(":"):
        return header_end  # `def f(): return 1`
    end = header_end
    j = header_end + 1
    while j < n:
        text = lines[j]
        if text.strip():
            if indent_width(text) <= base:
                break
            end = j
        j += 1
    if j < n and indent_width(lines[j]) == base:
        closer = lines[j].strip()
        if closer == "end" or (language in _END_LANGS and closer.startswith("end")):
            end = j
    return end


def _brace_end(lines: Sequence[str], first: int, language: str) -> int:
    depth = parens = 0
    for j in range(first, len(lines)):
        for ch in _code(lines[j], language):
            if ch in "([":
                parens += 1
            elif ch in ")]":
                parens -= 1
            elif parens > 0:
                continue  # `function f(opts = {}) {`: braces inside the signature
            elif ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth == 0:
                    return j
    return len(lines) - 1  # unbalanced: the block runs to the end of the file


def _decorated_start(lines: Sequence[str], line: int) -> int:
    """Include decorators/annotations written on the lines above a definition."""
    base = indent_width(lines[line])
    while line > 0 and lines[line - 1].lstrip().startswith("@") and indent_width(lines[line - 1]) == base:
        line -= 1
    return line


def find_definition(
    lines: Sequence[str],
    line: int,
    language: str = "",
    *,
    below_indent: int | None = None,
    covering_end: int | None = None,
) -> Target | None:
    """The innermost function or class whose block contains ``line``.

    ``below_indent`` keeps only definitions indented less (to find a parent scope);
    ``covering_end`` requires the block to reach that line too.
    """
    n = len(lines)
    if not 0 <= line < n:
        return None
    if below_indent is None and lines[line].lstrip().startswith("@"):
        # On a decorator: the definition it decorates.
        base = indent_width(lines[line])
        for j in range(line + 1, min(n, line + 20)):
            text = lines[j]
            if indent_width(text) != base or not text.strip():
                break
            if not text.lstrip().startswith("@"):
                line = j
                break
    need = max(line, covering_end if covering_end is not None else line)
    min_indent: int | None = None
    for i in range(line, max(-1, line - MAX_SCAN), -1):
        text = lines[i]
        stripped = text.strip()
        if not stripped:
            continue
        ind = indent_width(text)
        found = None
        if min_indent is None or ind <= min_indent:
            if below_indent is None or ind < below_indent:
                found = definition_at(text, language)
            if found is not None:
                end = block_end(lines, i, language)
                if end >= need:
                    start = _decorated_start(lines, i)
                    return Target(found[0], start, 0, end, len(lines[end]), found[1])  # type: ignore[arg-type]
        min_indent = ind if min_indent is None else min(min_indent, ind)
        if ind == 0 and i < line and found is None and (stripped[0].isalnum() or stripped[0] in "_$"):
            break  # a top-level statement: no definition above it is still open
    return None


def selection_target(start: tuple[int, int], end: tuple[int, int]) -> Target:
    (sl, sc), (el, ec) = sorted((start, end))
    return Target("selection", sl, sc, el, ec)


def target_at(
    lines: Sequence[str], start: tuple[int, int], end: tuple[int, int], language: str = ""
) -> Target | None:
    """The selection if it is not empty (nor only whitespace), else the enclosing definition."""
    if start != end:
        sel = selection_target(start, end)
        if sel.text(lines).strip():
            return sel
    return find_definition(lines, start[0], language)


def enclosing_scope(lines: Sequence[str], target: Target, language: str = "") -> Target | None:
    """The definition around ``target`` (a method's class, a selection's function)."""
    if target.kind == "file":
        return None
    if target.kind == "selection":
        return find_definition(lines, target.start_line, language, covering_end=target.end_line)
    head = target.start_line
    while head < target.end_line and lines[head].lstrip().startswith("@"):
        head += 1  # the def line, below the decorators
    return find_definition(
        lines, head, language, below_indent=indent_width(lines[head]), covering_end=target.end_line
    )


def whole_lines(target: Target, lines: Sequence[str]) -> tuple[int, int]:
    """The 0-based inclusive line span the target touches (an end at column 0 is not counted)."""
    last = target.end_line
    if target.end_char == 0 and last > target.start_line:
        last -= 1
    return target.start_line, min(last, len(lines) - 1)
