"""The model server's oracle: given a real next-edit prompt, it answers with the editable region
as it reads in the expected text, on both APIs, through the real openai SDK."""

from __future__ import annotations

import pytest

from sparkforge.modelserver.regions import oracle_region
from sparkforge.modelserver.scenarios import OracleEdit, ScenarioError, parse_document
from sparkforge.predict.diffing import classify
from sparkforge.predict.postprocess import clean_rewrite
from sparkforge.predict.prompt import build_prompt
from sparkforge.privacy import redact_reversibly, unredact

FAST = "gpt-5.3-codex-spark"
BEFORE = (
    "def report(items):\n"
    "    total = 0\n"
    "    for it in items:\n"
    "        sum_total += it.price\n"
    "    print(total)\n"
)
AFTER = (
    "def report(items):\n"
    "    sum_total = 0\n"
    "    for it in items:\n"
    "        sum_total += it.price\n"
    "    print(sum_total)\n"
)
REGION_AFTER = (
    "<|editable_region_start|>\n"
    "def report(items):\n"
    "    sum_total = 0\n"
    "    for it in items:\n"
    "        sum_total += it.price\n"
    "    print(sum_total)\n"
    "<|editable_region_end|>"
)


def prompt_at(text: str, line: int, character: int, **kw) -> str:
    p = build_prompt(text, "report.py", "python", (line, character), **kw)
    return p.instructions + "\n" + p.input


def test_the_answer_is_the_region_as_it_reads_after_the_edit():
    assert oracle_region(prompt_at(BEFORE, 3, 17), [OracleEdit(BEFORE, AFTER)]) == REGION_AFTER


def test_the_answer_reads_back_as_the_expected_edits():
    p = build_prompt(BEFORE, "report.py", "python", (3, 17))
    answer = oracle_region(p.instructions + "\n" + p.input, [OracleEdit(BEFORE, AFTER)])
    prediction = classify(p, clean_rewrite(answer, p))
    assert [(e.start_line, e.start_char, e.end_line, e.end_char, e.new_text) for e in prediction.edits] == [
        (1, 4, 1, 4, "sum_"), (4, 10, 4, 10, "sum_")]
    assert prediction.ghost is None


def test_a_change_outside_the_region_is_answered_with_the_region_unchanged():
    far = "x = 1\n" * 20 + BEFORE
    far_after = "x = 2\n" + "x = 1\n" * 19 + BEFORE
    prompt = prompt_at(far, 23, 17)
    answer = oracle_region(prompt, [OracleEdit(far, far_after)])
    assert answer == (
        "<|editable_region_start|>\n"
        "def report(items):\n    total = 0\n    for it in items:\n        sum_total += it.price\n    print(total)\n"
        "<|editable_region_end|>"
    )


def test_the_first_edit_that_fits_the_region_answers():
    far = "x = 1\n" * 20 + BEFORE
    outside = OracleEdit(far, "x = 2\n" + far[6:])
    inside = OracleEdit(far, far.replace("print(total)", "print(total, 1)"))
    answer = oracle_region(prompt_at(far, 23, 17), [outside, inside])
    assert answer is not None and "    print(total, 1)\n<|editable_region_end|>" in answer


def test_a_region_found_twice_is_placed_by_the_lines_above_it():
    block = "    if a:\n        b()\n"
    text = "def f():\n" + block + "\n" * 12 + "def g():\n" + block
    after = text[: text.rindex("b()")] + "c()\n"
    prompt = prompt_at(text, text.count("\n") - 1, 8)
    answer = oracle_region(prompt, [OracleEdit(text, after)])
    assert answer is not None and answer.endswith("    if a:\n        c()\n<|editable_region_end|>")


def test_at_the_end_of_a_file_without_a_final_newline():
    text = "a = 1\nb = "
    after = "a = 1\nb = 2\nc = 3"
    p = build_prompt(text, "x.py", "python", (1, 4))
    answer = oracle_region(p.instructions + "\n" + p.input, [OracleEdit(text, after)])
    assert answer == "<|editable_region_start|>\na = 1\nb = 2\nc = 3\n<|editable_region_end|>"
    prediction = classify(p, clean_rewrite(answer, p))
    assert prediction.ghost is not None and prediction.ghost.text == "2\nc = 3"


def test_no_region_in_the_prompt_or_not_in_the_file():
    assert oracle_region("Explain this code.", [OracleEdit(BEFORE, AFTER)]) is None
    assert oracle_region(prompt_at(BEFORE, 3, 17), [OracleEdit("other\n", "text\n")]) is None


def test_a_malformed_oracle_is_refused_naming_the_field():
    with pytest.raises(ScenarioError, match=r"scenarios\[0\]\.oracle\[0\] must be an object with exactly"):
        parse_document([{"oracle": [{"before": "a"}]}])
    with pytest.raises(ScenarioError, match=r"scenarios\[0\]\.oracle must be a list"):
        parse_document([{"oracle": "a"}])


async def test_responses_and_chat_answer_the_oracle(ms, client):
    ms.load([{"name": "oracle", "oracle": [{"before": BEFORE, "after": AFTER}]}])
    p = build_prompt(BEFORE, "report.py", "python", (3, 17))
    text = ""
    async with client.responses.stream(model=FAST, instructions=p.instructions, input=p.input) as stream:
        async for event in stream:
            if event.type == "response.output_text.delta":
                text += event.delta
    assert text == REGION_AFTER
    chat = await client.chat.completions.create(
        model="qwen2.5-coder", messages=[{"role": "system", "content": p.instructions},
                                         {"role": "user", "content": p.input}])
    assert chat.choices[0].message.content == REGION_AFTER
    assert [r["scenario"] for r in ms.requests()] == ["oracle", "oracle"]


def test_a_secret_the_prompt_hid_is_matched_and_answered_with_its_marker():
    token = "ghp_abcdefghijklmnopqrstuvwxyz0123456789AB"
    text = f'TOKEN = "{token}"\nURL = "https://x"\nclient = Client(\n'
    after = f'TOKEN = "{token}"\nURL = "https://x"\nclient = Client(URL, TOKEN)\n'
    p = build_prompt(text, "cfg.py", "python", (2, 16))
    shown, secrets = redact_reversibly(p.input)  # as the engine sends it
    assert token not in shown and "[REDACTED-1]" in shown
    answer = oracle_region(p.instructions + "\n" + shown, [OracleEdit(text, after)])
    assert answer == ('<|editable_region_start|>\nTOKEN = "ghp_[REDACTED-1]"\nURL = "https://x"\n'
                      "client = Client(URL, TOKEN)\n<|editable_region_end|>")
    prediction = classify(p, clean_rewrite(unredact(answer, secrets), p))
    assert prediction.ghost is not None and prediction.ghost.text == "URL, TOKEN)" and not prediction.edits
