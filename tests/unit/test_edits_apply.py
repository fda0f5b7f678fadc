"""Locating hunks and planning edits: what the user's files would become, or why not."""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparkforge.edits import (
    EditPlan,
    PatchApplier,
    PatchError,
    SourceText,
    TextChange,
    apply_hunks,
    parse_patches,
    parse_unified_diff,
    parse_v4a,
    text_sha256,
)
from sparkforge.models.events import PatchOperation


def apply_changes(text: str, changes: list[TextChange]) -> str:
    """Apply changes the way an editor does: positions are (line, str index) in ``text``."""
    starts = [0]
    i = 0
    while True:
        j = min((k for k in (text.find("\r\n", i), text.find("\n", i), text.find("\r", i)) if k >= 0), default=-1)
        if j < 0:
            break
        i = j + (2 if text.startswith("\r\n", j) else 1)
        starts.append(i)
    out, cursor = [], 0
    for c in sorted(changes, key=lambda c: (c.start_line, c.start_char)):
        start = starts[c.start_line] + c.start_char
        end = starts[c.end_line] + c.end_char if c.end_line < len(starts) else len(text)
        assert start >= cursor, "changes overlap"
        out += (text[cursor:start], c.new_text)
        cursor = end
    out.append(text[cursor:])
    return "".join(out)


def unified(old: str, new: str, path: str = "f.txt", shift: int = 0) -> str:
    lines = difflib.unified_diff(old.splitlines(), new.splitlines(), f"a/{path}", f"b/{path}", lineterm="")
    out = []
    for line in lines:
        if line.startswith("@@") and shift:
            # Models get line numbers wrong: move every hunk header.
            head, _, rest = line[3:].partition(" @@")
            (o, n) = head.split(" ")
            o_start, _, o_len = o[1:].partition(",")
            line = f"@@ -{max(int(o_start) + shift, 1)}{',' + o_len if o_len else ''} {n} @@{rest}"
        out.append(line)
    return "\n".join(out) + "\n"


def apply_unified(old: str, diff: str) -> str:
    [patch] = parse_unified_diff(diff)
    new, changes = apply_hunks(old, patch.hunks, patch.path)
    assert apply_changes(old, changes) == new
    return new


class Workspace:
    def __init__(self, root: Path, files: dict[str, str] | None = None, open_docs: dict[str, str] | None = None):
        self.root = root
        self.open_docs = open_docs or {}
        for path, text in (files or {}).items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_bytes(text.encode())
        self.applier = PatchApplier(root, self.read)

    def read(self, path: str) -> str | SourceText | None:
        if path in self.open_docs:
            return SourceText(self.open_docs[path], version=7)
        p = self.root / path
        return p.read_bytes().decode() if p.is_file() else None

    def plan(self, patches) -> EditPlan:
        return self.applier.plan(patches)


APP = "".join(f"line {i}\n" for i in range(1, 51))


# --- unified diffs -----------------------------------------------------------------------


def test_unified_diff_applies_with_minimal_changes():
    new = APP.replace("line 20\n", "line twenty\n").replace("line 40\n", "")
    diff = unified(APP, new, "app.txt")
    [patch] = parse_unified_diff(diff)
    text, changes = apply_hunks(APP, patch.hunks)
    assert text == new
    assert changes == [TextChange(19, 0, 20, 0, "line twenty\n"), TextChange(39, 0, 40, 0, "")]


@pytest.mark.parametrize("shift", [-15, -3, 4, 30])
def test_wrong_line_numbers_still_apply_by_context(shift):
    new = APP.replace("line 25\n", "line 25\ninserted\n").replace("line 31\n", "LINE 31\n")
    assert apply_unified(APP, unified(APP, new, shift=shift)) == new


def test_nearest_match_to_the_stated_line_wins():
    text = "x = 1\ny = 2\n" * 3
    diff = "--- a/f\n+++ b/f\n@@ -3,2 +3,2 @@\n x = 1\n-y = 2\n+y = 3\n"
    assert apply_unified(text, diff) == "x = 1\ny = 2\nx = 1\ny = 3\nx = 1\ny = 2\n"


