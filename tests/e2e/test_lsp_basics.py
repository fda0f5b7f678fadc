"""The language server as a process: capabilities, settings, status, and bad input that gets
errors (never a crash or a hang) while the server keeps answering."""

from __future__ import annotations

import asyncio

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams, JsonRpcException
from pytest_lsp import LanguageClient

from lsphelp import Doc, inline_params, raw_request, request, wait_until





async def test_advertises_incremental_sync_and_inline_completion(client: LanguageClient):
    result = client.init_result
    caps = result.capabilities
    assert caps.inline_completion_provider is not None
    sync = caps.text_document_sync
    assert sync.change == types.TextDocumentSyncKind.Incremental
    assert result.server_info.name == "sparkforge"


async def test_status_notification_names_models_and_readiness(client: LanguageClient):
    assert await wait_until(lambda: client.status_updates)
    status = client.status_updates[-1]
    assert status["fast"]["model"] == "gpt-5.3-codex-spark"
    assert status["deep"]["model"] == "gpt-5.3-codex"
    assert status["fast"]["ready"] and status["deep"]["ready"]
    assert status["fast"]["lastError"] is None


async def test_bad_setting_is_reported_and_the_default_kept(client: LanguageClient, model_server):
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(
            settings={"sparkforge": {"fast": {"baseUrl": model_server.base_url, "api": "grpc"}, "inline": {"linesAbove": -4}}}
        )
    )
    assert await wait_until(lambda: len(client.messages) >= 2)
    texts = [m.message for m in client.messages]
    assert any("sparkforge.fast.api must be one of" in t for t in texts)
    assert any("sparkforge.inline.linesAbove must be a non-negative integer" in t for t in texts)
    status = await request(client, "sparkforge/getStatus", {})
    assert status["fast"]["api"] == "responses"


async def test_bad_params_get_errors_and_the_server_keeps_answering(
    client: LanguageClient, workspace, model_server
):
    doc = Doc(client, workspace / "emoji.py", 'name = "😋🎉"  # 👩‍👩‍👧\nprint(name)\n')

    # an unknown document
    with pytest.raises(JsonRpcInvalidParams, match="unknown document"):
        await client.text_document_inline_completion_async(inline_params((workspace / "nope.py").as_uri(), 0, 0))

    # a line past the end of the document
    with pytest.raises(JsonRpcInvalidParams, match="past the end of the document"):
        await client.text_document_inline_completion_async(inline_params(doc.uri, 40, 0))

    # a character past the end of the line (the line is 27 UTF-16 units long)
    with pytest.raises(JsonRpcInvalidParams, match="past the end of the line"):
        await client.text_document_inline_completion_async(inline_params(doc.uri, 0, 60))

    # a position inside the surrogate pair of 😋 (column 8 starts it, 9 is its low half)
    with pytest.raises(JsonRpcInvalidParams, match="surrogate pair"):
        await client.text_document_inline_completion_async(inline_params(doc.uri, 0, 9))

    # malformed params for a custom method
    with pytest.raises(JsonRpcException):
        await client.protocol.send_request_async("sparkforge/nextEdit", {"position": "here"})

    # and a structurally wrong standard request
    with pytest.raises(JsonRpcException):
        await raw_request(client, types.TEXT_DOCUMENT_INLINE_COMPLETION, {"textDocument": {"uri": doc.uri}})

    # the server still answers, and a valid position after the emoji works
    status = await asyncio.wait_for(request(client, "sparkforge/getStatus", {}), 5)
    assert status["fast"]["ready"]
    model_server.load([{"name": "any", "output": "no markers here"}])
    result = await asyncio.wait_for(
        client.text_document_inline_completion_async(inline_params(doc.uri, 0, 10)), 10
    )
    assert result is None or isinstance(result, (list, types.InlineCompletionList))
