"""TextLines (a document kept as lines, changed in place by LSP ranges) against the text rebuilt
from scratch, in every position encoding, with CRLF, lone CR, emoji and accents; the edit
history fed line spans against the same edits fed whole texts; the ghost text continuation."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparkforge.predict.engine import ShownGhost
from sparkforge.predict.history import EditHistory
from sparkforge.textpos import UTF8, UTF16, UTF32, LineIndex, LinePositions, PositionError, TextLines, merge_spans

ALPHABET = st.sampled_from(list("ab \n\r😀é\t"))
TEXTS = st.text(alphabet=ALPHABET, max_size=30)


def position(data, index: LineIndex) -> tuple[int, int, int]:
    """A position a client could name: (line, character in the index's encoding, str offset)."""
    line = data.draw(st.integers(0, index.line_count - 1))
    content = index.line(line)
    column = data.draw(st.integers(0, len(content)))
    lsp = index.to_lsp(line, column)
    return lsp[0], lsp[1], index.starts[line] + column


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([UTF8, UTF16, UTF32]), TEXTS, st.data())
def test_random_edits_match_a_rebuild(encoding, text, data):
    doc = TextLines(text, encoding)
    for _ in range(data.draw(st.integers(1, 6))):
        before = doc.snapshot()
        index = LineIndex.of(text, encoding)  # from scratch
        a, b = sorted([position(data, index), position(data, index)], key=lambda p: p[2])
        new = data.draw(TEXTS)
        doc.replace(a[:2], b[:2], new)
        text = text[: a[2]] + new + text[b[2] :]
        assert doc.text == text
        # per_line kept in step with the lines (ALPHABET's letters stand for "a line holding
        # an a"), against the lines split again from the text
        assert doc.per_line(_has_a) == tuple("a" in ln for ln in text.split("\n"))
        rebuilt = LineIndex.of(text, encoding)
        assert doc.line_count == rebuilt.line_count
        assert [doc.line(n) for n in range(doc.line_count)] == [rebuilt.line(n) for n in range(rebuilt.line_count)]
        assert "".join(doc.snapshot()) == text
        was, (first, old_end, new_end) = doc.take_change()
        assert was is before  # the lines as the last snapshot gave them
        after = doc.snapshot()
        assert before[:first] == after[:first]
        assert before[old_end:] == after[new_end:]
        assert doc.take_change() is None


def test_lines_end_at_lf_keeping_cr():
    doc = TextLines("a\r\nb\rc\n", UTF16)
    assert doc.snapshot() == ("a\r\n", "b\rc\n", "")
    assert [doc.line(n) for n in range(3)] == ["a", "b\rc", ""]


def test_typing_a_newline_in_a_crlf_line():
    doc = TextLines("ab\r\ncd", UTF16)
    doc.replace((0, 1), (0, 1), "\r\n")
    assert doc.text == "a\r\nb\r\ncd"
    assert doc.take_change() == (("ab\r\n", "cd"), (0, 1, 2))
    doc.replace((1, 1), (2, 0), "")  # joins "b" and "cd"
    assert doc.text == "a\r\nbcd"
    assert doc.take_change()[1] == (1, 3, 2)


@pytest.mark.parametrize(("encoding", "character"), [(UTF8, 6), (UTF16, 3), (UTF32, 2)])
def test_positions_after_an_emoji_in_each_encoding(encoding, character):
    # "é😀x": é is 2 bytes / 1 unit, 😀 4 bytes / 2 UTF-16 units / 1 code point
    doc = TextLines("é😀x\n", encoding)
    assert doc.column(0, character) == 2
    doc.replace((0, character), (0, character), "!")
    assert doc.text == "é😀!x\n"


def test_strict_column_errors():
    doc = TextLines("😀\nab", UTF16)
    with pytest.raises(PositionError, match="surrogate pair"):
        doc.column(0, 1)
    with pytest.raises(PositionError, match="past the end of the line"):
        doc.column(1, 3)
    with pytest.raises(PositionError, match="past the end of the document"):
        doc.column(2, 0)


def test_changes_past_the_end_are_clamped_like_pygls():
    doc = TextLines("ab\ncd", UTF16)
    doc.replace((0, 9), (0, 9), "!")  # past the end of line 0: at its end
    assert doc.text == "ab!\ncd"
    doc.replace((7, 0), (7, 0), "?")  # past the last line: at the end of the document
    assert doc.text == "ab!\ncd?"
    doc = TextLines("😀", UTF16)
    doc.replace((0, 1), (0, 1), "x")  # inside the surrogate pair: before it
    assert doc.text == "x😀"


def _has_a(line: str) -> bool:
    return "a" in line


def test_per_line_recomputes_only_the_lines_a_change_touches():
    seen: list[str] = []

    def length(line: str) -> int:
        seen.append(line)
        return len(line)

    doc = TextLines("one\ntwo\nthree\n", UTF16)
    assert doc.per_line(length) == (4, 4, 6, 0)
    seen.clear()
    doc.replace((1, 1), (1, 2), "oo")  # "two" -> "tooo"
    assert doc.per_line(length) == (4, 5, 6, 0)
    assert seen == ["tooo\n"]  # the one line touched
    doc.replace((0, 3), (2, 0), "")  # lines 0-2 became "onethree"
    assert doc.per_line(length) == (9, 0)
    doc.replace_all("x\ny")
    assert doc.per_line(length) == (2, 1)


