"""Ghost text over the Responses API's WebSocket mode (``sparkforge.fast.transport``)."""

from __future__ import annotations

from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from lsphelp import Doc, Pending, lsp_settings, wait_until
from samples import rewrite

TOTAL = "def total(items):\n    result = 0\n    for item in items:\n        result += item.price\n    return res\n"
TOTAL_DONE = "    result = 0\n    for item in items:\n        result += item.price\n    return result\n"


@pytest.fixture
def settings(model_server, request) -> dict[str, Any]:
    """``websocket``, or the transport a test names with ``parametrize("settings", [...], indirect=True)``."""
    return lsp_settings(model_server.base_url, fast={"transport": getattr(request, "param", "websocket")})


def inline(uri: str, pos: types.Position) -> types.InlineCompletionParams:
    return types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=pos,
        context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked),
    )


def ghost(result: Any) -> str | None:
    if result is None:
        return None
    items = result["items"] if isinstance(result, dict) else result.items
    if not items:
        return None
    first = items[0]
    return first["insertText"] if isinstance(first, dict) else first.insert_text


async def test_ghost_text_arrives_over_the_socket(client: LanguageClient, workspace, model_server):
    model_server.load([rewrite("done", ["return res<|user_cursor_is_here|>"], TOTAL_DONE)])
    doc = Doc(client, workspace / "cart.py", TOTAL)
    pos = doc.position_after("return res")
    assert ghost(await client.text_document_inline_completion_async(inline(doc.uri, pos))) == "ult"
    [sent] = model_server.requests()
    assert sent["transport"] == "websocket"
    assert "stream" not in sent["body"]  # implicit over WebSocket


async def test_a_newer_keystroke_stops_the_stale_prediction_and_the_next_one_arrives(
        client: LanguageClient, workspace, model_server):
    slow = TOTAL_DONE + "".join(f"# line {i}\n" for i in range(200))
    model_server.load([
        rewrite("next", ["return resu<|user_cursor_is_here|>"], TOTAL_DONE),
        rewrite("slow", ["return res<|user_cursor_is_here|>"], slow, tokens_per_s=100),
    ])
    doc = Doc(client, workspace / "cart.py", TOTAL)
    pos = doc.position_after("return res")
    first = Pending(client, types.TEXT_DOCUMENT_INLINE_COMPLETION, inline(doc.uri, pos))
    assert await wait_until(lambda: model_server.stats()["open_streams"] == 1)
    pos = doc.type(pos, "u")
    second = Pending(client, types.TEXT_DOCUMENT_INLINE_COMPLETION, inline(doc.uri, pos))
    assert ghost(await second.result()) == "lt"
    assert ghost(await first.result()) is None
    assert await wait_until(lambda: model_server.stats()["open_streams"] == 0)
    stats = model_server.stats()
    assert stats["streams_abandoned"] == 1 and stats["streams_completed"] == 1
    stale, fresh = model_server.requests()
    # the stale socket was closed (the protocol has no cancel message); the next request
    # went on another one
    assert (stale["scenario"], fresh["scenario"], fresh["transport"]) == ("slow", "next", "websocket")
    assert fresh["connection"] != stale["connection"]


async def test_a_dropped_socket_is_replaced_and_the_next_suggestion_arrives(
        client: LanguageClient, workspace, model_server):
    model_server.load([
        rewrite("next", ["return resu<|user_cursor_is_here|>"], TOTAL_DONE),
        rewrite("drop", ["return res<|user_cursor_is_here|>"], TOTAL_DONE,
                fault={"kind": "drop", "after_tokens": 3}),
    ])
    doc = Doc(client, workspace / "cart.py", TOTAL)
    pos = doc.position_after("return res")
    assert ghost(await client.text_document_inline_completion_async(inline(doc.uri, pos))) is None
    assert model_server.stats()["streams_dropped"] == 1
    pos = doc.type(pos, "u")
    assert ghost(await client.text_document_inline_completion_async(inline(doc.uri, pos))) == "lt"
    dropped, fresh = model_server.requests()
    assert dropped["connection"] == 1 and fresh["connection"] != 1
    assert fresh["transport"] == "websocket"


@pytest.mark.parametrize("settings", ["auto"], indirect=True)
async def test_under_auto_an_endpoint_that_closes_its_sockets_unanswered_is_used_over_http(
        client: LanguageClient, workspace, model_server, settings):
    # LiteLLM accepts the handshake, then closes each socket with 1011 before answering when
    # it cannot reach its backend over one: the request goes over HTTP, and so do the next
    model_server.load([rewrite("done", ["return res<|user_cursor_is_here|>"], TOTAL_DONE, fault={"kind": "ws_close"})])
    for name in ("cart.py", "till.py"):  # two documents: the second needs a request of its own
        doc = Doc(client, workspace / name, TOTAL)
        pos = doc.position_after("return res")
        assert ghost(await client.text_document_inline_completion_async(inline(doc.uri, pos))) == "ult"
    closed, first, second = model_server.requests()
    assert (closed["transport"], closed["fault"]) == ("websocket", "ws_close")
    assert (first["transport"], first["fault"]) == ("http", None)
    assert (second["transport"], second["fault"]) == ("http", None)  # no socket tried again


async def test_under_websocket_a_socket_closed_unanswered_is_an_error(client: LanguageClient, workspace, model_server):
    model_server.load([rewrite("done", ["return res<|user_cursor_is_here|>"], TOTAL_DONE, fault={"kind": "ws_close"})])
    doc = Doc(client, workspace / "cart.py", TOTAL)
    pos = doc.position_after("return res")
    assert ghost(await client.text_document_inline_completion_async(inline(doc.uri, pos))) is None
    assert [r["transport"] for r in model_server.requests()] == ["websocket"]
    status = await client.protocol.send_request_async("sparkforge/getStatus", {})
    assert status.fast.lastError == (
        f"the fast model at {model_server.base_url} closed its WebSocket before answering "
        '(1011 (internal error) upstream failed); try again, or set sparkforge.fast.transport to "http"')