def test_whitespace_insensitive_match_keeps_file_indentation():
    text = "class A:\n    def f(self):\n        x = 1   \n        return x\n"
    # The model lost the indentation and the trailing spaces.
    diff = "--- a/a.py\n+++ b/a.py\n@@ -2,3 +2,3 @@\n def f(self):\n     x = 1\n-    return x\n+    return x + 1\n"
    assert apply_unified(text, diff) == "class A:\n    def f(self):\n        x = 1   \n        return x + 1\n"


def test_unicode_punctuation_normalised():
    text = "msg = \u201chello\u201d  # \u2014 greeting\nprint(msg)\n"
    diff = '--- a/m.py\n+++ b/m.py\n@@ -1,2 +1,2 @@\n msg = "hello"  # - greeting\n-print(msg)\n+print(msg.upper())\n'
    assert apply_unified(text, diff) == "msg = \u201chello\u201d  # \u2014 greeting\nprint(msg.upper())\n"


def test_fuzzy_match_tolerates_a_changed_context_line():
    text = "def f():\n    a = 1\n    b = 2  # tuned\n    c = 3\n    return a + b + c\n"
    diff = (
        "--- a/f.py\n+++ b/f.py\n@@ -1,5 +1,5 @@\n def f():\n     a = 1\n     b = 2\n     c = 3\n"
        "-    return a + b + c\n+    return a * b * c\n"
    )
    assert apply_unified(text, diff) == text.replace("a + b + c", "a * b * c")


def test_hunk_that_cannot_be_located_names_file_and_hunk(tmp_path):
    ws = Workspace(tmp_path, {"src/app.py": APP, "src/other.py": "x = 1\n"})
    diff = (
        "--- a/src/other.py\n+++ b/src/other.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n"
        "--- a/src/app.py\n+++ b/src/app.py\n@@ -2,2 +2,2 @@\n line 2\n-line 3\n+line three\n"
        "@@ -40,3 +40,3 @@\n def total(items):\n-    return 0\n+    return sum(items)\n"
    )
    with pytest.raises(PatchError) as info:
        ws.plan(parse_patches(diff))
    assert str(info.value) == (
        'cannot locate hunk 2 of src/app.py (near line 40: "def total(items):"): '
        "the file has changed or the patch is wrong; nothing was applied"
    )
    assert (info.value.path, info.value.hunk) == ("src/app.py", 2)
    # Planning never writes: the files on disk are untouched.
    assert (tmp_path / "src/other.py").read_text() == "x = 1\n"


def test_overlapping_hunks_are_refused():
    diff = "--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n line 1\n-line 2\n+two\n@@ -2,1 +2,1 @@\n-line 2\n+deux\n"
    [patch] = parse_unified_diff(diff)
    with pytest.raises(PatchError, match="hunks 1 and 2 of f change the same lines"):
        apply_hunks(APP, patch.hunks, "f")


def test_crlf_file_stays_crlf():
    text = "a\r\nb\r\nc\r\n"
    assert apply_unified(text, "--- a/f\n+++ b/f\n@@ -1,3 +1,4 @@\n a\n-b\n+B\n+B2\n c\n") == "a\r\nB\r\nB2\r\nc\r\n"


def test_trailing_newline_state_is_preserved():
    assert apply_unified("a\nb", "--- a/f\n+++ b/f\n@@ -1,2 +1,3 @@\n a\n b\n+c\n") == "a\nb\nc"
    assert apply_unified("a\nb", "--- a/f\n+++ b/f\n@@ -1,2 +1,1 @@\n a\n-b\n") == "a"
    assert apply_unified("a\nb\n", "--- a/f\n+++ b/f\n@@ -2 +2 @@\n-b\n+B\n") == "a\nB\n"
    # An explicit marker is the one way to change it.
    marked = "--- a/f\n+++ b/f\n@@ -2 +2 @@\n-b\n+B\n\\ No newline at end of file\n"
    assert apply_unified("a\nb\n", marked) == "a\nB"


def test_emoji_lines():
    text = "greet = '👋'\nfarewell = '👋🏽 bye'\nend = 1\n"
    diff = "--- a/e.py\n+++ b/e.py\n@@ -2,2 +2,2 @@\n-farewell = '👋🏽 bye'\n+farewell = '🫡 bye'\n end = 1\n"
    [patch] = parse_unified_diff(diff)
    new, changes = apply_hunks(text, patch.hunks)
    assert new == "greet = '👋'\nfarewell = '🫡 bye'\nend = 1\n"
    assert changes == [TextChange(1, 0, 2, 0, "farewell = '🫡 bye'\n")]


