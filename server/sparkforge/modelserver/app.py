"""The aiohttp application of the local model server: routes, pacing, faults and counters.

Streams are paced against the clock (token ``i`` is due at ``t0 + ttft + i/tps``) and every
write sends all the events that are due, so high rates cost one write per millisecond rather
than one per token. The app must run with ``handler_cancellation=True`` (see
``make_runner``): that is what cancels a handler the moment its client disconnects, so
``open_streams`` and ``streams_abandoned`` are right within milliseconds, even mid-stall.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from aiohttp import WSCloseCode, WSMsgType, web

from . import sse
from .cache import PromptCache
from sparkforge.models.events import PatchOperation
from sparkforge.models.tools import APPLY_PATCH, envelope

from .regions import oracle_region, rewrite_region
from .scenarios import (
    Fault, FunctionCall, Patch, Scenario, ScenarioError, ScenarioStore, Timing, flatten_prompt,
    reasoning_items, tool_results,
)

STATE_KEY: web.AppKey["ServerState"] = web.AppKey("sparkforge_modelserver_state")
REQUIRED_KEY: web.AppKey["str | None"] = web.AppKey("sparkforge_modelserver_required_key")
REQUEST_LOG_MAX = 200
_MID_STREAM = ("stall_during", "drop", "malformed")


class ServerState:
    """Scenarios plus the counters and request log that ``/_stats`` and ``/_requests`` show."""

    def __init__(self, store: ScenarioStore) -> None:
        self.store = store
        self.prompt_cache = PromptCache()
        self.reset()

    def reset(self) -> None:
        self.requests: dict[str, Counter[str]] = {"responses": Counter(), "chat": Counter()}
        self.requests_total = 0
        self.streams_completed = 0
        self.streams_abandoned = 0
        self.streams_dropped = 0
        self.tokens_streamed = 0
        self.tokens_abandoned = 0
        self.input_tokens = 0
        self.cached_tokens = 0
        self.prompt_cache.clear()
        self.faults: Counter[str] = Counter()
        self.model_lookups: Counter[str] = Counter()
        self.log: deque[dict[str, Any]] = deque(maxlen=REQUEST_LOG_MAX)
        self.websocket_connections_opened = 0
        self.store.reset_hits()
        # open_streams is not reset: streams still running would drive it negative.
        self.open_streams = getattr(self, "open_streams", 0)
        self.websocket_connections_open = getattr(self, "websocket_connections_open", 0)

    def stats(self) -> dict[str, Any]:
        return {
            "requests": {k: dict(v) for k, v in self.requests.items()},
            "requests_total": self.requests_total,
            "open_streams": self.open_streams,
            "streams_completed": self.streams_completed,
            "streams_abandoned": self.streams_abandoned,
            "streams_dropped": self.streams_dropped,
            "tokens_streamed": self.tokens_streamed,
            "tokens_abandoned": self.tokens_abandoned,
            "input_tokens": self.input_tokens,
            "cached_tokens": self.cached_tokens,
            "faults_injected": dict(self.faults),
            "model_lookups": dict(self.model_lookups),
            "websocket_connections_opened": self.websocket_connections_opened,
            "websocket_connections_open": self.websocket_connections_open,
        }


def error_response(status: int, message: str, type_: str, code: str | None,
                   headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(sse.error_body(message, type_, code), status=status,
                             headers=headers)


@web.middleware
async def openai_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Turn aiohttp's plain-text 404/405/... into OpenAI-shaped error bodies."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type == "application/json":
            raise
        code = {404: "unknown_url", 405: "method_not_allowed"}.get(exc.status)
        message = f"{request.method} {request.path}: {exc.reason}"
        return error_response(exc.status, message, "invalid_request_error", code)


def _authorized(request: web.Request) -> bool:
    auth = request.headers.get("Authorization", "")
    if not (auth.startswith("Bearer ") and len(auth) > len("Bearer ")):
        return False
    required = request.app.get(REQUIRED_KEY)
    return required is None or auth[len("Bearer "):] == required


def _unauthorized(request: web.Request) -> web.Response:
    if request.app.get(REQUIRED_KEY) is not None and request.headers.get("Authorization"):
        return error_response(
            401, "Incorrect API key provided (this sparkforge model server was started with "
            "--require-key).", "invalid_request_error", "invalid_api_key")
    return error_response(
        401, "You didn't provide an API key. Send it as 'Authorization: Bearer KEY' "
        "(any key is accepted by the sparkforge model server, unless it was started with "
        "--require-key).",
        "invalid_request_error", "invalid_api_key")


async def _read_body(request: web.Request) -> dict[str, Any] | web.Response:
    try:
        body = await request.json()
    except ValueError:
        return error_response(400, "The request body is not valid JSON.",
                              "invalid_request_error", "invalid_json")
    if (refusal := check_body(body)) is not None:
        return error_response(refusal.status, refusal.message, refusal.type, refusal.code)
    return body


async def _pace(state: ServerState, write: Callable[[bytes], Awaitable[Any]],
                drop: Callable[[], None], slots: list[bytes], start: float, tps: float,
                fault: Fault | None, written: list[int]) -> bool:
    """Write ``slots`` on schedule, counting them in ``written[0]`` as they go; return False
    if a drop fault closed the connection (``drop``). ``write`` takes SSE bytes (the
    WebSocket transport sends each event in them as one message)."""
    loop = asyncio.get_running_loop()
    n, sent = len(slots), 0
    trigger = min(fault.after_tokens, n) if fault and fault.kind in _MID_STREAM else None
    while True:
        limit = n if trigger is None else trigger
        now = loop.time()
        if tps <= 0:
            due = limit
        elif now < start:
            due = 0
        else:
            due = min(limit, math.floor((now - start) * tps) + 1)
        if due > sent:
            chunk = b"".join(slots[sent:due])
            state.tokens_streamed += due - sent
            written[0] += due - sent
            sent = due
            if chunk:  # patch-token slots are time only
                await write(chunk)
        if trigger is not None and sent >= trigger:
            assert fault is not None
            if fault.kind == "drop":
                drop()
                return False
            if fault.kind == "malformed":
                await write(sse.MALFORMED_EVENT)
            else:  # stall_during: hold, then resume on a schedule shifted by the stall
                await asyncio.sleep(fault.stall_ms / 1000)
                start += fault.stall_ms / 1000
            trigger = None
            continue
        if sent >= n:
            return True
        # Never sleep less than 1 ms: below that, batching the next tokens is cheaper.
        next_at = start + sent / tps
        await asyncio.sleep(max(next_at - loop.time(), 0.001))


async def _play(state: ServerState, plan: sse.StreamPlan, timing: Timing, fault: Fault | None,
                t0: float, write: Callable[[bytes], Awaitable[Any]], close: Callable[[], None],
                begin: Callable[[], Awaitable[Any]] | None = None,
                end: Callable[[], Awaitable[Any]] | None = None) -> str:
    """Play one streamed answer through ``write`` on its schedule (a ``stall_before``, the
    head, the paced tokens, the tail), on either transport, and count how it ended:
    "completed", "dropped" (our ``drop`` fault, which calls ``close``) or "abandoned" (anything
    else: the client left). ``begin`` runs once the first byte is due, ``end`` after the tail."""
    state.open_streams += 1
    outcome = "abandoned"
    written = [0]  # tokens sent on this stream
    try:
        start = t0 + timing.ttft_ms / 1000
        if fault and fault.kind == "stall_before":
            await asyncio.sleep(fault.stall_ms / 1000)
            start += fault.stall_ms / 1000
        if begin is not None:
            await begin()
        await write(plan.head)
        if not await _pace(state, write, close, plan.slots, start, timing.tokens_per_s, fault, written):
            outcome = "dropped"
            return outcome
        await write(plan.tail)
        if end is not None:
            await end()
        outcome = "completed"
        return outcome
    except ConnectionError:
        # The client went away between two writes.
        return outcome
    finally:
        state.open_streams -= 1
        if outcome == "completed":
            state.streams_completed += 1
        elif outcome == "dropped":
            state.streams_dropped += 1
        else:
            state.streams_abandoned += 1
            state.tokens_abandoned += written[0]


async def _stream(request: web.Request, state: ServerState, plan: sse.StreamPlan,
                  timing: Timing, fault: Fault | None, t0: float) -> web.StreamResponse:
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8",
                                       "Cache-Control": "no-cache"})
    await _play(state, plan, timing, fault, t0, resp.write, lambda: _close_transport(request),
                begin=lambda: resp.prepare(request), end=resp.write_eof)
    return resp  # (aiohttp copes with a response whose client went away)


def _close_transport(request: web.Request) -> None:
    if request.transport is not None:
        request.transport.close()


async def _answer_once(request: web.Request, plan: sse.StreamPlan, timing: Timing,
                       fault: Fault | None, t0: float) -> web.StreamResponse:
    """Non-streaming: wait as long as generating the whole answer would take, then send it."""
    tps = timing.tokens_per_s
    n = len(plan.slots)
    kind = fault.kind if fault else None
    duration = timing.ttft_ms / 1000 + (max(n - 1, 0) / tps if tps > 0 and n else 0)
    if kind == "stall_before" or kind == "stall_during":
        duration += fault.stall_ms / 1000  # type: ignore[union-attr]
    if kind == "drop":
        cut = min(fault.after_tokens, n)  # type: ignore[union-attr]
        duration = timing.ttft_ms / 1000 + (cut / tps if tps > 0 else 0)
    await asyncio.sleep(max(0.0, t0 + duration - asyncio.get_running_loop().time()))
    if kind == "drop":
        if request.transport is not None:
            request.transport.close()
        return web.Response(status=500)  # never reaches the client: the socket is closed
    if kind == "malformed":
        return web.Response(text='{"id": "resp_broken", not json', content_type="application/json")
    return web.json_response(plan.final, dumps=sse.dumps)


@dataclass
class Refusal:
    """A request answered with an error instead of a stream (HTTP status or WebSocket
    ``error`` event)."""

    status: int
    message: str
    type: str
    code: str | None
    headers: dict[str, str] | None = None


@dataclass
class Job:
    """An accepted request: its log entry, fault, planned answer and pacing."""

    entry: dict[str, Any]
    fault: Fault | None
    plan: sse.StreamPlan
    timing: Timing


def check_body(body: Any) -> Refusal | None:
    if not isinstance(body, dict):
        return Refusal(400, "The request body must be a JSON object.",
                       "invalid_request_error", "invalid_json")
    if not isinstance(body.get("model"), str) or not body["model"]:
        return Refusal(400, "Missing required parameter: 'model'.",
                       "invalid_request_error", "missing_required_parameter")
    return None


def accept(state: ServerState, endpoint: str, body: dict[str, Any], t0: float, stream: bool,
           transport: str = "http") -> Job | Refusal:
    """Match, log and count one request; plan its answer, or the fault's refusal."""
    model: str = body["model"]
    prompt = flatten_prompt(endpoint, body)
    scenario = state.store.match(endpoint, model, prompt)
    fault = None if state.store.refusal(model) else scenario.take_fault()
    if fault and fault.kind == "ws_close" and transport != "websocket":
        fault = None  # a socket-only fault: over HTTP the request is answered as usual
    state.requests[endpoint][model] += 1
    state.requests_total += 1
    entry = {
        "n": state.requests_total, "time": time.time(), "endpoint": endpoint, "model": model,
        "stream": stream, "transport": transport, "scenario": scenario.name,
        "fault": fault.kind if fault else None, "prompt": prompt, "body": body,
        # when the request arrived and how long the answer took, on the monotonic clock that
        # every process on this machine shares: benchmarks subtract the model's own time
        "received_monotonic": t0, "duration_ms": None,
        # the reasoning items the request carried back (Responses), as sent
        "reasoning_items": reasoning_items(endpoint, body),
    }
    state.log.append(entry)
    if (refusal := no_access(state, model)) is not None:
        entry["fault"] = refusal.code
        return refusal
    if fault:
        state.faults[fault.kind] += 1
    if fault and fault.kind == "429":
        secs = fault.retry_after
        header = str(int(secs)) if secs == int(secs) else f"{secs:g}"
        return Refusal(429, f"Rate limit reached for {model}. Please try again in {header}s.",
                       "requests", "rate_limit_exceeded", {"Retry-After": header})
    if fault and fault.kind == "500":
        return Refusal(500, "The server had an error while processing your request.",
                       "server_error", "server_error")
    input_tokens, cached = state.prompt_cache.lookup_and_store(model, body.get("prompt_cache_key"), prompt)
    state.input_tokens += input_tokens
    state.cached_tokens += cached
    entry["input_tokens"], entry["cached_tokens"] = input_tokens, cached
    output = scenario.output
    if scenario.rewrite_insert is not None:
        output = rewrite_region(prompt, scenario.rewrite_insert) or output
    if scenario.oracle:
        output = oracle_region(prompt, scenario.oracle) or output
    # other_api: the answer is the other API's (a server that speaks only one of them)
    speaks = endpoint if not (fault and fault.kind == "other_api") else (
        "chat" if endpoint == "responses" else "responses")
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    if scenario.turns:
        plan = _plan_turn(scenario, endpoint, speaks, body, entry, include_usage)
    elif speaks == "responses":
        plan = sse.plan_responses(body, model, output, scenario.patches, input_tokens, cached)
    else:
        text = sse.chat_text(output, scenario.chat_output, scenario.patches)
        plan = sse.plan_chat(body, model, text, input_tokens, include_usage, cached)
    if transport == "http":
        plan = sse.restyle(plan, scenario.sse_style, speaks)
    return Job(entry, fault, plan, state.store.timing(model, scenario))


