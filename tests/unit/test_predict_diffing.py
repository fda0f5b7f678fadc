"""classify and StreamingRewriteParser: one rewrite, seen as ghost text and as next edits."""

from __future__ import annotations


from hypothesis import given, settings
from hypothesis import strategies as st

from sparkforge.models.tokens import split_tokens
from sparkforge.predict.diffing import Ghost, RegionEdit, classify
from sparkforge.predict.postprocess import clean_rewrite
from sparkforge.predict.prompt import REGION_END, REGION_START, PromptSettings, build_prompt
from sparkforge.predict.streaming import StreamingRewriteParser


def apply_edits(text: str, edits: list[RegionEdit]) -> str:
    """Apply document-coordinate edits (str indices) to ``text``, as an editor would."""
    lines = text.split("\n")
    starts = [0]
    for line in lines[:-1]:
        starts.append(starts[-1] + len(line) + 1)  # "\r" stays part of a CRLF line's content
    for edit in sorted(edits, key=lambda e: (e.start_line, e.start_char), reverse=True):
        s = starts[edit.start_line] + edit.start_char
        e = starts[edit.end_line] + edit.end_char if edit.end_line < len(starts) else len(text)
        text = text[:s] + edit.new_text + text[e:]
    return text


def answer(region: str) -> str:
    return f"{REGION_START}\n{region}{REGION_END}"


def test_insertion_at_the_cursor_is_ghost_text_only():
    doc = "def total(xs):\n    return su\n"
    prompt = build_prompt(doc, "a.py", "python", (1, 13))
    rewrite = clean_rewrite(answer("def total(xs):\n    return sum(xs)\n"), prompt)
    prediction = classify(prompt, rewrite)
    assert prediction.ghost == Ghost(1, 13, "m(xs)")
    assert prediction.edits == []
    assert prediction.all_edits == [RegionEdit(1, 13, 1, 13, "m(xs)")]


def test_multi_line_insertion_at_the_cursor_is_ghost_text():
    doc = "class A:\n    def f(self):\n\nx = 1\n"
    prompt = build_prompt(doc, "a.py", "python", (1, 16))
    rewrite = "class A:\n    def f(self):\n        '''Do f.'''\n        return 1\n\nx = 1\n"
    prediction = classify(prompt, clean_rewrite(answer(rewrite), prompt))
    # Inserted whole lines after the cursor's line are shown from the cursor on.
    assert prediction.ghost == Ghost(1, 16, "\n        '''Do f.'''\n        return 1")
    assert prediction.edits == []


def test_rename_two_lines_above_is_a_minimal_edit_and_the_completion_is_ghost():
    doc = "def f(items):\n    total = 0\n    for x in items:\n        sum_total += x\n    ret\n"
    prompt = build_prompt(doc, "a.py", "python", (4, 7))
    assert prompt.region_start_line == 1
    region = "    sum_total = 0\n    for x in items:\n        sum_total += x\n    return sum_total\n"
    prediction = classify(prompt, clean_rewrite(answer(region), prompt))
    assert prediction.ghost == Ghost(4, 7, "urn sum_total")
    assert prediction.edits == [RegionEdit(1, 4, 1, 4, "sum_")]
    assert len(prediction.all_edits) == 2
    assert apply_edits(doc, prediction.all_edits) == "def f(items):\n" + region


def test_replacement_on_a_line_is_narrowed_to_the_characters_that_differ():
    doc = "a = 1\nresult = compute(total, 2)\nb = \n"
    prompt = build_prompt(doc, "a.py", "python", (2, 4))
    rewrite = "a = 1\nresult = compute(subtotal, 3)\nb = \n"
    prediction = classify(prompt, clean_rewrite(answer(rewrite), prompt))
    assert prediction.ghost is None
    assert prediction.edits == [RegionEdit(1, 17, 1, 25, "subtotal, 3")]


def test_deletion_is_an_edit():
    doc = "import os\nimport sys\nprint(1)\n"
    prompt = build_prompt(doc, "a.py", "python", (2, 8))
    prediction = classify(prompt, clean_rewrite(answer("import sys\nprint(1)\n"), prompt))
    assert prediction.ghost is None
    assert prediction.edits == [RegionEdit(0, 0, 1, 0, "")]


