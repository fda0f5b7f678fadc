"""clean_rewrite and trim_duplicate_suffix: from a model's raw answer to a usable rewrite."""

from __future__ import annotations

from sparkforge.predict.postprocess import (
    clean_rewrite,
    drop_lines_after_region,
    lines_after_region,
    reindent,
    restore_dropped_ends,
    restore_indentation,
    trim_duplicate_suffix,
)
from sparkforge.predict.prompt import CURSOR, REGION_END, REGION_START, PromptSettings, build_prompt

DOC = "def add(a, b):\n    return a +\n\nprint(add(1, 2))\n"


def answer(region: str) -> str:
    return f"{REGION_START}\n{region}{REGION_END}"


def prompt_for(doc: str = DOC, cursor: tuple[int, int] = (1, 14)):
    return build_prompt(doc, "a.py", "python", cursor)


def test_text_between_markers_is_the_rewrite():
    prompt = prompt_for()
    expected = "def add(a, b):\n    return a + b\n\nprint(add(1, 2))\n"
    assert clean_rewrite(answer(expected), prompt) == expected


def test_fences_and_chatter_are_stripped():
    prompt = prompt_for()
    expected = "def add(a, b):\n    return a + b\n\nprint(add(1, 2))\n"
    fenced = f"Sure! Here is the region:\n```python\n{answer(expected)}\n```\nHope it helps."
    assert clean_rewrite(fenced, prompt) == expected
    inner_fence = f"{REGION_START}\n```python\n{expected}```\n{REGION_END}"
    assert clean_rewrite(inner_fence, prompt) == expected
    no_markers = f"Here you go:\n```python\n{expected}```\n"
    assert clean_rewrite(no_markers, prompt) == expected
    bare = expected
    assert clean_rewrite(bare, prompt) == expected
    missing_end = f"{REGION_START}\n{expected}"  # the model forgot the end marker
    assert clean_rewrite(missing_end, prompt) == expected


def test_echoed_cursor_marker_is_removed():
    prompt = prompt_for()
    raw = answer(f"def add(a, b):\n    return a + b{CURSOR}\n\nprint(add(1, 2))\n")
    assert CURSOR not in clean_rewrite(raw, prompt)


def test_no_op_empty_and_runaway_answers_are_none():
    prompt = prompt_for()
    assert clean_rewrite(answer(prompt.region_text), prompt) is None
    assert clean_rewrite(answer(prompt.region_text.replace("a +\n", "a +  \n")), prompt) is None
    assert clean_rewrite(answer(""), prompt) is None
    assert clean_rewrite("", prompt) is None
    runaway = prompt.region_text + "".join(f"x{i} = {i}\n" for i in range(100))
    assert clean_rewrite(answer(runaway), prompt) is None
    assert clean_rewrite(answer(runaway), prompt, max_extra_lines=200) is not None


def test_crlf_round_trip():
    doc = DOC.replace("\n", "\r\n")
    prompt = prompt_for(doc)
    raw = answer("def add(a, b):\n    return a + b\n\nprint(add(1, 2))\n")
    assert clean_rewrite(raw, prompt) == "def add(a, b):\r\n    return a + b\r\n\r\nprint(add(1, 2))\r\n"
    raw_crlf = raw.replace("\n", "\r\n")  # a model that answers in CRLF gets the same result
    assert clean_rewrite(raw_crlf, prompt) == clean_rewrite(raw, prompt)


def test_region_at_end_of_file_without_newline():
    prompt = build_prompt("x = 1\ny = ", "a.py", "python", (1, 4))
    assert prompt.region_text == "x = 1\ny = "
    assert clean_rewrite(answer("x = 1\ny = 2\n"), prompt) == "x = 1\ny = 2"


def test_indentation_style_follows_the_document():
    doc = "def f(x):\n\tif x:\n\t\tpass\n"
    prompt = prompt_for(doc, (2, 6))
    raw = answer("def f(x):\n\tif x:\n        return x\n    return 0\n")
    assert clean_rewrite(raw, prompt) == "def f(x):\n\tif x:\n\t\treturn x\n\treturn 0\n"
    spaces = prompt_for("def f(x):\n  if x:\n    pass\n", (2, 6))
    raw = answer("def f(x):\n  if x:\n\t\treturn x\n")
    assert clean_rewrite(raw, spaces) == "def f(x):\n  if x:\n    return x\n"
    assert reindent("\t * doc", "\t") == "\t * doc"  # a comment's alignment space stays


def test_trailing_whitespace_the_model_dropped_is_restored():
    doc = "a = 1   \nb = \nc = 3\n"
    prompt = prompt_for(doc, (1, 4))
    assert clean_rewrite(answer("a = 1\nb = 2\nc = 3\n"), prompt) == "a = 1   \nb = 2\nc = 3\n"


def test_duplicated_closing_bracket_is_dropped():
    assert trim_duplicate_suffix("a, b)", ")", []) == "a, b"
    assert trim_duplicate_suffix("a, b))", "))", []) == "a, b"
    assert trim_duplicate_suffix('hello")', '")', []) == "hello"
    assert trim_duplicate_suffix("x];", "];", []) == "x"
    # A closer whose opener is inside the insertion is not a duplicate.
    assert trim_duplicate_suffix("bar(1)", ")", []) == "bar(1)"
    assert trim_duplicate_suffix("items[0]", "]", []) == "items[0]"
    assert trim_duplicate_suffix("a, b", ")", []) == "a, b"
    assert trim_duplicate_suffix("abc", "", []) == "abc"


