"""The model gateway against the real local model server, over real HTTP, on both APIs."""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import time

import pytest

from lsphelp import wait_until
from sparkforge.config import Settings
from sparkforge.models.events import Finish, PatchOperation, TextDelta, Usage
from sparkforge.models.errors import (
    BadResponseError,
    MissingKeyError,
    ModelTimeoutError,
    ModelUnavailableError,
    RateLimitError,
    StreamDroppedError,
)
from sparkforge.models.gateway import ModelGateway


def make_settings(base_url: str, api: str = "responses", retries: int = 0) -> Settings:
    s = Settings()
    for cfg in (s.fast, s.deep):
        cfg.base_url = base_url
        cfg.api = api  # type: ignore[assignment]
        cfg.max_retries = retries
        cfg.timeouts.first_token = 2.0
    return s


@pytest.fixture
def fresh(model_server):
    model_server.reset(scenarios=True)
    return model_server


@pytest.mark.parametrize("api", ["responses", "chat"])
async def test_streams_text_and_usage_on_both_apis(fresh, api):
    fresh.load([{"name": "hi", "input_contains": ["say hi"], "output": "Hello there, friend 😀!"}])
    gw = ModelGateway(make_settings(fresh.base_url, api))
    events = [e async for e in gw.stream("fast", instructions="be brief", input="say hi")]
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert text == "Hello there, friend 😀!"
    assert sum(isinstance(e, TextDelta) for e in events) > 3  # streamed, not one blob
    usage = [e for e in events if isinstance(e, Usage)]
    assert usage and usage[0].output_tokens > 0 and usage[0].input_tokens > 0
    assert isinstance(events[-1], Finish) and events[-1].reason == "stop"
    status = gw.status()["fast"]
    assert status["ready"] and status["lastError"] is None
    assert status["outputTokens"] == usage[0].output_tokens
    assert status["lastLatencyMs"] is not None
    sent = fresh.requests()[-1]
    assert sent["endpoint"] == api and sent["model"] == "gpt-5.3-codex-spark"
    await gw.aclose()


async def test_apply_patch_operations_and_cost(fresh):
    fresh.load(
        [
            {
                "name": "patch",
                "input_contains": ["document"],
                "output": "Done.",
                "patches": [{"type": "update_file", "path": "a.py", "diff": "@@ def f\n-x\n+y\n"}],
            }
        ]
    )
    gw = ModelGateway(make_settings(fresh.base_url))
    answer = await gw.complete(
        "deep", instructions="edit", input="document this", tools=[{"type": "apply_patch"}]
    )
    assert answer.text == "Done."
    assert answer.patches == [PatchOperation("update_file", "a.py", "@@ def f\n-x\n+y\n", answer.patches[0].call_id)]
    assert answer.finish == "tool_calls"
    body = fresh.requests()[-1]["body"]
    assert body["tools"] == [{"type": "apply_patch"}]
    assert body["reasoning"] == {"effort": "medium"}
    assert gw.status()["deep"]["costUsd"] > 0  # gpt-5.3-codex is in the price table
    await gw.aclose()


async def test_cancelling_the_consumer_closes_the_model_stream(fresh):
    fresh.load([{"name": "long", "input_contains": ["long"], "output": "word " * 5000}])
    gw = ModelGateway(make_settings(fresh.base_url))
    got = asyncio.Event()
    seen = 0

    async def consume():
        nonlocal seen
        async for event in gw.stream("fast", instructions="", input="long please"):
            if isinstance(event, TextDelta):
                seen += 1
                got.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(got.wait(), 5)
    assert fresh.stats()["open_streams"] == 1
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    # how soon it closes is bench/bench_fast.py's "stale stream closed" figure
    assert await wait_until(lambda: fresh.stats()["open_streams"] == 0)
    stats = fresh.stats()
    assert stats["streams_abandoned"] == 1
    # what the model server sent before the client left counts as abandoned: at least what
    # the consumer read, far from the 5,000 words of the whole answer
    assert seen <= stats["tokens_abandoned"] == stats["tokens_streamed"] < 5000
    await gw.aclose()


