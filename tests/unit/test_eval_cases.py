"""Reading eval cases: our Markdown format, Zed's eval cases, Copilot's NES recordings."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from sparkforge.evaluation.cases import CaseError, Expected, HistoryEdit, load_cases, parse_case

FENCE = "```"

RENAME = f"""# Propagate a renamed parameter
tags: python, rename-propagation

## File: src/cart.py
{FENCE}python
def total(items, rate):
    return sum(i.price for i in items) * (1 + rate)
{FENCE}

## Edit history
{FENCE}diff 400ms
--- src/cart.py
+++ src/cart.py
@@
-def total(items, rate):
+def total(items, tax_rate):
{FENCE}

## Cursor: src/cart.py
{FENCE}python
def total(items, tax_rate<|user_cursor|>):
{FENCE}

## Expected
{FENCE}diff
--- src/cart.py
+++ src/cart.py
@@
 def total(items, tax_rate):
-    return sum(i.price for i in items) * (1 + rate)
+    return sum(i.price for i in items) * (1 + tax_rate)
{FENCE}
"""


def write(tmp_path: Path, text: str, name: str = "case.md") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_design_example_reads_into_the_model(tmp_path):
    [case] = load_cases([write(tmp_path, RENAME, "rename-param.md")])
    assert case.name == "rename-param"
    assert case.title == "Propagate a renamed parameter"
    assert case.format == "sparkforge"
    assert case.files == {
        "src/cart.py": "def total(items, rate):\n    return sum(i.price for i in items) * (1 + rate)\n"
    }
    assert case.history == (
        HistoryEdit(
            "src/cart.py",
            "def total(items, rate):\n    return sum(i.price for i in items) * (1 + rate)\n",
            "def total(items, tax_rate):\n    return sum(i.price for i in items) * (1 + rate)\n",
            400.0,
        ),
    )
    assert case.cursor_path == "src/cart.py"
    # "def total(items, tax_rate" is 25 characters.
    assert case.cursor_offset == 25
    assert case.expected == (
        Expected(
            "src/cart.py",
            "def total(items, tax_rate):\n    return sum(i.price for i in items) * (1 + tax_rate)\n",
        ),
    )
    assert case.tags == ("python", "rename-propagation")
    assert (case.language, case.kind, case.crlf) == ("python", "rename-propagation", False)
    assert case.current() == {"src/cart.py": case.history[-1].after}


def test_metadata_lines_override_the_tags_and_prose_is_allowed_under_the_title():
    text = RENAME.replace(
        "tags: python, rename-propagation\n",
        "tags: refactor\nkind: signature-change\nlanguage: python\ncrlf: true\n"
        "The user renamed a parameter; its use below must follow.\n<!-- a comment -->\n",
    )
    case = parse_case(text, "x.md")
    assert (case.tags, case.kind, case.language, case.crlf) == (("refactor",), "signature-change", "python", True)


def test_language_falls_back_to_the_cursor_file_suffix():
    case = parse_case(RENAME.replace("tags: python, rename-propagation\n", ""), "x.md")
    assert (case.language, case.kind, case.tags) == ("python", "", ())


def test_history_without_a_pause_waits_300ms_and_several_edits_chain():
    text = RENAME.replace("```diff 400ms", "```diff").replace(
        "\n## Cursor:",
        f"""{FENCE}diff 1.5s
--- src/cart.py
+++ src/cart.py
@@
     return sum(i.price for i in items) * (1 + rate)
+
{FENCE}

## Cursor:""",
        1,
    )
    # The second fence is inside "## Edit history": replace added it after the first one.
    text = text.replace(f"{FENCE}\n{FENCE}diff 1.5s", f"{FENCE}\n\n{FENCE}diff 1.5s")
    case = parse_case(text, "x.md")
    assert [e.delay_ms for e in case.history] == [300.0, 1500.0]
    assert case.history[1].before == case.history[0].after
    assert case.history[1].after.endswith("(1 + rate)\n\n")


def test_numbered_hunk_headers_break_ties():
    text = f"""# Two identical lines
## File: a.py
{FENCE}
x = 1
x = 1
{FENCE}
## Edit history
{FENCE}diff
--- a.py
+++ a.py
@@ -2,1 +2,1 @@
-x = 1
+x = 2
{FENCE}
## Cursor: a.py
{FENCE}
x = 2<|user_cursor|>
{FENCE}
## Expected: no edit
"""
    case = parse_case(text, "x.md")
    assert case.history[0].after == "x = 1\nx = 2\n"
    # Line 2 starts at offset 6; "x = 2" is 5 characters.
    assert case.cursor_offset == 11
    assert case.expected == ()
    assert case.kind == "no-edit"


