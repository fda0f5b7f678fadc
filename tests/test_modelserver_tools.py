"""Multi-turn tool conversations on the local model server, through the real openai SDK.

The test plays the agent: it sends the transcript (``models.tools.transcript_input``) with
the tool results it made up, and the server picks the next turn by them. Expected texts,
arguments and token counts are written by hand (o200k: "Let me look." is 4 tokens,
"read_file" 2, '{"path":"cart.py"}' 6, "search" 1, '{"pattern":"def total"}' 6, "cart.py" 2,
the patch's diff 22, "Fixed total() to sum the prices." 8).
"""

from __future__ import annotations

import ast
import json
from typing import Any

import pytest
from openai.types.chat import ChatCompletionChunk
from openai.types.responses import (
    ApplyPatchTool,
    FunctionTool as SdkFunctionTool,
    ResponseApplyPatchToolCall,
    ResponseCompletedEvent,
    ResponseFunctionCallArgumentsDeltaEvent,
    ResponseFunctionCallArgumentsDoneEvent,
    ResponseFunctionToolCall,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
)

from sparkforge.models.events import PatchOperation, ToolCall
from sparkforge.models.tools import (
    AssistantText,
    Called,
    CallResult,
    FunctionTool,
    UserText,
    tool_specs,
    transcript_input,
)

DEEP = "gpt-5.3-codex"
TASK = "Fix total() in cart.py: it must sum the prices."
DIFF = "@@ def total(items):\n-    return sum(items)\n+    return sum(i.price for i in items)\n"
READ_OUT = "cart.py 1-2\n1: def total(items):\n2:     return sum(items)\n"
SEARCH_OUT = "cart.py:1: def total(items):"

SCENARIO = {
    "name": "fix-total",
    "input_contains": ["Fix total() in cart.py"],
    "turns": [
        {"turn": 0, "output": "Let me look.", "function_calls": [
            {"name": "read_file", "arguments": {"path": "cart.py"}},
            {"name": "search", "arguments": {"pattern": "def total"}},
        ]},
        {"after_output_contains": ["return sum(items)", "def total"],
         "patches": [{"type": "update_file", "path": "cart.py", "diff": DIFF}]},
        {"after_output_contains": ["does not apply"],
         "function_calls": [{"name": "read_file", "arguments": {"path": "cart.py"}}]},
        {"turn": 3, "output": "Fixed total() to sum the prices."},
    ],
}

TOOLS = [
    FunctionTool("read_file", "Read a file of the workspace.",
                 {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}),
    FunctionTool("search", "Search the workspace with a regex.",
                 {"type": "object", "properties": {"pattern": {"type": "string"}}, "required": ["pattern"]}),
]


# -- Responses -------------------------------------------------------------------------------

async def responses_turn(client: Any, transcript: list[Any]) -> tuple[list[Any], Any]:
    stream = await client.responses.create(
        model=DEEP, instructions="You are a coding agent.", input=transcript_input("responses", transcript),
        tools=tool_specs("responses", TOOLS, apply_patch=True), stream=True, store=False)
    events = [e async for e in stream]
    assert isinstance(events[-1], ResponseCompletedEvent)
    return events, events[-1].response