def _plan_turn(scenario: Scenario, endpoint: str, speaks: str, body: dict[str, Any],
               entry: dict[str, Any], include_usage: bool) -> sse.StreamPlan:
    """The answer of a multi-turn scenario: its first turn that the request's tool results
    match (the scenario's ``output``, or a note saying no turn matched, if none does)."""
    results = tool_results(endpoint, body)
    entry["tool_results"] = results.count
    index = next((i for i, t in enumerate(scenario.turns) if t.matches(results)), None)
    entry["turn"] = index
    model, tokens, cached = body["model"], entry["input_tokens"], entry["cached_tokens"]
    if index is None:
        text = scenario.output or (f"sparkforge model-server: no turn of scenario {scenario.name!r} matched "
                                   f"this request ({results.count} tool results).")
        if speaks == "responses":
            return sse.plan_responses(body, model, text, (), tokens, cached)
        return sse.plan_chat(body, model, text, tokens, include_usage, cached)
    turn = scenario.turns[index]
    if speaks == "responses":
        return sse.plan_responses(body, model, turn.output, turn.patches, tokens, cached, turn.function_calls,
                                  turn.reasoning)
    calls = turn.function_calls
    if turn.patches:  # Chat Completions has no apply_patch tool: the function of that name
        calls += (_patch_call(turn.patches),)
    return sse.plan_chat(body, model, turn.output, tokens, include_usage, cached, calls)