def test_dev_null_creates_a_file_and_an_expected_edit_may_touch_two_files():
    text = f"""# New module, then its import
## File: app.py
{FENCE}python
import os
{FENCE}
## Edit history
{FENCE}diff
--- /dev/null
+++ b/util.py
@@ -0,0 +1,2 @@
+def helper():
+    return 1
{FENCE}
## Cursor: util.py
{FENCE}
    return 1<|user_cursor|>
{FENCE}
## Expected
{FENCE}diff
--- util.py
+++ util.py
@@
 def helper():
     return 1
+
{FENCE}
## Expected
{FENCE}diff
--- app.py
+++ app.py
@@
 import os
+from util import helper
--- util.py
+++ util.py
@@
-    return 1
+    return 2
{FENCE}
"""
    case = parse_case(text, "x.md")
    assert case.files == {"app.py": "import os\n"}
    assert case.history == (HistoryEdit("util.py", "", "def helper():\n    return 1\n", 300.0, created=True),)
    assert case.current() == {"app.py": "import os\n", "util.py": "def helper():\n    return 1\n"}
    # Line 2 starts at 14 ("def helper():\n"); "    return 1" is 12 characters.
    assert case.cursor_offset == 26
    assert case.expected == (
        Expected("util.py", "def helper():\n    return 1\n\n"),
        Expected(
            "util.py",
            "def helper():\n    return 2\n",
            other_files=(("app.py", "import os\nfrom util import helper\n"),),
        ),
    )


def test_a_markdown_file_in_a_four_backtick_fence_keeps_its_headings_and_fences():
    text = f"""# Finish a list item
tags: markdown, completion
## File: README.md
````markdown
# Tool

## Install
{FENCE}sh
pip install tool
{FENCE}
- one
- tw
````
## Cursor: README.md
{FENCE}
- tw<|user_cursor|>
{FENCE}
## Expected
{FENCE}diff
--- README.md
+++ README.md
@@
-- tw
+- two
{FENCE}
"""
    case = parse_case(text, "x.md")
    assert case.files["README.md"] == "# Tool\n\n## Install\n```sh\npip install tool\n```\n- one\n- tw\n"
    assert case.expected[0].after.endswith("- one\n- two\n")
    assert case.language == "markdown"


def test_an_empty_file_fence_is_an_empty_file():
    text = f"""# Start a file
## File: new.py
{FENCE}
{FENCE}
## Edit history
{FENCE}diff
--- new.py
+++ new.py
@@
+import sys
{FENCE}
## Cursor: new.py
{FENCE}
import sys<|user_cursor|>
{FENCE}
## Expected: no edit
"""
    case = parse_case(text, "x.md")
    assert case.files == {"new.py": ""}
    assert case.current() == {"new.py": "import sys\n"}
    assert case.cursor_offset == 10


def test_hunks_insert_by_line_number_and_keep_a_missing_final_newline():
    from sparkforge.evaluation.hunks import apply_file_diff, parse_diff

    [diff] = parse_diff("--- a.txt\n+++ a.txt\n@@ -2,0 +3,1 @@\n+three\n")
    # Line 2 and no old lines: insert after line 2.
    assert apply_file_diff("one\ntwo\nfour\n", diff) == "one\ntwo\nthree\nfour\n"
    [diff] = parse_diff("--- a.txt\n+++ a.txt\n@@\n-last\n\\ No newline at end of file\n+last\n")
    assert apply_file_diff("first\nlast", diff) == "first\nlast\n"
    [diff] = parse_diff("--- a.txt\n+++ a.txt\n@@\n+new\n")
    with pytest.raises(ValueError, match="has no context or removed lines to locate it in a non-empty file"):
        apply_file_diff("x\n", diff)


def test_load_cases_walks_directories_sorted_and_skips_readme(tmp_path):
    (tmp_path / "sub").mkdir()
    write(tmp_path, "# Not a case\n", "README.md")
    write(tmp_path / "sub", RENAME, "b.md")
    write(tmp_path, RENAME, "a.md")
    assert [c.name for c in load_cases([tmp_path])] == ["a", "b"]


