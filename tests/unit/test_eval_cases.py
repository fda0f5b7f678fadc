"""Reading eval cases: our Markdown format, Zed's eval cases, Copilot's NES recordings."""

from __future__ import annotations

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
