"""Plan changes as editor ranges (UTF-16), and moved over a user's edit only when safe."""

from __future__ import annotations

from sparkforge.deep.changes import apply_changes, rebase, to_lsp
from sparkforge.edits import PatchApplier, SourceText
from sparkforge.edits.model import TextChange
from sparkforge.models.events import PatchOperation

TEXT = "import os\n\n\ndef f(x):\n    return x\n\n\ndef g(y):\n    return y\n"


def plan_changes(text: str, diff: str) -> tuple[list[TextChange], str]:
    edit = PatchApplier("/tmp", lambda rel: SourceText(text, 1)).plan(
        [PatchOperation("update_file", "a.py", diff)]
    ).files[0]
    return edit.changes, edit.new_text


def test_utf16_columns_after_emoji_and_at_an_unterminated_end():
    text = 'x = "🎉🎉"\r\ny = "🎉" + name'
    changes, new = plan_changes(text, '@@\n-y = "🎉" + name\n+y = "🎉" + name.title()\n')
    (edit,) = to_lsp(text, changes)
    assert edit.start == (1, 0) and edit.end == (1, len('y = "🎉" + name') + 1)
    assert apply_changes(text, changes) == new == 'x = "🎉🎉"\r\ny = "🎉" + name.title()'


def test_rebase_over_an_edit_elsewhere_moves_the_changes():
    changes, new = plan_changes(TEXT, "@@ def g(y):\n-    return y\n+    return y * 2\n")
    user = TEXT.replace("import os\n", "import os\nimport sys\n")
    moved = rebase(changes, TEXT, user)
    assert moved is not None and moved[0].start_line == changes[0].start_line + 1
    assert apply_changes(user, moved) == new.replace("import os\n", "import os\nimport sys\n")
    below = TEXT + "\n\ndef h():\n    pass\n"
    assert apply_changes(below, rebase(changes, TEXT, below)) == new + "\n\ndef h():\n    pass\n"


def test_rebase_refuses_when_the_user_touched_the_same_lines():
    changes, _ = plan_changes(TEXT, "@@ def g(y):\n-    return y\n+    return y * 2\n")
    assert rebase(changes, TEXT, TEXT.replace("    return y\n", "    return y + 1\n")) is None
    # an insertion at exactly the place of a change has no safe order
    inserted, _ = plan_changes(TEXT, "@@ def f(x):\n+    '''Doc.'''\n     return x\n")
    assert rebase(inserted, TEXT, TEXT.replace("def f(x):\n", "def f(x):\n    pass\n")) is None
    assert rebase(changes, TEXT, TEXT) == changes


def test_rebase_keeps_crlf_positions_right():
    text = TEXT.replace("\n", "\r\n")
    changes, new = plan_changes(text, "@@ def g(y):\n-    return y\n+    return y * 2\n")
    user = text.replace("import os", "import os, re")
    moved = rebase(changes, text, user)
    assert apply_changes(user, moved) == new.replace("import os", "import os, re")