# --- V4A ---------------------------------------------------------------------------------

CART = """\
class Cart:
    def __init__(self):
        self.items = []

    def total(self):
        return 0


class Wishlist:
    def total(self):
        return 0
"""


def test_v4a_update_with_nested_anchors(tmp_path):
    ws = Workspace(tmp_path, {"shop/cart.py": CART})
    op = PatchOperation(
        "update_file",
        "shop/cart.py",
        "@@ class Wishlist:\n@@     def total(self):\n-        return 0\n+        return len(self.items)\n",
        call_id="call_1",
    )
    [edit] = ws.plan([op]).files
    assert edit.kind == "update"
    assert edit.new_text == CART[: CART.rindex("return 0")] + "return len(self.items)\n"
    assert edit.changes == [TextChange(10, 0, 11, 0, "        return len(self.items)\n")]
    assert edit.old_text_sha256 == text_sha256(CART)


def test_v4a_short_anchor_and_pure_insertion_after_it():
    patch = parse_v4a(PatchOperation("update_file", "c.py", "@@ class Cart\n+    TAX = 0.2\n"))
    new, _ = apply_hunks(CART, patch.hunks)
    assert new.startswith("class Cart:\n    TAX = 0.2\n    def __init__")


def test_v4a_anchor_equal_to_first_context_line():
    patch = parse_v4a(
        PatchOperation("update_file", "c.py", "@@ def total(self):\n def total(self):\n-    return 0\n+    return 1\n")
    )
    new, _ = apply_hunks("def total(self):\n    return 0\n", patch.hunks)
    assert new == "def total(self):\n    return 1\n"


def test_v4a_end_of_file_append_and_missing_anchor():
    patch = parse_v4a(PatchOperation("update_file", "c.py", "@@\n+\n+\n+def helper():\n+    pass\n*** End of File\n"))
    new, _ = apply_hunks(CART, patch.hunks)
    assert new == CART + "\n\ndef helper():\n    pass\n"
    missing = parse_v4a(PatchOperation("update_file", "c.py", "@@ class Order:\n-x\n+y\n"))
    with pytest.raises(PatchError, match='hunk 1 of c.py: no line matches its anchor "@@ class Order:"'):
        apply_hunks(CART, missing.hunks, "c.py")


def test_v4a_create_and_delete(tmp_path):
    ws = Workspace(tmp_path, {"old.py": "x\n"})
    plan = ws.plan(
        [
            PatchOperation("create_file", "tests/test_cart.py", "+def test_total():\n+    assert True\n"),
            PatchOperation("delete_file", "old.py"),
        ]
    )
    create, delete = plan.files
    assert (create.path, create.kind, create.new_text) == ("tests/test_cart.py", "create", "def test_total():\n    assert True\n")
    assert create.changes == [TextChange(0, 0, 0, 0, create.new_text)] and create.old_text_sha256 is None
    assert (delete.path, delete.kind, delete.changes) == ("old.py", "delete", [])


def test_create_over_existing_file_is_refused_unless_identical(tmp_path):
    ws = Workspace(tmp_path, {"a.py": "x = 1\n"})
    assert ws.plan([PatchOperation("create_file", "a.py", "+x = 1\n")]).files == []
    with pytest.raises(PatchError, match="cannot create a.py: the file already exists"):
        ws.plan([PatchOperation("create_file", "a.py", "+y = 2\n")])


def test_update_or_delete_of_missing_file_is_refused(tmp_path):
    ws = Workspace(tmp_path)
    with pytest.raises(PatchError, match="cannot update nope.py: no such file"):
        ws.plan([PatchOperation("update_file", "nope.py", "@@\n-a\n+b\n")])
    with pytest.raises(PatchError, match="cannot delete nope.py"):
        ws.plan([PatchOperation("delete_file", "nope.py")])


