"""The local model server's WebSocket mode, driven through the real SDK's ``responses.connect()``."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any

import openai
import pytest
from openai.types.responses import (
    ResponseCompletedEvent,
    ResponseCreatedEvent,
    ResponseTextDeltaEvent,
)
from websockets.exceptions import ConnectionClosed

from sdkhelp import wait_for_stats

FAST = "gpt-5.3-codex-spark"


async def answer(conn: Any, **create: Any) -> list[Any]:
    """Send one response.create and read its events up to the terminal one."""
    await conn.response.create(**create)
    events = []
    async for event in conn:
        events.append(event)
        if event.type in ("response.completed", "response.incomplete", "response.failed", "error"):
            return events
    return events


async def test_a_response_streams_over_the_socket_with_the_http_event_sequence(ms, client):
    ms.load([{"name": "hi", "input_contains": ["greet"], "output": "hello there world"}])
    async with client.responses.connect() as conn:
        events = await answer(conn, model=FAST, input="greet me", instructions="be brief",
                              store=False, max_output_tokens=50)
    assert isinstance(events[0], ResponseCreatedEvent)
    assert "".join(e.delta for e in events if isinstance(e, ResponseTextDeltaEvent)) == "hello there world"
    done = events[-1]
    assert isinstance(done, ResponseCompletedEvent)
    assert done.response.output_text == "hello there world"
    assert done.response.usage is not None and done.response.usage.output_tokens == 3
    [entry] = ms.requests()
    assert (entry["transport"], entry["scenario"], entry["stream"]) == ("websocket", "hi", True)
    assert entry["body"]["instructions"] == "be brief" and "type" not in entry["body"]
    stats = await wait_for_stats(ms, lambda s: s["websocket_connections_open"] == 0)
    assert stats["websocket_connections_opened"] == 1 and stats["streams_completed"] == 1


async def test_responses_follow_one_another_on_one_connection(ms, client):
    ms.load([{"name": "a", "input_contains": ["first"], "output": "one"},
             {"name": "b", "input_contains": ["second"], "output": "two"}])
    async with client.responses.connect() as conn:
        first = await answer(conn, model=FAST, input="first")
        second = await answer(conn, model=FAST, input="second")
        assert ms.stats()["websocket_connections_open"] == 1
    assert first[-1].response.output_text == "one" and second[-1].response.output_text == "two"
    stats = ms.stats()
    assert stats["websocket_connections_opened"] == 1 and stats["requests_total"] == 2


async def test_closing_the_socket_mid_answer_abandons_the_response(ms, client):
    ms.load([{"name": "slow", "output": " word" * 100, "ttft_ms": 0, "tokens_per_s": 50}])
    conn = await client.responses.connect().enter()
    await conn.response.create(model=FAST, input="x")
    seen = 0
    async for event in conn:
        seen += isinstance(event, ResponseTextDeltaEvent)
        if seen == 2:
            break
    assert ms.stats()["open_streams"] == 1
    await conn.close()
    stats = await wait_for_stats(ms, lambda s: s["open_streams"] == 0)
    assert stats["streams_abandoned"] == 1 and stats["streams_completed"] == 0
    assert 2 <= stats["tokens_abandoned"] < 100


async def test_a_429_is_an_error_event_with_retry_after_and_the_socket_stays_usable(ms, client):
    ms.load([{"name": "limited", "output": "finally",
              "fault": {"kind": "429", "retry_after": 2, "times": 1}}])
    async with client.responses.connect() as conn:
        [error] = await answer(conn, model=FAST, input="x")
        again = await answer(conn, model=FAST, input="x")
    assert error.type == "error" and error.status == 429
    assert error.error.code == "rate_limit_exceeded" and error.error.headers == {"retry-after": "2"}
    assert again[-1].response.output_text == "finally"
    assert ms.stats()["websocket_connections_opened"] == 1


async def test_a_drop_fault_closes_the_socket_mid_answer(ms, client):
    ms.load([{"name": "drop", "output": "a b c d e f g h",
              "fault": {"kind": "drop", "after_tokens": 3}}])
    deltas = []
    async with client.responses.connect() as conn:
        await conn.response.create(model=FAST, input="x")
        with pytest.raises(ConnectionClosed):
            async for event in conn:
                if isinstance(event, ResponseTextDeltaEvent):
                    deltas.append(event.delta)
    assert "".join(deltas) == "a b c"
    stats = await wait_for_stats(ms, lambda s: s["websocket_connections_open"] == 0)
    assert stats["streams_dropped"] == 1 and stats["faults_injected"] == {"drop": 1}


async def test_bad_messages_get_error_events_without_closing_the_socket(ms, client):
    async with client.responses.connect() as conn:
        await conn.send_raw("{not json")  # type: ignore[attr-defined]
        bad_json = await conn.recv()
        await conn.send_raw('{"type": "response.cancel"}')  # type: ignore[attr-defined]
        unknown = await conn.recv()
        [no_model] = await answer(conn, input="x")
        ok = await answer(conn, model=FAST, input="x")
    assert (bad_json.type, bad_json.status, bad_json.error.code) == ("error", 400, "invalid_json")
    assert unknown.error.code == "unknown_event_type" and "'response.cancel'" in unknown.error.message
    assert no_model.error.code == "missing_required_parameter"
    assert isinstance(ok[-1], ResponseCompletedEvent)


async def test_a_wrong_key_is_refused_at_the_handshake(model_server_factory):
    server = model_server_factory("--require-key", "right")
    async with openai.AsyncOpenAI(base_url=server.base_url, api_key="wrong", max_retries=0) as c:
        with pytest.raises(Exception) as caught:
            async with c.responses.connect():
                pass
    assert getattr(getattr(caught.value, "response", None), "status_code", None) == 401
    assert server.stats()["websocket_connections_opened"] == 0


def test_a_plain_get_of_the_responses_path_is_405(ms):
    req = urllib.request.Request(ms.root + "/v1/responses", method="GET")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(req, timeout=5)
    assert caught.value.code == 405