def _patch_call(patches: tuple[Patch, ...]) -> FunctionCall:
    ops = [PatchOperation(p.type, p.path, p.diff) for p in patches]  # type: ignore[arg-type]
    return FunctionCall(APPLY_PATCH, json.dumps({"input": envelope(ops)}, ensure_ascii=False))


async def _generate(request: web.Request, endpoint: str) -> web.StreamResponse:
    t0 = asyncio.get_running_loop().time()
    state = request.app[STATE_KEY]
    if not _authorized(request):
        return _unauthorized(request)
    body = await _read_body(request)
    if isinstance(body, web.Response):
        return body
    stream = bool(body.get("stream"))
    job = accept(state, endpoint, body, t0, stream)
    if isinstance(job, Refusal):
        return error_response(job.status, job.message, job.type, job.code, headers=job.headers)
    try:
        if stream:
            return await _stream(request, state, job.plan, job.timing, job.fault, t0)
        return await _answer_once(request, job.plan, job.timing, job.fault, t0)
    finally:
        job.entry["duration_ms"] = (asyncio.get_running_loop().time() - t0) * 1000


async def responses(request: web.Request) -> web.StreamResponse:
    return await _generate(request, "responses")


async def chat_completions(request: web.Request) -> web.StreamResponse:
    return await _generate(request, "chat")