def test_duplicated_closing_bracket_is_dropped_from_ghost_text():
    doc = "x = max()\n"
    prompt = build_prompt(doc, "a.py", "python", (0, 8))
    prediction = classify(prompt, clean_rewrite(answer("x = max(a, b))\n"), prompt))
    assert prediction.ghost == Ghost(0, 8, "a, b")


def test_emoji_lines_use_str_indices():
    doc = 's = "😀😀"\nt = "👍🏽" + \n'
    assert len('t = "👍🏽" + ') == 11  # 13 in UTF-16
    prompt = build_prompt(doc, "a.py", "python", (1, 11))
    rewrite = 's = "😀😀!"\nt = "👍🏽" + s\n'
    prediction = classify(prompt, clean_rewrite(answer(rewrite), prompt))
    assert prediction.ghost == Ghost(1, 11, "s")
    assert prediction.edits == [RegionEdit(0, 7, 0, 7, "!")]


def test_crlf_document_gets_crlf_in_ghost_and_edits():
    doc = "if x:\r\n    pass\r\ny = 1\r\n"
    prompt = build_prompt(doc, "a.py", "python", (0, 5))
    rewrite = clean_rewrite(answer("if x:\n    print(x)\n    pass\ny = 2\n"), prompt)
    prediction = classify(prompt, rewrite)
    assert prediction.ghost == Ghost(0, 5, "\r\n    print(x)")
    assert prediction.edits == [RegionEdit(2, 4, 2, 5, "2")]
    assert apply_edits(doc, prediction.all_edits) == rewrite


def test_no_rewrite_is_an_empty_prediction():
    prompt = build_prompt("a\n", "a.py", "python", (0, 1))
    assert classify(prompt, None).empty


# Region lines all start with "v<n>" and are distinct; inserted text is upper case. So no
# inserted text can pass for a repeat of what follows the cursor (that would be trimmed).
line_strategy = st.text("abc xyz", max_size=8)
insert_strategy = st.text("ABC XYZ\n", min_size=1, max_size=12)


@st.composite
def region_and_rewrite(draw):
    bodies = draw(st.lists(line_strategy, min_size=1, max_size=8))
    lines = [f"v{i}{body}" for i, body in enumerate(bodies)]
    final_eol = draw(st.booleans())
    # A document without a line break has no line ending to follow: LF then.
    eol = draw(st.sampled_from(["\n", "\r\n"])) if len(lines) > 1 or final_eol else "\n"
    cursor_line = draw(st.integers(0, len(lines) - 1))
    cursor_char = draw(st.integers(0, len(lines[cursor_line])))
    new = list(lines)
    if draw(st.booleans()):  # text typed at the cursor
        ins = draw(insert_strategy)
        new[cursor_line] = new[cursor_line][:cursor_char] + ins + new[cursor_line][cursor_char:]
    for _ in range(draw(st.integers(0, 3))):  # other changes anywhere
        i = draw(st.integers(0, len(new) - 1))
        kind = draw(st.sampled_from(["rename", "delete", "insert"]))
        if kind == "rename" and new[i]:
            a = draw(st.integers(0, len(new[i])))
            b = draw(st.integers(a, len(new[i])))
            new[i] = new[i][:a] + draw(st.text("ABCXYZ", max_size=5)) + new[i][b:]
        elif kind == "delete" and len(new) > 1:
            del new[i]
        else:
            new.insert(i, draw(st.text("ABC XYZ", max_size=6)))
    tail = "\n" if final_eol else ""
    rewrite = ("\n".join(new) + tail).replace("\n", eol)
    return ("\n".join(lines) + tail).replace("\n", eol), (cursor_line, cursor_char), rewrite


