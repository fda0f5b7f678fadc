"""The debounce's wait is not idle: the prompt is built while it waits, so that when it ends
only the request is left to make (#10). Driven through the real server and model server; the
order of the server's own marks (sparkforge/getStatus -> predictions.last.timingsMs) shows it."""

from __future__ import annotations

from lsprotocol import types
from pytest_lsp import LanguageClient

from lsphelp import Doc, request
from samples import rewrite

TOTAL = "def total(items):\n    result = 0\n    for item in items:\n        result += item.price\n    return re\n"
TOTAL_DONE = "    result = 0\n    for item in items:\n        result += item.price\n    return result\n"


async def test_the_prompt_is_built_while_the_debounce_waits(client: LanguageClient, workspace, model_server, settings):
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"sparkforge": dict(settings, inline={"debounceMs": 600})})
    )
    model_server.load([rewrite("total", ["return res<|user_cursor_is_here|>"], TOTAL_DONE)])
    doc = Doc(client, workspace / "cart.py", TOTAL)
    pos = doc.type(doc.position_after("return re"), "s")  # a keystroke, then the editor asks
    result = await client.text_document_inline_completion_async(types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=doc.uri), position=pos,
        context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Automatic)))
    assert result.items[0].insert_text == "ult"
    last = (await request(client, "sparkforge/getStatus", {}))["predictions"]["last"]
    marks = last["timingsMs"]
    assert last["debounceMs"] == 600
    assert list(marks) == ["keystroke", "start", "context", "prompt", "ready", "debounce_end", "first_event",
                           "answer_end", "classified"]
    # The wait counts from the keystroke's arrival, which came before the request's: prompt
    # and request set-up came first, then the rest of the 600 ms (a wait never ends early),
    # then the request: the model's first event after the debounce's end
    assert marks["keystroke"] < 0 == marks["start"]
    assert marks["prompt"] <= marks["ready"]
    assert marks["debounce_end"] - marks["keystroke"] >= 600
    assert marks["debounce_end"] - marks["ready"] >= 300
    assert marks["first_event"] >= marks["debounce_end"]
    assert len(model_server.requests()) == 1
