"""The actions eval's pure parts: reading a case file, the oracle's apply_patch envelope, and
applying an LSP edit as an editor does (UTF-16 positions, clamped ends)."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types

from sparkforge.evaluation.actions.cases import ActionCaseError, load_action_cases, parse_case, parse_envelope
from sparkforge.evaluation.actions.editor import apply_text_edits
from sparkforge.evaluation.actions.oracle import apply_v4a, unified_diff

REPO = Path(__file__).resolve().parents[2]

CASE = '''\
# Fix the sum
kind: fix
at: calc.py:2
diagnostic: test_add failed: assert -1 == 3
failing: test_add, test_add_zero

## File: calc.py
```python
def add(a, b):
    return a - b
```

## Tests: tests/test_calc.py
```python
from calc import add


def test_add():
    assert add(1, 2) == 3
```

## Answer
Fixed the operator.
```patch
*** Begin Patch
*** Update File: calc.py
@@ def add(a, b):
-    return a - b
+    return a + b
*** End Patch
```
'''


def test_a_case_reads_as_written():
    case = parse_case(CASE, name="fix-sum", source="fix-sum.md")
    assert (case.kind, case.action_kind, case.path) == ("fix", "fix", "calc.py")
    assert (case.start, case.end) == ((1, 4), (1, 4))  # line 2, at its first non-blank character
    assert case.files == {"calc.py": "def add(a, b):\n    return a - b\n"}
    assert list(case.tests) == ["tests/test_calc.py"]
    assert case.failing == ("test_add", "test_add_zero")
    assert case.diagnostic == "test_add failed: assert -1 == 3"
    assert case.answer.text == "Fixed the operator."
    assert case.answer.operations == (
        {"type": "update_file", "path": "calc.py", "diff": "@@ def add(a, b):\n-    return a - b\n+    return a + b\n"},)


@pytest.mark.parametrize(("at", "start", "end"), [
    ("calc.py:1", (0, 0), (0, 0)),
    ("calc.py:2:9", (1, 8), (1, 8)),
    ("calc.py:1-2", (0, 0), (1, 16)),  # whole lines: to the end of the last one
])
def test_at_is_a_cursor_or_a_selection(at, start, end):
    case = parse_case(CASE.replace("at: calc.py:2", f"at: {at}"), name="c", source="c.md")
    assert (case.start, case.end) == (start, end)


@pytest.mark.parametrize(("change", "message"), [
    (("kind: fix", "kind: fixx"), "kind: 'fixx' is not one of generate-tests, document, fix, refactor"),
    (("at: calc.py:2", "at: calc.py:9"), "at: line 9 is outside the file (1-2)"),
    (("at: calc.py:2", "at: other.py:1"), "at: other.py is none of the '## File' sections (calc.py)"),
    (("at: calc.py:2", "at: calc.py"), "at: 'calc.py' is not PATH:LINE, PATH:LINE:COLUMN or PATH:FIRST-LAST"),
    (("failing: test_add, test_add_zero\n", ""),
     "a fix case needs 'diagnostic:' (what the editor shows) and 'failing:' (the hidden tests that fail)"),
    (("kind: fix", "kind: refactor"), "'diagnostic:' and 'failing:' are for fix cases only"),
    (("## Tests: tests/test_calc.py", "## Test: tests/test_calc.py"),
     "line 13 (## Test: tests/test_calc.py): unknown section (expected File, Tests, Mutant or Answer)"),
    (("failing: test_add", "failng: test_add"),
     "line 5: 'failng: test_add, test_add_zero' is not a 'key: value' line "
     "(kind, at, open, diagnostic, failing, instruction, function, tags, notes)"),
    (("*** End Patch", "*** Finish"), "line 24: the answer's block must end with '*** End Patch'"),
    (("## File: calc.py", "## File: ../calc.py"),
     "line 7 (## File: ../calc.py): '../calc.py' must be a relative path inside the workspace"),
])
def test_a_malformed_case_says_what_is_wrong(change, message):
    with pytest.raises(ValueError) as err:
        parse_case(CASE.replace(*change), name="c", source="c.md")
    assert str(err.value) == message


def test_generate_tests_needs_a_mutant_that_applies():
    tests_case = CASE.replace("kind: fix", "kind: generate-tests").replace(
        "diagnostic: test_add failed: assert -1 == 3\nfailing: test_add, test_add_zero\n", "")
    with pytest.raises(ValueError, match=r"^a generate-tests case needs a '## Mutant' section"):
        parse_case(tests_case, name="c", source="c.md")
    mutant = "## Mutant\n```diff\n--- calc.py\n+++ calc.py\n@@\n-    return a - b\n+    return a * b\n```\n\n## Answer"
    case = parse_case(tests_case.replace("## Answer", mutant), name="c", source="c.md")
    assert case.mutant == {"calc.py": "def add(a, b):\n    return a * b\n"}
    wrong = mutant.replace("-    return a - b", "-    return a / b")
    with pytest.raises(ValueError) as err:
        parse_case(tests_case.replace("## Answer", wrong), name="c", source="c.md")
    assert str(err.value).startswith("line 21 (## Mutant): calc.py: hunk 1 (@@): its context and '-' lines")


def test_document_checks_the_definition_around_the_cursor():
    doc = CASE.replace("kind: fix", "kind: document").replace(
        "diagnostic: test_add failed: assert -1 == 3\nfailing: test_add, test_add_zero\n", "")
    assert parse_case(doc, name="c", source="c.md").function == "add"


def test_the_envelope_carries_every_operation():
    assert parse_envelope(
        "*** Begin Patch\n*** Add File: tests/test_a.py\n+import a\n+\n+def test(): pass\n"
        "*** Delete File: old.py\n*** Update File: a.py\n@@ def f():\n-    x\n+    y\n*** End Patch"
    ) == [
        {"type": "create_file", "path": "tests/test_a.py", "diff": "+import a\n+\n+def test(): pass\n"},
        {"type": "delete_file", "path": "old.py"},
        {"type": "update_file", "path": "a.py", "diff": "@@ def f():\n-    x\n+    y\n"},
    ]
    with pytest.raises(ValueError, match=r"^every line of '\*\*\* Add File: t.py' must start with '\+'$"):
        parse_envelope("*** Begin Patch\n*** Add File: t.py\nimport a\n*** End Patch")


def test_loading_names_the_file(tmp_path):
    (tmp_path / "bad.md").write_text(CASE.replace("kind: fix\n", ""), encoding="utf-8")
    with pytest.raises(ActionCaseError) as err:
        load_action_cases([tmp_path])
    assert str(err.value) == f"{tmp_path / 'bad.md'}: no 'kind:' line"
    with pytest.raises(ActionCaseError) as err:
        load_action_cases([tmp_path / "empty"])
    assert str(err.value) == f"{tmp_path / 'empty'}: no such file or directory"


def test_the_project_cases_load():
    cases = load_action_cases([REPO / "eval" / "actions"])
    kinds = sorted(c.kind for c in cases)
    assert kinds == ["document"] * 6 + ["fix"] * 7 + ["generate-tests"] * 8 + ["refactor"] * 7
    callers = next(c for c in cases if c.name == "refactor-rename-with-callers")
    assert callers.open == ("checkout.py",)
    package = next(c for c in cases if c.name == "generate-tests-package")
    assert package.files["shapes/__init__.py"] == ""  # an empty fence is an empty file
    assert all(c.answer is not None and c.answer.operations for c in cases)


def edit(l1: int, c1: int, l2: int, c2: int, text: str) -> types.TextEdit:
    return types.TextEdit(range=types.Range(start=types.Position(line=l1, character=c1),
                                            end=types.Position(line=l2, character=c2)), new_text=text)


def test_text_edits_are_utf16_and_applied_as_an_editor_applies_them():
    text = 'x = "🎉"\ny = 1\n'
    # the emoji is two UTF-16 units: character 7 is after it
    assert apply_text_edits(text, [edit(0, 7, 0, 7, "!")]) == 'x = "🎉!"\ny = 1\n'
    # a new file's content replaces (0,0)-(1,0) of an empty text: the end is clamped
    assert apply_text_edits("", [edit(0, 0, 1, 0, "a\nb\n")]) == "a\nb\n"
    # two insertions at one position keep their order
    assert apply_text_edits("ab", [edit(0, 1, 0, 1, "1"), edit(0, 1, 0, 1, "2")]) == "a12b"
    with pytest.raises(ValueError, match="overlap"):
        apply_text_edits("abcdef", [edit(0, 0, 0, 3, "x"), edit(0, 2, 0, 4, "y")])


def test_the_oracle_answers_chat_completions_with_the_same_edits_as_a_unified_diff():
    files = {"calc.py": "def add(a, b):\n    return a - b\n"}
    operations = [
        {"type": "update_file", "path": "calc.py", "diff": "@@ def add(a, b):\n-    return a - b\n+    return a + b\n"},
        {"type": "create_file", "path": "tests/test_calc.py", "diff": "+from calc import add\n+\n+assert add(1, 2) == 3\n"},
    ]
    assert unified_diff(files, operations) == (
        "--- a/calc.py\n+++ b/calc.py\n@@ -1,2 +1,2 @@\n def add(a, b):\n-    return a - b\n+    return a + b\n"
        "--- /dev/null\n+++ b/tests/test_calc.py\n@@ -0,0 +1,3 @@\n+from calc import add\n+\n+assert add(1, 2) == 3\n"
    )
    # an anchor places the change after it; a hunk that is not in the file is an error
    assert apply_v4a("x = 1\ndef f():\n    x = 1\n", "@@ def f():\n-    x = 1\n+    x = 2\n") == "x = 1\ndef f():\n    x = 2\n"
    with pytest.raises(ValueError, match=r"^its 1 context and '-' lines from 'x = 2' are not in the file after line 0$"):
        apply_v4a("x = 1\n", "@@\n-x = 2\n+x = 3\n")
