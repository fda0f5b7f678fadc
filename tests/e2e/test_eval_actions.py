"""``sparkforge eval actions`` as a user runs it (a subprocess): the project's cases pass
under ``--oracle``, and wrong answers are scored as the failures they are, each for its
reason. The command starts its own ``sparkforge model-server`` and ``sparkforge lsp``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CASES = REPO / "eval" / "actions"


def eval_actions(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    # The user's own model settings and key must not leak into a test.
    env = {k: v for k, v in os.environ.items()
           if k != "OPENAI_API_KEY" and not k.startswith(("SPARKFORGE_FAST_", "SPARKFORGE_DEEP_"))}
    return subprocess.run([sys.executable, "-m", "sparkforge", "eval", "actions", *args],
                          capture_output=True, text=True, timeout=timeout, env=env)


def with_answer(case: str, answer: str) -> str:
    """The text of eval/actions/``case``.md with its ``## Answer`` section replaced."""
    text = (CASES / f"{case}.md").read_text(encoding="utf-8")
    return text[: text.index("## Answer\n")] + "## Answer\n" + answer


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.md"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_oracle_passes_every_project_case(tmp_path):
    report = tmp_path / "report.json"
    markdown = tmp_path / "report.md"
    out = eval_actions(str(CASES), "--oracle", "--json", str(report), "--markdown", str(markdown))
    assert out.returncode == 0, out.stdout + out.stderr
    data = json.loads(report.read_text())
    (model,) = data["models"]
    failed = {c["name"]: c["reason"] for c in model["cases"] if not c["passed"]}
    assert failed == {}
    assert model["model"] == "deep: gpt-5.3-codex"
    summary = model["summary"]
    assert (summary["passed"], summary["cases"]) == (28, 28)
    assert summary["by_kind"] == {"generate-tests": {"passed": 8, "cases": 8}, "document": {"passed": 6, "cases": 6},
                                "fix": {"passed": 7, "cases": 7}, "refactor": {"passed": 7, "cases": 7}}
    assert summary["input_tokens"] > 0 and summary["output_tokens"] > 0  # the model server really answered
    assert model["oracle_requests"] == {"responses": {"gpt-5.3-codex": 28}, "chat": {}}  # one request a case
    assert {c["via"] for c in model["cases"]} == {"codeAction/resolve"}  # as VS Code gets an action's edit
    reasons = {c["name"]: c["reason"] for c in model["cases"]}
    # a multi-file edit: the caller in the other open file was updated, or its tests would fail
    assert reasons["refactor-rename-with-callers"] == "prices.py changed; 2 hidden tests pass"
    assert reasons["fix-chunks"] == "test_keeps_the_short_last_chunk now passes; 3 hidden tests pass"
    assert reasons["generate-tests-clamp"] == "4 generated tests pass on the original, 1 fails on the mutant"
    assert reasons["document-stack-method"] == "pop has a docstring; 2 hidden tests pass"
    assert reasons["refactor-dict-lookup"] == "http_status.py changed; 2 hidden tests pass"
    # the same table on stdout and in the Markdown file, a row per model
    row = "| deep: gpt-5.3-codex | 28/28 (100%) | 8/8 | 6/6 | 7/7 | 7/7 |"
    assert row in out.stdout and row in markdown.read_text()


# Wrong answers, each a copy of a project case with another answer: scored in one run.
TESTS_FAIL_ON_THE_ORIGINAL = """\
```patch
*** Begin Patch
*** Add File: tests/test_clamp.py
+from clamp import clamp
+
+
+def test_inside():
+    assert clamp(5, 0, 10) == 5
+
+
+def test_above_gives_low():
+    assert clamp(12, 0, 10) == 0
*** End Patch
```
"""

TESTS_MISS_THE_MUTANT = """\
```patch
*** Begin Patch
*** Add File: tests/test_clamp.py
+from clamp import clamp
+
+
+def test_inside():
+    assert clamp(5, 0, 10) == 5
+
+
+def test_below():
+    assert clamp(-1, 0, 10) == 0
*** End Patch
```
"""