async def test_429_is_retried_honouring_retry_after(fresh):
    fresh.load(
        [{"name": "busy", "input_contains": ["busy"], "output": "finally", "fault": {"kind": "429", "retry_after": 0.3, "times": 1}}]
    )
    gw = ModelGateway(make_settings(fresh.base_url, retries=2))
    started = time.perf_counter()
    answer = await gw.complete("fast", instructions="", input="busy")
    assert answer.text == "finally"
    assert time.perf_counter() - started >= 0.3
    assert fresh.stats()["requests_total"] == 2
    await gw.aclose()


async def test_429_without_retries_left_is_a_clear_error(fresh):
    fresh.load([{"name": "busy", "input_contains": ["busy"], "output": "x", "fault": {"kind": "429", "retry_after": 7}}])
    gw = ModelGateway(make_settings(fresh.base_url, retries=0))
    with pytest.raises(RateLimitError) as info:
        await gw.complete("deep", instructions="", input="busy")
    msg = str(info.value)
    assert msg == "the deep model (gpt-5.3-codex) is rate-limited (HTTP 429), resuming in 7 s"
    assert info.value.retry_after == 7 and not info.value.refused
    assert gw.status()["deep"]["paused"]["reason"] == "rateLimit"
    await gw.aclose()


async def test_500_names_the_role_and_what_to_do(fresh):
    fresh.load([{"name": "boom", "input_contains": ["boom"], "output": "x", "fault": {"kind": "500"}}])
    gw = ModelGateway(make_settings(fresh.base_url))
    with pytest.raises(ModelUnavailableError, match="the fast model failed with HTTP 500.*other model"):
        await gw.complete("fast", instructions="", input="boom")
    await gw.aclose()


@pytest.mark.parametrize("api", ["responses", "chat"])
async def test_dropped_connection_mid_stream(fresh, api):
    fresh.load([{"name": "drop", "input_contains": ["drop"], "output": "a b c d e f g h i j k", "fault": {"kind": "drop", "after_tokens": 3}}])
    gw = ModelGateway(make_settings(fresh.base_url, api, retries=2))
    seen = []
    with pytest.raises(StreamDroppedError, match="dropped mid-answer|ended its answer early"):
        async for e in gw.stream("fast", instructions="", input="drop"):
            seen.append(e)
    assert seen, "tokens before the drop were delivered"
    assert fresh.stats()["requests_total"] == 1, "no retry after the first token"
    await gw.aclose()


@pytest.mark.parametrize("api", ["responses", "chat"])
async def test_malformed_event_says_what_was_wrong(fresh, api):
    fresh.load([{"name": "bad", "input_contains": ["bad"], "output": "a b c d e f", "fault": {"kind": "malformed", "after_tokens": 2}}])
    gw = ModelGateway(make_settings(fresh.base_url, api))
    with pytest.raises(BadResponseError) as caught:
        await gw.complete("fast", instructions="", input="bad")
    # the event is broken, the setting is fine: no advice to change sparkforge.fast.api
    assert str(caught.value) == "the fast model sent an event that is not JSON: '{not json'"
    await gw.aclose()


@pytest.mark.parametrize(("api", "says"), [
    ("responses", "the fast model (BASE) answered with Chat Completions chunks, not Responses API "
                  "events: set sparkforge.fast.api to 'chat'"),
    ("chat", "the fast model (BASE) answered with Responses API events, not Chat Completions "
             "chunks: set sparkforge.fast.api to 'responses'"),
])
async def test_the_other_apis_stream_names_the_api_setting(fresh, api, says):
    fresh.load([{"name": "other", "input_contains": ["other"], "output": "a b c", "fault": {"kind": "other_api"}}])
    gw = ModelGateway(make_settings(fresh.base_url, api))
    with pytest.raises(BadResponseError) as caught:
        await gw.complete("fast", instructions="", input="other")
    assert str(caught.value) == says.replace("BASE", fresh.base_url)
    await gw.aclose()


