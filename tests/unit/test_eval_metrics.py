"""Eval metrics: exact match, Zed's delta-chrF, line-level precision/recall/F1.

Every expected number is worked out by hand in the comment above it.
"""

from __future__ import annotations

import pytest

from sparkforge.evaluation.metrics import changed_lines, delta_chrf, exact_match, line_scores


def test_exact_match_compares_the_whole_resulting_text():
    assert exact_match("a\n", "a\nb\n", "a\nb\n")
    assert not exact_match("a\n", "a\nb \n", "a\nb\n")
    # No edit expected and none made.
    assert exact_match("a\n", "a\n", "a\n")
    # An edit where none is wanted, and no edit where one is wanted.
    assert not exact_match("a\n", "a\nb\n", "a\n")
    assert not exact_match("a\n", "a\n", "a\nb\n")


def test_delta_chrf_nothing_expected_nothing_made_is_perfect():
    assert delta_chrf("same", "same", "same") == 100.0


def test_delta_chrf_the_expected_change_scores_100():
    # before "ab", expected = predicted = "abc": for orders 1-3 both changes are {c}, {bc},
    # {abc}: precision = recall = 1; orders 4-6 have no n-gram on either side: 1 and 1 too.
    assert delta_chrf("ab", "abc", "abc") == pytest.approx(100.0)


def test_delta_chrf_right_place_wrong_text():
    # before "ab", expected "abc", predicted "abd". Changed regions (5 characters of context):
    # "ab"->"abc" and "ab"->"abd".
    #   order 1: expected {c}, predicted {d}: tp 0 -> precision 0, recall 0
    #   order 2: {bc} vs {bd}: 0, 0;  order 3: {abc} vs {abd}: 0, 0
    #   orders 4-6: no n-grams on either side: 1, 1 each (Zed's convention)
    # precision = recall = 3/6 = 0.5; F(beta=2) = 5 * 0.25 / (4 * 0.5 + 0.5) = 0.5 -> 50.
    assert delta_chrf("ab", "abd", "abc") == pytest.approx(50.0)


def test_delta_chrf_a_partial_deletion():
    # before "ab", expected "" (delete both), predicted "a" (delete "b" only).
    #   order 1: expected {¬a, ¬b}, predicted {¬b}: tp 1, fp 0, fn 1 -> precision 1, recall 1/2
    #   order 2: expected {¬ab}, predicted {¬ab} ("a" has no 2-gram): 1, 1
    #   orders 3-6: no n-grams on either side: 1, 1 each
    # precision = 6/6 = 1; recall = 5.5/6 = 11/12;
    # F(beta=2) = 5 * 1 * 11/12 / (4 * 1 + 11/12) = (55/12) / (59/12) = 55/59 -> 93.2203...
    assert delta_chrf("ab", "a", "") == pytest.approx(100 * 55 / 59)


def test_delta_chrf_collapses_runs_of_spaces():
    # "a  b" -> "a  c" expected, "a c" predicted: with runs of spaces collapsed both are
    # "a b" -> "a c", the same change: 100.
    assert delta_chrf("a  b", "a c", "a  c") == pytest.approx(100.0)


def test_delta_chrf_no_edit_made_or_an_edit_where_none_is_wanted_scores_0():
    # One side has n-grams at every order, the other none: precision and recall are 0 for
    # all six orders, so F is 0.
    assert delta_chrf("prefix old suffix", "prefix old suffix", "prefix new suffix") == 0.0
    assert delta_chrf("prefix old suffix", "prefix new suffix", "prefix old suffix") == 0.0


def test_changed_lines_are_a_multiset_of_removed_and_added_lines():
    assert changed_lines("a\nb\nc\n", "a\nB\nc\n") == {"-b": 1, "+B": 1}
    assert changed_lines("x\n", "x\ny\ny\n") == {"+y": 2}
    assert changed_lines("x\n", "x\n") == {}


def test_line_scores_one_extra_changed_line():
    # expected {-b, +B}; predicted {-b, -c, +B, +C}: tp 2, fp 2, fn 0
    # precision 2/4 = 0.5, recall 2/2 = 1, F1 = 2 * 0.5 * 1 / 1.5 = 2/3.
    p, r, f = line_scores("a\nb\nc\n", "a\nB\nC\n", "a\nB\nc\n")
    assert (p, r) == (0.5, 1.0)
    assert f == pytest.approx(2 / 3)


def test_line_scores_repeated_lines_count_as_many_times():
    # expected adds "y" three times, predicted twice: tp 2, fp 0, fn 1
    # precision 1, recall 2/3, F1 = 2 * (2/3) / (5/3) = 0.8.
    p, r, f = line_scores("x\n", "x\ny\ny\n", "x\ny\ny\ny\n")
    assert (p, r) == (1.0, pytest.approx(2 / 3))
    assert f == pytest.approx(0.8)


def test_line_scores_edge_cases():
    # Nothing expected, nothing made: perfect.
    assert line_scores("a\n", "a\n", "a\n") == (1.0, 1.0, 1.0)
    # Nothing made where an edit is expected, and the reverse: 0 everywhere.
    assert line_scores("a\n", "a\n", "b\n") == (0.0, 0.0, 0.0)
    assert line_scores("a\n", "b\n", "a\n") == (0.0, 0.0, 0.0)
    # Both replace "a", by different lines: expected {-a, +b}, predicted {-a, +c}:
    # tp 1, fp 1, fn 1 -> precision 1/2, recall 1/2, F1 1/2.
    assert line_scores("a\n", "c\n", "b\n") == (0.5, 0.5, 0.5)


def test_delta_chrf_keeps_zeds_quirk_for_a_transposition():
    # before "ie", expected = predicted = "ei" (a spelling fix). Zed keeps zero entries in the
    # n-gram deltas, so:
    #   order 1: deltas {i: 0, e: 0}: not empty, but no count on either side -> precision 0, recall 0
    #   order 2: {¬ie, ei} on both sides -> 1, 1
    #   orders 3-6: no n-gram in a 2-character region -> 1, 1 each
    # precision = recall = 5/6, F(beta=2) = 5/6 -> 83.33: a perfect fix of a transposition
    # does not reach 100, in Zed's metric as here.
    assert delta_chrf("ie", "ei", "ei") == pytest.approx(500 / 6)
