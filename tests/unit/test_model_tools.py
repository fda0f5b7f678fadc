"""models/tools.py (transcript and tool specs in each API's shape) and the gateway's tool-call
parsing of event shapes the model server does not send (a gateway without item ends, a
server without call indexes)."""

from __future__ import annotations

import json

import pytest

from sparkforge.models.events import Finish, PatchOperation, TextDelta, ToolCall, Usage
from sparkforge.models.parsers import BadEvent, ChatParser, ResponsesParser
from sparkforge.models.tools import (
    AssistantText,
    Called,
    CallResult,
    FunctionTool,
    UserText,
    envelope,
    tool_specs,
    transcript_input,
)

READ = FunctionTool("read_file", "Read a file.", {"type": "object", "properties": {"path": {"type": "string"}}})


def test_tool_specs_on_each_api():
    assert tool_specs("responses", [READ], apply_patch=True) == [
        {"type": "function", "name": "read_file", "description": "Read a file.",
         "parameters": READ.parameters, "strict": False},
        {"type": "apply_patch"},
    ]
    chat = tool_specs("chat", [READ], apply_patch=True)
    assert chat[0] == {"type": "function", "function": {"name": "read_file", "description": "Read a file.",
                                                        "parameters": READ.parameters}}
    assert chat[1]["function"]["name"] == "apply_patch"
    assert chat[1]["function"]["parameters"]["required"] == ["input"]
    assert tool_specs("chat", [READ], apply_patch=False) == chat[:1]
    with pytest.raises(ValueError, match="unknown API 'completions'"):
        tool_specs("completions", [READ], apply_patch=False)


def test_envelope_of_each_operation():
    ops = [PatchOperation("create_file", "new.py", "+a\n+b\n"),
           PatchOperation("update_file", "old.py", "@@ def f\n-x\n+y"),
           PatchOperation("delete_file", "gone.py")]
    assert envelope(ops) == ("*** Begin Patch\n*** Add File: new.py\n+a\n+b\n*** Update File: old.py\n"
                             "@@ def f\n-x\n+y\n*** Delete File: gone.py\n*** End Patch\n")


TRANSCRIPT = [
    UserText("fix it"),
    AssistantText("Reading."),
    Called(ToolCall("c1", "read_file", '{"path":"a.py"}')),
    Called(PatchOperation("delete_file", "b.py", "", "c2")),
    CallResult("c1", "1: x"),
    CallResult("c2", "b.py is open with changes", ok=False),
    Called(ToolCall("c3", "search", "{}")),
    CallResult("c3", "no match"),
    AssistantText("Done."),
]


def test_transcript_as_responses_input():
    assert transcript_input("responses", TRANSCRIPT) == [
        {"role": "user", "content": "fix it"},
        {"role": "assistant", "content": "Reading."},
        {"type": "function_call", "call_id": "c1", "name": "read_file", "arguments": '{"path":"a.py"}'},
        {"type": "apply_patch_call", "call_id": "c2", "status": "completed",
         "operation": {"type": "delete_file", "path": "b.py"}},
        {"type": "function_call_output", "call_id": "c1", "output": "1: x"},
        {"type": "apply_patch_call_output", "call_id": "c2", "status": "failed",
         "output": "b.py is open with changes"},
        {"type": "function_call", "call_id": "c3", "name": "search", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c3", "output": "no match"},
        {"role": "assistant", "content": "Done."},
    ]


def test_transcript_as_chat_messages():
    assert transcript_input("chat", TRANSCRIPT) == [
        {"role": "user", "content": "fix it"},
        {"role": "assistant", "content": "Reading.", "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "read_file", "arguments": '{"path":"a.py"}'}},
            {"id": "c2", "type": "function", "function": {
                "name": "apply_patch",
                "arguments": json.dumps({"input": "*** Begin Patch\n*** Delete File: b.py\n*** End Patch\n"})}},
        ]},
        {"role": "tool", "tool_call_id": "c1", "content": "1: x"},
        {"role": "tool", "tool_call_id": "c2", "content": "b.py is open with changes"},
        {"role": "assistant", "tool_calls": [
            {"id": "c3", "type": "function", "function": {"name": "search", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c3", "content": "no match"},
        {"role": "assistant", "content": "Done."},
    ]


def feed(parser, events):
    out = []
    for event in events:
        out += parser(event if isinstance(event, str) else json.dumps(event))
    return out


def test_responses_calls_without_item_ends_come_from_the_arguments_or_the_response():
    added = {"type": "response.output_item.added", "output_index": 0,
             "item": {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "search", "arguments": ""}}
    out = feed(ResponsesParser(), [
        added,
        {"type": "response.function_call_arguments.delta", "item_id": "fc_1", "delta": '{"pattern":'},
        {"type": "response.function_call_arguments.delta", "item_id": "fc_1", "delta": '"x"}'},
        {"type": "response.completed", "response": {"output": [
            {"type": "function_call", "id": "fc_2", "call_id": "call_2", "name": "read_file", "arguments": "{}"}],
            "usage": {"input_tokens": 5, "output_tokens": 3}}},
    ])
    assert out == [ToolCall("call_2", "read_file", "{}"), ToolCall("call_1", "search", '{"pattern":"x"}'),
                   Usage(5, 3), Finish("tool_calls")]


def test_responses_call_yielded_once_at_its_item_end():
    item = {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "search", "arguments": "{}"}
    out = feed(ResponsesParser(), [
        {"type": "response.output_item.added", "item": {**item, "arguments": ""}},
        {"type": "response.function_call_arguments.done", "item_id": "fc_1", "arguments": "{}"},
        {"type": "response.output_item.done", "item": item},
        {"type": "response.completed", "response": {"output": [item]}},
        "[DONE]",
    ])
    assert out == [ToolCall("call_1", "search", "{}"), Finish("tool_calls")]


def chunk(delta=None, finish=None):
    return {"choices": [{"index": 0, "delta": delta or {}, "finish_reason": finish}]}


def test_chat_calls_assembled_by_index_even_interleaved():
    out = feed(ChatParser(), [
        chunk({"role": "assistant", "content": "On it."}),
        chunk({"tool_calls": [{"index": 0, "id": "call_a", "type": "function",
                               "function": {"name": "read_file", "arguments": ""}}]}),
        chunk({"tool_calls": [{"index": 1, "id": "call_b", "type": "function",
                               "function": {"name": "search", "arguments": '{"pat'}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"path":'}}]}),
        chunk({"tool_calls": [{"index": 1, "function": {"arguments": 'tern":"x"}'}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"a.py"}'}}]}),
        chunk(finish="tool_calls"),
        {"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 4}},
        "[DONE]",
    ])
    assert out == [TextDelta("On it."), ToolCall("call_a", "read_file", '{"path":"a.py"}'),
                   ToolCall("call_b", "search", '{"pattern":"x"}'), Usage(9, 4), Finish("tool_calls")]


def test_chat_calls_without_index_or_id_and_a_stop_finish():
    out = feed(ChatParser(), [
        chunk({"tool_calls": [{"function": {"name": "read_file", "arguments": "{}"}}]}),
        chunk({"tool_calls": [{"id": "x2", "function": {"name": "search", "arguments": "{}"}}]}),
        chunk(finish="stop"),
        "[DONE]",
    ])
    assert out == [ToolCall("call_0", "read_file", "{}"), ToolCall("x2", "search", "{}"), Finish("tool_calls")]


def test_chat_call_without_a_name_is_a_bad_event():
    with pytest.raises(BadEvent, match="tool call 0 without a function name"):
        feed(ChatParser(), [chunk({"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]}),
                             chunk(finish="tool_calls")])