@pytest.mark.parametrize("api", ["responses", "chat"])
async def test_text_with_unicode_line_separators_arrives_whole(fresh, api):
    # JSON may carry U+2028, U+2029 and U+0085 unescaped (the model server writes them raw):
    # they end no SSE line
    text = "a\u2028b\u2029c\x85d — é"
    fresh.load([{"name": "seps", "input_contains": ["seps"], "output": text}])
    gw = ModelGateway(make_settings(fresh.base_url, api))
    answer = await gw.complete("fast", instructions="", input="seps")
    assert answer.text == "a\u2028b\u2029c\x85d — é" and answer.finish == "stop"
    await gw.aclose()


PATCH = {"type": "update_file", "path": "src/a.py", "diff": "@@ def f\n-    x = 1\n+    x = 2\n"}


@pytest.mark.parametrize("style", ["litellm", "spec"])
@pytest.mark.parametrize("api", ["responses", "chat"])
async def test_gateway_styles_of_sse_are_read_alike(fresh, api, style):
    """LiteLLM's Responses stream (no event: lines, data: [DONE] at the end) and every other
    form the SSE rules allow (CRLF, comments, retry:, id:, JSON over several data: lines)."""
    fresh.load([{"name": "styled", "input_contains": ["styled"], "output": "Hello, styled 😀 world!",
                 "patches": [PATCH], "chat_output": "Hello, styled 😀 world!", "sse_style": style}])
    gw = ModelGateway(make_settings(fresh.base_url, api))
    events = [e async for e in gw.stream("deep", instructions="", input="styled",
                                         tools=[{"type": "apply_patch"}] if api == "responses" else None)]
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Hello, styled 😀 world!"
    finishes = [e for e in events if isinstance(e, Finish)]
    assert finishes == [Finish("tool_calls" if api == "responses" else "stop")]
    assert events[-1] == finishes[0]
    usage = [e for e in events if isinstance(e, Usage)]
    assert len(usage) == 1 and usage[0].output_tokens > 0
    patches = [e for e in events if isinstance(e, PatchOperation)]
    if api == "responses":
        assert [(p.type, p.path, p.diff) for p in patches] == [("update_file", "src/a.py", PATCH["diff"])]
    else:
        assert patches == []
    assert gw.status()["deep"]["lastError"] is None
    await gw.aclose()


async def test_stall_before_first_token_times_out(fresh):
    fresh.load([{"name": "stall", "input_contains": ["stall"], "output": "x", "fault": {"kind": "stall_before", "stall_ms": 3000}}])
    s = make_settings(fresh.base_url)
    s.fast.timeouts.first_token = 0.3
    gw = ModelGateway(s)
    with pytest.raises(ModelTimeoutError, match=r"sent nothing in \d+\.\d s \(1 try of 0\.3 s\); .*raise sparkforge\.fast\.timeouts\.firstToken$"):
        await gw.complete("fast", instructions="", input="stall")
    await gw.aclose()


async def test_connection_refused_names_role_problem_and_fix():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    gw = ModelGateway(make_settings(f"http://127.0.0.1:{port}/v1"))
    with pytest.raises(ModelUnavailableError) as info:
        await gw.complete("deep", instructions="", input="x")
    msg = str(info.value)
    assert f"cannot reach the deep model at http://127.0.0.1:{port}/v1" in msg
    assert "sparkforge.deep.baseUrl" in msg
    await gw.aclose()


async def test_missing_key_for_a_remote_endpoint(monkeypatch):
    monkeypatch.delenv("SPARKFORGE_TEST_KEY", raising=False)
    s = Settings()
    s.deep.api_key_env = "SPARKFORGE_TEST_KEY"
    gw = ModelGateway(s)
    with pytest.raises(MissingKeyError, match="no API key for the deep model: set SPARKFORGE_TEST_KEY or sparkforge.deep.apiKeyEnv"):
        await gw.complete("deep", instructions="", input="x")
    assert gw.status()["deep"]["ready"] is False


async def test_key_never_appears_in_errors(fresh, monkeypatch):
    secret = "sk-proj-THISISASECRETKEYVALUE0123456789"
    monkeypatch.setenv("SPARKFORGE_TEST_KEY", secret)
    fresh.load([{"name": "boom", "input_contains": ["boom"], "output": "x", "fault": {"kind": "500"}}])
    s = make_settings(fresh.base_url)
    s.fast.api_key_env = "SPARKFORGE_TEST_KEY"
    gw = ModelGateway(s)
    with pytest.raises(ModelUnavailableError) as info:
        await gw.complete("fast", instructions="", input="boom")
    assert secret not in str(info.value)
    assert secret not in repr(gw.status())
    await gw.aclose()


