"""Prompt caching end to end: the real server's prompts put what changes least first, so a
second request repeats the first one's prefix; the local model server reports the cached
tokens as the API would, and the status shows them and the cheaper cost.

Prices are the gateway's (USD per million tokens): gpt-5.1-codex-mini $0.25 input, $0.025
cached input, $2 output; gpt-5.3-codex $1.75, $0.175, $14.
"""

from __future__ import annotations

from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from lsphelp import Doc, lsp_settings, request

FAST = "gpt-5.1-codex-mini"  # a fast model with a published price (Spark has none)
DEEP = "gpt-5.3-codex"

# Another open file, long enough to fill the snippets' share of a 6,000-token prompt (1,000)
CATALOG = "".join(
    f"def shipping_rate_{i}(weight_kg, zone):\n"
    f"    '''The rate for zone {i}, in euros.'''\n"
    f"    return round(weight_kg * {i + 3}.5 + zone * 0.25, 2)\n\n\n"
    for i in range(120)
)
CART = (
    "def total(items):\n"
    "    result = 0\n"
    "    for item in items:\n"
    "        result += item.price\n"
    "    return result\n"
)


@pytest.fixture
def settings(model_server) -> dict[str, Any]:
    return lsp_settings(model_server.base_url, fast={"model": FAST}, inline={"promptTokens": 6000})


async def status(client: LanguageClient) -> dict[str, Any]:
    return await request(client, "sparkforge/getStatus", {})


async def ghost_text_request(client: LanguageClient, doc: Doc, pos: types.Position) -> None:
    await client.text_document_inline_completion_async(types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=doc.uri), position=pos,
        context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked)))


async def test_a_second_ghost_text_request_reads_the_first_ones_prefix_from_the_cache(
    client: LanguageClient, workspace, model_server
):
    # The answer leaves the region as it is: no suggestion to type through, so the second
    # keystroke asks the model again.
    model_server.load([{"name": "no-op", "model": FAST, "output": "nothing to change"}],
                      models={FAST: {"ttft_ms": 5, "tokens_per_s": 0}})
    Doc(client, workspace / "shop" / "catalog.py", CATALOG)
    doc = Doc(client, workspace / "shop" / "cart.py", CART)
    pos = doc.position_after("return result")
    await ghost_text_request(client, doc, pos)
    first = (await status(client))["fast"]
    assert first["requests"] == 1 and first["cachedInputTokens"] == 0
    cost_first = first["costUsd"]
    assert cost_first is not None and cost_first > 0

    pos = doc.type(pos, " ")
    await ghost_text_request(client, doc, pos)
    second = (await status(client))["fast"]
    logged = model_server.requests()
    assert [r["model"] for r in logged] == [FAST, FAST]
    cached = logged[1]["cached_tokens"]
    assert cached >= 1024 and cached % 128 == 0  # the API's rule, and what was reported back
    assert second["requests"] == 2 and second["cachedInputTokens"] == cached
    assert second["inputTokens"] == logged[0]["input_tokens"] + logged[1]["input_tokens"]
    cost_second = second["costUsd"] - cost_first
    assert 0 < cost_second < cost_first
    # the status totals add up the roles
    assert (await status(client))["usage"]["cachedInputTokens"] == cached

    # What changes least comes first: instructions, other files, the edit history, then the
    # excerpt with the cursor.
    prompt = logged[1]["prompt"]
    order = [prompt.index("You predict the next edit"),
             prompt.index("## Related code from other files\n--- shop/catalog.py\n"),
             prompt.index("## Recent edits (oldest first)\n--- a/shop/cart.py"),
             prompt.index("## Current file: shop/cart.py (python)")]
    assert order == sorted(order) and order[0] == 0
    # Both prompts are the same up to the edit history, which the first one did not have
    stable = logged[1]["prompt"].split("## Recent edits")[0]
    assert logged[0]["prompt"].startswith(stable) and "## Recent edits" not in logged[0]["prompt"]
    # One cache key per workspace and role, the same for both requests; no path in it
    keys = {r["body"]["prompt_cache_key"] for r in logged}
    assert len(keys) == 1 and next(iter(keys)).startswith("sparkforge-fast-")
    assert workspace.name not in next(iter(keys))


async def test_a_second_chat_turn_reads_the_first_turn_from_the_cache(
    client: LanguageClient, workspace, model_server
):
    model_server.load([{"name": "answer", "model": DEEP, "output": "It adds up the prices."}],
                      models={DEEP: {"ttft_ms": 5, "tokens_per_s": 0}})
    doc = Doc(client, workspace / "shop" / "catalog.py", CATALOG)
    first = await request(client, "sparkforge/chat", {
        "conversationId": "cache", "role": "deep", "message": "Which rate is the cheapest?",
        "context": {"uri": doc.uri, "includeFile": True}})
    assert first["usage"]["cachedInputTokens"] == 0
    cost_first = (await status(client))["deep"]["costUsd"]
    second = await request(client, "sparkforge/chat", {
        "conversationId": "cache", "role": "deep", "message": "And the dearest?"})
    cached = second["usage"]["cachedInputTokens"]
    assert cached >= 1024 and cached % 128 == 0
    deep = (await status(client))["deep"]
    assert deep["cachedInputTokens"] == cached
    assert 0 < deep["costUsd"] - cost_first < cost_first
    # each answer's own cost: what the status added up
    assert first["usage"]["costUsd"] == pytest.approx(cost_first)
    assert second["usage"]["costUsd"] == pytest.approx(deep["costUsd"] - cost_first)
    # instructions, then the first turn (with the file), then the answer, then the new message
    prompt = model_server.requests()[-1]["prompt"]
    order = [prompt.index("You are sparkforge, a pair programmer"), prompt.index("def shipping_rate_0"),
             prompt.index("Which rate is the cheapest?"), prompt.index("It adds up the prices."),
             prompt.index("And the dearest?")]
    assert order == sorted(order)
