"""The project's own next-edit cases, ``eval/predict/``: they load, and they mean what they say.

``sparkforge eval predict eval/predict/ --oracle`` must be exact on them (docs/eval.md), so
besides loading, each expected edit is checked against what the fast path can produce: it
changes only the cursor's file, within the editable region (the cursor line and 3 lines
either side, docs/prompts.md), and a completion is an insertion at the cursor (ghost text).
"""

from __future__ import annotations

import difflib
from collections import Counter
from pathlib import Path

import pytest

from sparkforge.evaluation.cases import load_cases

CASES_DIR = Path(__file__).resolve().parents[2] / "eval" / "predict"
CASES = load_cases([CASES_DIR])
BY_NAME = {case.name: case for case in CASES}
REGION_LINES = 3  # PromptSettings.lines_above / lines_below


def test_every_case_loads_and_the_counts_are_as_written():
    assert len(CASES) == 68
    assert len({case.name for case in CASES}) == 68
    assert all(case.format == "sparkforge" for case in CASES)
    assert Counter(case.language for case in CASES) == {
        "python": 11, "typescript": 12, "go": 11, "rust": 11, "java": 12, "markdown": 11,
    }
    assert Counter(case.kind for case in CASES) == {
        "completion": 20, "rename-propagation": 13, "no-edit": 12, "mirror": 7, "delete": 6,
        "import": 5, "signature-change": 5,
    }
    # CRLF files, with emoji and CJK before the cursor (UTF-16 columns differ from str indices)
    assert sorted(case.name for case in CASES if case.crlf) == [
        "java-rename-crlf-cjk", "typescript-completion-crlf-emoji"]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_the_case_means_what_it_says(case):
    current = case.current()
    text = current[case.cursor_path]
    assert 10 <= text.count("\n") <= 60, "a realistic small file"
    assert 1 <= len(case.history) <= 4
    if case.kind == "no-edit":
        assert case.expected == ()
        return
    assert case.expected, "an edit is expected"
    cursor_line = text.count("\n", 0, case.cursor_offset)
    for alt in case.expected:
        assert alt.path == case.cursor_path and not alt.other_files  # next edits edit this file
        assert alt.after != text, "the expected edit changes something"
        old, new = text.splitlines(True), alt.after.splitlines(True)
        for tag, i1, i2, _, _ in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
            if tag != "equal":
                last = i2 - 1 if i2 > i1 else i1
                assert cursor_line - REGION_LINES <= i1 and last <= cursor_line + REGION_LINES, (
                    f"lines {i1}-{i2} are outside the editable region around line {cursor_line}")
        if case.kind == "completion":  # ghost text: an insertion at the cursor
            grown = len(alt.after) - len(text)
            at = case.cursor_offset
            assert grown > 0
            assert alt.after[:at] + alt.after[at + grown :] == text


def test_spot_checks_of_what_cases_expect():
    # Written from the case files by hand: the text at the cursor, and the line the edit makes.
    case = BY_NAME["python-rename-local"]
    text = case.current()["etl/load.py"]
    assert text[case.cursor_offset - len("        records") : case.cursor_offset] == "        records"
    assert '    log.info("read %d rows from %s", len(records), path)\n    return records\n' in case.expected[0].after
    case = BY_NAME["go-completion-if-err"]
    assert "\tif err != nil {\n\t\treturn nil, err\n\t}\n\tvar items []Item\n" in case.expected[0].after
    case = BY_NAME["markdown-completion-close-fence"]
    assert case.current()["docs/usage.md"][case.cursor_offset:].startswith("\n\n## Options")
    assert "sparkforge eval predict eval/predict/\n```\n\n## Options" in case.expected[0].after
    case = BY_NAME["java-import-map"]
    assert case.expected[0].after.startswith(
        "package com.acme.stats;\n\nimport java.util.HashMap;\nimport java.util.List;\nimport java.util.Map;\n")