def test_envelope_plan_uses_open_document_text_and_version(tmp_path):
    ws = Workspace(tmp_path, {"src/app.py": "on disk\n"}, open_docs={"src/app.py": "def main():\n    pass\n"})
    plan = ws.plan(
        parse_patches(
            "*** Begin Patch\n*** Update File: src/app.py\n*** Move to: src/main.py\n@@ def main():\n-    pass\n+    run()\n"
            "*** Add File: README.md\n+# Demo\n*** End Patch"
        )
    )
    assert [(f.path, f.kind) for f in plan.files] == [("src/app.py", "delete"), ("src/main.py", "create"), ("README.md", "create")]
    assert plan.get("src/main.py").new_text == "def main():\n    run()\n"
    assert plan.get("src/app.py").base_version == 7


def test_same_file_patched_twice_gives_one_edit_against_the_original(tmp_path):
    ws = Workspace(tmp_path, {"f.txt": APP})
    ops = [
        PatchOperation("update_file", "f.txt", "@@\n line 1\n-line 2\n+two\n"),
        PatchOperation("update_file", "f.txt", "@@\n line 9\n-line 10\n+ten\n"),
    ]
    [edit] = ws.plan(ops).files
    assert edit.new_text == APP.replace("line 2\n", "two\n").replace("line 10\n", "ten\n")
    assert apply_changes(APP, edit.changes) == edit.new_text


def test_diff_inside_a_fenced_markdown_answer(tmp_path):
    ws = Workspace(tmp_path, {"src/app.py": APP})
    answer = (
        "The loop is off by one. Apply this:\n\n```diff\n--- a/src/app.py\n+++ b/src/app.py\n"
        "@@ -5,3 +5,3 @@\n line 5\n-line 6\n+line six\n line 7\n```\n\nLet me know!"
    )
    [edit] = ws.plan(parse_patches(answer)).files
    assert edit.new_text == APP.replace("line 6\n", "line six\n")
    assert edit.matches(APP) and not edit.matches(APP + "typed\n")


# --- confinement -------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["../etc/passwd", "src/../../etc/passwd", "/etc/passwd", ".git/config"])
def test_paths_outside_the_workspace_are_refused(tmp_path, path):
    ws = Workspace(tmp_path)
    with pytest.raises(PatchError, match=r"^refused: .*(outside the workspace|inside \.git)"):
        ws.plan([PatchOperation("create_file", path, "+pwned\n")])


def test_refusal_message_names_the_path(tmp_path):
    with pytest.raises(PatchError) as info:
        Workspace(tmp_path).plan([PatchOperation("delete_file", "../etc/passwd")])
    assert str(info.value) == "refused: ../etc/passwd is outside the workspace; nothing was applied"


