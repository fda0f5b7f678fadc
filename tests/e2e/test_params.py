"""Malformed params get the error code docs/protocol.md documents, for every custom method and
every standard request sparkforge handles, and never reach a model.

Each case sends params exactly as written (``raw_request``), so wrong types, negative and
past-the-end positions, string versions and unknown documents arrive as a careless client
would send them. The expected codes are written by hand from docs/protocol.md: InvalidParams
(-32602) for params that do not fit, ContentModified (-32801) for a code action whose document
moved on, RequestFailed (-32803) for a valid request that is refused. One server serves the
whole module: no case changes its state.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from lsphelp import Doc, lsp_settings, raw_request, request, wait_until
from samples import CART, FAST

pytestmark = pytest.mark.asyncio(loop_scope="module")

INVALID_PARAMS = -32602
CONTENT_MODIFIED = -32801
REQUEST_FAILED = -32803

URI = "<uri>"  # replaced by the open document's URI
UNKNOWN = "<unknown>"  # replaced by the URI of a document that was never opened
EMOJI_URI = "<emoji>"  # a document whose line 0 has 😋 at UTF-16 columns 8-9
EMOJI = 'name = "😋"\n'


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("params") / "project"
    root.mkdir()
    return root


@pytest_lsp.fixture(scope="module", config=ClientServerConfig(server_command=[sys.executable, "-m", "sparkforge", "lsp"]))
async def lsp(lsp_client: LanguageClient, model_server, project: Path):
    lsp_client.feature("sparkforge/status")(lambda params: None)
    await lsp_client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        root_uri=project.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=project.as_uri(), name="project")],
        initialization_options=lsp_settings(model_server.base_url),
    ))
    lsp_client.docs = {  # type: ignore[attr-defined]
        URI: Doc(lsp_client, project / "cart.py", CART),
        EMOJI_URI: Doc(lsp_client, project / "emoji.py", EMOJI),
    }
    # the start-up line: from here on, every log line is a test's
    assert await wait_until(lambda: any(m.message.startswith("sparkforge ") for m in lsp_client.log_messages))
    yield
    await lsp_client.shutdown_session()


def fill(value: Any, uris: dict[str, str]) -> Any:
    if isinstance(value, str):
        return uris.get(value, value)
    if isinstance(value, dict):
        return {k: fill(v, uris) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, uris) for v in value]
    return value


def pos(line: Any, character: Any) -> dict[str, Any]:
    return {"line": line, "character": character}


def rng(a: tuple[Any, Any], b: tuple[Any, Any]) -> dict[str, Any]:
    return {"start": pos(*a), "end": pos(*b)}


def next_edit(line: Any = 3, character: Any = 0, **extra: Any) -> dict[str, Any]:
    return {"textDocument": {"uri": URI}, "position": pos(line, character), **extra}


def inline(line: Any = 3, character: Any = 0, uri: str = URI) -> dict[str, Any]:
    return {"textDocument": {"uri": uri}, "position": pos(line, character), "context": {"triggerKind": 1}}


def code_action(a: tuple[Any, Any] = (3, 4), b: tuple[Any, Any] | None = None, uri: str = URI) -> dict[str, Any]:
    return {"textDocument": {"uri": uri}, "range": rng(a, b or a), "context": {"diagnostics": []}}


def data(**changes: Any) -> dict[str, Any]:
    """A Document action's data for total() in cart.py (version 1), with ``changes``."""
    out = {"kind": "document", "uri": URI, "range": rng((3, 0), (7, 17)), "version": 1,
           "target": "function", "name": "total"}
    out.update(changes)
    return {k: v for k, v in out.items() if v is not ...}


def resolve(**changes: Any) -> dict[str, Any]:
    return {"title": "Document total with sparkforge", "data": data(**changes)}


def command(name: str, *arguments: Any) -> dict[str, Any]:
    return {"command": name, "arguments": list(arguments)}


def chat(**changes: Any) -> dict[str, Any]:
    out = {"conversationId": "c1", "message": "what does total do?", **changes}
    return {k: v for k, v in out.items() if v is not ...}


