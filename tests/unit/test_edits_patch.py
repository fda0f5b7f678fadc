"""Parsing model output: unified diffs, V4A operations, the patch envelope, markdown answers."""

from __future__ import annotations

import pytest

from sparkforge.edits import (
    PatchError,
    extract_code_blocks,
    find_diffs,
    parse_patch_envelope,
    parse_patches,
    parse_unified_diff,
    parse_v4a,
)
from sparkforge.models.events import PatchOperation


def test_unified_diff_with_git_prefixes():
    [patch] = parse_unified_diff(
        "diff --git a/src/app.py b/src/app.py\n"
        "index 1..2 100644\n"
        "--- a/src/app.py\n"
        "+++ b/src/app.py\n"
        "@@ -1,3 +1,3 @@\n"
        " a\n"
        "-b\n"
        "+B\n"
        " c\n"
    )
    assert patch.path == "src/app.py"
    assert patch.kind == "update"
    [hunk] = patch.hunks
    assert hunk.old_lines == ["a", "b", "c"]
    assert hunk.new_lines == ["a", "B", "c"]
    assert hunk.old_start == 1


def test_unified_new_and_deleted_files():
    patches = parse_unified_diff(
        "--- /dev/null\n+++ b/tests/test_new.py\n@@ -0,0 +1,2 @@\n+def test():\n+    pass\n"
        "--- a/old.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-x = 1\n"
    )
    assert [(p.path, p.kind) for p in patches] == [("tests/test_new.py", "create"), ("old.py", "delete")]
    assert patches[0].content == "def test():\n    pass\n"


def test_unified_without_prefixes_keeps_paths():
    [patch] = parse_unified_diff("--- app.py\n+++ app.py\n@@ -1 +1 @@\n-a\n+b\n")
    assert patch.path == "app.py"


def test_unified_count_too_small_keeps_every_line():
    # unidiff alone would silently drop " c" and "+d" (the header says 2 lines).
    [patch] = parse_unified_diff("--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n a\n-b\n+B\n c\n+d\n")
    assert patch.hunks[0].new_lines == ["a", "B", "c", "d"]


def test_unified_count_too_large_is_read_leniently():
    [patch] = parse_unified_diff("--- a/x\n+++ b/x\n@@ -1,9 +1,9 @@\n a\n-b\n+B\n")
    assert patch.hunks[0].old_lines == ["a", "b"]


def test_unified_bare_hunk_headers_and_missing_trailing_newline():
    [patch] = parse_unified_diff("--- a/x\n+++ b/x\n@@ @@\n a\n-b\n+B")
    assert patch.hunks[0].old_start is None
    assert patch.hunks[0].new_lines == ["a", "B"]


def test_unified_no_newline_markers():
    [patch] = parse_unified_diff(
        "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n\\ No newline at end of file\n+b\n"
    )
    assert patch.hunks[0].old_no_eol and not patch.hunks[0].new_no_eol


def test_unified_blank_context_lines_without_leading_space():
    [patch] = parse_unified_diff("--- a/x\n+++ b/x\n@@ -1,4 +1,4 @@\n a\n\n-b\n+B\n c\n")
    assert patch.hunks[0].old_lines == ["a", "", "b", "c"]


def test_unified_inside_markdown_fence_with_prose():
    answer = (
        "Here is the fix for the off-by-one:\n\n"
        "```diff\n--- a/src/app.py\n+++ b/src/app.py\n@@ -10,2 +10,2 @@\n def f():\n-    return 1\n+    return 2\n```\n\n"
        "This makes `f` return 2.\n"
    )
    [patch] = parse_unified_diff(answer)
    assert patch.path == "src/app.py"
    assert patch.hunks[0].new_lines == ["def f():", "    return 2"]


def test_unified_unfenced_with_prose_after():
    answer = "Change:\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n\nThat is all.\n"
    [patch] = parse_patches(answer)
    assert patch.hunks[0].ops == (("-", "a"), ("+", "b"))


def test_unified_crlf_diff_reads_like_lf():
    [patch] = parse_unified_diff("--- a/x\r\n+++ b/x\r\n@@ -1 +1 @@\r\n-a\r\n+b\r\n")
    assert patch.hunks[0].ops == (("-", "a"), ("+", "b"))


def test_unified_git_rename():
    [patch] = parse_unified_diff(
        "diff --git a/old.py b/new.py\nsimilarity index 90%\nrename from old.py\nrename to new.py\n"
        "--- a/old.py\n+++ b/new.py\n@@ -1 +1 @@\n-x\n+y\n"
    )
    assert (patch.path, patch.move_to) == ("old.py", "new.py")


def test_v4a_create_update_delete():
    created = parse_v4a(PatchOperation("create_file", "src/new.py", "+def f():\n+    return 1\n"))
    assert (created.kind, created.content) == ("create", "def f():\n    return 1\n")
    assert parse_v4a(PatchOperation("delete_file", "src/old.py")).kind == "delete"
    updated = parse_v4a(
        PatchOperation(
            "update_file",
            "src/app.py",
            "@@ class Cart\n@@     def total(self):\n-        return 0\n+        return sum(self.items)\n",
        )
    )
    [hunk] = updated.hunks
    assert hunk.anchors == ("class Cart", "def total(self):")
    assert hunk.ops == (("-", "        return 0"), ("+", "        return sum(self.items)"))


def test_v4a_multiple_hunks_eof_and_missing_space_on_empty_lines():
    op = PatchOperation(
        "update_file",
        "a.py",
        "@@ def f():\n     x = 1\n\n-    return x\n+    return x + 1\n@@\n last\n+appended\n*** End of File\n",
    )
    first, second = parse_v4a(op).hunks
    assert first.old_lines == ["    x = 1", "", "    return x"]
    assert second.at_eof and second.anchors == ()