async def test_a_three_turn_conversation_over_responses_is_led_by_the_tool_results(ms, client):
    ms.load([SCENARIO])
    transcript: list[Any] = [UserText(TASK)]

    events, response = await responses_turn(client, transcript)
    assert response.output_text == "Let me look."
    read, search = [item for item in response.output if isinstance(item, ResponseFunctionToolCall)]
    assert (read.name, read.arguments, read.status) == ("read_file", '{"path":"cart.py"}', "completed")
    assert (search.name, search.arguments) == ("search", '{"pattern":"def total"}')
    assert read.call_id.startswith("call_") and read.call_id != search.call_id
    # each call: added (no arguments yet), its arguments a token per delta, done, item done
    added = [e.item for e in events if isinstance(e, ResponseOutputItemAddedEvent)]
    assert [(i.type, getattr(i, "arguments", None)) for i in added] == [
        ("message", None), ("function_call", ""), ("function_call", "")]
    deltas = [e.delta for e in events if isinstance(e, ResponseFunctionCallArgumentsDeltaEvent)
              and e.item_id == read.id]
    assert deltas == ['{"', "path", '":"', "cart", ".py", '"}']
    assert [e.arguments for e in events if isinstance(e, ResponseFunctionCallArgumentsDoneEvent)] == [
        '{"path":"cart.py"}', '{"pattern":"def total"}']
    assert [e.item.call_id for e in events if isinstance(e, ResponseOutputItemDoneEvent)
            and e.item.type == "function_call"] == [read.call_id, search.call_id]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert response.usage.output_tokens == 4 + (2 + 6) + (1 + 6)
    assert {type(t) for t in response.tools} == {SdkFunctionTool, ApplyPatchTool}

    transcript += [AssistantText("Let me look."),
                   Called(ToolCall(read.call_id, read.name, read.arguments)),
                   Called(ToolCall(search.call_id, search.name, search.arguments)),
                   CallResult(read.call_id, READ_OUT), CallResult(search.call_id, SEARCH_OUT)]
    events, response = await responses_turn(client, transcript)
    [patch] = response.output
    assert isinstance(patch, ResponseApplyPatchToolCall)
    assert (patch.operation.type, patch.operation.path, patch.operation.diff) == ("update_file", "cart.py", DIFF)
    assert response.output_text == "" and response.usage.output_tokens == 2 + 22

    # the same count of results, another outcome, another turn
    op = PatchOperation("update_file", "cart.py", DIFF, patch.call_id)
    refused = [*transcript, Called(op), CallResult(patch.call_id, "the patch does not apply to cart.py", ok=False)]
    _, response = await responses_turn(client, refused)
    [again] = response.output
    assert (again.type, again.name, again.arguments) == ("function_call", "read_file", '{"path":"cart.py"}')

    transcript += [Called(op), CallResult(patch.call_id, "cart.py updated")]
    _, response = await responses_turn(client, transcript)
    assert response.output_text == "Fixed total() to sum the prices."
    assert [item.type for item in response.output] == ["message"]
    assert response.usage.output_tokens == 8

    log = ms.requests()
    assert [(e["turn"], e["tool_results"]) for e in log] == [(0, 0), (1, 2), (2, 3), (3, 3)]
    # what the model received on the last turn: the calls and their outputs, in order
    sent = log[-1]["body"]["input"]
    assert [i.get("type", i.get("role")) for i in sent] == [
        "user", "assistant", "function_call", "function_call", "function_call_output",
        "function_call_output", "apply_patch_call", "apply_patch_call_output"]
    assert sent[4] == {"type": "function_call_output", "call_id": read.call_id, "output": READ_OUT}
    assert sent[6] == {"type": "apply_patch_call", "call_id": patch.call_id, "status": "completed",
                       "operation": {"type": "update_file", "path": "cart.py", "diff": DIFF}}
    assert sent[7] == {"type": "apply_patch_call_output", "call_id": patch.call_id, "status": "completed",
                       "output": "cart.py updated"}
    assert log[2]["body"]["input"][-1]["status"] == "failed"


async def test_a_function_call_over_the_websocket(ms, client):
    ms.load([SCENARIO])
    async with client.responses.connect() as conn:
        await conn.response.create(model=DEEP, input=transcript_input("responses", [UserText(TASK)]),
                                   tools=tool_specs("responses", TOOLS, apply_patch=True), store=False)
        events = []
        async for event in conn:
            events.append(event)
            if event.type == "response.completed":
                break
    calls = [i for i in events[-1].response.output if isinstance(i, ResponseFunctionToolCall)]
    assert [(c.name, c.arguments) for c in calls] == [("read_file", '{"path":"cart.py"}'),
                                                      ("search", '{"pattern":"def total"}')]
    assert [e.type for e in events].count("response.function_call_arguments.delta") == 12
    [entry] = ms.requests()
    assert (entry["transport"], entry["turn"]) == ("websocket", 0)


async def test_malformed_arguments_arrive_as_written(ms, client):
    ms.load([{"name": "bad-json", "turns": [
        {"function_calls": [{"name": "read_file", "arguments": '{"path": "cart.py"'}]}]}])
    response = await client.responses.create(model=DEEP, input="go", stream=False)
    [call] = response.output
    assert call.arguments == '{"path": "cart.py"'
    assert response.usage.output_tokens == 2 + 7
    completion = await client.chat.completions.create(
        model=DEEP, messages=[{"role": "user", "content": "go"}], stream=False)
    [tool_call] = completion.choices[0].message.tool_calls
    assert (tool_call.function.name, tool_call.function.arguments) == ("read_file", '{"path": "cart.py"')
    assert completion.choices[0].finish_reason == "tool_calls"
    assert completion.choices[0].message.content is None


async def test_no_turn_matching_says_so(ms, client):
    ms.load([{"name": "only-first", "turns": [{"turn": 0, "output": "first"}]}])
    transcript = [UserText("x"), Called(ToolCall("call_1", "search", "{}")), CallResult("call_1", "none")]
    response = await client.responses.create(model=DEEP, input=transcript_input("responses", transcript))
    assert response.output_text == ("sparkforge model-server: no turn of scenario 'only-first' matched "
                                    "this request (1 tool results).")
    assert ms.requests()[-1]["turn"] is None