def test_replace_all_and_spans_of_several_changes():
    doc = TextLines("a\nb\nc\nd\n", UTF16)
    doc.replace((3, 0), (3, 1), "D\nE")  # line 3 became lines 3-4
    doc.replace((0, 0), (1, 1), "")  # lines 0-1 became line 0
    assert doc.text == "\nc\nD\nE\n"
    assert doc.take_change()[1] == (0, 4, 4)  # lines 0-3 of the first text, lines 0-3 of the last
    doc.replace_all("x")
    assert doc.take_change() == (("\n", "c\n", "D\n", "E\n", ""), (0, 5, 1)) and doc.snapshot() == ("x",)


def test_merge_spans_by_hand():
    assert merge_spans(None, (2, 3, 3)) == (2, 3, 3)
    assert merge_spans((2, 3, 5), (10, 11, 11)) == (2, 9, 11)  # far below: the lines between
    assert merge_spans((5, 6, 6), (0, 1, 3)) == (0, 6, 8)


# -- the edit history fed line spans -----------------------------------------------------------
def apply_diff(text: str, diff: str) -> str:
    """Apply a unified diff of our history's shape (one file, context checked) to ``text``."""
    import re

    lines = text.split("\n")
    old = [ln + "\n" for ln in lines[:-1]] + ([lines[-1]] if lines[-1] else [])
    out: list[str] = []
    at = 0
    rows = diff.split("\n")[2:]
    i = 0
    while i < len(rows):
        m = re.match(r"@@ -(\d+),(\d+) \+(\d+),(\d+) @@", rows[i])
        if not m:
            i += 1
            continue
        start = int(m.group(1)) - (1 if int(m.group(2)) else 0)
        out += old[at:start]
        at = start
        i += 1
        while i < len(rows) and rows[i][:1] in (" ", "-", "+"):
            kind, body = rows[i][0], rows[i][1:] + "\n"
            if i + 1 < len(rows) and rows[i + 1] == "\\ No newline at end of file":
                body = body[:-1]
                i += 1
            if kind in " -":
                assert old[at] == body, (old[at], body)
                at += 1
            if kind in " +":
                out.append(body)
            i += 1
    return "".join(out + old[at:])


@settings(max_examples=300, deadline=None)
@given(TEXTS, st.data())
def test_history_diffs_from_spans_turn_the_text_before_into_the_text_after(text, data):
    """The pending edit, diffed from the touched lines and their context only, is a correct
    diff of the whole texts, with the real line numbers."""
    history = EditHistory()
    doc = TextLines(text, UTF32)
    first_text = text
    for step in range(data.draw(st.integers(1, 5))):
        before_lines = doc.snapshot()
        index = LineIndex.of(text, UTF32)
        a, b = sorted([position(data, index), position(data, index)], key=lambda p: p[2])
        new = data.draw(TEXTS)
        doc.replace(a[:2], b[:2], new)
        text = text[: a[2]] + new + text[b[2] :]
        was, span = doc.take_change()
        assert was is before_lines
        if before_lines != doc.snapshot():
            history.record_lines("file:///f.py", before_lines, doc.snapshot(), span, step * 0.1)
        else:
            assert doc.text == "".join(before_lines)
    edits = history.edits()
    if first_text == text:
        return
    if len(edits) == 1:
        assert apply_diff(first_text, edits[0].diff) == text


def test_history_diff_of_a_long_document_names_the_real_line():
    lines = tuple(f"line {n}\n" for n in range(5000)) + ("",)
    after = lines[:4000] + ("line 4000 changed\n",) + lines[4001:]
    history = EditHistory()
    history.record_lines("file:///big.py", lines, after, (4000, 4001, 4001), 1.0)
    assert history.edits()[0].diff == (
        "--- a/big.py\n+++ b/big.py\n@@ -3999,5 +3999,5 @@\n line 3998\n line 3999\n"
        "-line 4000\n+line 4000 changed\n line 4001\n line 4002\n"
    )


# -- ghost text served while it is typed -------------------------------------------------------
def test_continuation_of_a_multi_line_ghost():
    before = ("def f():\r\n", "    ret\r\n", "x = 1")
    ghost = ShownGhost("p1", "file:///f.py", before, 1, 7, "urn 1\r\n    # done")
    assert ghost.continuation(("def f():\r\n", "    retur\r\n", "x = 1"), 1, 9) == "n 1\r\n    # done"
    typed = ("def f():\r\n", "    return 1\r\n", "    #\r\n", "x = 1")
    assert ghost.continuation(typed, 2, 5) == " done"
    assert ghost.continuation(("def f():\r\n", "    reta\r\n", "x = 1"), 1, 8) is None  # not the ghost
    assert ghost.continuation(("def g():\r\n", "    retu\r\n", "x = 1"), 1, 8) is None  # elsewhere
    assert ghost.continuation(("def f():\r\n", "    retu\r\n", "x = 1"), 1, 7) is None  # cursor moved


@pytest.mark.parametrize(("encoding", "character"), [(UTF8, 6), (UTF16, 3), (UTF32, 2)])
def test_line_positions_of_a_snapshot(encoding, character):
    positions = LinePositions(("é😀x\r\n", "ab"), encoding)
    assert positions.line(0) == "é😀x"
    assert positions.to_lsp(0, 2) == (0, character)
    assert positions.to_lsp(5, 0) == (1, 2)  # past the last line: the end of the text
