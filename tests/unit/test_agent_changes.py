"""The agent's change set with the terminal's applier (files written directly): steps applied
whole, Keep and Undo per file or all, a file the user changed never overwritten."""

from __future__ import annotations

from pathlib import Path

from sparkforge.agent.changes import ChangeSet, FileApplier
from sparkforge.edits import PatchApplier, parse_patch_envelope


def plan_for(root: Path, changes: ChangeSet, patch: str):
    sources = {}

    def read(rel):
        got = changes.view(rel)
        if got is not None:
            sources[rel] = got
        return got

    plan = PatchApplier(root, read).plan(parse_patch_envelope(patch))
    return plan, sources


PATCH = """*** Begin Patch
*** Update File: a.py
@@ def a():
-    return 1
+    return 2
*** Add File: new.py
+NEW = True
*** Delete File: gone.py
*** End Patch
"""


def project(tmp_path: Path) -> Path:
    root = tmp_path / "p"
    root.mkdir()
    (root / "a.py").write_text("def a():\n    return 1\n")
    (root / "gone.py").write_text("OLD = 1\n")
    return root


async def test_apply_then_undo_all_restores_every_file(tmp_path):
    root = project(tmp_path)
    changes = ChangeSet(FileApplier(root))
    await changes.apply_step(*plan_for(root, changes, PATCH), "step")
    assert (root / "a.py").read_text() == "def a():\n    return 2\n"
    assert (root / "new.py").read_text() == "NEW = True\n"
    assert not (root / "gone.py").exists()
    listed = {c.path: (c.kind, c.state) for c in changes.changes()}
    assert listed == {"a.py": ("updated", "applied"), "new.py": ("created", "applied"), "gone.py": ("deleted", "applied")}
    assert changes.files["a.py"].diff() == (
        "--- a/a.py\n+++ b/a.py\n@@ -1,2 +1,2 @@\n def a():\n-    return 1\n+    return 2\n"
    )
    undone = await changes.undo()
    assert {c.path: c.state for c in undone} == {"a.py": "undone", "new.py": "undone", "gone.py": "undone"}
    assert (root / "a.py").read_text() == "def a():\n    return 1\n"
    assert not (root / "new.py").exists()
    assert (root / "gone.py").read_text() == "OLD = 1\n"


async def test_undo_leaves_a_file_the_user_changed(tmp_path):
    root = project(tmp_path)
    changes = ChangeSet(FileApplier(root))
    await changes.apply_step(*plan_for(root, changes, PATCH), "step")
    (root / "a.py").write_text("def a():\n    return 3  # mine\n")
    undone = {c.path: c for c in await changes.undo()}
    assert undone["a.py"].state == "applied"
    assert undone["a.py"].problem == "a.py changed since the agent's last edit; left as it is"
    assert (root / "a.py").read_text() == "def a():\n    return 3  # mine\n"
    assert undone["new.py"].state == "undone" and not (root / "new.py").exists()


async def test_pending_steps_touch_nothing_until_kept(tmp_path):
    root = project(tmp_path)
    changes = ChangeSet(FileApplier(root), review="pending")
    await changes.apply_step(*plan_for(root, changes, PATCH), "step")
    assert (root / "a.py").read_text() == "def a():\n    return 1\n"  # nothing written yet
    assert changes.view("a.py").text == "def a():\n    return 2\n"  # the agent sees its own edit
    assert changes.view("gone.py") is None
    second = "*** Begin Patch\n*** Update File: a.py\n@@ def a():\n-    return 2\n+    return 20\n*** End Patch\n"
    await changes.apply_step(*plan_for(root, changes, second), "step 2")
    kept = {c.path: c.state for c in await changes.keep(["a.py", "new.py"])}
    assert kept == {"a.py": "kept", "new.py": "kept"}
    assert (root / "a.py").read_text() == "def a():\n    return 20\n"
    assert (root / "new.py").read_text() == "NEW = True\n"
    assert (root / "gone.py").exists()  # not kept: still pending
    undone = {c.path: c.state for c in await changes.undo(["gone.py"])}
    assert undone == {"gone.py": "undone"}
    assert (root / "gone.py").read_text() == "OLD = 1\n"


async def test_a_step_back_to_the_original_leaves_no_change(tmp_path):
    root = project(tmp_path)
    changes = ChangeSet(FileApplier(root))
    there = "*** Begin Patch\n*** Update File: a.py\n@@ def a():\n-    return 1\n+    return 2\n*** End Patch\n"
    back = "*** Begin Patch\n*** Update File: a.py\n@@ def a():\n-    return 2\n+    return 1\n*** End Patch\n"
    await changes.apply_step(*plan_for(root, changes, there), "there")
    await changes.apply_step(*plan_for(root, changes, back), "back")
    assert changes.changes() == []
