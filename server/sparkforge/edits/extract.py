"""Pull code blocks and diffs out of a chat or markdown answer.

Models wrap code in fences, name the file in the info string (```python title=src/a.py),
on the line before ("In `src/a.py`:") or in a first-line comment, and surround diffs with
prose. This module only finds things; ``patch.py`` parses the diffs it finds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# CommonMark allows 0-3 spaces; models also indent fences inside list items, so allow more.
_FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
_PATH = r"(?:\.{0,2}/)?(?:[\w.@+-]+/)*[\w@+-][\w.@+-]*\.[A-Za-z][\w]{0,9}"
_PATH_RE = re.compile(rf"^{_PATH}$")
_INFO_KEY_RE = re.compile(r"""(?:title|file|filename|path|name)\s*=\s*["']?([^"'\s]+)["']?""")
_COMMENT_PATH_RE = re.compile(
    rf"^\s*(?:#|//|--|;|/\*|<!--)\s*(?:(?:file(?:name)?|path)\s*:?\s*)?(?P<path>{_PATH})\s*(?:\*/|-->)?\s*$",
    re.IGNORECASE,
)
_BACKTICKED_RE = re.compile(r"`([^`\s]+)`")
_BARE_PATH_RE = re.compile(rf"(?<![\w/.:-])({_PATH})(?![\w/])")
_DIFF_LANGS = {"diff", "patch", "udiff", "git-diff", "gitdiff"}
_ENVELOPE_RE = re.compile(r"^\s*\*\*\* (?:Begin Patch|Update File:|Add File:|Delete File:)", re.M)
_UNIFIED_HEADER_RE = re.compile(r"^--- .*\n\+\+\+ ", re.M)
_HUNK_RE = re.compile(r"^@@", re.M)


@dataclass(frozen=True, slots=True)
class CodeBlock:
    """One fenced block. ``complete`` is False when the fence never closed (a cut-off answer)."""

    lang: str
    text: str
    path_hint: str | None = None
    info: str = ""
    start_line: int = 0
    complete: bool = True


def extract_code_blocks(markdown: str) -> list[CodeBlock]:
    """Every fenced code block, in order, with its language and any file name the answer gives."""
    lines = markdown.split("\n")
    blocks: list[CodeBlock] = []
    i = 0
    while i < len(lines):
        m = _FENCE_OPEN.match(lines[i].rstrip("\r"))
        if not m:
            i += 1
            continue
        fence, indent, info = m["fence"], len(m["indent"]), m["info"].strip()
        body: list[str] = []
        j = i + 1
        closed = False
        while j < len(lines):
            raw = lines[j].rstrip("\r")
            stripped = raw.strip()
            if stripped and set(stripped) == {fence[0]} and len(stripped) >= len(fence):
                closed = True
                break
            # Drop the fence's own indentation from the body, as CommonMark does.
            k = 0
            while k < indent and k < len(raw) and raw[k] in " \t":
                k += 1
            body.append(raw[k:])
            j += 1
        lang, hint = _parse_info(info)
        text = "\n".join(body) + ("\n" if body else "")
        hint = hint or _comment_hint(body) or _preceding_hint(lines, i)
        blocks.append(CodeBlock(lang, text, hint, info, i, closed))
        i = j + 1
    return blocks


def find_diffs(markdown: str) -> list[str]:
    """The diffs in an answer, in order: fenced diff blocks, else an unfenced diff in the prose.

    Each is either a unified diff or a ``*** Begin Patch`` envelope; prose before the first
    header is cut, prose after the hunks is left to the parsers (they stop at non-diff lines).
    """
    found = [
        b.text
        for b in extract_code_blocks(markdown)
        if b.lang.lower() in _DIFF_LANGS or looks_like_diff(b.text)
    ]
    if found:
        return found
    start = _first_header(markdown)
    return [markdown[start:]] if start is not None else []


def looks_like_diff(text: str) -> bool:
    """A unified diff (file headers or hunk headers) or an apply_patch envelope."""
    if _ENVELOPE_RE.search(text):
        return True
    return bool(_UNIFIED_HEADER_RE.search(text)) or (
        bool(_HUNK_RE.search(text)) and bool(re.search(r"^[-+]", text, re.M))
    )


def is_envelope(text: str) -> bool:
    """True for the ``*** Begin Patch`` / ``*** Update File:`` format."""
    return bool(_ENVELOPE_RE.search(text))


def _first_header(text: str) -> int | None:
    candidates = [
        m.start()
        for m in (
            _ENVELOPE_RE.search(text),
            re.search(r"^diff --git ", text, re.M),
            _UNIFIED_HEADER_RE.search(text),
        )
        if m
    ]
    if not candidates:
        m = _HUNK_RE.search(text)
        return m.start() if m else None
    return min(candidates)


def _parse_info(info: str) -> tuple[str, str | None]:
    """Language and path from an info string: ``python``, ``python title=a.py``, ``py:a.py``, ``a.py``."""
    if not info:
        return "", None
    keyed = _INFO_KEY_RE.search(info)
    words = info.split()
    first = words[0]
    lang, _, after_colon = first.partition(":")
    if keyed:
        return (lang if "=" not in lang else ""), keyed.group(1)
    if after_colon and _PATH_RE.match(after_colon):
        return lang, after_colon
    if _PATH_RE.match(first):
        # ```src/a.py: no language, just the file.
        return "", first
    for word in words[1:]:
        if _PATH_RE.match(word):
            return lang, word
    return lang, None


def _comment_hint(body: list[str]) -> str | None:
    for line in body[:1]:
        m = _COMMENT_PATH_RE.match(line)
        if m:
            return m["path"]
    return None


def _preceding_hint(lines: list[str], fence_line: int) -> str | None:
    """A file named on the nearest non-blank line before the fence (at most two lines up)."""
    for k in range(fence_line - 1, max(fence_line - 3, -1), -1):
        line = lines[k].strip()
        if not line:
            continue
        if _FENCE_OPEN.match(line):
            return None
        for token in _BACKTICKED_RE.findall(line):
            if _PATH_RE.match(token):
                return token
        bare = [m for m in _BARE_PATH_RE.findall(line) if not re.match(r"^[\d.]+$", m)]
        return bare[-1] if bare else None
    return None
