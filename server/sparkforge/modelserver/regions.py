"""Answers read from a next-edit prompt: the editable region with text typed at the cursor
(``rewrite_region``, for benchmarks) or as a case's expected edit leaves it
(``oracle_region``, for ``sparkforge eval --oracle``). The prompt's markers are the ones
``sparkforge.predict.prompt`` writes."""

from __future__ import annotations

import re
from typing import Sequence

from sparkforge.predict.prompt import CURSOR, FILE_HEADER, REGION_END, REGION_START

from .scenarios import OracleEdit


def rewrite_region(prompt: str, insert: str) -> str | None:
    """A fast model's answer for any next-edit prompt: the editable region with ``insert``
    typed at the cursor (benchmarks replay real files, so no fixed answer fits them)."""
    start = prompt.rfind(REGION_START)
    end = prompt.find(REGION_END, start)
    if start < 0 or end < 0:
        return None
    region = prompt[start + len(REGION_START) : end]
    if CURSOR not in region:
        return None
    return REGION_START + region.replace(CURSOR, insert, 1) + REGION_END


def oracle_region(prompt: str, edits: Sequence[OracleEdit]) -> str | None:
    """A fast model's answer that makes one of ``edits``: the editable region of a next-edit
    prompt as it reads in ``after``, found by its place in ``before``.

    The region (cursor marker removed) is looked up in each ``before`` in turn, preferring the
    place whose preceding text is the excerpt shown above the region; the first edit whose
    whole change lies inside the region gives the answer. If the region is found but no edit
    fits inside it, the answer is the region unchanged (a model with nothing to suggest);
    None if the prompt has no region or no ``before`` holds it.
    """
    start = prompt.rfind(REGION_START)
    end = prompt.find(REGION_END, start)
    if start < 0 or end < 0:
        return None
    marked = prompt[start + len(REGION_START) : end]
    marked = marked[1:] if marked.startswith("\n") else marked
    region = marked.replace(CURSOR, "", 1)
    header = prompt.rfind(FILE_HEADER_START, 0, start)
    above = prompt[prompt.find("\n", header) + 1 : start] if header >= 0 else ""
    found = False
    for edit in edits:
        for at, length, synthetic, secrets in _region_places(edit.before, region, above):
            found = True
            head, tail = edit.before[:at], edit.before[at + length :]
            after = edit.after
            if len(after) >= len(head) + len(tail) and after.startswith(head) and after.endswith(tail):
                new = after[len(head) : len(after) - len(tail)]
                for marker, secret in secrets.items():  # the model writes what it was shown
                    new = new.replace(secret, marker)
                # the prompt ended the region with a newline the file does not have there
                return f"{REGION_START}\n{new}{chr(10) if synthetic else ''}{REGION_END}"
    if found:
        return f"{REGION_START}\n{region}{REGION_END}"
    return None


FILE_HEADER_START = FILE_HEADER.split("{", 1)[0]  # "## Current file: "


def _region_places(text: str, region: str, above: str) -> list[tuple[int, int, bool, dict[str, str]]]:
    """Where ``region`` sits in ``text``: (offset, length, whether the region's last newline
    was added by the prompt at the end of the file, the secret behind each redaction marker),
    the places after ``above`` first. A ``[REDACTED-n]`` marker in the region (a secret the
    prompt hid) stands for any text on its line, the same text wherever it recurs."""
    places = []
    # At the end of a file without a final newline the prompt added one before the end marker.
    wanted = [(region, False)] + ([(region[:-1], True)] if region.endswith("\n") else [])
    for part, synthetic in wanted:
        pattern, names = _redacted_pattern(part)
        at = 0
        while (m := pattern.search(text, at)) is not None:
            if not synthetic or m.end() == len(text):
                places.append((m.start(), m.end() - m.start(), synthetic,
                               {marker: m.group(name) for marker, name in names.items()}))
            at = m.start() + 1
    return sorted(places, key=lambda p: not text[: p[0]].endswith(above))


_SECRET_MARKER = re.compile(r"\[REDACTED-\d+\]")  # sparkforge.privacy's markers


def _redacted_pattern(region: str) -> tuple[re.Pattern[str], dict[str, str]]:
    """A pattern for ``region`` with each redaction marker a group; marker -> group name."""
    parts, names, last = [], {}, 0
    for m in _SECRET_MARKER.finditer(region):
        parts.append(re.escape(region[last : m.start()]))
        marker = m.group()
        if marker in names:
            parts.append(f"(?P={names[marker]})")
        else:
            names[marker] = f"s{len(names)}"
            parts.append(f"(?P<{names[marker]}>[^\n]+?)")
        last = m.end()
    parts.append(re.escape(region[last:]))
    return re.compile("".join(parts)), names