BAD = [
    ("## File: a.py\n", "the first line must be the case's title"),
    (RENAME.replace("## Edit history", "## Edit histroy"), "line 10: unknown heading '## Edit histroy'"),
    (RENAME.replace("## Expected\n", "### Expected\n"), "unknown heading '### Expected'"),
    (RENAME.replace("tags:", "tgas:"), "line 2: unknown setting 'tgas'"),
    (RENAME.replace("## Cursor: src/cart.py\n", "## Cursor: src/cart.py\nsee below\n"), "line 20: text outside a fence"),
    (RENAME.replace("<|user_cursor|>", ""), "must hold <|user_cursor|> once, not 0 times"),
    (
        RENAME.replace("def total(items, tax_rate<|user_cursor|>):", "def total(items, rate<|user_cursor|>):"),
        "the cursor excerpt (from 'def total(items, rate):') is not in the file as it is after the history",
    ),
    (RENAME.replace("-def total(items, rate):\n+", "-def total(items, rte):\n+"), "edit 1 (line 11), src/cart.py: hunk 1 (@@)"),
    (RENAME.replace("--- src/cart.py\n+++ src/cart.py\n@@\n-def", "--- src/cat.py\n+++ src/cat.py\n@@\n-def", 1), "changes src/cat.py, which has no '## File: src/cat.py' section"),
    (RENAME.replace("```diff 400ms", "```diff soon"), "cannot read the pause 'soon'"),
    (RENAME.replace("```diff 400ms", "```python"), "must be a ```diff fence"),
    (RENAME.split("## Expected")[0], "no '## Expected' section"),
    (RENAME + "\n## Expected: no edit\n", "both '## Expected: no edit' and '## Expected' sections"),
    (RENAME.replace("rename-propagation", "no-edit"), "kind is 'no-edit' but the case has '## Expected' edits"),
    (RENAME.replace("@@\n def total", "@@\n def total(items, tax_rate):\n-x\n def total", 1), "its context and '-' lines"),
    (RENAME.removesuffix(f"{FENCE}\n"), "line 25: the fence ``` is never closed"),
    (RENAME.replace("@@\n-def total(items, rate):", "@@\n*def total(items, rate):"), "starts with none of ' ', '-', '+'"),
    (RENAME.replace("-def total(items, rate):\n+def total(items, tax_rate):", " def total(items, rate):"), "the diff changes nothing"),
]


