"""A key without access to a role's model, through the real server and the model server.

``gpt-5.3-codex-spark`` is a research preview: a key without access gets 404
``model_not_found``. The server looks each role's model up once at start (in the
background), or learns it from the first request's answer; it then says so once (a
window/showMessage and the status), serves the role from its ``fallbackModels`` and never asks
the inaccessible model again. Counts are taken on the local model server.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from lsphelp import Doc, inline_params, lsp_settings, plain, request, wait_until
from samples import DEEP, FAST, rewrite

SERVER = [sys.executable, "-m", "sparkforge", "lsp"]
TOTAL = "def total(items):\n    result = 0\n    for item in items:\n        result += item.price\n    return res\n"
TOTAL_DONE = "    result = 0\n    for item in items:\n        result += item.price\n    return result\n"
USING_FALLBACK = ("your key has no access to gpt-5.3-codex-spark (a research preview); using gpt-5.3-codex at "
                  "low reasoning effort for ghost text — set sparkforge.fast.model to choose")


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def client(lsp_client: LanguageClient, model_server, workspace: Path):
    """A client whose ``await client.begin(settings)`` initializes the server, once the test
    has set the model server's refusals (the lookups happen at start)."""
    lsp_client.status_updates = []  # type: ignore[attr-defined]

    @lsp_client.feature("sparkforge/status")
    def on_status(params: Any) -> None:
        lsp_client.status_updates.append(plain(params))  # type: ignore[attr-defined]

    started: list[bool] = []

    async def begin(settings: dict[str, Any]) -> None:
        await lsp_client.initialize_session(types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=workspace.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=workspace.as_uri(), name="project")],
            initialization_options=settings,
        ))
        started.append(True)

    lsp_client.begin = begin  # type: ignore[attr-defined]
    model_server.reset(scenarios=True)  # also drops the refusals of the test before
    yield
    if started:
        await lsp_client.shutdown_session()


def ghost(result) -> str | None:
    return result.items[0].insert_text if result is not None and result.items else None


def shown(client: LanguageClient, text: str) -> int:
    return sum(m.message == text for m in client.messages)


def asked(model_server, model: str) -> int:
    """Generation requests (not lookups) that reached the model server for ``model``."""
    return model_server.stats()["requests"]["responses"].get(model, 0)


async def status_with_access(client: LanguageClient) -> dict[str, Any]:
    updates = client.status_updates  # type: ignore[attr-defined]
    assert await wait_until(lambda: any(u["fast"].get("access") for u in updates)), updates
    return next(u for u in updates if u["fast"].get("access"))


async def test_a_fast_model_the_key_may_not_use_is_said_once_and_ghost_text_comes_from_the_fallback(
        client: LanguageClient, workspace, model_server):
    model_server.refuse(deny=[FAST])
    model_server.load([rewrite("fallback", ["return res<|user_cursor_is_here|>"], TOTAL_DONE,
                               model=DEEP, ttft_ms=5, tokens_per_s=5000)])
    await client.begin(lsp_settings(model_server.base_url))

    status = await status_with_access(client)
    assert status["fast"]["access"] == {"model": DEEP, "message": USING_FALLBACK}
    assert status["fast"]["lastError"] == USING_FALLBACK
    assert status["fast"]["model"] == FAST  # what the user set
    assert status["deep"]["access"] is None and status["deep"]["lastError"] is None
    assert await wait_until(lambda: shown(client, USING_FALLBACK) == 1)
    # the fast role looked its model up, then the fallback (which answered); the deep role its own
    assert model_server.stats()["model_lookups"] == {FAST: 1, DEEP: 2}

    doc = Doc(client, workspace / "cart.py", TOTAL)
    pos = doc.position_after("return res")
    assert ghost(await client.text_document_inline_completion_async(inline_params(doc.uri, pos.line, pos.character))) == "ult"
    sent = model_server.requests()[-1]
    assert sent["model"] == DEEP and sent["scenario"] == "fallback"
    assert sent["body"]["reasoning"] == {"effort": "low"}

    # typing on: every request goes to the fallback, none to the model that has no access
    pos = doc.type(pos, "ult\n    ")
    await client.text_document_inline_completion_async(inline_params(doc.uri, pos.line, pos.character))
    pos = doc.type(pos, "x")
    await client.text_document_inline_completion_async(inline_params(doc.uri, pos.line, pos.character))
    assert asked(model_server, DEEP) == 3
    assert asked(model_server, FAST) == 0
    assert model_server.stats()["model_lookups"] == {FAST: 1, DEEP: 2}
    assert shown(client, USING_FALLBACK) == 1
    status = await request(client, "sparkforge/getStatus", {})
    assert status["fast"]["access"] == {"model": DEEP, "message": USING_FALLBACK}
    assert status["fast"]["requests"] == 3
    assert status["fast"]["costUsd"] > 0  # priced as the fallback (the preview has no published price)

    # a chat with the fast model is answered by the fallback, and says so
    model_server.load([{"name": "hello", "model": DEEP, "input_contains": ["hello"], "output": "Hi.",
                        "ttft_ms": 5, "tokens_per_s": 5000}])
    answer = await request(client, "sparkforge/chat", {"conversationId": "c", "role": "fast", "message": "hello"})
    assert (answer["text"], answer["role"], answer["model"]) == ("Hi.", "fast", DEEP)
    assert asked(model_server, FAST) == 0


