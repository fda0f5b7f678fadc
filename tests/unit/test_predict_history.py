"""EditHistory: coalescing keystrokes into edits, bounds, rendering within a token budget."""

from __future__ import annotations


from sparkforge.models.tokens import count_tokens
from sparkforge.predict.history import EditHistory, changed_span, unified_diff

URI = "file:///work/project/src/app.py"


def type_text(history: EditHistory, uri: str, text: str, line: int, col: int, typed: str,
              start: float, gap: float = 0.1) -> tuple[str, float]:
    """Type ``typed`` one character at a time at (line, col); return the text and the time."""
    now = start
    for ch in typed:
        lines = text.split("\n")
        lines[line] = lines[line][:col] + ch + lines[line][col:]
        after = "\n".join(lines)
        history.record_change(uri, text, after, now)
        text, col, now = after, col + 1, now + gap
    return text, now


def test_keystrokes_on_one_line_coalesce_into_one_edit():
    history = EditHistory()
    doc = "def f():\n    return \n"
    doc, _ = type_text(history, URI, doc, 1, 11, "total", start=10.0)
    edits = history.edits()
    assert len(edits) == 1
    assert edits[0].path == "app.py"
    assert "-    return \n+    return total\n" in edits[0].diff
    assert edits[0].diff.startswith("--- a/app.py\n+++ b/app.py\n@@ -1,2 +1,2 @@\n")


def test_a_pause_starts_a_new_edit():
    history = EditHistory(coalesce_seconds=1.5)
    doc = "x = 1\n"
    doc, now = type_text(history, URI, doc, 0, 5, "0", start=0.0)
    doc, _ = type_text(history, URI, doc, 0, 6, "0", start=now + 2.0)
    assert [e.diff.splitlines()[-1] for e in history.edits()] == ["+x = 10", "+x = 100"]


def test_a_distant_line_starts_a_new_edit_and_an_adjacent_one_does_not():
    history = EditHistory()
    doc = "\n".join(f"line {i}" for i in range(20)) + "\n"
    doc, now = type_text(history, URI, doc, 3, 6, "a", start=0.0)
    doc, now = type_text(history, URI, doc, 4, 6, "b", start=now)  # the next line: same edit
    assert len(history.edits()) == 1
    doc, now = type_text(history, URI, doc, 15, 7, "c", start=now)  # far away: a new edit
    edits = history.edits()
    assert len(edits) == 2
    assert "+line 3a\n+line 4b\n" in edits[0].diff
    assert "+line 15c\n" in edits[1].diff


def test_enter_then_typing_on_the_new_line_is_one_edit():
    history = EditHistory()
    before = "if x:\n    pass\n"
    after = "if x:\n    \n    pass\n"
    history.record_change(URI, before, after, 1.0)
    doc, _ = type_text(history, URI, after, 1, 4, "y = 1", start=1.1)
    edits = history.edits()
    assert len(edits) == 1
    assert "+    y = 1\n" in edits[0].diff
    assert "-" not in "".join(line[0] for line in edits[0].diff.splitlines()[3:])


def test_typing_then_undoing_leaves_no_edit():
    history = EditHistory()
    history.record_change(URI, "a\n", "ab\n", 1.0)
    history.record_change(URI, "ab\n", "a\n", 1.2)
    assert history.edits() == []


def test_bounds_per_document_and_total():
    history = EditHistory(max_per_document=10, max_total=30)
    now = 0.0
    for d in range(5):
        uri = f"file:///p/f{d}.py"
        doc = "x\n"
        for i in range(12):
            after = doc + f"y{i}\n"
            history.record_change(uri, doc, after, now)
            doc, now = after, now + 5.0  # each a separate edit
    edits = history.edits()
    assert len(edits) == 30
    per_doc = {e.uri: 0 for e in edits}
    for e in edits:
        per_doc[e.uri] += 1
    assert set(per_doc.values()) == {10}
    assert "f0.py" not in {e.path for e in edits}  # the oldest document's edits went first
    assert len(history.edits("file:///p/f4.py")) == 10


def test_render_fits_the_budget_most_recent_last():
    history = EditHistory()
    now = 0.0
    doc = "\n".join(f"value_{i} = compute_something({i})" for i in range(200)) + "\n"
    for i in range(0, 200, 20):
        lines = doc.split("\n")
        lines[i] = lines[i].replace("compute_something", "compute_other")
        after = "\n".join(lines)
        history.record_change(URI, doc, after, now)
        doc, now = after, now + 5.0
    full = history.render(10_000)
    assert full.index("value_0 ") < full.index("value_180 ")  # oldest first
    small = history.render(120)
    assert 0 < count_tokens(small) <= 120
    assert "+value_180 = compute_other(180)" in small  # the most recent edit survives
    assert "value_0 " not in small


def test_render_can_exclude_a_document_and_forget_drops_it():
    history = EditHistory()
    other = "file:///p/other.py"
    history.record_change(URI, "a\n", "ab\n", 1.0)
    history.record_change(other, "c\n", "cd\n", 1.1)
    assert "other.py" not in history.render(500, exclude_uri=other)
    assert "app.py" in history.render(500, exclude_uri=other)
    history.forget(URI)
    assert [e.uri for e in history.edits()] == [other]


def test_diff_of_a_large_file_is_local_and_cheap():
    doc = "".join(f"line number {i} with some text to make it longer\n" for i in range(10_000))
    history = EditHistory()  # 200 keystrokes in a 10,000-line file: timed in bench/bench_units.py
    now = 0.0
    text = doc
    pos = doc.index("line number 5000 ") + len("line number 5000 ")
    for _ in range(200):
        after = text[:pos] + "x" + text[pos:]
        history.record_change(URI, text, after, now)
        text, now, pos = after, now + 0.05, pos + 1
    (edit,) = history.edits()
    assert edit.diff.splitlines()[2] == "@@ -4999,5 +4999,5 @@"
    assert edit.diff.count("\n") == 3 + 6


def test_changed_span_and_unified_diff_edge_cases():
    assert changed_span("a\nb\n", "a\ncb\n")[:3] == (1, 2, 2)
    diff = unified_diff("f.py", "a\nb\n", "a\ncb\n", context=0)
    assert diff.endswith("@@ -2,1 +2,1 @@\n-b\n+cb\n")
    inserted = unified_diff("f.py", "a\nb\n", "a\nx\nb\n", context=0)
    assert inserted.endswith("@@ -1,0 +2,1 @@\n+x\n")
    no_eol = unified_diff("f.py", "a", "ab", context=0)
    assert "-a\n\\ No newline at end of file\n+ab\n" in no_eol
    assert unified_diff("f.py", "same", "same") == ""