# -- deadlines that hold, whatever the retries --------------------------------------------------
STALL = {"name": "stall", "input_contains": ["stall"], "output": "late", "fault": {"kind": "stall_before", "stall_ms": 60000}}


async def test_a_stalled_first_token_is_retried_within_one_deadline_that_the_error_states(fresh):
    fresh.load([STALL])
    s = make_settings(fresh.base_url, retries=5)
    s.deep.timeouts.first_token = 1.0
    s.deep.timeouts.first_token_deadline = 2.6  # two tries of 1 s fit; a third cannot start
    gw = ModelGateway(s)
    started = time.monotonic()
    with pytest.raises(ModelTimeoutError) as info:
        await gw.complete("deep", instructions="", input="stall")
    waited = time.monotonic() - started
    message = str(info.value)
    found = re.fullmatch(
        r"the deep model \(gpt-5\.3-codex\) sent nothing in (\d+\.\d) s \((\d+) tries, limit 2\.6 s\); "
        r"try again or raise sparkforge\.deep\.timeouts\.firstTokenDeadline", message)
    assert found, message
    assert int(found[2]) == fresh.stats()["requests_total"] == 2  # as many tries as reached the model
    assert float(found[1]) <= round(waited, 1) + 0.05  # no more than the caller waited
    assert float(found[1]) <= 2.6 + 0.5  # the deadline held (slack for a loaded machine)
    assert await wait_until(lambda: fresh.stats()["open_streams"] == 0)
    assert fresh.stats()["streams_abandoned"] == 2
    await gw.aclose()


async def test_a_caller_that_may_not_retry_makes_one_try_of_first_token(fresh):
    fresh.load([STALL])
    s = make_settings(fresh.base_url, retries=2)  # ghost text never retries, whatever this says
    s.fast.timeouts.first_token = 0.5
    gw = ModelGateway(s)
    with pytest.raises(ModelTimeoutError, match=r"sent nothing in \d+\.\d s \(1 try of 0\.5 s\); .*timeouts\.firstToken$"):
        await gw.complete("fast", instructions="", input="stall", retry=False)
    assert fresh.stats()["requests_total"] == 1
    await gw.aclose()


async def test_a_stall_that_clears_is_answered_on_the_next_try(fresh):
    fresh.load([{**STALL, "fault": {**STALL["fault"], "times": 1}}])
    s = make_settings(fresh.base_url, retries=2)
    s.deep.timeouts.first_token = 2.0  # the healthy second try answers well within it, even on a loaded machine
    gw = ModelGateway(s)
    answer = await gw.complete("deep", instructions="", input="stall")
    assert answer.text == "late"
    assert fresh.stats()["requests_total"] == 2
    assert gw.status()["deep"]["lastError"] is None and gw.status()["deep"]["requests"] == 2
    await gw.aclose()


# -- rate limits and outages as state -----------------------------------------------------------
class HealthLog:
    """What the gateway's health listener heard, and a way to wait for the next resumption."""

    def __init__(self, gw: ModelGateway) -> None:
        self.events: list[tuple[str, str | None]] = []
        self.resumed = asyncio.Event()
        gw.on_health = self

    def __call__(self, role, pause) -> None:
        self.events.append((role, None if pause is None else pause.reason))
        if pause is None:
            self.resumed.set()

    async def resumption(self) -> None:
        await asyncio.wait_for(self.resumed.wait(), 10)
        self.resumed.clear()


