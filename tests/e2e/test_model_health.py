"""Deadlines that hold, and rate limits and outages as state, through the real server.

A model that stalls before its first token fails an action or a chat within the one deadline
its error states (as many tries as reached the model, the limit that was configured), and
ghost text gives up after one try of its first-token timeout. A 429 pauses the role: while
it lasts no request reaches the model, ghost text answers null at once, actions and chat are
refused with the time left, the status says so; when it ends one request probes, and
suggestions come back by themselves. Counts are taken on the local model server.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any, Callable

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from lsphelp import Doc, actions_at, fails, inline_params, lsp_settings, message_of, request, wait_until
from samples import CART, DEEP, DOC_PATCH, FAST, deep, rewrite

REQUEST_FAILED = -32803
STALL = {"kind": "stall_before", "stall_ms": 60000}
TOTAL = "def total(items):\n    result = 0\n    for item in items:\n        result += item.price\n    return res\n"
TOTAL_DONE = "    result = 0\n    for item in items:\n        result += item.price\n    return result\n"


@pytest.fixture
def settings(model_server) -> dict[str, Any]:
    # Short timeouts so that the tests run fast. Actions and chat: two tries of 2 s fit the
    # 3.5 s deadline, the second cut short by it; a third try cannot start. Ghost text: one
    # try of 1.5 s, whatever maxRetries says (far above what a healthy answer takes here, even
    # on a loaded machine).
    return lsp_settings(
        model_server.base_url,
        fast={"maxRetries": 2, "timeouts": {"firstToken": 1.5}},
        deep={"maxRetries": 5, "timeouts": {"firstToken": 2.0, "firstTokenDeadline": 3.5}},
    )


async def status_where(client: LanguageClient, predicate: Callable[[dict], bool], after: int = 0) -> int:
    """The index of the first ``sparkforge/status`` notification from ``after`` on that
    satisfies ``predicate``, once it has arrived."""

    def found() -> int | None:
        updates = client.status_updates  # type: ignore[attr-defined]
        return next((i for i in range(after, len(updates)) if predicate(updates[i])), None)

    assert await wait_until(lambda: found() is not None, 10), client.status_updates[after:]  # type: ignore[attr-defined]
    index = found()
    assert index is not None
    return index


def paused(role: str, reason: str) -> Callable[[dict], bool]:
    return lambda status: (status[role].get("paused") or {}).get("reason") == reason


def resumed(role: str) -> Callable[[dict], bool]:
    return lambda status: status[role].get("paused") is None


def ghost(result) -> str | None:
    return result.items[0].insert_text if result is not None and result.items else None


# -- deadlines ----------------------------------------------------------------------------------
@pytest.mark.parametrize("feature", ["action", "chat"])
async def test_a_stalled_deep_model_fails_within_the_deadline_its_message_states(client: LanguageClient, workspace, model_server, feature):
    model_server.load([deep("stalled", [], patches=[DOC_PATCH], output="late", fault=STALL)])
    doc = Doc(client, workspace / "cart.py", CART)
    if feature == "action":
        action = (await actions_at(client, doc, (4, 4)))["document"]
        started = time.monotonic()
        err = await fails(client.code_action_resolve_async(action))
    else:
        started = time.monotonic()
        err = await fails(request(client, "sparkforge/chat", {"conversationId": "c", "message": "hello"}))
    waited = time.monotonic() - started

    message = message_of(err)
    assert err.code == REQUEST_FAILED
    found = re.search(r"the deep model \(gpt-5\.3-codex\) sent nothing in (\d+\.\d) s \((\d+) tries, limit (\d+(?:\.\d+)?) s\); "
                      r"try again or raise sparkforge\.deep\.timeouts\.firstTokenDeadline", message)
    assert found, message
    elapsed, tries, limit = float(found[1]), int(found[2]), float(found[3])
    assert limit == 3.5  # the configured deadline
    assert tries == 2 == model_server.stats()["requests_total"]  # the tries that reached the model
    assert elapsed <= round(waited, 1) + 0.05  # the stated wait is no longer than the editor's
    # the deadline held: each stall lasts 60 s, yet both tries were given up, not waited out
    assert await wait_until(lambda: model_server.stats()["open_streams"] == 0)
    assert model_server.stats()["streams_abandoned"] == 2 and model_server.stats()["streams_completed"] == 0


async def test_ghost_text_gives_up_after_one_try_of_its_first_token_timeout(client: LanguageClient, workspace, model_server):
    model_server.load([rewrite("stalled", ["return res"], TOTAL_DONE, fault=STALL)])
    doc = Doc(client, workspace / "cart.py", TOTAL)
    pos = doc.position_after("return res")

    assert await client.text_document_inline_completion_async(inline_params(doc.uri, pos.line, pos.character)) is None

    assert model_server.stats()["requests_total"] == 1  # no retry, although fast.maxRetries is 2
    status = await request(client, "sparkforge/getStatus", {})
    assert re.fullmatch(r"the fast model \(gpt-5\.3-codex-spark\) sent nothing in \d+\.\d s \(1 try of 1\.5 s\); "
                        r"try again or raise sparkforge\.fast\.timeouts\.firstToken", status["fast"]["lastError"])
    assert await wait_until(lambda: model_server.stats()["open_streams"] == 0)


# -- rate limits --------------------------------------------------------------------------------
async def test_under_a_constant_429_one_request_per_window_reaches_the_model(client: LanguageClient, workspace, model_server):
    # a first window of 8 s: the checks made while it lasts take a fraction of that, even on
    # a loaded machine
    model_server.load([rewrite("busy", [], TOTAL_DONE, fault={"kind": "429", "retry_after": 8})])
    docs = [Doc(client, workspace / f"cart{i}.py", TOTAL) for i in range(3)]
    doc = docs[0]
    pos = doc.position_after("return res")

    assert await client.text_document_inline_completion_async(inline_params(doc.uri, pos.line, pos.character)) is None
    assert model_server.stats()["requests_total"] == 1
    first = await status_where(client, paused("fast", "rateLimit"))
    assert client.status_updates[first]["fast"]["paused"]["message"] == "fast model rate-limited, resuming in 8 s"  # type: ignore[attr-defined]

    # typing on while paused: ghost text and next edits answer null without asking the model
    for ch in "ult":
        pos = doc.type(pos, ch)
        assert await client.text_document_inline_completion_async(
            inline_params(doc.uri, pos.line, pos.character, invoked=False)) is None
        assert await request(client, "sparkforge/nextEdit", {
            "textDocument": {"uri": doc.uri}, "position": {"line": pos.line, "character": pos.character}}) is None
    # a chat with the paused model is refused at once, with the time left
    err = await fails(request(client, "sparkforge/chat", {"conversationId": "c", "role": "fast", "message": "hi"}))
    assert err.code == REQUEST_FAILED
    assert re.search(f"chat with {FAST} failed: {FAST} is rate-limited \\(HTTP 429\\), resuming in [1-8] s; try again then",
                     message_of(err)), message_of(err)
    assert model_server.stats()["requests_total"] == 1
    assert (await request(client, "sparkforge/getStatus", {}))["predictions"]["requests"] == 1
    model_server.load([rewrite("busy", [], TOTAL_DONE, fault={"kind": "429", "retry_after": 1})])

    # the window ends by itself; then three documents ask at once: one request probes, it is
    # rate-limited again, and the others answered null without a request of their own
    after = await status_where(client, resumed("fast"), first)
    results = await asyncio.gather(*(
        client.text_document_inline_completion_async(inline_params(d.uri, 4, len("    return res"))) for d in docs))
    assert results == [None, None, None]
    assert model_server.stats()["requests_total"] == 2
    again = await status_where(client, paused("fast", "rateLimit"), after)

    # the model recovers: once the window ends, suggestions come back without anyone asking
    model_server.load([rewrite("total", ["return res<|user_cursor_is_here|>"], TOTAL_DONE)])
    await status_where(client, resumed("fast"), again)
    result = await client.text_document_inline_completion_async(inline_params(docs[1].uri, 4, len("    return res")))
    assert ghost(result) == "ult"
    assert model_server.stats()["requests_total"] == 3


async def test_a_rate_limited_deep_model_refuses_actions_until_it_resumes(client: LanguageClient, workspace, model_server, settings):
    deadline = {**settings["deep"], "timeouts": {"firstToken": 2.0, "firstTokenDeadline": 4.0}}
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"sparkforge": {**settings, "deep": deadline}}))
    model_server.load([deep("busy", ["Document function total"], patches=[DOC_PATCH], fault={"kind": "429", "retry_after": 2})])
    doc = Doc(client, workspace / "cart.py", CART)
    action = (await actions_at(client, doc, (4, 4)))["document"]

    # deep.maxRetries is 5: the action waits out Retry-After and tries again, once per window,
    # within its deadline, then stops and says for how long the model is paused. A try at 0 s;
    # the next at 2 s, as 2 s + a try's 1 s fit the 4 s; not a third (4 s + 1 s do not).
    err = await fails(client.code_action_resolve_async(action))
    sent = model_server.stats()["requests_total"]
    assert sent == 2
    assert f"Document with {DEEP} failed, nothing was applied: {DEEP} is rate-limited (HTTP 429), resuming in 2 s" in message_of(err)
    err = await fails(client.code_action_resolve_async(action))  # during the window: at once
    assert re.search(r"rate-limited \(HTTP 429\), resuming in [12] s", message_of(err)), message_of(err)
    assert model_server.stats()["requests_total"] == sent

    # (the status that announced the pause went out before the error answered)
    index = max(i for i, u in enumerate(client.status_updates) if paused("deep", "rateLimit")(u))  # type: ignore[attr-defined]
    model_server.load([deep("healthy", ["Document function total"], patches=[DOC_PATCH])])
    await status_where(client, resumed("deep"), index)
    resolved = await client.code_action_resolve_async(action)
    assert resolved.edit is not None
    assert model_server.stats()["requests_total"] == sent + 1


# -- outages ------------------------------------------------------------------------------------
async def test_a_failing_fast_model_is_paused_after_three_failures_in_a_row(client: LanguageClient, workspace, model_server):
    model_server.load([rewrite("boom", [], TOTAL_DONE, fault={"kind": "500"})])
    doc = Doc(client, workspace / "cart.py", TOTAL)
    pos = doc.position_after("return res")
    for ch in "ult!":
        assert await client.text_document_inline_completion_async(inline_params(doc.uri, pos.line, pos.character)) is None
        pos = doc.type(pos, ch)
    assert model_server.stats()["requests_total"] == 3  # the fourth keystroke found it paused
    status = await request(client, "sparkforge/getStatus", {})
    assert status["fast"]["paused"]["message"] == "fast model failing (HTTP 500), retrying in 30 s"
    assert status["fast"]["lastError"].startswith("the fast model is failing (HTTP 500), retrying in 30 s: ")
    await status_where(client, paused("fast", "unavailable"))
    assert any("fast model is failing (HTTP 500), retrying in 30 s" in m.message for m in client.log_messages)