@pytest.mark.parametrize(("text", "message"), BAD, ids=[m[:40] for _, m in BAD])
def test_bad_case_files_name_the_file_and_the_problem(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(CaseError) as info:
        load_cases([path])
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_an_ambiguous_hunk_is_refused_with_its_count():
    text = RENAME.replace(
        "def total(items, rate):\n    return",
        "def total(items, rate):\n    pass\ndef total(items, rate):\n    return",
        1,
    )
    with pytest.raises(CaseError, match=r"x.md: edit 1 \(line \d+\), src/cart.py: hunk 1 \(@@\): .* occur 2 times"):
        parse_case(text, "x.md")


def test_missing_paths_and_unknown_files_are_errors(tmp_path):
    with pytest.raises(CaseError, match="no such file or directory"):
        load_cases([tmp_path / "nope"])
    other = tmp_path / "notes.txt"
    other.write_text("hello")
    with pytest.raises(CaseError, match=r"notes.txt: not a case"):
        load_cases([other])


# -- Zed's eval cases -------------------------------------------------------------------

DATA = Path(__file__).resolve().parents[1] / "data" / "eval"

ZED_CASE = f"""+++
repository_url = "git@github.com:acme/shop"
revision = "REVISION"
tags = ["rename"]
+++

## Edit History

{FENCE}diff
--- a/src/cart.py
+++ b/src/cart.py
@@ -1,2 +1,2 @@
-def total(items, rate):
+def total(items, tax_rate):
     return sum(items) * (1 + rate)
{FENCE}

## Cursor Position

{FENCE}src/cart.py
def total(items, tax_rate):
#                        ^[CURSOR_POSITION]
    return sum(items) * (1 + rate)
{FENCE}

## Expected Patch

{FENCE}diff
--- a/src/cart.py
+++ b/src/cart.py
@@ -1,2 +1,2 @@
 def total(items, tax_rate):
-    return sum(items) * (1 + rate)
+    return sum(items) * (1 + tax_rate)
#                                    ^[CURSOR_POSITION]
{FENCE}
"""


def test_a_zed_case_without_a_checkout_uses_its_excerpt_as_the_file(tmp_path):
    [case] = load_cases([write(tmp_path, ZED_CASE, "shop--rename.md")])
    assert (case.format, case.name, case.tags, case.language) == ("zed", "shop--rename", ("rename",), "python")
    assert case.files == {"src/cart.py": "def total(items, rate):\n    return sum(items) * (1 + rate)\n"}
    assert case.history == (
        HistoryEdit(
            "src/cart.py",
            "def total(items, rate):\n    return sum(items) * (1 + rate)\n",
            "def total(items, tax_rate):\n    return sum(items) * (1 + rate)\n",
        ),
    )
    # The "^" is in column 25: right after "def total(items, tax_rate".
    assert case.cursor_offset == 25
    # The "[CURSOR_POSITION]" line inside the expected patch is not part of the patch.
    assert case.expected == (
        Expected("src/cart.py", "def total(items, tax_rate):\n    return sum(items) * (1 + tax_rate)\n"),
    )
    assert case.notes == (
        "no --repo-root: the case's excerpt of src/cart.py (git@github.com:acme/shop at REVISION) is used as the file",
    )


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_a_zed_case_with_a_checkout_reads_the_file_at_its_revision(tmp_path):
    repo = tmp_path / "acme" / "shop"
    (repo / "src").mkdir(parents=True)
    _git(repo, "init", "-q")
    body = "import math\n\n\ndef total(items, rate):\n    return sum(items) * (1 + rate)\n\n\ndef other():\n    pass\n"
    (repo / "src" / "cart.py").write_text(body)
    _git(repo, "add", ".")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "one")
    revision = _git(repo, "rev-parse", "HEAD")
    # The working tree moves on; the case must see the committed revision.
    (repo / "src" / "cart.py").write_text("changed later\n")
    path = write(tmp_path, ZED_CASE.replace("REVISION", revision), "shop--rename.md")
    [case] = load_cases([path], repo_root=tmp_path)
    assert case.files == {"src/cart.py": body}
    assert case.history[0].after == body.replace("items, rate", "items, tax_rate")
    # "import math\n\n\n" is 14 characters, then 25 to the cursor.
    assert case.cursor_offset == 39
    assert case.expected[0].after == body.replace("rate", "tax_rate")
    assert case.notes == ()


def test_a_zed_revision_missing_from_the_checkout_reads_the_working_tree_and_says_so(tmp_path):
    repo = tmp_path / "shop"
    (repo / "src").mkdir(parents=True)
    _git(repo, "init", "-q")
    (repo / "src" / "cart.py").write_text("def total(items, rate):\n    return sum(items) * (1 + rate)\n")
    [case] = load_cases([write(tmp_path, ZED_CASE, "c.md")], repo_root=tmp_path)
    assert case.cursor_offset == 25
    assert case.notes == (f"revision REVISION is not in {repo}: files were read from its working tree",)


def test_a_zed_expected_patch_to_another_file(tmp_path):
    other = f"""{FENCE}diff
--- a/src/other.py
+++ b/src/other.py
@@ -1,1 +1,1 @@
-RATE = 1
+RATE = 2
{FENCE}
"""
    both = ZED_CASE.replace(
        "#                                    ^[CURSOR_POSITION]\n",
        "#                                    ^[CURSOR_POSITION]\n--- a/src/other.py\n+++ b/src/other.py\n@@ -1,1 +1,1 @@\n-RATE = 1\n+RATE = 2\n",
    )
    # Without a checkout, the other file's change is left out and said so.
    [case] = load_cases([write(tmp_path, both, "both.md")])
    assert case.expected == (
        Expected("src/cart.py", "def total(items, tax_rate):\n    return sum(items) * (1 + tax_rate)\n"),
    )
    assert case.notes[1] == "1 expected patch(es) change other files than src/cart.py: those changes are left out"
    # A patch of the other file alone cannot be scored without it.
    only_other = ZED_CASE.split("## Expected Patch")[0] + "## Expected Patch\n\n" + other
    with pytest.raises(CaseError, match="every expected patch changes other files than src/cart.py: give --repo-root"):
        load_cases([write(tmp_path, only_other, "other.md")])
    # With a checkout, the other file is read at the revision, opened, and part of the alternative.
    repo = tmp_path / "shop"
    (repo / "src").mkdir(parents=True)
    _git(repo, "init", "-q")
    (repo / "src" / "cart.py").write_text("def total(items, rate):\n    return sum(items) * (1 + rate)\n")
    (repo / "src" / "other.py").write_text("RATE = 1\n")
    _git(repo, "add", ".")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "one")
    revision = _git(repo, "rev-parse", "HEAD")
    [case] = load_cases([write(tmp_path, both.replace("REVISION", revision), "both2.md")], repo_root=tmp_path)
    assert case.files["src/other.py"] == "RATE = 1\n"
    assert case.expected[0].other_files == (("src/other.py", "RATE = 2\n"),)


