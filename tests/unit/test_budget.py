"""The one token budget every model request goes through (``models.tokens.within_budget``).

Texts are built so their token counts are known by hand: ``"a\\n"`` is two tokens in
o200k_base (a letter, a line break; the pre-tokenizer never merges the two), so ``"a\\n" * n``
is ``2 * n`` tokens.
"""

from __future__ import annotations

import pytest

from sparkforge.models.tokens import OverBudget, request_budget, request_text, within_budget


def test_at_the_limit_passes_and_one_token_over_is_refused():
    text = "a\n" * 1000  # 2,000 tokens
    within_budget(text, 2000, what="the code block", setting="sparkforge.chat.applyTokens")
    with pytest.raises(OverBudget) as err:
        within_budget(text, 1999, what="the code block", setting="sparkforge.chat.applyTokens",
                      advice="nothing was applied")
    assert err.value.message == (
        "the code block is 2,000 tokens, over the limit of 1,999 (sparkforge.chat.applyTokens); "
        "nothing was applied"
    )
    assert (err.value.tokens, err.value.limit) == (2000, 1999)


def test_a_huge_text_is_refused_from_a_prefix_and_says_its_size_in_characters():
    text = "a\n" * 1_000_000  # 2,000,000 characters, 2,000,000 tokens
    with pytest.raises(OverBudget) as err:
        within_budget(text, 16000, what="the code block", setting="sparkforge.chat.applyTokens")
    # Counted no further than the first prefix over the limit: 4 x 16,000 characters.
    assert err.value.message == (
        "the code block is more than 64,000 tokens (2,000,000 characters), over the limit of "
        "16,000 (sparkforge.chat.applyTokens)"
    )


def test_text_of_fewer_bytes_than_the_limit_always_fits():
    within_budget("é" * 50, 100, what="x", setting="s")  # 100 bytes, at most 100 tokens
    within_budget("", 0, what="x", setting="s")
    with pytest.raises(OverBudget):
        within_budget("a\n", 1, what="x", setting="s")


def test_text_of_more_bytes_than_the_limit_is_counted_and_may_fit():
    # 1,200 bytes, but about 200 tokens: " hello" and " world" are one token each
    within_budget("hello world " * 100, 1000, what="x", setting="s")
    with pytest.raises(OverBudget):
        within_budget("hello world " * 100, 150, what="x", setting="s")


def test_a_request_counts_its_instructions_and_every_message():
    messages = [
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": [{"type": "output_text", "text": "second"}]},
        {"type": "function_call_output", "output": "third"},
    ]
    assert request_text("rules", messages) == "rules\nfirst\nsecond\nthird"
    assert request_text("rules", "the input") == "rules\nthe input"

    request_budget("deep", 2000, "a\n" * 500, [{"role": "user", "content": "a\n" * 500}])  # 2,000 tokens with the joining newline merged
    with pytest.raises(OverBudget) as err:
        request_budget("fast", 1500, "a\n" * 500, [{"role": "user", "content": "a\n" * 500}])
    assert err.value.message.startswith("the request to the fast model is ")
    assert "over the limit of 1,500 (sparkforge.fast.maxInputTokens); nothing was sent" in err.value.message