async def models(request: web.Request) -> web.StreamResponse:
    if not _authorized(request):
        return _unauthorized(request)
    names = request.app[STATE_KEY].store.model_names()
    data = [{"id": n, "object": "model", "created": 0, "owned_by": "sparkforge"} for n in names]
    return web.json_response({"object": "list", "data": data})


async def model_object(request: web.Request) -> web.StreamResponse:
    """``GET /v1/models/{id}``: the model object, or 404 ``model_not_found`` for a refused
    one (every other name is served, as every request names a model this server answers)."""
    if not _authorized(request):
        return _unauthorized(request)
    state = request.app[STATE_KEY]
    name = request.match_info["model"]
    state.model_lookups[name] += 1
    if state.store.refusal(name) == 404 and (refusal := no_access(state, name)) is not None:
        return error_response(refusal.status, refusal.message, refusal.type, refusal.code)
    return web.json_response({"id": name, "object": "model", "created": 0, "owned_by": "sparkforge"})


def no_access(state: ServerState, model: str) -> "Refusal | None":
    """What OpenAI answers a key that may not use ``model`` (``--deny-model``, ``/_models``)."""
    status = state.store.refusal(model)
    if status == 403:
        return Refusal(403, f"Project `proj_sparkforge` does not have access to model `{model}`",
                       "invalid_request_error", "model_not_found")
    if status == 404:
        return Refusal(404, f"The model `{model}` does not exist or you do not have access to it.",
                       "invalid_request_error", "model_not_found")
    return None