def test_zed_cursor_markers_inline_and_at_the_first_column():
    from sparkforge.evaluation.zed import cursor_excerpt

    assert cursor_excerpt("fn main() {\n    let x = <|user_cursor|>42;\n}") == ("fn main() {\n    let x = 42;\n}", 24)
    # "<": the cursor is at the marker comment's first character: column 4 of "    let".
    assert cursor_excerpt("fn main() {\n    let x = 42;\n    // <[CURSOR_POSITION]\n}") == (
        "fn main() {\n    let x = 42;\n}",
        16,
    )
    # Zed counts the "^" column in UTF-8 bytes: "é" is 2 bytes, so byte 9 is str index 8.
    assert cursor_excerpt('s = "é";\n#       ^[CURSOR_POSITION]') == ('s = "é";', 7)


def test_the_zed_cases_under_tests_load_without_a_checkout():
    cases = load_cases([DATA / "zed"])
    assert len(cases) >= 6
    assert {c.language for c in cases} >= {"python", "typescript", "go", "rust", "java", "markdown"}
    go = next(c for c in cases if c.name == "go--check-error-after-call")
    # " // <[CURSOR_POSITION]" under a line holding one tab: column 1 of that line.
    text = go.current_text()
    assert text[: go.cursor_offset].endswith("s.store.Find(ctx, id)\n\t")
    assert go.expected[0].after == text.replace(
        "\t\n\treturn user, nil",
        '\tif err != nil {\n\t\treturn nil, fmt.Errorf("find user %s: %w", id, err)\n\t}\n\treturn user, nil',
    )
    assert [len(c.expected) for c in cases if c.name == "typescript--await-after-async"] == [2]


ZED_BAD = [
    (ZED_CASE.replace("## Cursor Position", "## Cursor"), "no '## Cursor Position' fence"),
    (ZED_CASE.split("## Expected Patch")[0], "no '## Expected Patch' fence: nothing to score"),
    (ZED_CASE.replace("#                        ^[CURSOR_POSITION]", "#   [CURSOR_POSITION]"), "neither '^' nor '<'"),
    (ZED_CASE.replace("#                        ^[CURSOR_POSITION]", "#" + " " * 40 + "^[CURSOR_POSITION]"), "past the end of the line"),
    (ZED_CASE.replace("+    return sum(items) * (1 + tax_rate)", "+    return 0").replace("-    return sum(items) * (1 + rate)", "-    return nothing"), "is not in the excerpt"),
    (ZED_CASE.replace('revision = "REVISION"', "revision = "), "the front matter is not TOML"),
]


@pytest.mark.parametrize(("text", "message"), ZED_BAD, ids=[m[:30] for _, m in ZED_BAD])
def test_bad_zed_cases_name_the_file_and_the_problem(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(CaseError) as info:
        load_cases([path])
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)


# -- Copilot's NES recordings -----------------------------------------------------------

def recording(tmp_path: Path, log: list, edits: list, name: str = "rec") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "recording.w.json").write_text(json.dumps({"log": log}))
    (folder / "scoredEdits.w.json").write_text(json.dumps({"edits": edits, "scoringContext": {"kind": "recording"}}))
    return folder


