"""AnswerReader: when a streamed answer is complete, and the suggestion read ahead of it."""

from __future__ import annotations

from sparkforge.predict.answer import AnswerReader
from sparkforge.predict.diffing import Ghost, Prediction, RegionEdit
from sparkforge.predict.prompt import REGION_END, REGION_START, build_prompt

DOC = "def total(xs):\n    return su\n"
# The end marker as a tokenizer splits it: the model writes it over several tokens.
MARKER = ["<|", "editable", "_region", "_end", "|>"]


def read(prompt, pieces: list[str]) -> tuple[AnswerReader, list[bool], list[bool]]:
    """Feed ``pieces``; what feed said after each, and what guess_ahead did."""
    reader = AnswerReader(prompt)
    completes, guesses = [], []
    for piece in pieces:
        done = reader.feed(piece)
        completes.append(done)
        guesses.append(False if done else reader.guess_ahead())
    return reader, completes, guesses


def test_the_answer_is_complete_when_its_end_marker_has_come_and_the_guess_is_used():
    prompt = build_prompt(DOC, "a.py", "python", (1, 13))
    pieces = [REGION_START + "\n", "def total(xs):\n", "    return sum(xs)\n", *MARKER]
    reader, completes, guesses = read(prompt, pieces)
    assert completes == [False, False, False, False, False, False, False, True]
    # read ahead once, at "<|"; kept while the pieces could still be the marker's
    assert guesses == [False, False, False, True, False, False, False, False]
    prediction = reader.prediction()
    assert prediction.ghost == Ghost(1, 13, "m(xs)")
    assert prediction.edits == []
    assert prediction is reader.guessed  # the answer bore the guess out: not read again


def test_a_marker_in_one_piece_with_text_after_it_completes_the_answer():
    prompt = build_prompt(DOC, "a.py", "python", (1, 13))
    reader, completes, _ = read(prompt, [f"{REGION_START}\ndef total(xs):\n    return sum(xs)\n{REGION_END}\nThat is all."])
    assert completes == [True]
    assert reader.prediction().ghost == Ghost(1, 13, "m(xs)")


def test_a_guess_the_answer_does_not_bear_out_is_not_used():
    # F#'s "<|" is code, not the start of the marker: the guess (the line cut at "<|") is wrong
    doc = "let total xs =\n    List.sum <| xs\n"
    prompt = build_prompt(doc, "a.fs", "fsharp", (1, 18))
    pieces = [REGION_START + "\n", "let total xs =\n", "    List.sum <|", f" xs |> id\n{REGION_END}"]
    reader, completes, guesses = read(prompt, pieces)
    assert completes == [False, False, False, True]
    assert guesses == [False, False, True, False]
    assert reader.guessed is not None and reader.guessed.ghost is None  # the cut line
    prediction = reader.prediction()
    assert prediction.ghost == Ghost(1, 18, " |> id")
    assert prediction.all_edits == [RegionEdit(1, 18, 1, 18, " |> id")]


def test_after_a_wrong_guess_the_real_marker_is_read_ahead_again():
    doc = "let total xs =\n    List.sum <| xs\n"
    prompt = build_prompt(doc, "a.fs", "fsharp", (1, 18))
    pieces = [REGION_START + "\n", "let total xs =\n", "    List.sum <|", " xs |> id\n", *MARKER]
    reader, completes, guesses = read(prompt, pieces)
    assert completes == [False] * 8 + [True]
    assert guesses == [False, False, True, False, True, False, False, False, False]
    prediction = reader.prediction()
    assert prediction.ghost == Ghost(1, 18, " |> id")
    assert prediction is reader.guessed


def test_a_cut_off_answer_suggests_nothing_even_with_a_guess():
    prompt = build_prompt(DOC, "a.py", "python", (1, 13))
    reader, _, guesses = read(prompt, [REGION_START + "\n", "def total(xs):\n", "    return sum(xs)\n", "<|", "editable"])
    assert guesses[3] is True
    assert reader.prediction("length") == Prediction()


def test_a_region_that_holds_a_marker_is_complete_only_when_the_stream_ends():
    doc = f'END = "{REGION_END}"\nx = 1\n'
    prompt = build_prompt(doc, "a.py", "python", (1, 5))
    assert REGION_END in prompt.region_text
    pieces = [REGION_START + "\n", f'END = "{REGION_END}"\n', "x = 12\n", REGION_END]
    reader, completes, guesses = read(prompt, pieces)
    assert completes == [False, False, False, False]
    assert guesses == [False, False, False, False]
    assert reader.prediction().ghost == Ghost(1, 5, "2")