DOCSTRING_BREAKS_THE_SYNTAX = """\
```patch
*** Begin Patch
*** Update File: slug.py
@@ def slugify(title, sep="-"):
+    \"\"\"Turn a title into a URL slug.
     words = re.findall(r"[a-z0-9]+", title.lower())
*** End Patch
```
"""

COMMENT_IS_NO_DOCSTRING = """\
```patch
*** Begin Patch
*** Update File: slug.py
@@ def slugify(title, sep="-"):
+    # Turn a title into a URL slug.
     words = re.findall(r"[a-z0-9]+", title.lower())
*** End Patch
```
"""

FIX_BREAKS_ANOTHER_TEST = """\
```patch
*** Begin Patch
*** Update File: average.py
@@ def average(values):
-    return sum(values) / len(values)
+    return 0.0
*** End Patch
```
"""

FIX_FIXES_NOTHING = """\
```patch
*** Begin Patch
*** Update File: chunks.py
@@ def chunks(items, size):
-    out = []
+    out = []  # the chunks
*** End Patch
```
"""

REFACTOR_CHANGES_BEHAVIOUR = """\
```patch
*** Begin Patch
*** Update File: evens.py
@@ def squares_of_evens(numbers):
-    result = []
-    for n in numbers:
-        if n % 2 == 0:
-            result.append(n * n)
-    return result
+    return [n * n for n in numbers if n % 2]
*** End Patch
```
"""

NO_EDIT_AT_ALL = "I would rather not change this code.\n"

TESTS_THAT_CHANGE_THE_CODE = """\
```patch
*** Begin Patch
*** Update File: clamp.py
@@ def clamp(value, low, high):
-    if low > high:
+    if low >= high:
*** Add File: tests/test_clamp.py
+from clamp import clamp
+
+
+def test_inside():
+    assert clamp(5, 0, 10) == 5
*** End Patch
```
"""


def test_wrong_answers_are_scored_as_failures(tmp_path):
    cases = tmp_path / "cases"
    write(cases, "tests-fail-on-the-original", with_answer("generate-tests-clamp", TESTS_FAIL_ON_THE_ORIGINAL))
    write(cases, "tests-miss-the-mutant", with_answer("generate-tests-clamp", TESTS_MISS_THE_MUTANT))
    write(cases, "docstring-breaks-the-syntax", with_answer("document-slugify", DOCSTRING_BREAKS_THE_SYNTAX))
    write(cases, "comment-is-no-docstring", with_answer("document-slugify", COMMENT_IS_NO_DOCSTRING))
    write(cases, "fix-breaks-another-test", with_answer("fix-average-empty", FIX_BREAKS_ANOTHER_TEST))
    write(cases, "fix-fixes-nothing", with_answer("fix-chunks", FIX_FIXES_NOTHING))
    write(cases, "refactor-changes-behaviour", with_answer("refactor-comprehension", REFACTOR_CHANGES_BEHAVIOUR))
    write(cases, "no-edit-at-all", with_answer("refactor-sum-loop", NO_EDIT_AT_ALL))
    write(cases, "tests-that-change-the-code", with_answer("generate-tests-clamp", TESTS_THAT_CHANGE_THE_CODE))
    # the cursor on `import re`, in no function: the lightbulb has nothing to document
    write(cases, "nothing-offered-there", (CASES / "document-slugify.md").read_text(encoding="utf-8").replace(
        "at: slug.py:4\n", "at: slug.py:1\nfunction: slugify\n"))
    report = tmp_path / "report.json"
    out = eval_actions(str(cases), "--oracle", "--json", str(report))
    assert out.returncode == 0, out.stdout + out.stderr  # every case ran: failures are results
    (model,) = json.loads(report.read_text())["models"]
    verdicts = {c["name"]: (c["passed"], c["reason"]) for c in model["cases"]}
    assert verdicts == {
        "tests-fail-on-the-original": (False, "the generated tests do not pass on the original code: test_above_gives_low"),
        "tests-miss-the-mutant": (False, "no generated test fails on the seeded mutant (2 pass on both)"),
        "docstring-breaks-the-syntax": (False, "slug.py no longer parses: line 5: unterminated triple-quoted string literal (detected at line 7)"),
        "comment-is-no-docstring": (False, "slugify has no docstring"),
        "fix-breaks-another-test": (False, "the fix broke other tests: test_average"),
        "fix-fixes-nothing": (False, "still failing: test_keeps_the_short_last_chunk"),
        "refactor-changes-behaviour": (False, "hidden tests fail after Refactor: test_squares_of_evens"),
        "no-edit-at-all": (False, f"codeAction/resolve failed: {NO_EDIT_MESSAGE}"),
        "tests-that-change-the-code": (False, "the action changed clamp.py (tests must leave the code alone)"),
        "nothing-offered-there": (False, "no document action offered at slug.py:1 (offered: nothing)"),
    }
    assert (model["summary"]["passed"], model["summary"]["cases"]) == (0, 10)
    assert "| deep: gpt-5.3-codex | 0/10 (0%) | 0/3 | 0/3 | 0/2 | 0/2 |" in out.stdout