@pytest.mark.parametrize("turn, why", [
    ({"turn": -1}, "turns[0].turn must be a non-negative integer"),
    ({"function_calls": [{"name": "x", "arguments": 3}]}, "turns[0].function_calls[0].arguments"),
    ({"function_calls": [{"arguments": "{}"}]}, "turns[0].function_calls[0].name must be a string"),
    ({"output": "x", "when": 2}, "turns[0] has unknown keys ['when']"),
])
def test_a_bad_turn_is_refused_with_where_it_is(ms, turn, why):
    with pytest.raises(AssertionError) as err:  # (the fixture's answer to a 400)
        ms.load([{"name": "bad", "turns": [turn]}])
    message = json.loads(ast.literal_eval(str(err.value).split(" 400 ", 1)[1]))["error"]["message"]
    assert message.startswith("invalid scenarios: scenarios[0].") and why in message


# -- Chat Completions ------------------------------------------------------------------------

async def chat_turn(client: Any, transcript: list[Any]) -> tuple[list[ChatCompletionChunk], Any]:
    messages = [{"role": "system", "content": "You are a coding agent."}, *transcript_input("chat", transcript)]
    async with client.chat.completions.stream(
        model=DEEP, messages=messages, tools=tool_specs("chat", TOOLS, apply_patch=True),
        stream_options={"include_usage": True},
    ) as stream:
        chunks = [e.chunk async for e in stream if e.type == "chunk"]
        return chunks, await stream.get_final_completion()


async def test_a_three_turn_conversation_over_chat_completions(ms, client):
    ms.load([SCENARIO])
    transcript: list[Any] = [UserText(TASK)]

    chunks, completion = await chat_turn(client, transcript)
    choice = completion.choices[0]
    assert (choice.message.content, choice.finish_reason) == ("Let me look.", "tool_calls")
    read, search = choice.message.tool_calls
    assert (read.function.name, read.function.arguments) == ("read_file", '{"path":"cart.py"}')
    assert (search.function.name, search.function.arguments) == ("search", '{"pattern":"def total"}')
    # the wire: a chunk naming each call (index, id, type, name), then its arguments in pieces
    pieces = [(tc.index, tc.id, tc.function.name, tc.function.arguments)
              for c in chunks for ch in c.choices for tc in ch.delta.tool_calls or ()]
    assert pieces[0] == (0, read.id, "read_file", "")
    assert pieces[1:7] == [(0, None, None, p) for p in ['{"', "path", '":"', "cart", ".py", '"}']]
    assert pieces[7] == (1, search.id, "search", "")
    assert completion.usage.completion_tokens == 4 + (2 + 6) + (1 + 6)

    transcript += [AssistantText("Let me look."),
                   Called(ToolCall(read.id, "read_file", read.function.arguments)),
                   Called(ToolCall(search.id, "search", search.function.arguments)),
                   CallResult(read.id, READ_OUT), CallResult(search.id, SEARCH_OUT)]
    _, completion = await chat_turn(client, transcript)
    [patch] = completion.choices[0].message.tool_calls
    assert patch.function.name == "apply_patch"
    assert json.loads(patch.function.arguments) == {"input": (
        "*** Begin Patch\n*** Update File: cart.py\n@@ def total(items):\n-    return sum(items)\n"
        "+    return sum(i.price for i in items)\n*** End Patch\n")}

    transcript += [Called(ToolCall(patch.id, "apply_patch", patch.function.arguments)),
                   CallResult(patch.id, "cart.py updated")]
    _, completion = await chat_turn(client, transcript)
    choice = completion.choices[0]
    assert (choice.message.content, choice.finish_reason, choice.message.tool_calls) == (
        "Fixed total() to sum the prices.", "stop", None)
    assert completion.usage.completion_tokens == 8

    log = ms.requests()
    assert [(e["endpoint"], e["turn"], e["tool_results"]) for e in log] == [
        ("chat", 0, 0), ("chat", 1, 2), ("chat", 3, 3)]
    sent = log[-1]["body"]["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "tool", "tool", "assistant", "tool"]
    assert sent[2]["content"] == "Let me look." and [c["id"] for c in sent[2]["tool_calls"]] == [read.id, search.id]
    assert sent[3] == {"role": "tool", "tool_call_id": read.id, "content": READ_OUT}
    assert "content" not in sent[5] and sent[5]["tool_calls"][0]["function"]["name"] == "apply_patch"
