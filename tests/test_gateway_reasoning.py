"""Reasoning summaries and reasoning items between turns, against the real local model server.

On the Responses API a reasoning model's turn opens with a ``reasoning`` item: with
``reasoning.summary`` asked, its summary streams (``response.reasoning_summary_*`` events);
with ``include: ["reasoning.encrypted_content"]`` the item carries the reasoning encrypted, and
with ``store: false`` that item must go back in the next turn's input for the model to keep
its reasoning. Checked through the openai SDK (the model server's events parse into its types)
and through ``ModelGateway`` (the agent's ``reasoning=True`` turns; every other request is
unchanged). Token counts written by hand (o200k): "**Reading the cart**\\n\\nI need total()
first." 11 (``**`` Reading ␣the ␣cart ``**\\n\\n`` I ␣need ␣total ``()`` ␣first .), "**Planning the
fix**" 5, "Let me look." 4, "read_file" 2, '{"path":"cart.py"}' 6, "Done." 2.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from openai.types.responses import (
    ResponseCompletedEvent,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    ResponseReasoningItem,
    ResponseReasoningSummaryPartAddedEvent,
    ResponseReasoningSummaryPartDoneEvent,
    ResponseReasoningSummaryTextDeltaEvent,
    ResponseReasoningSummaryTextDoneEvent,
    ResponseTextDeltaEvent,
)

from sparkforge.config import Settings
from sparkforge.models.events import Finish, Reasoning, ReasoningSummary, TextDelta, ToolCall, Usage
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
THOUGHT = "**Reading the cart**\n\nI need total() first."
PLAN = "**Planning the fix**"
SECRET = "gAAAAB-the-reasoning+encrypted/by-the-server=="
SCENARIO = {"name": "reasoned", "input_contains": ["Fix total() in cart.py"], "turns": [
    {"turn": 0, "reasoning": {"summary": [THOUGHT, PLAN], "encrypted": SECRET}, "output": "Let me look.",
     "function_calls": [{"name": "read_file", "arguments": {"path": "cart.py"}}]},
    {"turn": 1, "output": "Done."},
]}
TOOLS = [FunctionTool("read_file", "Read a file.", {"type": "object", "properties": {"path": {"type": "string"}}})]
SUMMARY_TOKENS = 11 + 5


@pytest.fixture
def fresh(model_server):
    model_server.reset(scenarios=True)
    model_server.load([SCENARIO])
    return model_server


# -- the model server through the openai SDK -----------------------------------------------

async def sdk_turn(client: Any, **extra: Any) -> list[Any]:
    stream = await client.responses.create(
        model="gpt-5.3-codex", instructions="You are a coding agent.", input=TASK, stream=True,
        store=False, tools=tool_specs("responses", TOOLS, apply_patch=False), **extra)
    return [e async for e in stream]


async def test_the_summary_streams_and_the_item_carries_the_encrypted_reasoning(ms, client):
    ms.load([SCENARIO])
    events = await sdk_turn(client, reasoning={"effort": "medium", "summary": "auto"},
                            include=["reasoning.encrypted_content"])
    added = [e for e in events if isinstance(e, ResponseOutputItemAddedEvent)]
    assert [(e.output_index, e.item.type) for e in added] == [(0, "reasoning"), (1, "message"), (2, "function_call")]
    rs_id = added[0].item.id
    assert rs_id.startswith("rs_")
    parts = [e for e in events if isinstance(e, ResponseReasoningSummaryPartAddedEvent)]
    assert [(e.item_id, e.output_index, e.summary_index, e.part.text) for e in parts] == [
        (rs_id, 0, 0, ""), (rs_id, 0, 1, "")]
    deltas = [(e.summary_index, e.delta) for e in events if isinstance(e, ResponseReasoningSummaryTextDeltaEvent)]
    assert deltas == [(0, "**"), (0, "Reading"), (0, " the"), (0, " cart"), (0, "**\n\n"), (0, "I"),
                      (0, " need"), (0, " total"), (0, "()"), (0, " first"), (0, "."),
                      (1, "**"), (1, "Planning"), (1, " the"), (1, " fix"), (1, "**")]
    assert [e.text for e in events if isinstance(e, ResponseReasoningSummaryTextDoneEvent)] == [THOUGHT, PLAN]
    assert [e.part.text for e in events if isinstance(e, ResponseReasoningSummaryPartDoneEvent)] == [THOUGHT, PLAN]
    [item] = [e.item for e in events if isinstance(e, ResponseOutputItemDoneEvent) and e.item.type == "reasoning"]
    assert isinstance(item, ResponseReasoningItem)
    assert (item.id, [s.text for s in item.summary], item.encrypted_content) == (rs_id, [THOUGHT, PLAN], SECRET)
    # the summary ends before the message begins; the text's deltas name the message's index
    kinds = [e.type for e in events]
    assert kinds.index("response.output_item.done") < kinds.index("response.content_part.added")
    assert {e.output_index for e in events if isinstance(e, ResponseTextDeltaEvent)} == {1}
    assert [e.sequence_number for e in events] == list(range(len(events)))
    response = events[-1].response
    assert isinstance(events[-1], ResponseCompletedEvent)
    assert [o.type for o in response.output] == ["reasoning", "message", "function_call"]
    assert response.output[0].encrypted_content == SECRET
    assert response.usage.output_tokens == SUMMARY_TOKENS + 4 + 2 + 6
    assert response.usage.output_tokens_details.reasoning_tokens == SUMMARY_TOKENS


async def test_without_asking_there_is_no_summary_and_nothing_encrypted(ms, client):
    ms.load([SCENARIO])
    events = await sdk_turn(client, reasoning={"effort": "medium"})
    assert not [e for e in events if e.type.startswith("response.reasoning_summary")]
    [item] = [e.item for e in events if isinstance(e, ResponseOutputItemDoneEvent) and e.item.type == "reasoning"]
    assert (item.summary, item.encrypted_content) == ([], None)
    # the model reasoned all the same
    assert events[-1].response.usage.output_tokens == SUMMARY_TOKENS + 4 + 2 + 6


# -- through ModelGateway ------------------------------------------------------------------

def settings(base_url: str, api: str, transport: str = "http") -> Settings:
    s = Settings()
    for cfg in (s.fast, s.deep):
        cfg.base_url = base_url
        cfg.api = api  # type: ignore[assignment]
        cfg.transport = transport  # type: ignore[assignment]
        cfg.max_retries = 0
        cfg.timeouts.first_token = 5.0
    return s


async def gateway_turn(gw: ModelGateway, api: str, transcript: list[Any], role: str = "deep",
                       reasoning: bool = True) -> list[Any]:
    model = gw.serving_model(role)  # type: ignore[arg-type]
    return [e async for e in gw.stream(role, instructions="You are a coding agent.",  # type: ignore[arg-type]
                                       input=transcript_input(api, transcript, model),
                                       tools=tool_specs(api, TOOLS, apply_patch=False), reasoning=reasoning)]


@pytest.mark.parametrize("transport", ["http", "websocket"])
async def test_the_agent_turn_reads_the_summary_and_sends_the_reasoning_back(fresh, transport):
    gw = ModelGateway(settings(fresh.base_url, "responses", transport))
    transcript: list[Any] = [UserText(TASK)]

    events = await gateway_turn(gw, "responses", transcript)
    assert [type(e).__name__ for e in events if not isinstance(e, TextDelta)] == [
        "ReasoningSummary", "ReasoningSummary", "Reasoning", "ToolCall", "Usage", "Finish"]
    assert [e.text for e in events if isinstance(e, ReasoningSummary)] == [THOUGHT, PLAN]
    [reasoning] = [e for e in events if isinstance(e, Reasoning)]
    assert reasoning.id.startswith("rs_")
    assert reasoning == Reasoning(reasoning.id, SECRET, (THOUGHT, PLAN), "gpt-5.3-codex")
    [call] = [e for e in events if isinstance(e, ToolCall)]
    assert events[-1] == Finish("tool_calls")
    [usage] = [e for e in events if isinstance(e, Usage)]
    assert usage.output_tokens == SUMMARY_TOKENS + 4 + 2 + 6
    first = fresh.requests()[-1]
    assert first["body"]["reasoning"] == {"effort": "medium", "summary": "auto"}
    assert first["body"]["include"] == ["reasoning.encrypted_content"]
    assert first["body"]["store"] is False
    assert first["reasoning_items"] == []

    transcript += [reasoning, AssistantText("Let me look."), Called(call),
                   CallResult(call.call_id, "1: def total(items):")]
    events = await gateway_turn(gw, "responses", transcript)
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Done."
    second = fresh.requests()[-1]
    assert (second["turn"], second["transport"]) == (1, transport)
    # the item went back as it came, before the call it led to, without ids (store: false)
    assert second["reasoning_items"] == [{"type": "reasoning", "encrypted_content": SECRET, "summary": [
        {"type": "summary_text", "text": THOUGHT}, {"type": "summary_text", "text": PLAN}]}]
    assert [i.get("type", i.get("role")) for i in second["body"]["input"]] == [
        "user", "reasoning", "assistant", "function_call", "function_call_output"]
    assert "id" not in second["body"]["input"][3]
    await gw.aclose()


async def test_chat_completions_neither_asks_for_reasoning_nor_sends_it(fresh):
    gw = ModelGateway(settings(fresh.base_url, "chat"))
    transcript: list[Any] = [UserText(TASK)]
    events = await gateway_turn(gw, "chat", transcript)
    assert not [e for e in events if isinstance(e, (Reasoning, ReasoningSummary))]
    [call] = [e for e in events if isinstance(e, ToolCall)]
    first = fresh.requests()[-1]["body"]
    assert "reasoning" not in first and "include" not in first
    # a transcript holding a reasoning item (from a Responses turn) sends none over Chat
    transcript += [Reasoning("rs_1", SECRET, (THOUGHT,), "gpt-5.3-codex"), AssistantText("Let me look."),
                   Called(call), CallResult(call.call_id, "1: def total(items):")]
    await gateway_turn(gw, "chat", transcript)
    second = fresh.requests()[-1]
    assert second["turn"] == 1
    assert [m["role"] for m in second["body"]["messages"]] == ["system", "user", "assistant", "tool"]
    assert SECRET not in str(second["body"]) and THOUGHT not in str(second["body"])
    await gw.aclose()


async def test_other_requests_are_unchanged_and_see_no_reasoning(fresh):
    """Ghost text, chat and actions do not ask: the request is as before, and the reasoning
    item the model sends all the same is not yielded."""
    gw = ModelGateway(settings(fresh.base_url, "responses"))
    events = [e async for e in gw.stream("deep", instructions="x", input=TASK)]
    assert [type(e).__name__ for e in events if not isinstance(e, TextDelta)] == ["ToolCall", "Usage", "Finish"]
    body = fresh.requests()[-1]["body"]
    assert body["reasoning"] == {"effort": "medium"} and "include" not in body
    await gw.aclose()


async def test_a_model_that_does_not_reason_is_asked_nothing(fresh):
    s = settings(fresh.base_url, "responses")
    s.deep.model, s.deep.reasoning_effort = "gpt-4.1-mini", None
    gw = ModelGateway(s)
    await gateway_turn(gw, "responses", [UserText(TASK)])
    body = fresh.requests()[-1]["body"]
    assert "reasoning" not in body and "include" not in body
    await gw.aclose()


async def test_another_model_is_not_sent_the_reasoning_it_cannot_read(fresh):
    """Handing the task to the fast model: the deep model's encrypted reasoning stays out (the
    fast model would answer 400 invalid_encrypted_content), the fast model's own goes back."""
    s = settings(fresh.base_url, "responses")
    gw = ModelGateway(s)
    transcript: list[Any] = [UserText(TASK), Reasoning("rs_deep", SECRET, (THOUGHT,), "gpt-5.3-codex"),
                             Called(ToolCall("call_1", "read_file", '{"path":"cart.py"}')),
                             CallResult("call_1", "1: def total(items):")]
    await gateway_turn(gw, "responses", transcript, role="fast")
    sent = fresh.requests()[-1]
    assert (sent["model"], sent["reasoning_items"]) == ("gpt-5.3-codex-spark", [])
    # Spark with no effort set is asked for no reasoning (undocumented for the preview)
    assert "reasoning" not in sent["body"] and "include" not in sent["body"]
    await gw.aclose()
    s.fast.reasoning_effort = "low"  # set: Spark is asked, and its own reasoning goes back
    gw = ModelGateway(s)
    await gateway_turn(gw, "responses", transcript, role="fast")
    sent = fresh.requests()[-1]
    assert sent["reasoning_items"] == []
    assert sent["body"]["reasoning"] == {"effort": "low", "summary": "auto"}
    transcript += [Reasoning("rs_fast", "spark-secret", (), "gpt-5.3-codex-spark")]
    await gateway_turn(gw, "responses", transcript, role="fast")
    assert fresh.requests()[-1]["reasoning_items"] == [
        {"type": "reasoning", "summary": [], "encrypted_content": "spark-secret"}]
    await gw.aclose()


def test_a_gateway_that_sends_only_the_items_still_gives_the_summary_once():
    """Without summary events (a proxy that forwards only the items), the parts come from the
    item at its end, and the same item again in response.completed is not yielded twice."""
    from sparkforge.models.parsers import ResponsesParser

    item = {"id": "rs_9", "type": "reasoning", "encrypted_content": SECRET,
            "summary": [{"type": "summary_text", "text": THOUGHT}]}
    parse = ResponsesParser(reasoning=True, model="gpt-5.3-codex")
    events = parse('{"type":"response.output_item.done","output_index":0,"item":%s}' % json.dumps(item))
    assert events == [ReasoningSummary(THOUGHT), Reasoning("rs_9", SECRET, (THOUGHT,), "gpt-5.3-codex")]
    done = {"type": "response.completed", "response": {"output": [item], "usage": None}}
    assert parse(json.dumps(done)) == [Finish("stop")]
    # a caller that did not ask sees neither
    assert ResponsesParser()('{"type":"response.output_item.done","item":%s}' % json.dumps(item)) == []
