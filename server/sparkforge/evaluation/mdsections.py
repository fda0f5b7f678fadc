"""Split a Markdown case file into headed sections of prose and fenced blocks.

Only what case files need: ATX headings (``#`` to ``######``) outside fences, fenced code
blocks opened by three or more backticks or tildes (closed by the same character, at least as
many), HTML comments. Headings inside a fence are content, so a Markdown file in a 4-backtick
fence keeps its own headings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_HEADING_RE = re.compile(r"^(#{1,6})(?:[ \t]+(.*?))?[ \t#]*$")


@dataclass(slots=True)
class Fence:
    info: str  # the info string after the opening fence, stripped
    text: str  # the content lines joined with "\n" (no final newline)
    line: int  # 1-based line of the opening fence


@dataclass(slots=True)
class Section:
    level: int  # 0 for what comes before the first heading
    title: str
    line: int  # 1-based line of the heading (0 for the preamble)
    prose: list[tuple[int, str]] = field(default_factory=list)  # non-blank lines outside fences and comments
    fences: list[Fence] = field(default_factory=list)


def split_sections(text: str) -> list[Section]:
    """Sections in order; ValueError for an unclosed fence or comment."""
    lines = text.replace("\r\n", "\n").split("\n")
    sections = [Section(level=0, title="", line=0)]
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = _FENCE_RE.match(line)
        if fence and not (fence.group(1)[0] == "`" and "`" in fence.group(2)):
            marker = fence.group(1)
            closing = re.compile(rf"^ {{0,3}}{re.escape(marker[0])}{{{len(marker)},}}[ \t]*$")
            body: list[str] = []
            j = i + 1
            while j < len(lines) and not closing.match(lines[j]):
                body.append(lines[j])
                j += 1
            if j == len(lines):
                raise ValueError(f"line {i + 1}: the fence {marker} is never closed")
            sections[-1].fences.append(Fence(fence.group(2).strip(), "\n".join(body), i + 1))
            i = j + 1
            continue
        if line.lstrip().startswith("<!--"):
            j = i
            while "-->" not in lines[j]:
                j += 1
                if j == len(lines):
                    raise ValueError(f"line {i + 1}: the HTML comment is never closed")
            i = j + 1
            continue
        heading = _HEADING_RE.match(line)
        if heading:
            sections.append(Section(len(heading.group(1)), (heading.group(2) or "").strip(), i + 1))
        elif line.strip():
            sections[-1].prose.append((i + 1, line))
        i += 1
    return sections
