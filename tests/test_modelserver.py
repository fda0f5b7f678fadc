"""The local model server, driven through the real openai SDK against a real process."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Any

import aiohttp
import openai
import pytest
from openai.types.chat import ChatCompletionChunk
from openai.types.responses import (
    ResponseApplyPatchToolCall,
    ResponseCompletedEvent,
    ResponseContentPartAddedEvent,
    ResponseCreatedEvent,
    ResponseInProgressEvent,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    ResponseOutputMessage,
    ResponseTextDeltaEvent,
    ResponseTextDoneEvent,
)

from sparkforge.modelserver.scenarios import (
    NO_MATCH_TEXT,
    Patch,
    ScenarioError,
    ScenarioStore,
    Timing,
    flatten_prompt,
    parse_document,
)
from sparkforge.modelserver.sse import chat_text, patch_tokens, render_patches

from sdkhelp import wait_for_stats

FAST = "gpt-5.3-codex-spark"
DEEP = "gpt-5.3-codex"
PATCHES = [
    {"type": "update_file", "path": "src/a.py", "diff": "@@ def f\n-    x = 1\n+    x = 2\n"},
    {"type": "create_file", "path": "src/new.py", "diff": "+print('hi')\n"},
    {"type": "delete_file", "path": "src/old.py"},
]


def raw(ms: Any, method: str, path: str, body: bytes | None = None,
        headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    req = urllib.request.Request(ms.root + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


# --- Responses API -------------------------------------------------------------------------


async def test_responses_stream_is_the_real_typed_event_sequence(ms, client):
    output = "Hello from the fast model. Here is the change you asked for."
    ms.load([{"name": "greet", "endpoint": "responses", "input_contains": ["please", "greet"],
              "output": output, "patches": PATCHES}])
    events = [e async for e in await client.responses.create(
        model=FAST, instructions="You are terse.", stream=True,
        input=[{"role": "user", "content": [{"type": "input_text", "text": "please greet"}]}])]

    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert isinstance(events[0], ResponseCreatedEvent)
    assert isinstance(events[1], ResponseInProgressEvent)
    assert isinstance(events[2], ResponseOutputItemAddedEvent)
    assert isinstance(events[2].item, ResponseOutputMessage)
    assert isinstance(events[3], ResponseContentPartAddedEvent)
    deltas = [e for e in events if isinstance(e, ResponseTextDeltaEvent)]
    # o200k_base splits words with their leading space
    assert [d.delta for d in deltas] == ["Hello", " from", " the", " fast", " model", ".", " Here",
                                         " is", " the", " change", " you", " asked", " for", "."]
    assert all(d.logprobs == [] and d.item_id == events[2].item.id for d in deltas)
    (text_done,) = [e for e in events if isinstance(e, ResponseTextDoneEvent)]
    assert text_done.text == output
    patch_items = [e.item for e in events if isinstance(e, ResponseOutputItemDoneEvent)
                   and isinstance(e.item, ResponseApplyPatchToolCall)]
    assert [(p.operation.type, p.operation.path) for p in patch_items] == [
        (p["type"], p["path"]) for p in PATCHES]
    assert patch_items[0].operation.diff == PATCHES[0]["diff"]
    assert all(p.status == "completed" and p.call_id for p in patch_items)

    completed = events[-1]
    assert isinstance(completed, ResponseCompletedEvent)
    assert completed.response.output_text == output
    (logged,) = ms.requests()
    assert logged["scenario"] == "greet" and logged["endpoint"] == "responses"
    assert logged["prompt"] == "You are terse.\nplease greet"
    usage = completed.response.usage
    assert usage.input_tokens == 6  # You| are| terse|.\n|please| greet
    n_patch = patch_tokens(tuple(Patch(**p) for p in PATCHES))
    assert usage.output_tokens == len(deltas) + n_patch
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens
    assert usage.input_tokens_details.cached_tokens == 0
    assert usage.output_tokens_details.reasoning_tokens == 0
    stats = ms.stats()
    assert stats["streams_completed"] == 1 and stats["open_streams"] == 0
    assert stats["requests"]["responses"] == {FAST: 1}


async def test_responses_non_streaming_returns_the_response_object(ms, client):
    ms.load([{"name": "edit", "output": "Done.", "patches": PATCHES[:1]}])
    resp = await client.responses.create(model=FAST, input="fix it")
    assert resp.status == "completed" and resp.output_text == "Done."
    assert isinstance(resp.output[1], ResponseApplyPatchToolCall)
    assert resp.output[1].operation.path == "src/a.py"
    assert resp.usage.input_tokens == 2  # fix| it
    assert ms.requests()[-1]["stream"] is False


async def test_patch_only_answer_has_no_message_item(ms, client):
    ms.load([{"name": "patch-only", "patches": PATCHES[1:2]}])
    events = [e async for e in await client.responses.create(model=FAST, input="x", stream=True)]
    assert not any(isinstance(e, ResponseTextDeltaEvent) for e in events)
    final = events[-1].response
    assert [o.type for o in final.output] == ["apply_patch_call"]


# --- Chat Completions -----------------------------------------------------------------------


async def test_chat_stream_chunks_usage_and_diff_rendering(ms, client):
    ms.load([{"name": "chat-edit", "endpoint": "chat", "output": "Here you go.",
              "patches": PATCHES[:1]}])
    stream = await client.chat.completions.create(
        model=FAST, stream=True, stream_options={"include_usage": True},
        messages=[{"role": "system", "content": "sys"}, {"role": "user", "content": "edit"}])
    chunks = [c async for c in stream]
    assert all(isinstance(c, ChatCompletionChunk) for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    with_choices = [c for c in chunks if c.choices]
    assert with_choices[-1].choices[0].finish_reason == "stop"
    assert all(c.choices[0].finish_reason is None for c in with_choices[:-1])
    text = "".join(c.choices[0].delta.content or "" for c in with_choices)
    assert text == "Here you go.\n\n```diff\n--- a/src/a.py\n+++ b/src/a.py\n" \
                   "@@ def f\n-    x = 1\n+    x = 2\n```\n"
    usage_chunk = chunks[-1]
    assert usage_chunk.choices == [] and usage_chunk.usage is not None
    # Here| you| go|.\n\n|```|diff|\n| then 6 tokens a line for ---/+++ (---| a|/src|/a|.py|\n),
    # @@| def| f|\n, -|   | x| =| |1|\n and the same for +, then ``|`\n: 7 + 12 + 4 + 14 + 2
    assert usage_chunk.usage.completion_tokens == 39
    assert usage_chunk.usage.prompt_tokens == 3  # sys|\n|edit
    assert ms.stats()["requests"]["chat"] == {FAST: 1}


async def test_chat_non_streaming(ms, client):
    ms.load([{"name": "c", "endpoint": "chat", "output": "plain answer"}])
    resp = await client.chat.completions.create(
        model=FAST, messages=[{"role": "user", "content": [{"type": "text", "text": "q"}]}])
    assert resp.object == "chat.completion"
    assert resp.choices[0].message.content == "plain answer"
    assert resp.choices[0].finish_reason == "stop"
    assert resp.usage.completion_tokens == 2  # plain| answer
    assert ms.requests()[-1]["prompt"] == "q"


# --- Matching, models, control endpoints ----------------------------------------------------


async def test_scenario_matching_order_and_default(ms, client):
    ms.load([
        {"name": "A", "endpoint": "chat", "input_contains": ["alpha"], "output": "from A"},
        {"name": "B", "model": DEEP, "input_contains": ["alpha"], "output": "from B"},
        {"name": "C", "input_contains": ["alpha", "beta"], "output": "from C"},
    ], models={DEEP: {"ttft_ms": 0, "tokens_per_s": 0}})

    async def ask(model: str, text: str) -> str:
        return (await client.responses.create(model=model, input=text)).output_text

    assert await ask(FAST, "alpha and beta") == "from C"
    assert await ask(DEEP, "alpha") == "from B"
    assert await ask(FAST, "alpha") == NO_MATCH_TEXT
    chat = await client.chat.completions.create(
        model=FAST, messages=[{"role": "user", "content": "alpha"}])
    assert chat.choices[0].message.content == "from A"
    ms.load([{"name": "D", "input_contains": ["alpha"], "output": "from D"}], replace=False)
    assert await ask(FAST, "alpha and beta") == "from D"  # the newest batch matches first
    assert [r["scenario"] for r in ms.requests()] == ["C", "B", "<default>", "A", "D"]


async def test_models_endpoint_lists_defaults_and_scenario_models(ms, client):
    ms.load([{"name": "x", "model": "my-model", "output": "."}],
            models={"custom-deep": {"ttft_ms": 1}})
    ids = [m.id async for m in client.models.list()]
    assert {FAST, DEEP, "my-model", "custom-deep"} <= set(ids)


def test_errors_are_openai_shaped(ms):
    body = json.dumps({"model": FAST, "input": "hi"}).encode()
    status, err = raw(ms, "POST", "/v1/responses", body)  # no Authorization header
    assert status == 401 and err["error"]["code"] == "invalid_api_key"
    assert set(err["error"]) >= {"message", "type", "code"}
    auth = {"Authorization": "Bearer anything"}
    status, err = raw(ms, "POST", "/v1/chat/completions", b"{nope", auth)
    assert status == 400 and err["error"]["type"] == "invalid_request_error"
    status, err = raw(ms, "POST", "/v1/responses", b'{"input": "no model"}', auth)
    assert status == 400 and err["error"]["code"] == "missing_required_parameter"
    status, err = raw(ms, "GET", "/v1/nowhere", None, auth)
    assert status == 404 and err["error"]["code"] == "unknown_url"
    bad = json.dumps({"scenarios": [{"fault": {"kind": "explode"}}]}).encode()
    status, err = raw(ms, "POST", "/_scenarios", bad)
    assert status == 400 and "fault.kind" in err["error"]["message"]
    assert ms.stats()["requests_total"] == 0  # rejected requests never reach a "model"


def test_require_key_accepts_only_that_key(model_server_factory):
    srv = model_server_factory("--require-key", "sk-needed-0123456789")
    status, err = raw(srv, "GET", "/v1/models", None, {"Authorization": "Bearer sparkforge-local"})
    assert status == 401 and err["error"]["code"] == "invalid_api_key"
    assert err["error"]["message"].startswith("Incorrect API key provided")
    status, err = raw(srv, "GET", "/v1/models")  # no Authorization header at all
    assert status == 401 and err["error"]["message"].startswith("You didn't provide an API key")
    status, listing = raw(srv, "GET", "/v1/models", None, {"Authorization": "Bearer sk-needed-0123456789"})
    assert status == 200 and FAST in [m["id"] for m in listing["data"]]
    body = json.dumps({"model": FAST, "input": "hi"}).encode()
    status, _ = raw(srv, "POST", "/v1/responses", body, {"Authorization": "Bearer wrong"})
    assert status == 401 and srv.stats()["requests_total"] == 0


async def test_request_log_limit_and_reset(ms, client):
    for word in ("one", "two", "three"):
        await client.responses.create(model=FAST, input=word)
    assert [r["prompt"] for r in ms.requests(limit=2)] == ["two", "three"]
    assert ms.requests()[0]["body"]["input"] == "one"
    assert ms.stats()["requests_total"] == 3
    ms.reset()
    assert ms.requests() == []
    assert ms.stats()["requests_total"] == 0 and ms.stats()["streams_completed"] == 0


# --- Timing ---------------------------------------------------------------------------------


async def test_configured_timing_is_applied(ms, client):
    text = " word" * 200  # 200 tokens
    ms.load([{"name": "timed", "output": text, "ttft_ms": 150, "tokens_per_s": 1000}])
    start = time.perf_counter()
    first = None
    async for e in await client.responses.create(model=FAST, input="t", stream=True):
        if first is None and isinstance(e, ResponseTextDeltaEvent):
            first = time.perf_counter() - start
    total = time.perf_counter() - start
    assert first is not None and first >= 0.15
    assert total >= 0.15 + 0.199  # pacing only slows a stream: lower bounds hold anywhere


async def test_runtime_model_timing_and_fast_deep_defaults(ms, client):
    ms.load([], models={"slow-model": {"ttft_ms": 250, "tokens_per_s": 0}})
    start = time.perf_counter()
    await client.chat.completions.create(model="slow-model",
                                         messages=[{"role": "user", "content": "x"}])
    assert time.perf_counter() - start >= 0.25
    store = ScenarioStore(fast=Timing(20, 1000), deep=Timing(300, 70))
    default = parse_document({"scenarios": [{"name": "d"}]})[0][0]
    assert store.timing("my-spark-model", default) == Timing(20, 1000)
    assert store.timing(DEEP, default) == Timing(300, 70)
    custom = ScenarioStore(fast_model="tiny", fast=Timing(1, 2), deep=Timing(3, 4))
    assert custom.timing("tiny", default) == Timing(1, 2)


async def test_paces_20k_tokens_per_second(ms):
    # Pacing can only make the stream slower, so a lower bound holds on any machine; whether a
    # stream is sustained at that rate is measured in bench/bench_fast.py, not asserted here.
    ms.load([{"name": "big", "output": "tok " * 10000, "ttft_ms": 0, "tokens_per_s": 20000}])
    deltas = 0
    start = time.perf_counter()
    async with aiohttp.ClientSession() as s:
        async with s.post(f"{ms.base_url}/responses", json={"model": FAST, "input": "big",
                          "stream": True}, headers={"Authorization": "Bearer t"}) as r:
            async for line in r.content:
                deltas += line.startswith(b"event: response.output_text.delta")
    elapsed = time.perf_counter() - start
    assert deltas == 10001  # tok| tok| ... | tok| and the trailing space
    assert elapsed >= 0.45, elapsed


# --- Faults ---------------------------------------------------------------------------------


async def test_429_then_success_honours_retry_after(ms):
    ms.load([{"name": "limited", "output": "finally", "fault": {"kind": "429", "retry_after": 0.8,
                                                               "times": 1}}])
    client = openai.AsyncOpenAI(base_url=ms.base_url, api_key="test", max_retries=1)
    start = time.perf_counter()
    resp = await client.responses.create(model=FAST, input="x")
    await client.close()
    # The SDK's own backoff is at most 0.5 s, so >= 0.75 s means Retry-After was honoured.
    assert resp.output_text == "finally" and time.perf_counter() - start >= 0.75
    assert [r["fault"] for r in ms.requests()] == ["429", None]
    assert ms.stats()["faults_injected"] == {"429": 1}


async def test_429_error_body_and_header(ms, client):
    ms.load([{"name": "limited", "fault": {"kind": "429", "retry_after": 2}}])
    with pytest.raises(openai.RateLimitError) as info:
        await client.chat.completions.create(model=FAST, messages=[{"role": "user",
                                                                     "content": "x"}])
    assert info.value.status_code == 429 and info.value.code == "rate_limit_exceeded"
    assert info.value.response.headers["retry-after"] == "2"


async def test_500_then_normal_answer(ms, client):
    ms.load([{"name": "flaky", "output": "recovered", "fault": {"kind": "500", "times": 1}}])
    with pytest.raises(openai.InternalServerError) as info:
        await client.responses.create(model=FAST, input="x")
    assert info.value.code == "server_error"
    assert (await client.responses.create(model=FAST, input="x")).output_text == "recovered"


@pytest.mark.parametrize("api", ["responses", "chat"])
async def test_drop_mid_stream_is_a_connection_error(ms, client, api):
    ms.load([{"name": "drop", "output": "a b c d e f g h", "fault": {"kind": "drop",
                                                                     "after_tokens": 3}}])
    got: list[str] = []
    with pytest.raises(openai.APIConnectionError):
        if api == "responses":
            async for e in await client.responses.create(model=FAST, input="x", stream=True):
                if isinstance(e, ResponseTextDeltaEvent):
                    got.append(e.delta)
        else:
            async for c in await client.chat.completions.create(
                    model=FAST, messages=[{"role": "user", "content": "x"}], stream=True):
                if c.choices and c.choices[0].delta.content:
                    got.append(c.choices[0].delta.content)
    assert "".join(got) == "a b c"
    stats = await wait_for_stats(ms, lambda s: s["open_streams"] == 0)
    assert stats["streams_dropped"] == 1 and stats["faults_injected"] == {"drop": 1}
    assert stats["open_streams"] == 0


async def test_malformed_event_is_a_decode_error(ms, client):
    ms.load([{"name": "bad", "output": "a b c d e", "fault": {"kind": "malformed",
                                                              "after_tokens": 2}}])
    got = []
    with pytest.raises(json.JSONDecodeError):
        async for e in await client.responses.create(model=FAST, input="x", stream=True):
            if isinstance(e, ResponseTextDeltaEvent):
                got.append(e.delta)
    assert got == ["a", " b"]
    assert ms.stats()["faults_injected"] == {"malformed": 1}


async def test_stall_before_delays_first_token_and_times_out_clients(ms, client):
    ms.load([{"name": "stall", "input_contains": ["short"], "output": "ok", "ttft_ms": 0,
              "fault": {"kind": "stall_before", "stall_ms": 300}},
             {"name": "hang", "input_contains": ["long"], "output": "never",
              "fault": {"kind": "stall_before", "stall_ms": 10000}}])
    start = time.perf_counter()
    resp = await client.responses.create(model=FAST, input="short")
    assert resp.output_text == "ok" and time.perf_counter() - start >= 0.3
    # (had the timeout not fired, the call would have returned "never" after the 10 s stall)
    with pytest.raises(openai.APITimeoutError):
        await client.responses.create(model=FAST, input="long", stream=True, timeout=0.2)
    # The client gave up while the server stalled: the stream is counted as abandoned.
    stats = await wait_for_stats(ms, lambda s: s["streams_abandoned"] == 1)
    assert stats["open_streams"] == 0 and stats["streams_abandoned"] == 1


async def test_stall_during_pauses_between_tokens(ms, client):
    ms.load([{"name": "pause", "output": "a b c d", "ttft_ms": 0, "tokens_per_s": 0,
              "fault": {"kind": "stall_during", "after_tokens": 2, "stall_ms": 300}}])
    stamps: list[tuple[str, float]] = []
    async for e in await client.responses.create(model=FAST, input="x", stream=True):
        if isinstance(e, ResponseTextDeltaEvent):
            stamps.append((e.delta, time.perf_counter()))
    assert "".join(d for d, _ in stamps) == "a b c d"
    assert stamps[2][1] - stamps[1][1] >= 0.29  # the stall sits between the 2nd and 3rd token


async def test_abandoned_stream_is_counted_when_the_client_closes(ms, client):
    ms.load([{"name": "slow", "output": " word" * 100, "ttft_ms": 0, "tokens_per_s": 50}])
    stream = await client.responses.create(model=FAST, input="x", stream=True)
    seen = 0
    async for e in stream:
        seen += isinstance(e, ResponseTextDeltaEvent)
        if seen == 2:
            break
    assert ms.stats()["open_streams"] == 1
    await stream.close()
    stats = await wait_for_stats(ms, lambda s: s["open_streams"] == 0)
    assert stats["open_streams"] == 0
    assert stats["streams_abandoned"] == 1 and stats["streams_completed"] == 0


# --- The process: CLI options, scenario file, signals ---------------------------------------


def test_cli_scenario_file_port_file_and_sigterm(tmp_path, model_server_factory):
    scenario_file = tmp_path / "s.json"
    scenario_file.write_text(json.dumps({
        "models": {"file-model": {"ttft_ms": 0, "tokens_per_s": 0}},
        "scenarios": [{"name": "from-file", "input_contains": ["hello"], "output": "file says hi"},
                      {"name": "hang", "input_contains": ["hang"],
                       "fault": {"kind": "stall_before", "stall_ms": 60000}}]}))
    port_file = tmp_path / "port"
    srv = model_server_factory("--scenario", str(scenario_file), "--port-file", str(port_file),
                               "--fast-tps", "5000", "--deep-ttft-ms", "0")
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v1", srv.base_url)
    assert port_file.read_text().strip() == str(srv.port)
    sync = openai.OpenAI(base_url=srv.base_url, api_key="k", max_retries=0)

    def ask() -> str:
        return sync.responses.create(model="file-model", input="hello").output_text

    assert ask() == "file says hi"
    srv.load([{"name": "runtime", "input_contains": ["hello"], "output": "runtime first"}])
    assert ask() == "runtime first"  # runtime scenarios match before file ones
    assert "file-model" in [m.id for m in sync.models.list()]
    # A stream stalled for a minute must not hold up shutdown.
    hung = subprocess.Popen([sys.executable, "-c", (
        "import openai,sys; c=openai.OpenAI(base_url=sys.argv[1],api_key='k',max_retries=0);"
        "list(c.responses.create(model='m',input='hang',stream=True))"), srv.base_url],
        stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while srv.stats()["open_streams"] != 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert srv.stats()["open_streams"] == 1
        start = time.monotonic()
        srv.proc.send_signal(signal.SIGTERM)
        assert srv.proc.wait(5) == 0
        assert time.monotonic() - start < 3
        assert "Traceback" not in srv.stderr_text()
    finally:
        hung.kill()
        hung.wait()


def test_cli_rejects_a_bad_scenario_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"scenarios": [{"patches": [{"type": "rename", "path": "x"}]}]}))
    proc = subprocess.run([sys.executable, "-m", "sparkforge.modelserver", "--port", "0",
                           "--scenario", str(bad)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert "patches[0].type" in proc.stderr and proc.stdout == ""


# --- Units: prompt flattening, validation, rendering ----------------------------------------


def test_flatten_prompt_covers_both_apis():
    body = {"instructions": "sys", "input": [
        {"role": "user", "content": [{"type": "input_text", "text": "a"}]},
        {"type": "function_call_output", "call_id": "c", "output": "b"},
        {"role": "assistant", "content": "c"}]}
    assert flatten_prompt("responses", body) == "sys\na\nb\nc"
    assert flatten_prompt("responses", {"input": "plain"}) == "plain"
    chat = {"messages": [{"role": "system", "content": "s"},
                         {"role": "user", "content": [{"type": "text", "text": "u"}]}]}
    assert flatten_prompt("chat", chat) == "s\nu"


@pytest.mark.parametrize("bad, where", [
    ({"endpoint": "grpc"}, "endpoint"),
    ({"fault": {"kind": "429", "times": -1}}, "fault.times"),
    ({"input_contains": [1]}, "input_contains"),
    ({"tokens_per_s": "fast"}, "tokens_per_s"),
])
def test_invalid_scenarios_are_rejected(bad, where):
    with pytest.raises(ScenarioError, match=re.escape(where)):
        parse_document({"scenarios": [bad]})


def test_fault_times_and_rendering():
    (s,), _ = parse_document([{"name": "f", "fault": {"kind": "500", "times": 2}}])
    assert [bool(s.take_fault()) for _ in range(3)] == [True, True, False]
    patches = tuple(Patch(**p) for p in PATCHES)
    diff = render_patches(patches)
    # a created file is a normal diff, with its hunk header; the update's V4A body as written
    assert diff == (
        "```diff\n"
        "--- a/src/a.py\n+++ b/src/a.py\n@@ def f\n-    x = 1\n+    x = 2\n"
        "--- /dev/null\n+++ b/src/new.py\n@@ -0,0 +1,1 @@\n+print('hi')\n"
        "--- a/src/old.py\n+++ /dev/null\n"
        "```\n"
    )
    assert chat_text("x", "override", patches) == "override"


async def test_a_model_the_key_may_not_use_is_refused_as_openai_refuses_it(ms, client):
    assert (await client.models.retrieve("any-model-name")).id == "any-model-name"  # every name is served
    ms.refuse(deny=[FAST], forbid=["preview-x"])
    with pytest.raises(openai.NotFoundError) as lookup:
        await client.models.retrieve(FAST)
    assert lookup.value.code == "model_not_found"
    assert lookup.value.body["message"] == f"The model `{FAST}` does not exist or you do not have access to it."
    with pytest.raises(openai.NotFoundError) as asked:
        await client.responses.create(model=FAST, input="hi")
    assert asked.value.code == "model_not_found"
    # forbidden: listed and looked up, but every request refused (a project without access)
    assert (await client.models.retrieve("preview-x")).id == "preview-x"
    with pytest.raises(openai.PermissionDeniedError) as chat:
        await client.chat.completions.create(model="preview-x", messages=[{"role": "user", "content": "hi"}])
    assert chat.value.code == "model_not_found"
    ids = [m.id async for m in client.models.list()]
    assert FAST not in ids and DEEP in ids
    stats = ms.stats()
    assert stats["model_lookups"] == {"any-model-name": 1, FAST: 1, "preview-x": 1}
    assert stats["requests"] == {"responses": {FAST: 1}, "chat": {"preview-x": 1}}
    assert [r["fault"] for r in ms.requests()] == ["model_not_found", "model_not_found"]
    status, err = raw(ms, "POST", "/_models", json.dumps({"deny": "x"}).encode())
    assert status == 400 and err["error"]["code"] == "invalid_value"
    ms.reset(scenarios=True)  # drops the refusals
    assert (await client.models.retrieve(FAST)).id == FAST
    assert (await client.responses.create(model=FAST, input="hi")).output_text == NO_MATCH_TEXT


def test_deny_model_option_refuses_from_the_start(model_server_factory):
    srv = model_server_factory("--deny-model", "gone-model")
    auth = {"Authorization": "Bearer anything"}
    status, err = raw(srv, "GET", "/v1/models/gone-model", None, auth)
    assert status == 404 and err["error"]["code"] == "model_not_found"
    status, _ = raw(srv, "GET", f"/v1/models/{FAST}", None, auth)
    assert status == 200
    srv.reset(scenarios=True)  # the option's refusals stay
    status, err = raw(srv, "POST", "/v1/responses", json.dumps({"model": "gone-model", "input": "hi"}).encode(), auth)
    assert status == 404 and err["error"]["code"] == "model_not_found"