async def set_models(request: web.Request) -> web.StreamResponse:
    """``POST /_models {"deny": [ids], "forbid": [ids]}``: refuse models from now on (404
    ``model_not_found``, or 403 on requests only), replacing the last call's list."""
    store = request.app[STATE_KEY].store
    try:
        body = await request.json()
    except ValueError:
        body = None
    lists = {404: body.get("deny", []), 403: body.get("forbid", [])} if isinstance(body, dict) else None
    if lists is None or not all(isinstance(v, list) and all(isinstance(m, str) and m for m in v)
                                for v in lists.values()):
        return error_response(400, "the body must be {\"deny\": [model ids], \"forbid\": [model ids]}",
                              "invalid_request_error", "invalid_value")
    store.runtime_denied = {m: status for status, names in lists.items() for m in names}
    return web.json_response({"ok": True, "refused": store.runtime_denied})


async def stats(request: web.Request) -> web.StreamResponse:
    return web.json_response(request.app[STATE_KEY].stats())


async def request_log(request: web.Request) -> web.StreamResponse:
    try:
        limit = int(request.query.get("limit", "50"))
    except ValueError:
        return error_response(400, "'limit' must be an integer.", "invalid_request_error",
                              "invalid_value")
    log = list(request.app[STATE_KEY].log)
    return web.json_response({"requests": log[-limit:] if limit > 0 else []})


async def reset(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    try:
        body = await request.json() if request.can_read_body else {}
    except ValueError:
        body = {}
    if isinstance(body, dict) and body.get("scenarios"):
        state.store.clear_runtime()
    state.reset()
    return web.json_response({"ok": True})


async def load_scenarios(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    try:
        body = await request.json()
        if not isinstance(body, dict):
            raise ScenarioError("the body must be a JSON object")
        loaded = state.store.load_runtime(body, replace=bool(body.get("replace", True)))
    except (ValueError, ScenarioError) as exc:
        return error_response(400, f"invalid scenarios: {exc}", "invalid_request_error",
                              "invalid_scenarios")
    return web.json_response({"ok": True, "loaded": loaded,
                              "runtime_scenarios": len(state.store.runtime_scenarios)})


# -- the Responses API's WebSocket mode ------------------------------------------------------
# ``GET /v1/responses`` upgraded to a WebSocket (where ``client.responses.connect()`` goes):
# each ``response.create`` message is one request, answered with the same events, pacing and
# faults as a streamed POST, one JSON message per event. Requests on one socket are answered
# one at a time, in order (the API's single lane); the protocol has no cancel message, so a
# client stops a response by closing the socket, which counts it abandoned.

WS_MAX_MESSAGE = 64 * 1024 * 1024


async def responses_socket(request: web.Request) -> web.StreamResponse:
    if request.headers.get("Upgrade", "").lower() != "websocket":
        raise web.HTTPMethodNotAllowed(request.method, ["POST"])
    if not _authorized(request):
        return _unauthorized(request)
    state = request.app[STATE_KEY]
    ws = web.WebSocketResponse(max_msg_size=WS_MAX_MESSAGE)
    await ws.prepare(request)
    state.websocket_connections_opened += 1
    state.websocket_connections_open += 1
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, str | bytes]] = asyncio.Queue()
    number = state.websocket_connections_opened  # the request log names the socket by it
    worker = asyncio.create_task(_socket_worker(request, ws, state, queue, number))
    try:
        async for msg in ws:
            if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                queue.put_nowait((loop.time(), msg.data))
            else:
                break
    finally:
        state.websocket_connections_open -= 1
        worker.cancel()  # a response in flight is abandoned
        await asyncio.gather(worker, return_exceptions=True)
    return ws


