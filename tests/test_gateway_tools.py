"""Tool calls through ModelGateway against the real local model server, on both APIs.

The test plays the agent's loop: each turn it sends the whole transcript
(``transcript_input``) and the tools (``tool_specs``), reads the ToolCalls, PatchOperations and
text the gateway yields, and answers with tool results that choose the next turn. Token
counts written by hand (o200k): "Let me look." 4, "read_file" 2, '{"path":"cart.py"}' 6,
"search" 1, '{"pattern":"def total"}' 6, "cart.py" 2, the diff 22, "Done: total() sums the
prices." 8, '{"path": "cart.py"' 7.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from sparkforge.config import Settings
from sparkforge.models.events import Finish, PatchOperation, TextDelta, ToolCall, Usage
from sparkforge.models.gateway import ModelGateway
from sparkforge.models.tools import (
    AssistantText,
    Called,
    CallResult,
    FunctionTool,
    UserText,
    tool_specs,
    transcript_input,
)

TASK = "Fix total() in cart.py: it must sum the prices."
DIFF = "@@ def total(items):\n-    return sum(items)\n+    return sum(i.price for i in items)\n"
ENVELOPE = ("*** Begin Patch\n*** Update File: cart.py\n@@ def total(items):\n-    return sum(items)\n"
            "+    return sum(i.price for i in items)\n*** End Patch\n")

TURNS = [
    {"turn": 0, "output": "Let me look.", "function_calls": [
        {"name": "read_file", "arguments": {"path": "cart.py"}},
        {"name": "search", "arguments": {"pattern": "def total"}},
    ]},
    {"turn": 2, "after_output_contains": ["return sum(items)"],
     "patches": [{"type": "update_file", "path": "cart.py", "diff": DIFF}]},
    {"turn": 3, "after_output_contains": ["updated"], "output": "Done: total() sums the prices."},
]
TOOLS = [
    FunctionTool("read_file", "Read a file.", {"type": "object", "properties": {"path": {"type": "string"}}}),
    FunctionTool("search", "Search with a regex.", {"type": "object", "properties": {"pattern": {"type": "string"}}}),
]

# (api, transport, the model server's sse_style)
WAYS = [("responses", "http", "openai"), ("responses", "websocket", "openai"), ("responses", "http", "spec"),
        ("chat", "http", "openai"), ("chat", "http", "spec")]


def settings(base_url: str, api: str, transport: str) -> Settings:
    s = Settings()
    for cfg in (s.fast, s.deep):
        cfg.base_url = base_url
        cfg.api = api  # type: ignore[assignment]
        cfg.transport = transport  # type: ignore[assignment]
        cfg.max_retries = 0
        cfg.timeouts.first_token = 5.0
    return s


@pytest.fixture
def fresh(model_server):
    model_server.reset(scenarios=True)
    return model_server


async def turn(gw: ModelGateway, api: str, transcript: list[Any]) -> list[Any]:
    return [e async for e in gw.stream("deep", instructions="You are a coding agent.",
                                       input=transcript_input(api, transcript),
                                       tools=tool_specs(api, TOOLS, apply_patch=True))]


@pytest.mark.parametrize("api, transport, style", WAYS)
async def test_a_three_turn_tool_conversation(fresh, api, transport, style):
    fresh.load([{"name": "fix", "input_contains": ["Fix total() in cart.py"], "sse_style": style,
                 "turns": TURNS}])
    gw = ModelGateway(settings(fresh.base_url, api, transport))
    transcript: list[Any] = [UserText(TASK)]

    events = await turn(gw, api, transcript)
    kinds = [type(e).__name__ for e in events if not isinstance(e, TextDelta)]
    assert kinds == ["ToolCall", "ToolCall", "Usage", "Finish"]
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Let me look."
    read, search = [e for e in events if isinstance(e, ToolCall)]
    assert (read.name, read.arguments, search.name, search.arguments) == (
        "read_file", '{"path":"cart.py"}', "search", '{"pattern":"def total"}')
    assert read.call_id.startswith("call_") and read.call_id != search.call_id
    assert events[-1] == Finish("tool_calls")
    [usage] = [e for e in events if isinstance(e, Usage)]
    assert usage.output_tokens == 4 + 2 + 6 + 1 + 6

    transcript += [AssistantText("Let me look."), Called(read), Called(search),
                   CallResult(read.call_id, "1: def total(items):\n2:     return sum(items)\n"),
                   CallResult(search.call_id, "cart.py:1: def total(items):")]
    events = await turn(gw, api, transcript)
    assert events[-1] == Finish("tool_calls")
    if api == "responses":
        [patch] = [e for e in events if isinstance(e, PatchOperation)]
        assert patch == PatchOperation("update_file", "cart.py", DIFF, patch.call_id)
        assert [e for e in events if isinstance(e, Usage)][0].output_tokens == 2 + 22
    else:  # no native apply_patch: a function of that name, taking the envelope
        [patch] = [e for e in events if isinstance(e, ToolCall)]
        assert patch.name == "apply_patch" and json.loads(patch.arguments) == {"input": ENVELOPE}
    second = [e for e in events if isinstance(e, Usage)][0].output_tokens

    transcript += [Called(patch), CallResult(patch.call_id, "cart.py updated")]
    events = await turn(gw, api, transcript)
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Done: total() sums the prices."
    assert not [e for e in events if isinstance(e, (ToolCall, PatchOperation))]
    assert events[-1] == Finish("stop")

    status = gw.status()["deep"]
    assert status["requests"] == 3
    assert status["outputTokens"] == 19 + second + 8
    log = fresh.requests()
    assert [(e["turn"], e["tool_results"], e["transport"]) for e in log] == [
        (0, 0, transport), (1, 2, transport), (2, 3, transport)]
    if api == "chat":
        assert log[0]["body"]["tools"][2]["function"]["name"] == "apply_patch"
    else:
        assert log[0]["body"]["tools"][2] == {"type": "apply_patch"}
        assert log[0]["body"]["store"] is False
    await gw.aclose()


@pytest.mark.parametrize("api", ["responses", "chat"])
async def test_malformed_arguments_reach_the_caller_as_written(fresh, api):
    fresh.load([{"name": "bad", "turns": [{"function_calls": [
        {"name": "read_file", "arguments": '{"path": "cart.py"'}]}]}])
    gw = ModelGateway(settings(fresh.base_url, api, "http"))
    answer = await gw.complete("deep", instructions="x", input=transcript_input(api, [UserText("go")]),
                               tools=tool_specs(api, TOOLS, apply_patch=False))
    assert [(c.name, c.arguments) for c in answer.calls] == [("read_file", '{"path": "cart.py"')]
    assert (answer.text, answer.finish) == ("", "tool_calls")
    assert answer.usage is not None and answer.usage.output_tokens == 2 + 7
    await gw.aclose()


@pytest.mark.parametrize("api", ["responses", "chat"])
async def test_an_answer_without_tools_is_unchanged(fresh, api):
    fresh.load([{"name": "plain", "output": "Just text."}])
    gw = ModelGateway(settings(fresh.base_url, api, "http"))
    answer = await gw.complete("deep", instructions="x", input="hello")
    assert (answer.text, answer.calls, answer.patches, answer.finish) == ("Just text.", [], [], "stop")
    assert "tools" not in fresh.requests()[-1]["body"]
    await gw.aclose()