@settings(max_examples=300, deadline=None)
@given(region_and_rewrite())
def test_applying_ghost_and_edits_reproduces_the_rewrite(case):
    doc, cursor, rewrite = case
    wide = PromptSettings(lines_above=20, lines_below=20)
    prompt = build_prompt(doc, "a.py", "python", cursor, settings=wide)
    assert prompt.region_text == doc
    prediction = classify(prompt, rewrite)
    assert apply_edits(doc, prediction.all_edits) == rewrite
    assert apply_edits(doc, prediction.edits + (
        [RegionEdit(prediction.ghost.line, prediction.ghost.character, prediction.ghost.line,
                    prediction.ghost.character, prediction.ghost.text)]
        if prediction.ghost else [])) == rewrite
    if prediction.ghost:
        assert (prediction.ghost.line, prediction.ghost.character) == cursor
    ordered = sorted(prediction.all_edits, key=lambda e: (e.start_line, e.start_char))
    for a, b in zip(ordered, ordered[1:]):  # edits never overlap
        assert (a.end_line, a.end_char) <= (b.start_line, b.start_char)


STREAM_DOC = "".join([
    "import os\n",
    "def load(path):\n",
    "    with open(path) as fh:\n",
    "        data = fh.read()\n",
    "    checked = validate(data)\n",
    "    parsed = parse(checked)\n",
    "    log('loaded', path)\n",
    "    return \n",
    "\n",
    "def save(path, data):\n",
    "    with open(path, 'w') as fh:\n",
    "        fh.write(data)\n",
])
STREAM_REWRITE = STREAM_DOC.replace("data = fh.read()", "text = fh.read()").replace(
    "validate(data)", "validate(text)").replace("    return \n", "    return parsed\n")


def stream(prompt, raw: str):
    parser = StreamingRewriteParser(prompt)
    early = []
    for piece in split_tokens(raw):
        for edit in parser.feed(piece):
            early.append((edit, parser.rewrite_so_far))
    return parser, early


def test_streaming_reports_hunks_once_the_model_is_copying_again():
    settings = PromptSettings(lines_above=8, lines_below=4)
    prompt = build_prompt(STREAM_DOC, "a.py", "python", (7, 11), settings=settings)
    raw = "Here it is:\n" + answer(STREAM_REWRITE[prompt.region_text and
                                                STREAM_DOC.index(prompt.region_text):])
    parser, early = stream(prompt, raw)
    final = [edit for edit, _ in early]
    assert final[:2] == [RegionEdit(3, 8, 3, 12, "text"), RegionEdit(4, 23, 4, 27, "text")]
    # Both were reported after two landmark lines, long before the answer ended.
    assert early[0][1].endswith("    parsed = parse(checked)\n    log('loaded', path)\n")
    assert parser.final_hunks() == final
    rewrite = parser.finish()
    prediction = classify(prompt, rewrite)
    assert prediction.ghost == Ghost(7, 11, "parsed")
    assert all(edit in prediction.all_edits for edit in final)


def test_streaming_waits_at_the_end_of_the_region_and_ignores_chatter():
    prompt = build_prompt(STREAM_DOC, "a.py", "python", (7, 11))
    region = prompt.region_text
    assert region.endswith("    with open(path, 'w') as fh:\n")
    rewrite = region.replace("open(path, 'w')", "open(path, mode)")
    parser, early = stream(prompt, f"```\n{answer(rewrite)}\n```")
    assert early == [] and parser.final_hunks() == []
    assert parser.finish() == rewrite


def test_streaming_a_long_answer_in_tiny_deltas_is_linear():
    doc = "".join(f"    step_{i} = run(step_{i - 1})\n" for i in range(400))
    prompt = build_prompt(doc, "a.py", "python", (200, 0),
                          settings=PromptSettings(lines_above=200, lines_below=199,
                                                  region_max_tokens=10_000, max_tokens=20_000))
    rewrite = "".join(line.replace("run(", "execute(") if i % 5 == 0 else line
                      for i, line in enumerate(prompt.region_text.splitlines(True)))
    raw = answer(rewrite)
    parser = StreamingRewriteParser(prompt)
    for ch in raw:  # ~14,000 one-character deltas (timed in bench/bench_units.py)
        parser.feed(ch)
    assert len(parser.final_hunks()) == 80
    assert parser.finish() == rewrite