# "// 😀\nlet x = 1;\nlet y = x;\n": the emoji is 2 UTF-16 units, 1 str character.
# UTF-16 offsets: "// " 0-3, emoji 3-5, "\n" 5, "let x" 6-11 (x at 10), " = 1;\n" to 17,
# "let y = x;" 17-27 (the x at 25).
LOG = [
    {"kind": "header", "documentType": "workspaceRecording@1.0", "repoRootUri": "file:///repo", "time": 1000, "uuid": "u"},
    {"kind": "documentEncountered", "id": 7, "relativePath": "src\\a.ts", "time": 1000},
    {"kind": "setContent", "id": 7, "content": "// 😀\nlet x = 1;\nlet y = x;\n", "v": 1, "time": 1010},
    {"kind": "opened", "id": 7, "time": 1010},
    {"kind": "selectionChanged", "id": 7, "selection": [[11, 11]], "time": 1500},
    {"kind": "changed", "id": 7, "edit": [[10, 11, "count"]], "v": 2, "time": 1900},
    {"kind": "selectionChanged", "id": 7, "selection": [[15, 15]], "time": 1905},
]
# After the change the second x (was 25) is at 29; the edits below are against that text.
RENAME_Y = {"documentUri": "file:///repo/src/a.ts", "edit": [[29, 30, "count"]], "scoreCategory": "nextEdit", "score": 0}
NOTHING = {"documentUri": "file:///repo/src/a.ts", "edit": None, "scoreCategory": "valid", "score": 0}
UNDO = {"documentUri": "file:///repo/src/a.ts", "edit": [[10, 15, "x"]], "scoreCategory": "bad", "score": 0}
UNSCORED = {"documentUri": "file:///repo/src/a.ts", "edit": [[0, 0, "!"]], "scoreCategory": "unscored", "score": "unscored"}


def test_a_copilot_recording_replays_to_its_end_with_utf16_offsets(tmp_path):
    [case] = load_cases([recording(tmp_path, LOG, [UNDO, NOTHING, RENAME_Y, UNSCORED])])
    assert (case.format, case.name, case.language, case.crlf) == ("copilot", "rec", "typescript", False)
    assert case.files == {"src/a.ts": "// 😀\nlet x = 1;\nlet y = x;\n"}
    # The change came 400 ms after the selection before it.
    assert case.history == (
        HistoryEdit("src/a.ts", "// 😀\nlet x = 1;\nlet y = x;\n", "// 😀\nlet count = 1;\nlet y = x;\n", 400.0),
    )
    # The last selection, UTF-16 offset 15, is str index 14: right after "let count".
    assert case.cursor_offset == 14
    assert case.current_text()[: case.cursor_offset].endswith("let count")
    # Best first: the expected next edit (1), no edit graded valid (0.1), the undo graded bad (0).
    assert case.expected == (
        Expected("src/a.ts", "// 😀\nlet count = 1;\nlet y = count;\n", 1.0),
        Expected("src/a.ts", "// 😀\nlet count = 1;\nlet y = x;\n", 0.1),
        Expected("src/a.ts", "// 😀\nlet x = 1;\nlet y = x;\n", 0.0),
    )
    assert case.notes == ("1 unscored edit(s) skipped",)
    assert case.kind == ""


def test_a_copilot_cursor_after_the_last_edit_when_no_selection_follows(tmp_path):
    [case] = load_cases([recording(tmp_path, LOG[:-1], [RENAME_Y])])
    # Just past the inserted "count": str index 14 again.
    assert case.cursor_offset == 14


def test_a_copilot_recording_in_crlf_becomes_lf_with_the_flag(tmp_path):
    log = [
        {"kind": "documentEncountered", "id": 1, "relativePath": "a.py", "time": 0},
        {"kind": "setContent", "id": 1, "content": "a = 1\r\nb = a\r\n", "v": 1, "time": 0},
        # Replace "a" in "a = 1" (offset 0) by "n".
        {"kind": "changed", "id": 1, "edit": [[0, 1, "n"]], "v": 2, "time": 5000},
    ]
    # "b = a" starts at 7 (after "\r\n"); its "a" is at 11.
    edits = [{"documentUri": "a.py", "edit": [[11, 12, "n"]], "scoreCategory": "nextEdit", "score": 0}]
    [case] = load_cases([recording(tmp_path, log, edits)])
    assert case.crlf
    assert case.files == {"a.py": "a = 1\nb = a\n"}
    # A pause longer than 2 s is replayed as 2 s.
    assert case.history == (HistoryEdit("a.py", "a = 1\nb = a\n", "n = 1\nb = a\n", 2000.0),)
    assert case.cursor_offset == 1
    assert case.expected == (Expected("a.py", "n = 1\nb = n\n", 1.0),)


