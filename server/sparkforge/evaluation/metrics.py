"""How close a predicted next edit is to the expected one (docs/eval.md, "Metrics").

Each metric takes three whole texts of one file: ``before`` (after the history, when the
suggestion was asked for), ``predicted`` (``before`` with the suggestion applied, or
``before`` itself when nothing was suggested) and ``expected`` (``before`` with the expected
edit applied, or ``before`` itself when no edit is expected).

``delta_chrf`` and ``line_scores`` follow Zed's edit-prediction eval
(zed-industries/zed, ``crates/edit_prediction_cli/src/metrics.rs``: ``delta_chr_f`` and
``exact_lines_match``), so that figures compare with Zed's.
"""

from __future__ import annotations

import difflib
from collections import Counter

CHRF_ORDER = 6  # character n-grams of 1..6 characters
CHRF_BETA = 2.0  # recall weighs beta² = 4 times as much as precision
_CONTEXT = CHRF_ORDER - 1  # characters either side of a change that share an n-gram with it
_DELETED = "¬"  # prefix of a removed n-gram, as in Zed

# Rust's char::is_whitespace (Unicode White_Space); Python's isspace() also counts \x1c-\x1f.
_WHITESPACE = frozenset(
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000"
)


def exact_match(before: str, predicted: str, expected: str) -> bool:
    """The suggestion leaves the file exactly as expected (no suggestion when none is expected)."""
    del before  # same signature as the other metrics
    return predicted == expected


def delta_chrf(before: str, predicted: str, expected: str) -> float:
    """Zed's delta-chrF, 0 to 100: character n-gram F-score of the predicted change against
    the expected change.

    Runs of whitespace other than newlines collapse to one space and runs of newlines to one
    newline. For each order n in 1..6, the change is the difference of n-gram counts between
    ``before`` and the other text, over the changed region plus 5 characters either side; a
    removed n-gram counts as its own "¬n-gram". Precision and recall of the predicted counts
    against the expected counts are averaged over the orders (an order where neither text
    has any n-gram in its region scores 1 and 1, Zed's convention), then combined as F-beta
    with beta 2. All three texts equal (nothing expected, nothing suggested) is 100.
    """
    if before == expected == predicted:
        return 100.0
    original = _collapse_whitespace(before)
    exp_old, exp_new = _changed_regions(original, _collapse_whitespace(expected))
    act_old, act_new = _changed_regions(original, _collapse_whitespace(predicted))
    total_precision = total_recall = 0.0
    for order in range(1, CHRF_ORDER + 1):
        expected_delta = _delta(_ngrams(exp_new, order), _ngrams(exp_old, order))
        actual_delta = _delta(_ngrams(act_new, order), _ngrams(act_old, order))
        if not expected_delta and not actual_delta:
            total_precision += 1.0
            total_recall += 1.0
            continue
        precision, recall, _ = _classify(_signed_counts(expected_delta), _signed_counts(actual_delta))
        total_precision += precision
        total_recall += recall
    precision = total_precision / CHRF_ORDER
    recall = total_recall / CHRF_ORDER
    if precision + recall == 0:
        return 0.0
    beta2 = CHRF_BETA * CHRF_BETA
    return (1 + beta2) * precision * recall / (beta2 * precision + recall) * 100


def line_scores(before: str, predicted: str, expected: str) -> tuple[float, float, float]:
    """Precision, recall and F1 (0 to 1) of the changed lines, as Zed's ``exact_lines_match``.

    A change is the multiset of lines it removes ("-" + line) and adds ("+" + line), from a
    line diff against ``before`` (line ends are not part of a line). True positives are the
    lines both changes share (counting repeats), false positives the predicted ones not
    expected, false negatives the expected ones not predicted. Neither text changing is
    (1, 1, 1); otherwise an empty side makes precision and recall 0 (Zed's convention for a
    zero denominator), and F1 is 0 when precision + recall is 0.
    """
    expected_lines = changed_lines(before, expected)
    predicted_lines = changed_lines(before, predicted)
    if not expected_lines and not predicted_lines:
        return 1.0, 1.0, 1.0
    return _classify(expected_lines, predicted_lines)


def changed_lines(before: str, after: str) -> Counter[str]:
    """The lines a line diff from ``before`` to ``after`` removes ("-…") and adds ("+…")."""
    old = before.split("\n")
    new = after.split("\n")
    counts: Counter[str] = Counter()
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        counts.update("-" + line for line in old[i1:i2])
        counts.update("+" + line for line in new[j1:j2])
    return counts


def _classify(expected: Counter[str], actual: Counter[str]) -> tuple[float, float, float]:
    tp = sum(min(count, actual[key]) for key, count in expected.items())
    fp = sum(actual.values()) - tp
    fn = sum(expected.values()) - tp
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def _collapse_whitespace(text: str) -> str:
    out: list[str] = []
    last = ""
    for ch in text:
        if ch == "\n":
            if last != "\n":
                out.append("\n")
                last = "\n"
        elif ch in _WHITESPACE:
            if last != " ":
                out.append(" ")
                last = " "
        else:
            out.append(ch)
            last = ""
    return "".join(out)


def _changed_regions(original: str, modified: str) -> tuple[str, str]:
    """The changed span of each text with ``_CONTEXT`` characters either side; ("", "") if equal."""
    prefix = 0
    limit = min(len(original), len(modified))
    while prefix < limit and original[prefix] == modified[prefix]:
        prefix += 1
    max_suffix = min(len(original) - prefix, len(modified) - prefix)
    suffix = 0
    while suffix < max_suffix and original[-1 - suffix] == modified[-1 - suffix]:
        suffix += 1
    orig_end = len(original) - suffix
    mod_end = len(modified) - suffix
    if prefix >= orig_end and prefix >= mod_end:
        return "", ""
    start = max(prefix - _CONTEXT, 0)
    return (
        original[start : min(orig_end + _CONTEXT, len(original))],
        modified[start : min(mod_end + _CONTEXT, len(modified))],
    )


def _ngrams(text: str, n: int) -> Counter[str]:
    return Counter(text[i : i + n] for i in range(len(text) - n + 1))


def _delta(after: Counter[str], before: Counter[str]) -> dict[str, int]:
    """after - before for every n-gram of either (zero entries kept: Zed tests emptiness on them)."""
    delta = {gram: after.get(gram, 0) - count for gram, count in before.items()}
    for gram, count in after.items():
        if gram not in before:
            delta[gram] = count
    return delta


def _signed_counts(delta: dict[str, int]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for gram, change in delta.items():
        if change > 0:
            counts[gram] = change
        elif change < 0:
            counts[_DELETED + gram] = -change
    return counts