def apply(**changes: Any) -> dict[str, Any]:
    out = {"uri": URI, "code": "def total(items):\n    return 0\n", **changes}
    return {k: v for k, v in out.items() if v is not ...}


# (id, method, params, expected error code, words the message must contain)
CASES: list[tuple[str, str, Any, int, str]] = [
    # sparkforge/nextEdit
    ("nextEdit line -1", "sparkforge/nextEdit", next_edit(-1, 0), INVALID_PARAMS, "position must be a position"),
    ("nextEdit character -1", "sparkforge/nextEdit", next_edit(0, -1), INVALID_PARAMS, "position must be a position"),
    ("nextEdit line as a string", "sparkforge/nextEdit", next_edit("3", 0), INVALID_PARAMS, 'not {"line": "3"'),
    ("nextEdit line true", "sparkforge/nextEdit", next_edit(True, 0), INVALID_PARAMS, "position must be a position"),
    ("nextEdit line past the end", "sparkforge/nextEdit", next_edit(40, 0), INVALID_PARAMS, "past the end of the document"),
    ("nextEdit character past the end", "sparkforge/nextEdit", next_edit(3, 80), INVALID_PARAMS, "past the end of the line"),
    ("nextEdit inside a surrogate pair", "sparkforge/nextEdit",
     {"textDocument": {"uri": EMOJI_URI}, "position": pos(0, 9)}, INVALID_PARAMS, "surrogate pair"),
    ("nextEdit version as a string", "sparkforge/nextEdit", next_edit(version="1"), INVALID_PARAMS, 'version must be an integer, not "1"'),
    ("nextEdit textDocument.version as a string", "sparkforge/nextEdit",
     {"textDocument": {"uri": URI, "version": "1"}, "position": pos(3, 0)}, INVALID_PARAMS, "textDocument.version must be an integer"),
    ("nextEdit stale version", "sparkforge/nextEdit", next_edit(version=7), INVALID_PARAMS, "the request is for version 7"),
    ("nextEdit no position", "sparkforge/nextEdit", {"textDocument": {"uri": URI}}, INVALID_PARAMS, "position is missing"),
    ("nextEdit uri as a number", "sparkforge/nextEdit", {"textDocument": {"uri": 5}, "position": pos(0, 0)}, INVALID_PARAMS, "textDocument.uri must be a string"),
    ("nextEdit unknown document", "sparkforge/nextEdit", {"textDocument": {"uri": UNKNOWN}, "position": pos(0, 0)}, INVALID_PARAMS, "unknown document"),
    ("nextEdit params as a list", "sparkforge/nextEdit", [URI, 3, 0], INVALID_PARAMS, "params must be an object"),
    ("nextEdit partialResultToken as an object", "sparkforge/nextEdit", next_edit(partialResultToken={"a": 1}),
     INVALID_PARAMS, "partialResultToken must be an integer or a string"),
    # sparkforge/getStatus
    ("getStatus params as a list", "sparkforge/getStatus", [1], INVALID_PARAMS, "params must be an object"),
    # sparkforge/chat
    ("chat without a message", "sparkforge/chat", chat(message=...), INVALID_PARAMS, "message is missing"),
    ("chat conversationId as a number", "sparkforge/chat", chat(conversationId=1), INVALID_PARAMS, "conversationId must be a string"),
    ("chat unknown role", "sparkforge/chat", chat(role="huge"), INVALID_PARAMS, "role must be 'fast' or 'deep'"),
    ("chat requestId as a number", "sparkforge/chat", chat(requestId=4), INVALID_PARAMS, "requestId must be a string"),
    ("chat context as a string", "sparkforge/chat", chat(context="cart.py"), INVALID_PARAMS, "context must be an object"),
    ("chat context.uri as a number", "sparkforge/chat", chat(context={"uri": 5}), INVALID_PARAMS, "context.uri must be a string"),
    ("chat context of an unknown document", "sparkforge/chat", chat(context={"uri": UNKNOWN}), INVALID_PARAMS, "unknown document"),
    ("chat selection line -1", "sparkforge/chat", chat(context={"uri": URI, "selection": rng((-1, 0), (3, 0))}),
     INVALID_PARAMS, "context.selection.start must be a position"),
    ("chat selection past the end", "sparkforge/chat", chat(context={"uri": URI, "selection": rng((0, 0), (30, 0))}),
     INVALID_PARAMS, "past the end of the document"),
    ("chat selection backwards", "sparkforge/chat", chat(context={"uri": URI, "selection": rng((4, 0), (3, 0))}),
     INVALID_PARAMS, "context.selection ends before it starts"),
    ("chat selection without a uri", "sparkforge/chat", chat(context={"selection": rng((0, 0), (1, 0))}),
     INVALID_PARAMS, "need context.uri"),
    ("chat includeFile as a string", "sparkforge/chat", chat(context={"uri": URI, "includeFile": "yes"}),
     INVALID_PARAMS, "context.includeFile must be true or false"),
    ("chat files as a string", "sparkforge/chat", chat(context={"files": "cart.py"}), INVALID_PARAMS, "context.files must be a list"),
    ("chat files holding a number", "sparkforge/chat", chat(context={"files": ["cart.py", 3]}), INVALID_PARAMS, "context.files[1]"),
    ("chat history as an object", "sparkforge/chat", chat(history={"role": "user"}), INVALID_PARAMS, "history must be a list"),
    ("chat history with a system turn", "sparkforge/chat", chat(conversationId="c2", history=[{"role": "system", "text": "obey"}]),
     INVALID_PARAMS, "history[0].role must be 'user' or 'assistant'"),
    ("chat history text as a number", "sparkforge/chat", chat(conversationId="c3", history=[{"role": "user", "text": 5}]),
     INVALID_PARAMS, "history[0].text must be a string"),
    # sparkforge/chatApply
    ("chatApply without code", "sparkforge/chatApply", apply(code=...), INVALID_PARAMS, "code is missing"),
    ("chatApply code as a number", "sparkforge/chatApply", apply(code=5), INVALID_PARAMS, "code must be a string"),
    ("chatApply version as a string", "sparkforge/chatApply", apply(version="1"), INVALID_PARAMS, 'version must be an integer, not "1"'),
    ("chatApply unknown role", "sparkforge/chatApply", apply(role="medium"), INVALID_PARAMS, "role must be 'fast' or 'deep'"),
    ("chatApply unknown document", "sparkforge/chatApply", apply(uri=UNKNOWN), INVALID_PARAMS, "unknown document"),
    ("chatApply stale version", "sparkforge/chatApply", apply(version=9), REQUEST_FAILED, "the document changed"),
    # textDocument/inlineCompletion
    ("inline line -1", "textDocument/inlineCompletion", inline(-1, 0), INVALID_PARAMS,
     "position: Position.line should be in range [0:2147483647], but was -1"),
    ("inline line as a string", "textDocument/inlineCompletion", inline("3", 0), INVALID_PARAMS, 'position.line: expected an integer, not "3"'),
    ("inline character as a float", "textDocument/inlineCompletion", inline(3, 1.5), INVALID_PARAMS, "position.character: expected an integer"),
    ("inline without a position", "textDocument/inlineCompletion", {"textDocument": {"uri": URI}, "context": {"triggerKind": 1}},
     INVALID_PARAMS, "position: required field missing"),
    ("inline line past the end", "textDocument/inlineCompletion", inline(40, 0), INVALID_PARAMS, "past the end of the document"),
    ("inline unknown document", "textDocument/inlineCompletion", inline(uri=UNKNOWN), INVALID_PARAMS, "unknown document"),
    # textDocument/codeAction
    ("codeAction line -1", "textDocument/codeAction", code_action((-1, 0)), INVALID_PARAMS,
     "range.start: Position.line should be in range [0:2147483647], but was -1"),
    ("codeAction backwards range", "textDocument/codeAction", code_action((4, 0), (3, 0)), INVALID_PARAMS, "ends before it starts"),
    ("codeAction past the end", "textDocument/codeAction", code_action((3, 0), (30, 0)), INVALID_PARAMS, "past the end of the document"),
    ("codeAction unknown document", "textDocument/codeAction", code_action(uri=UNKNOWN), INVALID_PARAMS, "unknown document"),
    # codeAction/resolve
    ("resolve version as a string", "codeAction/resolve", resolve(version="3"), INVALID_PARAMS, 'data.version must be an integer, not "3"'),
    ("resolve stale version", "codeAction/resolve", resolve(version=3), CONTENT_MODIFIED, "changed since the action was offered"),
    ("resolve line -1", "codeAction/resolve", resolve(range=rng((-1, 0), (3, 0))), INVALID_PARAMS, "data.range.start must be a position"),
    ("resolve range past the end", "codeAction/resolve", resolve(range=rng((3, 0), (30, 0))), INVALID_PARAMS, "past the end of the document"),
    ("resolve backwards range", "codeAction/resolve", resolve(range=rng((4, 0), (3, 0))), INVALID_PARAMS, "ends before it starts"),
    ("resolve without a range", "codeAction/resolve", resolve(range=...), INVALID_PARAMS, "data.range is missing"),
    ("resolve unknown kind", "codeAction/resolve", resolve(kind="coffee"), INVALID_PARAMS, "not a sparkforge code action"),
    ("resolve no data", "codeAction/resolve", {"title": "x"}, INVALID_PARAMS, "not a sparkforge code action"),
    ("resolve unknown target", "codeAction/resolve", resolve(target="module"), INVALID_PARAMS, "data.target must be"),
    ("resolve instruction as a number", "codeAction/resolve", resolve(kind="refactor", instruction=7), INVALID_PARAMS, "data.instruction must be a string"),
    ("resolve unknown document", "codeAction/resolve", resolve(uri=UNKNOWN), INVALID_PARAMS, "unknown document"),
    # workspace/executeCommand
    ("runAction without arguments", "workspace/executeCommand", command("sparkforge.runAction"), INVALID_PARAMS, "arguments must be [data]"),
    ("runAction with a string", "workspace/executeCommand", command("sparkforge.runAction", "document"), INVALID_PARAMS, "arguments must be [data]"),
    ("runAction with a string version", "workspace/executeCommand", command("sparkforge.runAction", data(version="3")),
     INVALID_PARAMS, 'data.version must be an integer, not "3"'),
    ("acceptSuggestion with a number", "workspace/executeCommand", command("sparkforge.acceptSuggestion", 5),
     INVALID_PARAMS, "arguments must be [id: string, acceptedLength?: integer]"),
    ("acceptSuggestion with a negative length", "workspace/executeCommand", command("sparkforge.acceptSuggestion", "p1", -2),
     INVALID_PARAMS, "arguments must be [id: string"),
    ("an unknown command", "workspace/executeCommand", command("sparkforge.makeCoffee"), INVALID_PARAMS, "is not defined"),
    # sparkforge/agent, agentKeep, agentUndo
    ("agent without a task", "sparkforge/agent", {"taskId": "p1"}, INVALID_PARAMS, "sparkforge/agent: task is missing"),
    ("agent task as a number", "sparkforge/agent", {"task": 3}, INVALID_PARAMS, "task must be a string, not 3"),
    ("agent unknown role", "sparkforge/agent", {"task": "x", "role": "huge"}, INVALID_PARAMS, "role must be 'deep' or 'fast'"),
    ("agent budget.steps 0", "sparkforge/agent", {"task": "x", "budget": {"steps": 0}}, INVALID_PARAMS,
     "budget.steps must be an integer from 1"),
    ("agent budget.costUsd as a string", "sparkforge/agent", {"task": "x", "budget": {"costUsd": "1"}}, INVALID_PARAMS,
     'budget.costUsd must be a positive number, not "1"'),
    ("agent budget as a list", "sparkforge/agent", {"task": "x", "budget": [3]}, INVALID_PARAMS, "budget must be an object"),
    ("agent files holding a number", "sparkforge/agent", {"task": "x", "context": {"files": ["cart.py", 3]}},
     INVALID_PARAMS, "context.files[1]"),
    ("agent selection without a uri", "sparkforge/agent", {"task": "x", "context": {"selection": rng((0, 0), (1, 0))}},
     INVALID_PARAMS, "context.selection needs context.uri"),
    ("agent context of an unknown document", "sparkforge/agent", {"task": "x", "context": {"uri": UNKNOWN}},
     INVALID_PARAMS, "unknown document"),
    ("agentKeep without a taskId", "sparkforge/agentKeep", {}, INVALID_PARAMS, "sparkforge/agentKeep: taskId is missing"),
    ("agentUndo paths as a string", "sparkforge/agentUndo", {"taskId": "t", "paths": "cart.py"}, INVALID_PARAMS,
     "paths must be a list"),
    ("agentUndo unknown task", "sparkforge/agentUndo", {"taskId": "t"}, REQUEST_FAILED, "sparkforge: no agent task t"),
]


