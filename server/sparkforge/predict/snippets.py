"""Code from elsewhere for the prompt: definitions of the names the region uses, then the
start of other open documents.

A cheap heuristic, run at every keystroke: identifiers in the region (nearest the cursor
first) are looked up among lines that define something (``def``, ``class``, ``function``,
``const``, ``let``, ``var``, ``fn``, ``func``, ``struct``, …) in the other open documents,
whose scans are cached, and in the current document outside the excerpt already shown.
"""

from __future__ import annotations

import functools
import re
from typing import Protocol, Sequence

from sparkforge.models.tokens import count_tokens
from sparkforge.predict.text import split_lines, take_lines, to_lf


class DefinitionLimits(Protocol):
    """How much of each definition to show (``predict.prompt.PromptSettings`` is one)."""

    max_definitions: int
    definition_lines_before: int
    definition_lines_after: int


# Identifiers too common to be worth looking up as definitions.
_KEYWORDS = frozenset(
    "and as assert async await break case catch class const continue def default del do elif "
    "else enum except export extends false final finally fn for from func function global go if "
    "impl import in interface is lambda let match mod new nil none not null or pass pub raise "
    "return self static struct super switch this throw true try type typeof use var void while "
    "with yield str int float bool string number list dict print len".split()
)
_IDENT_RE = re.compile(r"[A-Za-z_$][\w$]*")
_DEF_RE = re.compile(
    r"^[ \t]*(?:(?:export|default|pub(?:\([\w:]*\))?|async|static|public|private|protected|"
    r"internal|abstract|final|override|unsafe|extern|declare|inline)[ \t]+)*"
    r"(?:def|class|function\*?|const|let|var|fn|func(?:[ \t]*\([^)]*\))?|struct|enum|"
    r"interface|type|trait|impl|module|object|val|record|protocol)[ \t]+([A-Za-z_$][\w$]*)",
    re.M,
)


def _scan_definitions(text: str) -> tuple[tuple[str, int], ...]:
    """(name, line) of each definition in ``text``."""
    text = to_lf(text)
    found = []
    line = pos = 0
    for match in _DEF_RE.finditer(text):
        line += text.count("\n", pos, match.start())  # counted incrementally: O(len(text))
        pos = match.start()
        found.append((match.group(1), line))
    return tuple(found)


# Other documents rarely change between keystrokes (and a str caches its hash): cache them.
_definitions = functools.lru_cache(maxsize=64)(_scan_definitions)


@functools.lru_cache(maxsize=8)
def _doc_lines(text: str) -> list[str]:
    return split_lines(text)[0]


def related_code(
    region: str,
    cursor: int,
    path: str,
    contents: list[str],
    shown: tuple[int, int],
    others: Sequence[tuple[str, str]],
    budget: int,
    settings: DefinitionLimits,
    header: str,
    definitions: Sequence[str | None] | None = None,
) -> str:
    """Definitions of the region's names, then the start of other documents, within budget.

    ``contents`` are the current document's lines, ``shown`` the lines the excerpt already
    shows, ``header`` the template heading each block (``{path}``), ``definitions`` (if the
    caller keeps them) ``line_definition`` of each of the document's lines.
    """
    if budget <= 0:
        return ""
    # Names nearest the cursor first: they matter most to the next edit.
    names: dict[str, int] = {}
    for m in _IDENT_RE.finditer(region):
        name = m.group()
        if len(name) > 1 and name.lower() not in _KEYWORDS:
            distance = abs(m.start() - cursor)
            names[name] = min(distance, names.get(name, distance))
    wanted = sorted(names, key=names.__getitem__)

    sources = [(p, t) for p, t in others if t]
    blocks: list[str] = []
    used = 0
    taken: set[tuple[str, int]] = set()
    if wanted:
        index: dict[str, list[tuple[int, int]]] = {}
        for i, (_, doc) in enumerate(sources):
            for name, line in _definitions(doc):
                index.setdefault(name, []).append((i, line))
        own = _own_definitions(contents, shown, definitions)
        for name in wanted:
            for src, line in (index.get(name, []) + [(-1, ln) for ln in own.get(name, [])])[:2]:
                if len(taken) >= settings.max_definitions or (src, line) in taken:
                    continue
                lines = contents if src < 0 else _doc_lines(sources[src][1])
                lo = max(0, line - settings.definition_lines_before)
                hi = min(len(lines), line + settings.definition_lines_after + 1)
                block = (header.format(path=path if src < 0 else sources[src][0])
                         + "".join(to_lf(x) + "\n" for x in lines[lo:hi]))
                cost = count_tokens(block)
                if used + cost <= budget:
                    blocks.append(block)
                    used += cost
                    taken.add((src, line))
    for i, (other_path, doc) in enumerate(sources):
        left = budget - used - 10
        share = left // max(1, len(sources) - i)
        if share < 30:
            continue
        head = take_lines(_doc_lines(doc), share - 5)
        if head:
            block = header.format(path=other_path) + "".join(x + "\n" for x in head)
            blocks.append(block)
            used += count_tokens(block)
    text = "".join(blocks)
    while blocks and count_tokens(text) > budget:
        blocks.pop()
        text = "".join(blocks)
    return text


OWN_DEFINITIONS_MAX_LINES = 20000  # a longer document's own definitions are not looked up


@functools.lru_cache(maxsize=16384)
def line_definition(line: str) -> str | None:
    """The name ``line`` (with or without its ending) defines, if any. Cached per line: a
    document's lines are scanned once (``TextLines.per_line`` keeps the results in step with
    its changes), and the lines of one without such an index repeat between keystrokes."""
    if len(line) > 400:
        return None
    match = _DEF_RE.match(line)
    return match.group(1) if match else None


def _own_definitions(contents: Sequence[str], shown: tuple[int, int],
                     definitions: Sequence[str | None] | None = None) -> dict[str, list[int]]:
    """Definitions in the current document outside the lines already shown; ``definitions``
    is ``line_definition`` of each of its lines, if the caller keeps them."""
    raw = getattr(contents, "raw", contents)  # DocumentLines: its lines, endings and all
    total = len(raw)
    if total > OWN_DEFINITIONS_MAX_LINES:
        return {}
    # In a long file, look near the excerpt and at the top (imports, module-level names):
    # that is where a name used at the cursor is most often defined, and it bounds the cost.
    spans = [(0, total)]
    if total > 1500:
        top = min(300, total)
        near = (max(top, shown[0] - 600), min(total, shown[1] + 600))
        spans = [(0, top), near] if near[0] < near[1] else [(0, top)]
    found: dict[str, list[int]] = {}
    for start, end in spans:
        for lo, hi in ((start, min(end, shown[0])), (max(start, shown[1]), end)):  # not the shown
            if lo >= hi:
                continue
            # map() over the cache runs in C: a few hundredths of a microsecond a line
            names = definitions[lo:hi] if definitions is not None else map(line_definition, raw[lo:hi])
            for offset, name in enumerate(names):
                if name is not None:
                    found.setdefault(name, []).append(lo + offset)
    return found
