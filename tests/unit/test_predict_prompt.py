"""build_prompt: the editable region, the cursor marker, budgets, context from other files."""

from __future__ import annotations

import pytest

from sparkforge.models.tokens import count_tokens
from sparkforge.predict.prompt import (
    CURSOR,
    HISTORY_HEADER,
    REGION_END,
    REGION_START,
    SNIPPETS_HEADER,
    PromptSettings,
    RegionTooLarge,
    build_prompt,
)


def region_block(prompt_input: str) -> str:
    start = prompt_input.index(REGION_START) + len(REGION_START) + 1
    return prompt_input[start : prompt_input.index(REGION_END)]


def section(prompt_input: str, header: str) -> str:
    """The text of one section: from its header to the next section header."""
    if header not in prompt_input:
        return ""
    rest = prompt_input.split(header, 1)[1]
    return rest.split("\n## ", 1)[0]


def test_region_is_cursor_line_plus_three_either_side_with_the_cursor_marked():
    doc = "".join(f"line {i}\n" for i in range(20))
    prompt = build_prompt(doc, "src/a.py", "python", (10, 3))
    assert (prompt.region_start_line, prompt.region_end_line) == (7, 14)
    assert prompt.region_text == "".join(f"line {i}\n" for i in range(7, 14))
    assert prompt.region_text[prompt.cursor_offset_in_region :].startswith("e 10\n")
    assert prompt.input == (  # the whole prompt, written out: markers as the model sees them
        "## Current file: src/a.py (python), lines 1-21 of 21\n"
        "line 0\nline 1\nline 2\nline 3\nline 4\nline 5\nline 6\n"
        "<|editable_region_start|>\n"
        "line 7\nline 8\nline 9\nlin<|user_cursor_is_here|>e 10\nline 11\nline 12\nline 13\n"
        "<|editable_region_end|>\n"
        "line 14\nline 15\nline 16\nline 17\nline 18\nline 19\n\n")
    assert prompt.version == "sf-predict-2"
    assert prompt.instructions.startswith(
        "You predict the next edit a programmer will make in their code editor.\n")
    assert "between <|editable_region_start|> and <|editable_region_end|>" in prompt.instructions


def test_sections_go_from_what_changes_least_to_what_changes_most():
    # Other files, then the edit history, then the excerpt: the prompt cache reuses the
    # longest unchanged prefix, and the excerpt changes with every keystroke.
    doc = "".join(f"line {i}\n" for i in range(12))
    history = "--- a/src/a.py\n+++ b/src/a.py\n@@ -1,1 +1,1 @@\n-line zero\n+line 0\n"
    prompt = build_prompt(doc, "src/a.py", "python", (6, 2), history=history,
                          other_documents=[("lib/b.py", "RATE = 2\n")])
    assert prompt.input == (  # the whole prompt, written out
        "## Related code from other files\n"
        "--- lib/b.py\n"
        "RATE = 2\n\n\n"
        "## Recent edits (oldest first)\n"
        "--- a/src/a.py\n+++ b/src/a.py\n@@ -1,1 +1,1 @@\n-line zero\n+line 0\n\n"
        "## Current file: src/a.py (python), lines 1-13 of 13\n"
        "line 0\nline 1\nline 2\n"
        "<|editable_region_start|>\n"
        "line 3\nline 4\nline 5\nli<|user_cursor_is_here|>ne 6\nline 7\nline 8\nline 9\n"
        "<|editable_region_end|>\n"
        "line 10\nline 11\n\n")
    assert prompt.instructions.startswith(
        "You predict the next edit a programmer will make in their code editor.\n\n"
        "You are shown related code from other files, the user's recent edits as unified diffs, "
        "and an excerpt of the file being edited.")


def test_cursor_marker_after_emoji_uses_str_indices():
    doc = 'a = 1\nname = "😀👍🏽 é" + na\nb = 2\n'
    line = doc.split("\n")[1]
    character = len(line)  # a str index: the LSP layer has converted from UTF-16
    prompt = build_prompt(doc, "a.py", "python", (1, character))
    assert f'name = "😀👍🏽 é" + na{CURSOR}\n' in prompt.input
    assert prompt.region_text[: prompt.cursor_offset_in_region].endswith('"😀👍🏽 é" + na')
    assert (prompt.cursor_line, prompt.cursor_character) == (1, character)


def test_cursor_is_clamped_into_the_document():
    prompt = build_prompt("ab\ncd", "a.py", "python", (7, 99))
    assert (prompt.cursor_line, prompt.cursor_character) == (1, 2)
    assert prompt.region_text == "ab\ncd"
    assert region_block(prompt.input) == f"ab\ncd{CURSOR}\n"  # the end marker on its own line


def test_empty_document():
    prompt = build_prompt("", "new.py", "python", (0, 0))
    assert prompt.region_text == "" and prompt.cursor_offset_in_region == 0
    assert f"{REGION_START}\n{CURSOR}\n{REGION_END}\n" in prompt.input


def test_crlf_document_prompt_is_lf_and_region_text_is_exact():
    doc = "one\r\ntwo\r\nthree 😀x\r\nfour\r\n"
    prompt = build_prompt(doc, "a.py", "python", (2, 8))
    assert "\r" not in prompt.input
    assert prompt.line_ending == "\r\n"
    assert prompt.region_text == doc
    assert prompt.region_text[: prompt.cursor_offset_in_region] == "one\r\ntwo\r\nthree 😀x"
    assert prompt.region_lf[: prompt.cursor_offset_lf] == "one\ntwo\nthree 😀x"
    assert f"three 😀x{CURSOR}\nfour\n" in prompt.input