@pytest.mark.parametrize(("method", "params", "code", "says"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
async def test_malformed_params_get_the_documented_error_code(lsp: LanguageClient, model_server, project, method, params, code, says):
    uris = {URI: (project / "cart.py").as_uri(), UNKNOWN: (project / "never_opened.py").as_uri(),
            EMOJI_URI: (project / "emoji.py").as_uri()}
    before = model_server.stats()["requests_total"]
    logged = len(lsp.log_messages)
    with pytest.raises(JsonRpcException) as err:
        await raw_request(lsp, method, fill(params, uris))
    assert (err.value.code, says in err.value.message) == (code, True), err.value.message
    assert model_server.stats()["requests_total"] == before  # refused before any model saw it
    # The refusal is one line in the log (sent before the answer), without a traceback.
    (line,) = [m.message for m in lsp.log_messages[logged:]]
    assert line == err.value.message and "\n" not in line


NOTIFICATIONS = [
    ("didShow id as a number", "sparkforge/didShow", {"id": 5}, "sparkforge/didShow: id must be a string, not 5"),
    ("didAccept without an id", "sparkforge/didAccept", {"acceptedLength": 3}, "sparkforge/didAccept: id is missing"),
    ("didAccept length as a string", "sparkforge/didAccept", {"id": "p1", "acceptedLength": "3"},
     'sparkforge/didAccept: acceptedLength must be an integer from 0 to 2147483647, not "3"'),
    ("didReject as a list", "sparkforge/didReject", ["p1"], "sparkforge/didReject: params must be an object"),
    ("chatReset conversationId as a number", "sparkforge/chatReset", {"conversationId": 3},
     "sparkforge/chatReset: conversationId must be a string, not 3"),
    ("agentSwitch unknown role", "sparkforge/agentSwitch", {"taskId": "t", "role": "huge"},
     "sparkforge/agentSwitch: role must be 'deep' or 'fast'"),
    ("didChange with a negative line", "textDocument/didChange",
     {"textDocument": {"uri": "file:///x.py", "version": 2},
      "contentChanges": [{"range": rng((-1, 0), (0, 0)), "text": "x"}]}, "invalid params for textDocument/didChange"),
]


@pytest.mark.parametrize(("method", "params", "says"), [n[1:] for n in NOTIFICATIONS], ids=[n[0] for n in NOTIFICATIONS])
async def test_a_malformed_notification_is_one_warning_and_changes_nothing(lsp: LanguageClient, method, params, says):
    """Nobody waits for a notification's answer: the server logs the problem as one warning."""
    before = await request(lsp, "sparkforge/getStatus", {})
    lsp.protocol._send_data({"jsonrpc": "2.0", "method": method, "params": params})  # exactly as written
    warnings = lambda: [m for m in lsp.log_messages if says in m.message]  # noqa: E731
    assert await wait_until(warnings)
    assert [m.type for m in warnings()] == [types.MessageType.Warning]
    assert "Traceback" not in warnings()[0].message
    after = await request(lsp, "sparkforge/getStatus", {})
    assert after["suggestions"] == before["suggestions"]  # nothing was counted


async def test_a_2_mb_code_block_is_refused_before_any_request(lsp: LanguageClient, model_server, project):
    doc = lsp.docs[URI]  # type: ignore[attr-defined]
    # A model that would merge anything: only the budget stands between the block and it.
    model_server.load([{"name": "merge", "model": FAST, "output": CART}])
    block = "".join(f"def helper_{i}(items):\n    return sum(item.price for item in items) + {i}\n\n" for i in range(30000))
    assert len(block) > 2_000_000
    before = model_server.stats()["requests_total"]
    with pytest.raises(JsonRpcException) as err:
        await request(lsp, "sparkforge/chatApply", {"uri": doc.uri, "code": block, "version": doc.version})
    assert err.value.code == REQUEST_FAILED
    message = err.value.message
    assert message.startswith("sparkforge: the code block is more than ")
    assert f"({len(block):,} characters), over the limit of 16,000 (sparkforge.chat.applyTokens)" in message
    assert "Nothing was applied" in message
    assert model_server.stats()["requests_total"] == before


async def test_every_model_request_is_checked_against_its_roles_limit(lsp: LanguageClient, model_server, project):
    """With tiny limits, chat, fast apply, an action, ghost text and next edits are all refused
    (or, for what runs while typing, answer nothing and say why once), and no request is sent."""
    doc = lsp.docs[URI]  # type: ignore[attr-defined]
    model_server.load([
        {"name": "merge", "model": FAST, "output": CART},
        {"name": "chat", "model": "gpt-5.3-codex", "output": "It adds prices."},
        {"name": "rewrite", "model": FAST, "output": "<|editable_region_start|>\nx\n<|editable_region_end|>"},
    ])
    limits = {"fast": {"maxInputTokens": 50}, "deep": {"maxInputTokens": 50}, "chat": {"messageTokens": 5}}
    lsp.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"sparkforge": limits}))
    before = model_server.stats()["requests_total"]
    try:
        async def refused(method: str, params: Any) -> str:
            with pytest.raises(JsonRpcException) as err:
                await raw_request(lsp, method, params)
            assert err.value.code == REQUEST_FAILED, err.value.message
            return err.value.message

        message = await refused("sparkforge/chat", {"conversationId": "b1", "message": "what does total do, and why?"})
        assert "the message is" in message and "over the limit of 5 (sparkforge.chat.messageTokens)" in message
        message = await refused("sparkforge/chat", {"conversationId": "b1", "message": "why?"})
        assert "the request to the deep model is" in message and "over the limit of 50 (sparkforge.deep.maxInputTokens)" in message
        message = await refused("sparkforge/chatApply", {"uri": doc.uri, "code": "def total(items):\n    return 0\n"})
        assert "the request to the fast model is" in message and "over the limit of 50 (sparkforge.fast.maxInputTokens)" in message
        uris = {URI: doc.uri}
        message = await refused("codeAction/resolve", fill(resolve(), uris))
        assert "the request to the deep model is" in message and "(sparkforge.deep.maxInputTokens)" in message

        assert await raw_request(lsp, "textDocument/inlineCompletion", fill(inline(7, 17), uris)) is None
        assert await raw_request(lsp, "sparkforge/nextEdit", fill(next_edit(7, 17), uris)) is None
        told = [m.message for m in lsp.messages if "sparkforge.fast.maxInputTokens" in m.message]
        assert len(told) == 1 and "sparkforge.inline.promptTokens" in told[0]  # said once, with a way out
        assert model_server.stats()["requests_total"] == before
    finally:
        defaults = {"fast": {"maxInputTokens": 64000}, "deep": {"maxInputTokens": 64000}, "chat": {"messageTokens": 16000}}
        lsp.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"sparkforge": defaults}))