def test_symlink_out_of_the_workspace_is_refused(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "ws"
    root.mkdir()
    os.symlink(outside, root / "link")
    with pytest.raises(PatchError, match="resolves outside the workspace"):
        Workspace(root).plan([PatchOperation("create_file", "link/x.py", "+x\n")])


def test_absolute_and_dotted_paths_inside_are_normalised(tmp_path):
    ws = Workspace(tmp_path, {"src/a.py": "a\n"})
    assert ws.applier.confine(str(tmp_path / "src" / "a.py")) == "src/a.py"
    assert ws.applier.confine("./src/../src/a.py") == "src/a.py"
    assert ws.applier.confine("src\\a.py") == "src/a.py"


# --- properties and speed ----------------------------------------------------------------

_line = st.text(alphabet="ab \t{}()=:😀é", max_size=8)
_lines = st.lists(_line, max_size=30)


def _random_edit(draw, lines: list[str]) -> list[str]:
    new = list(lines)
    for _ in range(draw(st.integers(0, 5))):
        i = draw(st.integers(0, len(new)))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        if action == "insert" or not new or i == len(new):
            new.insert(i, draw(_line))
        elif action == "delete":
            del new[i]
        else:
            new[i] = draw(_line)
    return new


@st.composite
def text_pairs(draw):
    old = draw(_lines)
    new = _random_edit(draw, old)
    # difflib cannot express a change of the final newline; both texts end the same way,
    # and lines added to an empty file end with a newline.
    end = draw(st.sampled_from(["\n", ""])) if old else "\n"
    if any(ls and ls[-1] == "" for ls in (old, new)):
        end = "\n"  # "a\n" + "" would read back as one line, not two
    as_text = lambda ls: "\n".join(ls) + (end if ls else "")  # noqa: E731
    return as_text(old), as_text(new)


@settings(max_examples=300, deadline=None)
@given(text_pairs(), st.integers(-6, 6))
def test_difflib_unified_diff_applies_back(pair, shift):
    old, new = pair
    diff = unified(old, new, shift=shift)
    if "@@" not in diff:
        return
    if shift and not _hunks_unique(old, diff):
        # With wrong line numbers, a hunk whose context occurs more than once in the file is
        # ambiguous: no locator can know which place was meant. Only the exact numbers count.
        diff = unified(old, new)
    assert apply_unified(old, diff) == new


def _hunks_unique(old: str, diff: str) -> bool:
    [patch] = parse_unified_diff(diff)
    lines = old.splitlines()
    for hunk in patch.hunks:
        want = list(hunk.old_lines)
        if not want:
            return False
        n = len(want)
        hits = sum(1 for i in range(len(lines) - n + 1) if lines[i : i + n] == want)
        if hits != 1:
            return False
    return True


def test_twenty_hunks_on_ten_thousand_lines_is_fast():
    old = "".join(f"def f{i}(x):\n    return x + {i}\n\n" for i in range(3334))
    lines = old.splitlines()
    for k in range(20):
        i = 100 + k * 480
        lines[i] = lines[i] + "  # changed"
    new = "\n".join(lines) + "\n"
    [patch] = parse_unified_diff(unified(old, new, shift=7))
    assert len(patch.hunks) == 20
    text, changes = apply_hunks(old, patch.hunks)  # timed in bench/bench_units.py (target 20 ms)
    assert text == new and len(changes) == 20


# --- leniency, with limits ---------------------------------------------------------------


def test_fuzzy_never_deletes_a_line_the_model_did_not_see():
    text = "a = 1\nb = 2\nc = 3\nd = 4\nkeep_me = True\n"
    diff = "--- a/f\n+++ b/f\n@@ -1,5 +1,4 @@\n a = 1\n b = 2\n c = 3\n d = 4\n-delete_me = True\n"
    [patch] = parse_unified_diff(diff)
    with pytest.raises(PatchError, match='cannot locate hunk 1 of f \\(near line 1: "a = 1"\\)'):
        apply_hunks(text, patch.hunks, "f")


def test_hunks_given_out_of_order_still_apply():
    diff = "--- a/f\n+++ b/f\n@@ -30 +30 @@\n-line 30\n+thirty\n@@ -3 +3 @@\n-line 3\n+three\n"
    assert apply_unified(APP, diff) == APP.replace("line 30\n", "thirty\n").replace("line 3\n", "three\n")


def test_v4a_separator_blank_line_and_stray_headers_are_tolerated():
    text = "def f():\n    return 1\ndef g():\n    return 2\n"
    diff = "--- a/f.py\n+++ b/f.py\n@@ def f():\n-    return 1\n+    return 10\n\n@@ def g():\n-    return 2\n+    return 20\n"
    patch = parse_v4a(PatchOperation("update_file", "f.py", diff))
    assert apply_hunks(text, patch.hunks)[0] == "def f():\n    return 10\ndef g():\n    return 20\n"


def test_unified_diff_of_a_new_file_without_dev_null_creates_it(tmp_path):
    ws = Workspace(tmp_path)
    [edit] = ws.plan(parse_patches("--- a/new.py\n+++ b/new.py\n@@ -0,0 +1,2 @@\n+x = 1\n+y = 2\n")).files
    assert (edit.kind, edit.new_text) == ("create", "x = 1\ny = 2\n")


def test_added_lines_follow_the_files_indentation_when_the_model_dedented():
    text = "class A:\n    def f(self):\n        a = 1\n        return a\n"
    diff = "--- a/a.py\n+++ b/a.py\n@@ -3,2 +3,3 @@\n a = 1\n-return a\n+b = a + 1\n+return b\n"
    assert apply_unified(text, diff) == "class A:\n    def f(self):\n        a = 1\n        b = a + 1\n        return b\n"


def test_lone_cr_line_endings():
    assert apply_unified("a\rb\rc\r", "--- a/f\n+++ b/f\n@@ -2 +2,2 @@\n-b\n+B\n+B2\n") == "a\rB\rB2\rc\r"
