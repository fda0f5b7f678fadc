"""The pure parts of ``sparkforge eval predict``'s replay and report."""

from __future__ import annotations

import pytest

from sparkforge.evaluation.predict import CaseScore, apply_lsp_edits, crlf_offset, minimal_change
from sparkforge.evaluation.report import markdown_table, summary


def edit(sl: int, sc: int, el: int, ec: int, text: str) -> dict:
    return {"range": {"start": {"line": sl, "character": sc}, "end": {"line": el, "character": ec}},
            "newText": text}


def test_the_smallest_change_between_two_texts():
    assert minimal_change("def total(items, rate):\n", "def total(items, tax_rate):\n") == (17, 17, "tax_")
    assert minimal_change("a\nb\nc\n", "a\nc\n") == (2, 4, "")
    assert minimal_change("", "import os\n") == (0, 0, "import os\n")
    assert minimal_change("aaa", "aaaa") == (3, 3, "a")  # a repeat is placed at its end
    assert minimal_change("same", "same") == (4, 4, "")


def test_offsets_move_past_the_carriage_returns_before_them():
    text = "a\nbc\nd"
    assert [crlf_offset(text, o) for o in (0, 1, 2, 4, 5, 6)] == [0, 1, 3, 5, 7, 8]


def test_lsp_edits_are_applied_in_utf16():
    text = 'eur = "€5 😀"\nusd = "$5"\n'
    # the emoji is two UTF-16 units: character 12 is after it
    assert apply_lsp_edits(text, [edit(0, 12, 0, 12, " each"), edit(1, 9, 1, 9, " each")]) == (
        'eur = "€5 😀 each"\nusd = "$5 each"\n')
    assert apply_lsp_edits("a\r\nb\r\n", [edit(1, 0, 1, 1, "c")]) == "a\r\nc\r\n"
    with pytest.raises(ValueError, match="overlap"):
        apply_lsp_edits("abcdef", [edit(0, 1, 0, 4, "x"), edit(0, 3, 0, 5, "y")])


def row(name: str, *, expects: bool, suggested: bool, exact: bool, chrf=None, f1=None,
        first=None, last=None, tokens=(0, 0), cost=None) -> CaseScore:
    return CaseScore(case=name, source=f"{name}.md", format="sparkforge", kind="", language="python",
                     model="m", expects_edit=expects, suggested=suggested, exact=exact, delta_chrf=chrf,
                     line_f1=f1, first_ms=first, last_ms=last, input_tokens=tokens[0],
                     output_tokens=tokens[1], cost_usd=cost)


def test_the_summary_counts_each_rate_over_its_own_cases():
    scores = [
        row("a", expects=True, suggested=True, exact=True, chrf=100.0, f1=1.0, first=10, last=30, tokens=(100, 10)),
        row("b", expects=True, suggested=True, exact=False, chrf=40.0, f1=0.5, first=20, last=20, tokens=(100, 10)),
        row("c", expects=True, suggested=False, exact=False, chrf=0.0, f1=0.0, tokens=(100, 1)),
        row("d", expects=False, suggested=False, exact=True, tokens=(90, 1)),
        row("e", expects=False, suggested=True, exact=False, first=40, last=50, tokens=(90, 5)),
    ]
    s = summary(scores)
    assert s["cases"] == 5 and s["exact"] == 2 and s["exact_rate"] == 0.4
    assert s["delta_chrf"] == round(140 / 3, 2) and s["line_f1"] == 0.5
    assert s["no_edit_cases"] == 2 and s["no_suggestion_rate"] == 0.5
    assert s["first_ms_p50"] == 20.0 and s["last_ms_p50"] == 30.0
    assert s["input_tokens"] == 480 and s["output_tokens"] == 27 and s["cost_usd"] is None
    assert markdown_table({"m": scores, "other": scores[:1]}).split("\n") == [
        "| model | cases | exact | delta-chrF | line F1 | no suggestion | first ms p50 | last ms p50 | tokens | cost |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        "| m | 5 | 40.0% | 46.7 | 0.500 | 50.0% | 20 | 30 | 507 | – |",
        "| other | 1 | 100.0% | 100.0 | 1.000 | – | 10 | 30 | 110 | – |",
    ]
