"""The model server's prompt cache, through the real openai SDK against a real process:
``cached_tokens`` is what the OpenAI API would report for a repeated prefix.

Token counts are worked out by hand: in o200k, ``"apple banana\\n"`` is three tokens
(``apple``, `` banana``, ``\\n``) and ``"cherry date\\n"`` four (``ch``, ``erry``, `` date``,
``\\n``), however many times a line repeats. A prompt with no instructions is its input alone.
"""

from __future__ import annotations

from typing import Any

import openai
import pytest

from sparkforge.modelserver.cache import PromptCache, shared_blocks


FAST = "gpt-5.3-codex-spark"
DEEP = "gpt-5.3-codex"
APPLE = "apple banana\n"  # 3 tokens
CHERRY = "cherry date\n"  # 4 tokens


async def responses_usage(client: openai.AsyncOpenAI, text: str, key: str | None = "ws-a",
                          model: str = FAST) -> tuple[int, int]:
    extra: dict[str, Any] = {} if key is None else {"prompt_cache_key": key}
    resp = await client.responses.create(model=model, input=text, **extra)
    assert resp.usage is not None
    return resp.usage.input_tokens, resp.usage.input_tokens_details.cached_tokens


async def test_a_repeated_prefix_is_cached_in_steps_of_128_from_1024_tokens(ms, client):
    assert await responses_usage(client, APPLE * 700) == (2100, 0)  # nothing seen before
    # The same 2,100 tokens again: 16 whole steps of 128 = 2,048 (the API caches steps)
    assert await responses_usage(client, APPLE * 700) == (2100, 2048)
    # 650 lines shared = 1,950 tokens, then 50 new lines (200 tokens): 15 steps = 1,920
    assert await responses_usage(client, APPLE * 650 + CHERRY * 50) == (2150, 1920)
    # Only 999 tokens in common with any earlier prompt: under 1,024, nothing cached
    assert await responses_usage(client, APPLE * 333 + CHERRY * 300) == (2199, 0)
    # Another prompt_cache_key, no key, or another model: another cache
    assert await responses_usage(client, APPLE * 700, key="ws-b") == (2100, 0)
    assert await responses_usage(client, APPLE * 700, key=None) == (2100, 0)
    assert await responses_usage(client, APPLE * 700, model=DEEP) == (2100, 0)
    logged = ms.requests()
    assert [r["cached_tokens"] for r in logged] == [0, 2048, 1920, 0, 0, 0, 0]
    stats = ms.stats()
    assert stats["input_tokens"] == 2100 * 5 + 2150 + 2199
    assert stats["cached_tokens"] == 2048 + 1920
    ms.reset()  # the cache goes with the counters
    assert await responses_usage(client, APPLE * 700) == (2100, 0)


async def test_short_prompts_are_never_cached(ms, client):
    # 1,023 tokens twice: under the 1,024 the API needs to cache anything
    assert await responses_usage(client, APPLE * 341) == (1023, 0)
    assert await responses_usage(client, APPLE * 341) == (1023, 0)
    # 1,026 tokens: its 1,023-token prefix was never stored (too short), so nothing yet...
    assert await responses_usage(client, APPLE * 342) == (1026, 0)
    # ...and now its 8 whole steps (1,024 of 1,026) are
    assert await responses_usage(client, APPLE * 342) == (1026, 1024)


async def test_chat_completions_report_cached_tokens_in_prompt_tokens_details(ms, client):
    messages = [{"role": "system", "content": APPLE * 400}, {"role": "user", "content": "hello"}]
    # flattened: 1,200 tokens, "\n", "hello": the system text's last "\n" and the join's
    # newline merge into one "\n\n" token, so 1,200 + 1 = 1,201
    for cached in (0, 1152):  # then 9 whole steps of 128
        stream = await client.chat.completions.create(
            model=FAST, messages=messages, stream=True, stream_options={"include_usage": True},
            prompt_cache_key="ws-a")  # type: ignore[arg-type]
        usage = [c.usage async for c in stream if c.usage is not None][-1]
        assert usage.prompt_tokens == 1201
        assert usage.prompt_tokens_details is not None
        assert usage.prompt_tokens_details.cached_tokens == cached


def test_lru_keeps_the_most_recent_prompts():
    cache = PromptCache(size=2)
    assert cache.lookup_and_store("m", None, APPLE * 400) == (1200, 0)
    assert cache.lookup_and_store("m", None, CHERRY * 300) == (1200, 0)
    assert cache.lookup_and_store("m", None, APPLE * 400) == (1200, 1152)  # now the newest
    assert cache.lookup_and_store("m", None, "x" + CHERRY * 300)[1] == 0  # evicts CHERRY
    assert cache.lookup_and_store("m", None, CHERRY * 300) == (1200, 0)  # it was evicted
    assert shared_blocks(tuple(range(300)), tuple(range(256)) + (0,)) == 2


# --- through the gateway ----------------------------------------------------------------------


def gateway_settings(base_url: str, api: str) -> Any:
    from sparkforge.config import Settings

    s = Settings()
    for cfg in (s.fast, s.deep):
        cfg.base_url = base_url
        cfg.api = api  # type: ignore[assignment]
        cfg.max_retries = 0
    return s


@pytest.mark.parametrize("api", ["responses", "chat"])
async def test_the_gateway_counts_cached_tokens_at_the_cached_price(ms, api):
    from sparkforge.models.gateway import ModelGateway

    ms.load([{"name": "done", "output": "Done."}])  # 2 output tokens: Done| .
    gw = ModelGateway(gateway_settings(ms.base_url, api))
    gw.cache_scope = "/home/someone/secret-project"
    try:
        # "apple banana" + "\n" + 700 lines: 701 lines of 3 tokens = 2,103 input tokens
        first = await gw.complete("deep", instructions="apple banana", input=APPLE * 700)
        assert first.usage is not None and (first.usage.input_tokens, first.usage.cached_tokens) == (2103, 0)
        status = gw.status()["deep"]
        # gpt-5.3-codex: $1.75 per million input tokens, $14 per million output tokens
        assert status["costUsd"] == pytest.approx((2103 * 1.75 + 2 * 14) / 1e6)  # 0.00370825
        second = await gw.complete("deep", instructions="apple banana", input=APPLE * 700)
        assert second.usage is not None and second.usage.cached_tokens == 2048  # 16 × 128
        status = gw.status()["deep"]
        assert (status["inputTokens"], status["cachedInputTokens"]) == (4206, 2048)
        # the second: 55 uncached at $1.75, 2,048 cached at $0.175, 2 out at $14 = $0.00048265
        assert status["costUsd"] == pytest.approx(0.00370825 + 0.00048265)
        keys = [r["body"]["prompt_cache_key"] for r in ms.requests()]
        assert keys[0] == keys[1] and "secret-project" not in keys[0]
        assert keys[0].startswith("sparkforge-deep-") and len(keys[0]) == len("sparkforge-deep-") + 16
        # the fast role's requests have their own key, so they never share the deep one's cache
        await gw.complete("fast", instructions="apple banana", input=APPLE * 700)
        fast = ms.requests()[-1]
        assert fast["body"]["prompt_cache_key"].startswith("sparkforge-fast-")
        assert fast["cached_tokens"] == 0  # another model, and another key
    finally:
        await gw.aclose()