async def test_a_429_pauses_the_role_until_retry_after_and_one_request_probes_after(fresh):
    fresh.load([{"name": "busy", "input_contains": ["busy"], "output": "x", "fault": {"kind": "429", "retry_after": 1}}])
    gw = ModelGateway(make_settings(fresh.base_url, retries=0))
    log = HealthLog(gw)
    with pytest.raises(RateLimitError) as first:
        await gw.complete("deep", instructions="", input="busy")
    assert not first.value.refused and fresh.stats()["requests_total"] == 1
    status = gw.status()["deep"]
    assert status["paused"]["reason"] == "rateLimit"
    assert status["paused"]["message"] == "deep model rate-limited, resuming in 1 s"
    assert log.events == [("deep", "rate_limit")]
    for _ in range(5):  # refused at once: nothing reaches the model while paused
        with pytest.raises(RateLimitError, match=r"rate-limited \(HTTP 429\), resuming in 1 s$") as again:
            await gw.complete("deep", instructions="", input="busy")
        assert again.value.refused
    assert fresh.stats()["requests_total"] == 1
    fresh.load([{"name": "hi", "input_contains": ["hi"], "output": "hello"}])
    assert (await gw.complete("fast", instructions="", input="hi")).text == "hello"  # the other role is not paused

    await log.resumption()
    assert log.events[-1] == ("deep", None) and gw.status()["deep"]["paused"] is None
    assert gw.status()["deep"]["lastError"] is None
    fresh.load([{"name": "busy", "input_contains": ["busy"], "output": "x", "fault": {"kind": "429", "retry_after": 1}}])
    # after the pause three callers at once: one probe reaches the model, the others wait for
    # its answer (a 429 again) and are refused without a request of their own
    results = await asyncio.gather(*(gw.complete("deep", instructions="", input="busy") for _ in range(3)),
                                   return_exceptions=True)
    assert all(isinstance(r, RateLimitError) for r in results)
    assert sorted(r.refused for r in results) == [False, True, True]
    assert fresh.stats()["requests"]["responses"] == {"gpt-5.3-codex": 2, "gpt-5.3-codex-spark": 1}
    await log.resumption()
    fresh.load([{"name": "ok", "input_contains": ["busy"], "output": "back"}])
    assert (await gw.complete("deep", instructions="", input="busy")).text == "back"  # resumed by itself
    await gw.aclose()


async def test_a_429_whose_wait_fits_the_deadline_is_waited_out_by_a_caller_that_may_retry(fresh):
    fresh.load([{"name": "busy", "input_contains": ["busy"], "output": "done", "fault": {"kind": "429", "retry_after": 0.5, "times": 1}}])
    gw = ModelGateway(make_settings(fresh.base_url, retries=1))
    assert (await gw.complete("deep", instructions="", input="busy")).text == "done"
    assert fresh.stats()["requests_total"] == 2
    await gw.aclose()


async def test_repeated_5xx_pause_the_role_with_a_backoff(fresh):
    fresh.load([{"name": "boom", "input_contains": ["boom"], "output": "x", "fault": {"kind": "500"}}])
    gw = ModelGateway(make_settings(fresh.base_url, retries=2))
    log = HealthLog(gw)
    with pytest.raises(ModelUnavailableError) as info:
        await gw.complete("deep", instructions="", input="boom")
    assert str(info.value).startswith("the deep model is failing (HTTP 500), retrying in 30 s: the deep model failed with HTTP 500")
    assert fresh.stats()["requests_total"] == 3  # three tries in a row, then the pause
    assert gw.status()["deep"]["paused"]["message"] == "deep model failing (HTTP 500), retrying in 30 s"
    assert log.events == [("deep", "unavailable")]
    with pytest.raises(ModelUnavailableError, match="retrying in 30 s") as again:
        await gw.complete("deep", instructions="", input="boom")
    assert again.value.refused and fresh.stats()["requests_total"] == 3
    await gw.aclose()


async def test_an_unreachable_model_is_paused_and_says_so():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    gw = ModelGateway(make_settings(f"http://127.0.0.1:{port}/v1", retries=2))
    with pytest.raises(ModelUnavailableError) as info:
        await gw.complete("deep", instructions="", input="x")
    assert str(info.value).startswith(f"the deep model is unreachable, retrying in 30 s: cannot reach the deep model at http://127.0.0.1:{port}/v1")
    assert gw.status()["deep"]["paused"]["message"] == "deep model unreachable, retrying in 30 s"
    await gw.aclose()