def test_duplicated_following_lines_are_dropped():
    # if x {\n    |\n}  and the model writes "foo();\n}" at the cursor
    assert trim_duplicate_suffix("foo();\n}", "", ["}", "rest"]) == "foo();"
    assert trim_duplicate_suffix("a\n  b\n}\n", "", ["  b", "}", ""]) == "a"
    # A new block that ends like the next line is kept whole when it is not a repeat.
    assert trim_duplicate_suffix("foo();\n}\nif y {\n  bar();\n}", "", ["}"]) == (
        "foo();\n}\nif y {\n  bar();")
    assert trim_duplicate_suffix("x = 1\n", "", [""]) == "x = 1\n"  # blank lines prove nothing
    assert trim_duplicate_suffix("a\nb", "", ["c"]) == "a\nb"


def test_a_closer_for_a_block_the_user_opened_is_no_repeat_of_the_outer_one():
    # func f() {\n\tif err != nil {|\n}  completed with the if's body and its own "\t}"
    assert trim_duplicate_suffix("\n\t\treturn err\n\t}", "", ["}", ""]) == "\n\t\treturn err\n\t}"
    assert trim_duplicate_suffix("\n        x()\n    })", "", ["})"]) == "\n        x()\n    })"
    # the same closer at the same depth is the model writing the next line again
    assert trim_duplicate_suffix("\n\t\treturn err\n\t}", "", ["\t}", "}"]) == "\n\t\treturn err"
    assert trim_duplicate_suffix("\n  return 1;\n}", "", ["  }"]) == "\n  return 1;"


def test_an_answer_cut_short_is_refused():
    prompt = prompt_for()
    cut = f"{REGION_START}\ndef add(a, b):\n    return a + b\n"  # no end marker, tail missing
    assert clean_rewrite(cut, prompt) is None
    assert clean_rewrite("def add(a, b):\n    return a + b\n", prompt) is None


def test_a_line_the_model_changed_is_not_read_as_a_line_it_dropped():
    # Next edits rewrite lines away from the cursor (a rename carried on, an argument added at
    # a call): the changed line replaces the original, which must not come back beside it.
    doc = "def total(items, tax_rate):\n    return sum(i.price for i in items) * (1 + rate)\n"
    prompt = build_prompt(doc, "cart.py", "python", (0, 25))
    renamed = "def total(items, tax_rate):\n    return sum(i.price for i in items) * (1 + tax_rate)\n"
    assert clean_rewrite(answer(renamed), prompt) == renamed
    doc = "def area(w, h, d):\n    return w * h\n\nprint(area(2, 3))\n"
    prompt = build_prompt(doc, "p.py", "python", (1, 16))
    both = "def area(w, h, d):\n    return w * h * d\n\nprint(area(2, 3, 1))\n"
    assert clean_rewrite(answer(both), prompt) == both
    doc = "name = 'y'\nprint(nam)\n"
    prompt = build_prompt(doc, "w.py", "python", (0, 9))
    assert clean_rewrite(answer("name = 'y'\nprint(name)\n"), prompt) == "name = 'y'\nprint(name)\n"


def test_the_rest_of_the_line_written_again_is_dropped():
    assert trim_duplicate_suffix("a > b) {", ") {", []) == "a > b"
    assert trim_duplicate_suffix("x, verbose=True)", ", verbose=True)", []) == "x"
    assert trim_duplicate_suffix("ab", "b", []) == "ab"  # one character proves nothing


def test_lines_left_out_at_the_region_end_are_kept_but_a_deletion_inside_it_is_not():
    originals = ["def f():", "    x = ", "    y = 2", "    return x + y", ""]
    # stopped right after the cursor's line: the rest was left out, not deleted
    assert restore_dropped_ends(originals, ["def f():", "    x = 1", ""], 1, 8) == [
        "def f():", "    x = 1", "    y = 2", "    return x + y", ""]
    # a line deleted with the rest copied is the model's edit
    kept = ["def f():", "    x = 1", "    return x + y", ""]
    assert restore_dropped_ends(originals, kept, 1, 8) == kept


def test_a_region_answered_without_its_indentation_is_indented_back():
    originals = ["    def f(self):", "        return ", ""]
    assert restore_indentation(originals, ["def f(self):", "    return 1", ""]) == [
        "    def f(self):", "        return 1", ""]
    # an answer whose lines are as deep as the region's is left alone
    same = ["    def f(self):", "        return 1", ""]
    assert restore_indentation(originals, same) == same


def test_an_answer_stopped_at_an_inner_closing_brace_is_refused():
    doc = "func f() {\n\tif x {\n\t\t\n\t}\n\treturn\n}\n"
    prompt = build_prompt(doc, "a.go", "go", (2, 2))
    cut = f"{REGION_START}\nfunc f() {{\n\tif x {{\n\t\ty()\n\t}}\n"
    assert clean_rewrite(cut, prompt) is None


def test_the_lines_after_the_region_copied_after_it_are_dropped():
    doc = "def area(w, h):\n    return \n\n\ndef perimeter(w, h):\n    return 2 * (w + h)\n"
    prompt = build_prompt(doc, "a.py", "python", (1, 11),
                          settings=PromptSettings(lines_above=1, lines_below=0))
    # as the prompt shows them, down to the empty line after the last line break
    assert lines_after_region(prompt) == ["", "", "def perimeter(w, h):", "    return 2 * (w + h)", ""]
    copied = answer("def area(w, h):\n    return w * h\n\n\ndef perimeter(w, h):\n    return 2 * (w + h)\n")
    assert clean_rewrite(copied, prompt) == "def area(w, h):\n    return w * h\n"
    # a line the file does not have next is the model's own
    assert drop_lines_after_region(["if x {", "\ty()", ""], ["if x {", "\ty()", "\t}", ""], ["}"]) == [
        "if x {", "\ty()", "\t}", ""]