def _socket_error(refusal: Refusal) -> str:
    error: dict[str, Any] = {"type": refusal.type, "code": refusal.code,
                             "message": refusal.message, "param": None}
    if refusal.headers:
        error["headers"] = {k.lower(): v for k, v in refusal.headers.items()}
    return sse.dumps({"type": "error", "status": refusal.status, "error": error})


async def _socket_worker(request: web.Request, ws: web.WebSocketResponse, state: ServerState,
                         queue: asyncio.Queue[tuple[float, str | bytes]], number: int) -> None:
    loop = asyncio.get_running_loop()
    while True:
        t0, data = await queue.get()
        try:
            event = json.loads(data)
        except ValueError:
            await ws.send_str(_socket_error(Refusal(
                400, "The message is not valid JSON.", "invalid_request_error", "invalid_json")))
            continue
        kind = event.get("type") if isinstance(event, dict) else None
        if kind != "response.create":
            await ws.send_str(_socket_error(Refusal(
                400, f"Unsupported event type {kind!r}: this server takes 'response.create'.",
                "invalid_request_error", "unknown_event_type")))
            continue
        body = {k: v for k, v in event.items() if k != "type"}
        refusal = check_body(body)
        job = refusal or accept(state, "responses", body, t0, True, "websocket")
        if isinstance(job, Refusal):
            await ws.send_str(_socket_error(job))
            continue
        job.entry["connection"] = number
        if job.fault and job.fault.kind == "ws_close":
            # what LiteLLM does when it cannot reach its backend over a socket: the handshake
            # succeeded, then the socket closes before the answer's first event
            await ws.close(code=WSCloseCode.INTERNAL_ERROR, message=b"upstream failed")
            job.entry["duration_ms"] = (loop.time() - t0) * 1000
            return
        try:
            if not await _stream_socket(request, ws, state, job, t0):
                return  # the socket is gone
        finally:
            job.entry["duration_ms"] = (loop.time() - t0) * 1000


async def _stream_socket(request: web.Request, ws: web.WebSocketResponse, state: ServerState,
                         job: Job, t0: float) -> bool:
    """One response's events as messages; False if the socket was dropped or closed."""

    async def write(chunk: bytes) -> None:
        for line in chunk.split(b"\n"):
            if line.startswith(b"data: "):
                await ws.send_str(line[6:].decode())

    outcome = await _play(state, job.plan, job.timing, job.fault, t0, write, lambda: _close_transport(request))
    return outcome == "completed"


def make_app(store: ScenarioStore, required_key: str | None = None) -> web.Application:
    """``required_key``: accept only that API key (a server that needs one); None: any key."""
    app = web.Application(middlewares=[openai_errors], client_max_size=64 * 1024 * 1024)
    app[STATE_KEY] = ServerState(store)
    app[REQUIRED_KEY] = required_key
    app.router.add_post("/v1/responses", responses)
    app.router.add_get("/v1/responses", responses_socket)
    app.router.add_post("/v1/chat/completions", chat_completions)
    app.router.add_get("/v1/models", models)
    app.router.add_get("/v1/models/{model}", model_object)
    app.router.add_get("/_stats", stats)
    app.router.add_get("/_requests", request_log)
    app.router.add_post("/_reset", reset)
    app.router.add_post("/_scenarios", load_scenarios)
    app.router.add_post("/_models", set_models)
    return app


def make_runner(app: web.Application) -> web.AppRunner:
    # handler_cancellation: cancel a handler as soon as its client disconnects (see module
    # docstring); a short shutdown_timeout so SIGTERM does not wait on stalled streams.
    return web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.5, access_log=None)