@pytest.mark.parametrize("transport", ["http", "websocket"])
async def test_a_request_refused_for_access_goes_to_the_fallback_at_once_and_never_again(
        client: LanguageClient, workspace, model_server, transport):
    # the model is listed and looked up (200), but every request is refused (403), as for a
    # project without access to it: only the first request can tell
    model_server.refuse(forbid=[FAST])
    model_server.load([rewrite("fallback", ["return res<|user_cursor_is_here|>"], TOTAL_DONE,
                               model=DEEP, ttft_ms=5, tokens_per_s=5000)])
    await client.begin(lsp_settings(model_server.base_url, fast={"transport": transport}))
    assert await wait_until(lambda: model_server.stats()["model_lookups"].get(FAST) == 1)

    doc = Doc(client, workspace / "cart.py", TOTAL)
    pos = doc.position_after("return res")
    result = await client.text_document_inline_completion_async(inline_params(doc.uri, pos.line, pos.character))
    assert ghost(result) == "ult"  # the same request, answered by the fallback
    assert [(r["model"], r["fault"], r["transport"]) for r in model_server.requests()] == [
        (FAST, "model_not_found", transport), (DEEP, None, transport)]

    pos = doc.type(pos, "ult\n    ")
    await client.text_document_inline_completion_async(inline_params(doc.uri, pos.line, pos.character))
    assert asked(model_server, FAST) == 1
    assert asked(model_server, DEEP) == 2
    assert await wait_until(lambda: shown(client, USING_FALLBACK) == 1)
    assert (await status_with_access(client))["fast"]["access"]["model"] == DEEP
    assert shown(client, USING_FALLBACK) == 1


async def test_with_no_fallback_left_ghost_text_asks_no_model(
        client: LanguageClient, workspace, model_server):
    model_server.refuse(deny=[FAST])
    await client.begin(lsp_settings(model_server.base_url, fast={"fallbackModels": []}))

    status = await status_with_access(client)
    message = ("your key has no access to gpt-5.3-codex-spark (a research preview), so there is no ghost text: "
               "set sparkforge.fast.model to a model it may use, or list some in sparkforge.fast.fallbackModels "
               "(the server answered HTTP 404 model_not_found: The model `gpt-5.3-codex-spark` does not exist "
               "or you do not have access to it.)")
    assert status["fast"]["access"] == {"model": None, "message": message}
    doc = Doc(client, workspace / "cart.py", TOTAL)
    pos = doc.position_after("return res")
    for ch in "ul":
        assert await client.text_document_inline_completion_async(inline_params(doc.uri, pos.line, pos.character)) is None
        pos = doc.type(pos, ch)
    assert model_server.stats()["requests_total"] == 0
    assert shown(client, message) == 1
    assert [m.message for m in client.messages if m.type <= types.MessageType.Warning] == [message]