def test_tabs_are_detected_as_the_indentation_unit():
    prompt = build_prompt("def f():\n\tif x:\n\t\treturn 1\n", "a.py", "python", (1, 1))
    assert prompt.indent == "\t"
    prompt = build_prompt("def f():\n  if x:\n    return 1\n", "a.py", "python", (1, 1))
    assert prompt.indent == "  "


def test_every_section_fits_its_budget_and_the_whole_fits_the_total():
    settings = PromptSettings(max_tokens=900, context_max_tokens=300, history_max_tokens=150,
                              snippets_max_tokens=120)
    doc = "".join(f"result_{i} = transform_value(data_{i}, factor={i})\n" for i in range(3000))
    history = "".join(f"--- a/x.py\n+++ b/x.py\n@@ -{i},1 +{i},1 @@\n-old {i}\n+new {i}\n"
                      for i in range(200))
    others = [(f"lib/mod{i}.py", "".join(f"def helper_{i}_{j}(x):\n    return x * {j}\n"
                                         for j in range(300))) for i in range(5)]
    others.append(("lib/tx.py", "import math\n\n\ndef transform_value(d, factor):\n"
                   "    '''Scale d.'''\n    return d * factor\n"))
    prompt = build_prompt(doc, "x.py", "python", (1500, 10), history=history,
                          other_documents=others, settings=settings)
    assert prompt.token_count <= settings.max_tokens
    assert prompt.token_count == count_tokens(prompt.instructions) + count_tokens(prompt.input)
    history_text = section(prompt.input, HISTORY_HEADER)
    snippets_text = section(prompt.input, SNIPPETS_HEADER)
    assert 0 < count_tokens(history_text.strip("\n")) <= settings.history_max_tokens
    assert history_text.rstrip("\n").endswith("+new 199")  # the most recent edits are kept
    assert history_text.startswith("--- a/x.py")  # cut at a line boundary, then a diff header
    assert 0 < count_tokens(snippets_text) <= settings.snippets_max_tokens
    assert "def transform_value(d, factor):" in snippets_text  # a definition the region names
    file_text = section(prompt.input, "## Current file:")
    context = file_text.split("\n", 1)[1].replace(region_block(prompt.input), "")
    assert count_tokens(context) <= settings.context_max_tokens + 5  # + the two markers
    for name, cap in [("context", 300), ("history", 150), ("snippets", 120)]:
        assert prompt.section_tokens[name] <= cap


def test_context_closest_to_the_region_is_kept_first():
    doc = "".join(f"line {i}\n" for i in range(2000))
    settings = PromptSettings(context_max_tokens=60)
    prompt = build_prompt(doc, "a.py", "text", (1000, 0), settings=settings)
    assert "line 996\n" in prompt.input and "line 1004\n" in prompt.input
    assert "line 900\n" not in prompt.input and "line 1100\n" not in prompt.input


def test_definitions_come_from_other_documents_and_the_rest_of_this_one():
    doc = ("def local_helper(a):\n    return a\n" + "pass\n" * 400
           + "value = compute_total(items) + local_helper(2)\n")
    others = [("lib/math_utils.ts",
               "// utils\n\nexport function computeAverage(xs) {\n  return 0;\n}\n\n"
               "export const compute_total = (items) => {\n  return items.length;\n};\n")]
    settings = PromptSettings(context_max_tokens=40)
    prompt = build_prompt(doc, "main.py", "python", (402, 8), other_documents=others,
                          settings=settings)
    snippets = section(prompt.input, SNIPPETS_HEADER)
    assert "--- lib/math_utils.ts\n" in snippets
    assert "export const compute_total = (items) => {\n  return items.length;\n" in snippets
    assert "--- main.py\ndef local_helper(a):\n    return a\n" in snippets


def test_region_shrinks_around_the_cursor_when_too_large_and_refuses_a_huge_line():
    doc = "".join(f"{'word ' * 60}{i}\n" for i in range(10))
    settings = PromptSettings(region_max_tokens=200)
    prompt = build_prompt(doc, "a.txt", "plaintext", (5, 0), settings=settings)
    assert prompt.region_start_line <= 5 < prompt.region_end_line
    assert count_tokens(prompt.region_text) <= 200
    with pytest.raises(RegionTooLarge):
        build_prompt("x" * 50_000, "min.js", "javascript", (0, 10), settings=settings)


def test_a_tight_total_budget_is_respected_whatever_the_path():
    doc = "".join(f"item_{i} = make_item({i}, 'label {i}')\n" for i in range(500))
    history = "".join(f"--- a/x.py\n+++ b/x.py\n@@ -{i},1 +{i},1 @@\n-a{i}\n+b{i}\n"
                      for i in range(50))
    others = [("lib/items.py", "def make_item(n, label):\n    return (n, label)\n" * 20)]
    long_path = "src/" + "deeply/nested/" * 5 + "module.py"
    for total in (350, 400, 600, 1000):
        settings = PromptSettings(max_tokens=total)
        prompt = build_prompt(doc, long_path, "python", (250, 5), history=history,
                              other_documents=others, settings=settings)
        assert prompt.token_count <= total
    tiny = build_prompt(doc, "a.py", "python", (250, 5), settings=PromptSettings(max_tokens=10))
    assert REGION_START in tiny.input  # the region is always sent