def test_a_copilot_recording_whose_expected_next_edit_is_none_expects_no_edit(tmp_path):
    none = dict(NOTHING, scoreCategory="nextEdit")
    [case] = load_cases([recording(tmp_path, LOG, [RENAME_Y | {"scoreCategory": "valid"}, none])])
    assert case.expected == ()
    assert case.kind == "no-edit"
    assert case.notes == ("the expected next edit is no edit: 1 other graded edit(s) dropped",)


def test_recording_files_named_by_prefix_pair_up(tmp_path):
    (tmp_path / "one.recording.w.json").write_text(json.dumps({"log": LOG}))
    (tmp_path / "one.scoredEdits.w.json").write_text(json.dumps({"edits": [RENAME_Y]}))
    [case] = load_cases([tmp_path])
    assert case.name == "one"
    assert case.expected[0].score == 1.0


def test_the_copilot_recordings_under_tests_load():
    cases = load_cases([DATA / "copilot"])
    assert len(cases) >= 6
    assert {c.language for c in cases} >= {"python", "typescript", "go", "rust", "java", "markdown"}
    assert [c.name for c in cases if c.crlf] == ["python-crlf-use-new-parameter"]
    assert [c.name for c in cases if c.kind == "no-edit"] == ["python-no-edit-after-return"]
    two = next(c for c in cases if c.name == "typescript-fill-new-field-in-other-file")
    assert set(two.files) == {"src/types.ts", "src/fixtures.ts"}
    assert two.cursor_path == "src/fixtures.ts"
    assert two.history[0].path == "src/types.ts"


def test_every_expected_edit_under_tests_lies_in_the_editable_region():
    # The fast model's region is the cursor line and 3 lines either side (docs/prompts.md),
    # so that --oracle can give every expected edit.
    import difflib

    for case in load_cases([DATA / "zed", DATA / "copilot"]):
        cursor_line = case.current_text()[: case.cursor_offset].count("\n")
        for alt in case.expected:
            if alt.score < 1:
                continue
            before = case.current()[alt.path].split("\n")
            opcodes = difflib.SequenceMatcher(None, before, alt.after.split("\n"), autojunk=False).get_opcodes()
            rows = [row for tag, i1, i2, _, _ in opcodes if tag != "equal" for row in (i1, max(i1, i2 - 1))]
            assert rows and alt.path == case.cursor_path, case.name
            assert all(abs(row - cursor_line) <= 3 for row in rows), (case.name, rows, cursor_line)


COPILOT_BAD = [
    (LOG[:1] + LOG[2:], [RENAME_Y], "log entry 2: setContent for document 7, which no documentEncountered entry named"),
    (LOG[:2] + LOG[4:], [RENAME_Y], "log entry 3: selectionChanged for src/a.ts before its setContent"),
    (LOG[:3], [RENAME_Y], "no 'changed' or 'selectionChanged' entry"),
    (LOG + [{"kind": "teleported", "id": 7}], [RENAME_Y], "log entry 8: unknown log entry kind 'teleported'"),
    (LOG[:5] + [dict(LOG[5], edit=[[10, 99, "x"]])], [RENAME_Y], "log entry 6: character 99 is past the end"),
    (LOG, [dict(RENAME_Y, scoreCategory="great")], "edit 1: unknown scoreCategory 'great'"),
    (LOG, [dict(RENAME_Y, documentUri="file:///repo/src/b.ts")], "edit 1: 'file:///repo/src/b.ts' is no document of the recording"),
    (LOG, [UNSCORED], "no scored edit"),
]


@pytest.mark.parametrize(("log", "edits", "message"), COPILOT_BAD, ids=[m[:30] for *_, m in COPILOT_BAD])
def test_bad_copilot_recordings_name_the_file_and_the_problem(tmp_path, log, edits, message):
    folder = recording(tmp_path, log, edits)
    with pytest.raises(CaseError) as info:
        load_cases([folder])
    assert str(info.value).startswith(f"{folder}/")
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_a_copilot_recording_without_its_scores_or_with_broken_json(tmp_path):
    folder = tmp_path / "r"
    folder.mkdir()
    (folder / "recording.w.json").write_text("{\"log\": [")
    with pytest.raises(CaseError, match=r"r/recording.w.json: no scoredEdits.w.json beside it"):
        load_cases([folder])
    (folder / "scoredEdits.w.json").write_text("{}")
    with pytest.raises(CaseError, match=r"r/recording.w.json: not JSON \(line 1: Expecting value\)"):
        load_cases([folder])