NO_EDIT_MESSAGE = ('sparkforge: Refactor: gpt-5.3-codex answered without an edit ("I would rather not change '
                   'this code."); nothing was applied. Run the action again: a model answers differently each time')


def test_two_models_are_two_rows_of_one_table(tmp_path):
    cases = tmp_path / "cases"
    for name in ("fix-chunks", "document-class"):
        write(cases, name, (CASES / f"{name}.md").read_text(encoding="utf-8"))
    report = tmp_path / "report.json"
    out = eval_actions(str(cases), "--oracle", "--model", "deep", "--model", "fast", "--json", str(report))
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    head = lines.index("| model | passed | document | fix | resolve p50 s | tokens in / out | cost |")
    deep, fast = lines[head + 2], lines[head + 3]
    assert lines[head + 4] == ""  # one table, a row per model
    assert deep.startswith("| deep: gpt-5.3-codex | 2/2 (100%) | 1/1 | 1/1 | ")
    assert fast.startswith("| fast: gpt-5.3-codex-spark | 2/2 (100%) | 1/1 | 1/1 | ")
    # the session cost the server reports: gpt-5.3-codex has a price, the Spark preview none,
    # so the fast row's actions really went to the fast model
    assert deep.split(" | ")[-1].startswith("$") and fast.endswith(" | - |")


def test_the_oracle_speaks_chat_completions_too(tmp_path):
    # over Chat Completions the oracle answers each case's edits as one unified diff
    cases = tmp_path / "cases"
    for name in ("generate-tests-roman-extend", "document-class", "fix-mutable-default", "refactor-extract-function"):
        write(cases, name, (CASES / f"{name}.md").read_text(encoding="utf-8"))
    report = tmp_path / "report.json"
    out = eval_actions(str(cases), "--oracle", "--api", "chat", "--json", str(report))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "| deep: gpt-5.3-codex | 4/4 (100%) | 1/1 | 1/1 | 1/1 | 1/1 |" in out.stdout
    (model,) = json.loads(report.read_text())["models"]
    assert model["oracle_requests"] == {"responses": {}, "chat": {"gpt-5.3-codex": 4}}


def test_a_client_without_resolve_gets_its_edits_through_workspace_apply_edit(tmp_path):
    cases = tmp_path / "cases"
    for name in ("generate-tests-clamp", "document-stack-method", "fix-chunks", "refactor-rename-with-callers"):
        write(cases, name, (CASES / f"{name}.md").read_text(encoding="utf-8"))
    report = tmp_path / "report.json"
    out = eval_actions(str(cases), "--oracle", "--client", "plain", "--json", str(report))
    assert out.returncode == 0, out.stdout + out.stderr
    (model,) = json.loads(report.read_text())["models"]
    assert [(c["name"], c["passed"], c["via"]) for c in model["cases"]] == [
        ("document-stack-method", True, "workspace/applyEdit"),
        ("fix-chunks", True, "workspace/applyEdit"),
        ("generate-tests-clamp", True, "workspace/applyEdit"),
        ("refactor-rename-with-callers", True, "workspace/applyEdit"),
    ]