def test_v4a_unknown_operation():
    with pytest.raises(PatchError):
        parse_v4a(PatchOperation("rename_file", "a.py"))  # type: ignore[arg-type]


def test_envelope_format():
    text = (
        "I'll make these changes.\n"
        "*** Begin Patch\n"
        "*** Add File: docs/notes.md\n"
        "+# Notes\n"
        "+\n"
        "+Hello\n"
        "*** Update File: src/app.py\n"
        "*** Move to: src/main.py\n"
        "@@ def main():\n"
        "-    pass\n"
        "+    run()\n"
        "*** Delete File: src/legacy.py\n"
        "*** End Patch\n"
    )
    add, update, delete = parse_patch_envelope(text)
    assert (add.path, add.kind, add.content) == ("docs/notes.md", "create", "# Notes\n\nHello\n")
    assert (update.path, update.move_to, update.hunks[0].anchors) == ("src/app.py", "src/main.py", ("def main():",))
    assert (delete.path, delete.kind) == ("src/legacy.py", "delete")
    assert [p.path for p in parse_patches(f"```\n{text}```\n")] == ["docs/notes.md", "src/app.py", "src/legacy.py"]


def test_parse_patches_without_any_diff():
    with pytest.raises(PatchError, match="no diff"):
        parse_patches("Sorry, I can't help with that.")


def test_extract_code_blocks_with_path_hints():
    answer = (
        "Update `src/util.py`:\n\n"
        "```python\ndef f():\n    return 1\n```\n\n"
        "```python title=src/a.py\nA = 1\n```\n"
        "```ts:web/app.ts\nlet x = 1;\n```\n"
        "```js\n// file: lib/x.js\nexport {};\n```\n"
        "Version 3.12 is fine:\n```\nplain\n```\n"
        "  ```rust\n  fn main() {}\n  ```\n"
        "```python\nunterminated = True\n"
    )
    blocks = extract_code_blocks(answer)
    assert [(b.lang, b.path_hint) for b in blocks] == [
        ("python", "src/util.py"),
        ("python", "src/a.py"),
        ("ts", "web/app.ts"),
        ("js", "lib/x.js"),
        ("", None),
        ("rust", None),
        ("python", None),
    ]
    assert blocks[0].text == "def f():\n    return 1\n"
    assert blocks[5].text == "fn main() {}\n"
    assert [b.complete for b in blocks][-2:] == [True, False]


def test_find_diffs_prefers_fenced_diffs():
    answer = "```python\nx = 1\n```\n```diff\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n```\n"
    assert find_diffs(answer) == ["--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n"]


def test_create_file_diff_with_unified_headers_keeps_only_the_content():
    from sparkforge.edits import parse_v4a
    from sparkforge.models.events import PatchOperation

    op = PatchOperation("create_file", "tests/test_a.py", "--- /dev/null\n+++ b/tests/test_a.py\n@@ -0,0 +1,2 @@\n+import a\n+assert a\n")
    assert parse_v4a(op).content == "import a\nassert a\n"
    plain = PatchOperation("create_file", "notes.md", "+++ title +++\n+body\n")
    assert parse_v4a(plain).content == "++ title +++\nbody\n"  # its "+" is the diff marker


# A new file given without a "@@" line (models write it so): accepted when the old side is
# /dev/null and the lines are additions; anything else in it is refused, never half-read.
def test_unified_new_file_without_hunk_header_is_a_create():
    answer = (
        "Added the tests.\n\n```diff\n--- /dev/null\n+++ b/tests/test_x.py\n"
        "+import pytest\n+\n+\n+def test_x():\n+    assert True\n```\n"
    )
    [patch] = parse_patches(answer)
    assert (patch.path, patch.kind) == ("tests/test_x.py", "create")
    assert patch.content == "import pytest\n\n\ndef test_x():\n    assert True\n"


def test_unified_new_file_without_hunk_header_then_more_files():
    patches = parse_patches(
        "--- /dev/null\n+++ b/a.py\n+a = 1\n\n+b = 2\n"
        "--- /dev/null\n+++ b/c.py\n+c = 3\n"
        "--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n"
        "--- a/old.py\n+++ /dev/null\n"
    )
    assert [(p.path, p.kind, p.content) for p in patches] == [
        ("a.py", "create", "a = 1\n\nb = 2\n"),  # the blank line lost its "+": still a blank line
        ("c.py", "create", "c = 3\n"),
        ("x.py", "update", ""),
        ("old.py", "delete", ""),  # a deletion needs no hunk
    ]
    assert patches[2].hunks[0].new_lines == ["x = 2"]


def test_unified_new_file_without_hunk_header_ends_at_prose():
    [patch] = parse_patches("--- /dev/null\n+++ b/n.py\n+n = 1\n\nThat is the new file.\n")
    assert patch.content == "n = 1\n"


def test_unified_new_file_without_hunk_header_with_a_context_line_is_refused():
    with pytest.raises(PatchError, match=r"the diff creating n\.py has no @@ hunk header and a line that is not an addition \(' m = 2'\)"):
        parse_patches("--- /dev/null\n+++ b/n.py\n+n = 1\n m = 2\n+o = 3\n")


def test_create_file_operation_with_headers_but_no_hunk_header():
    op = PatchOperation("create_file", "tests/test_a.py", "--- /dev/null\n+++ b/tests/test_a.py\n+import a\n+assert a\n")
    assert parse_v4a(op).content == "import a\nassert a\n"