def test_the_project_cases_hold(tmp_path):
    # each hidden suite passes on its code (a fix's failing tests fail) and catches its mutant
    report = tmp_path / "report.json"
    out = eval_actions(str(CASES), "--check", "--json", str(report))
    assert out.returncode == 0, out.stdout + out.stderr
    (row,) = json.loads(report.read_text())["models"]
    assert {c["name"]: c["reason"] for c in row["cases"] if not c["passed"]} == {}
    assert row["summary"]["cases"] == 28
    reasons = {c["name"]: c["reason"] for c in row["cases"]}
    assert reasons["generate-tests-median"] == "3 hidden tests pass; 1 fails on the mutant"
    assert reasons["fix-undefined-name"] == "2 of 2 hidden tests fail before the fix"


def test_check_finds_cases_that_do_not_mean_what_they_say(tmp_path):
    cases = tmp_path / "cases"
    good = (CASES / "fix-chunks.md").read_text(encoding="utf-8")
    write(cases, "fix-ok", good)
    write(cases, "fix-already-passing", good.replace("failing: test_keeps_the_short_last_chunk", "failing: test_even_split"))
    mutant = (CASES / "generate-tests-median.md").read_text(encoding="utf-8")
    write(cases, "mutant-not-caught", mutant.replace(
        "-    return (ordered[middle - 1] + ordered[middle]) / 2\n+    return ordered[middle]",
        "-    return (ordered[middle - 1] + ordered[middle]) / 2\n+    return (ordered[middle] + ordered[middle - 1]) / 2"))
    report = tmp_path / "report.json"
    out = eval_actions(str(cases), "--check", "--json", str(report))
    assert out.returncode == 1, out.stdout + out.stderr
    (row,) = json.loads(report.read_text())["models"]
    verdicts = {c["name"]: (c["passed"], c["reason"]) for c in row["cases"]}
    assert verdicts == {
        "fix-ok": (True, "1 of 3 hidden tests fail before the fix"),
        "fix-already-passing": (False, "test_even_split passes before the fix"),
        "mutant-not-caught": (False, "the hidden tests all pass on the mutant: it seeds no bug they catch"),
    }


def test_a_malformed_case_is_one_line_naming_the_file(tmp_path):
    bad = write(tmp_path, "bad", (CASES / "fix-chunks.md").read_text(encoding="utf-8").replace("kind: fix", "kind: fixx"))
    out = eval_actions(str(bad), "--oracle")
    assert out.returncode == 1
    assert out.stderr == (f"sparkforge eval actions: {bad}: kind: 'fixx' is not one of "
                          "generate-tests, document, fix, refactor\n")
    missing = tmp_path / "nowhere"
    out = eval_actions(str(missing))
    assert (out.returncode, out.stderr) == (1, f"sparkforge eval actions: {missing}: no such file or directory\n")
    no_answer = write(tmp_path / "more", "no-answer", with_answer("fix-chunks", "").split("## Answer")[0])
    out = eval_actions(str(no_answer), "--oracle")
    assert (out.returncode, out.stderr) == (
        1, f"sparkforge eval actions: {no_answer}: no '## Answer' section, which --oracle needs\n")
    # an oracle answer must apply to the case's own files (else it is no answer at all)
    text = (CASES / "fix-chunks.md").read_text(encoding="utf-8")
    stale = write(tmp_path / "stale", "stale", text.replace("-    for i in range(0, len(items) - size + 1, size):",
                                                            "-    for i in range(0, len(items) - 1, size):"))
    out = eval_actions(str(stale), "--oracle")
    assert (out.returncode, out.stderr) == (
        1, f"sparkforge eval actions: {stale}: the answer does not apply to the case's files: its 3 context "
           "and '-' lines from '    out = []' are not in the file after line 1\n")
