"""One gateway to both models: an ``openai.AsyncOpenAI`` per role, streaming into ModelEvents.

The SDK gives us auth and typed errors; retries are ours, so that each request keeps one
deadline whatever happens: a caller that may retry (actions, chat, fast apply) gets up to
``maxRetries`` more tries while no event has reached it, within
``timeouts.firstTokenDeadline``; a caller that may not (ghost text, next edits) gets one try
of ``timeouts.firstToken``. A 429, or tries that cannot reach the model several times in a
row, pause the role (``health``): no request is sent until the pause ends, and a status
listener hears when it starts and ends. We read the stream through the SDK's raw-response
path and parse SSE lines ourselves: on a 2-core machine the typed-event path parses about
6,000 deltas/s and this one above 20,000, and the fast model streams over 1,000 tokens/s.

Cancelling the consumer (task cancellation or closing the async generator) leaves the
``async with`` and closes the HTTP response at once, so the model stops generating.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import openai

try:  # openai 3.x ships its HTTP client as httpx2
    import httpx2 as httpx
except ImportError:  # pragma: no cover
    import httpx  # type: ignore[no-redef]

from sparkforge.config import ROLES, Role, RoleConfig, Settings
from sparkforge.models.events import (
    Finish,
    ModelEvent,
    PatchOperation,
    TextDelta,
    ToolCall,
    Usage,
)
from sparkforge.models.access import Lookup, RoleAccess, denial, serving, serving_config
from sparkforge.models.errors import (
    MissingKeyError,
    ModelError,
    ModelTimeoutError,
    ModelUnavailableError,
    NoAccessError,
    RateLimitError,
    StreamDroppedError,
    cause_of,
    role_name,
    transient,
    translate,
    what_failed,
)
from sparkforge.models.access import message as access_message
from sparkforge.models.watchdog import Watchdog
from sparkforge.models.websocket import SocketPool, SocketRequest
from sparkforge.models.health import Pause, RoleHealth
from sparkforge.models.parsers import ChatParser, ResponsesParser, short
from sparkforge.models.sse import sse_data_of_bytes

# USD per million tokens (input, cached input, output); a model not listed has no cost shown.
# Cached input is what the API read from its prompt cache (``cached_tokens``): a tenth of the
# input price for the GPT-5 family.
PRICES: dict[str, tuple[float, float, float]] = {
    "gpt-5.3-codex": (1.75, 0.175, 14.0),
    "gpt-5.2-codex": (1.75, 0.175, 14.0),
    "gpt-5.1-codex": (1.25, 0.125, 10.0),
    "gpt-5-codex": (1.25, 0.125, 10.0),
    "gpt-5.1-codex-mini": (0.25, 0.025, 2.0),
    "gpt-5": (1.25, 0.125, 10.0),
    "gpt-5-mini": (0.25, 0.025, 2.0),
    "gpt-4.1": (2.0, 0.5, 8.0),
    "gpt-4.1-mini": (0.4, 0.1, 1.6),
    "gpt-4o-mini": (0.15, 0.075, 0.6),
}

REASONING_MODELS = ("gpt-5", "o1", "o3", "o4", "codex-mini")
"""Name prefixes of the reasoning models (the ``-chat`` ones are not)."""

log = logging.getLogger("sparkforge.models")

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "0.0.0.0"}
MIN_TRY_S = 1.0
"""No try starts with less time than this (or than ``firstToken``, if shorter) left."""
BACKOFF_S = 0.5
"""The wait before retrying a 5xx or a failed connection; doubles with each try."""
RESUME_MARGIN_S = 0.01
"""Timers may fire a little early: wake this much after a pause ends, not just before."""


@dataclass
class UsageTotals:
    requests: int = 0
    input_tokens: int = 0
    cached_input_tokens: int = 0
    """The part of ``input_tokens`` the API read from its prompt cache."""
    output_tokens: int = 0
    cost_usd: float | None = None


@dataclass
class RoleState:
    config: RoleConfig
    client: openai.AsyncOpenAI | None
    role: Role = "fast"
    usage: UsageTotals = field(default_factory=UsageTotals)
    last_error: str | None = None
    last_latency_ms: float | None = None
    """Time to first event of the last successful request."""
    health: RoleHealth = field(default_factory=RoleHealth)
    probe_done: asyncio.Event | None = None
    """Set when the probe in flight after a pause has its outcome."""
    resume_timer: asyncio.TimerHandle | None = None
    access: RoleAccess = field(default_factory=RoleAccess)
    """Models the key may not use (``models.access``)."""
    active: RoleConfig | None = None
    """The settings requests go out with while a fallback model serves the role."""
    sockets: SocketPool | None = None
    """The role's Responses WebSockets (``transport`` auto or websocket), kept warm."""


@dataclass
class Answer:
    """A whole answer, gathered from a stream."""

    text: str
    patches: list[PatchOperation]
    usage: Usage | None
    finish: str
    calls: list[ToolCall] = field(default_factory=list)


def is_local(base_url: str) -> bool:
    return (urlparse(base_url).hostname or "") in LOCAL_HOSTS


def _timeout(cfg: RoleConfig) -> httpx.Timeout:
    # The read timeout bounds the wait for the first token and any stall inside the stream.
    t = cfg.timeouts
    return httpx.Timeout(connect=t.connect, read=t.first_token, write=t.connect, pool=t.connect)


class ModelGateway:
    """Streams requests to the fast and deep models and counts what they cost."""

    def __init__(self, settings: Settings, *, one_shot: bool = False):
        self._roles: dict[Role, RoleState] = {}
        self.one_shot = one_shot
        """A command that exits after its request (``sparkforge act``, ``doctor``): a failure's
        message is its cause, with no "resuming in"/"retrying in" that no later request follows."""
        self.on_health: Callable[[Role, Pause | None], None] | None = None
        """Called when a role is paused (with the pause) and when it may be used again."""
        self.on_access: Callable[[Role, str], None] | None = None
        """Called once when a role's model is found inaccessible, with what the user should
        read (the fallback that serves instead, or that none is left)."""
        self.cache_scope = ""
        """The workspace (its root path) whose requests share a ``prompt_cache_key``; only a
        hash of it is sent."""
        self.configure(settings)

    # -- configuration -------------------------------------------------------------------
    def configure(self, settings: Settings) -> None:
        """Apply new settings; a role's client is rebuilt only if its settings changed."""
        for role in ROLES:
            cfg = settings.role(role)
            old = self._roles.get(role)
            if old is not None and old.config == cfg and old.client is not None:
                continue
            state = RoleState(config=cfg, client=self._make_client(role, cfg), role=role)
            if old is not None:
                state.usage = old.usage
                if old.resume_timer is not None:  # another endpoint or key: a fresh start
                    old.resume_timer.cancel()
            self._roles[role] = state
            self._open_sockets(state, old)

    def _make_client(self, role: Role, cfg: RoleConfig) -> openai.AsyncOpenAI | None:
        key = cfg.api_key()
        if key is None and is_local(cfg.base_url):
            key = "sparkforge-local"  # local OpenAI-compatible servers take any key
        if key is None:
            return None
        return openai.AsyncOpenAI(
            api_key=key,
            base_url=cfg.base_url,
            max_retries=0,  # ours: see stream()
            timeout=_timeout(cfg),
        )

    def config(self, role: Role) -> RoleConfig:
        return self._roles[role].config

    def state(self, role: Role) -> RoleState:
        return self._roles[role]

    def paused(self, role: Role) -> Pause | None:
        """The pause ``role`` is under now, if any."""
        return self._roles[role].health.paused(_now())

    def refusal(self, role: Role) -> ModelError | None:
        """The error a request for ``role`` that may not wait would get now, if any: the role
        is paused, or a probe after its pause has not answered yet. (Ghost text asks first,
        to answer at once without building a prompt.)"""
        if (denied := self._access_refusal(role)) is not None:
            return denied
        health = self._roles[role].health
        now = _now()
        if health.verdict(now) in ("go", "probe"):
            return None
        assert health.pause is not None
        return self._pause_error(role, health.pause, now)

    def status(self) -> dict[str, Any]:
        """Each role's model, readiness, pause and last error, for ``sparkforge/status``."""
        out: dict[str, Any] = {}
        now = _now()
        for role, st in self._roles.items():
            pause = st.health.paused(now)
            out[role] = {
                "model": st.config.model,
                "baseUrl": st.config.base_url,
                "api": st.config.api,
                "ready": st.client is not None,
                "paused": None if pause is None else {
                    "reason": "rateLimit" if pause.reason == "rate_limit" else "unavailable",
                    "message": f"{role} model {pause.text(now)}",
                    "resumesInMs": round((pause.until - now) * 1000),
                },
                "lastError": (self._pause_error(role, pause, now).args[0] if pause else st.last_error)
                or (None if st.client is not None else self._missing_key(role).args[0]),
                "lastLatencyMs": st.last_latency_ms,
                "requests": st.usage.requests,
                "inputTokens": st.usage.input_tokens,
                "cachedInputTokens": st.usage.cached_input_tokens,
                "outputTokens": st.usage.output_tokens,
                "costUsd": st.usage.cost_usd,
            }
        return out

    def _missing_key(self, role: Role) -> MissingKeyError:
        env = self._roles[role].config.api_key_env
        return MissingKeyError(
            role,
            f"no API key for {role_name(role)}: set {env} or sparkforge.{role}.apiKeyEnv",
        )

    # -- requests ------------------------------------------------------------------------
    async def stream(
        self,
        role: Role,
        *,
        instructions: str,
        input: str | list[dict[str, Any]],
        tools: list[dict[str, Any]] | None = None,
        max_output_tokens: int | None = None,
        retry: bool = True,
        reasoning: bool = False,
    ) -> AsyncIterator[ModelEvent]:
        """Stream one request's events. Raise ModelError subclasses with actionable text.

        With ``retry`` a try that fails before its first event (no first token in time, a
        5xx, a failed connection, a 429 whose wait fits) is retried, up to ``maxRetries``
        times, while ``timeouts.firstTokenDeadline`` allows; without it there is one try,
        given up after ``timeouts.firstToken``. Nothing is retried once an event has been
        yielded. A paused role refuses at once (a retrying caller waits for a probe's
        outcome instead, within its deadline).

        ``reasoning`` (the agent's turns): where the role's model reasons (a reasoning effort
        is set, or a reasoning model) and speaks the Responses API, ask for the summary of its
        reasoning (``reasoning.summary: "auto"``) and its encrypted content (``include``), and
        yield ``ReasoningSummary`` and ``Reasoning`` events. Otherwise the request is the same
        as without it, and a caller that did not ask never sees either event."""
        state = self._roles[role]
        if state.client is None:
            err = self._missing_key(role)
            state.last_error = str(err)
            raise err
        if (denied := self._access_refusal(role)) is not None:
            raise denied
        cfg = state.config
        t = cfg.timeouts
        started = _now()
        limit = t.first_token_deadline
        deadline = started + limit
        max_tries = cfg.max_retries + 1 if retry else 1
        floor = min(MIN_TRY_S, t.first_token)
        tries = 0
        cut = False  # the deadline, not the tries allowed, ended the waiting
        while True:
            probe = await self._admit(role, deadline if retry else None)
            tries += 1
            try_started = _now()
            first_by = try_started + t.first_token
            if retry and deadline < first_by:
                first_by, cut = deadline, True
            seen = False
            model = self._serving_config(role).model  # what this try asks (a check may switch it meanwhile)
            attempt = self._one_try(role, probe, first_by, started, instructions, input, tools,
                                    max_output_tokens or cfg.max_output_tokens, reasoning)
            try:
                # aclosing: a consumer that stops reading closes the HTTP response now
                async with contextlib.aclosing(attempt):
                    async for event in attempt:
                        seen = True
                        yield event
            except ModelError as exc:
                if not seen and self._lost_access(role, exc, model):
                    continue  # the next model of the role's chain takes the same request
                if seen or not exc.transient:
                    state.last_error = str(exc)
                    raise
                now = _now()
                pause = self._record_failure(role, probe, exc, now)
                if pause is not None and pause.reason == "rate_limit":
                    wait = pause.until - now
                else:
                    wait = 0.0 if isinstance(exc, ModelTimeoutError) else BACKOFF_S * 2 ** (tries - 1)
                if pause is not None and (pause.reason != "rate_limit" or not retry):
                    raise self._pause_error(role, pause, now, refused=False) from exc
                if tries < max_tries and now + wait + floor <= deadline:
                    if wait > 0:
                        await asyncio.sleep(wait + RESUME_MARGIN_S)
                    continue
                cut = cut or tries < max_tries
                if pause is not None:
                    err: ModelError = self._pause_error(role, pause, _now(), refused=False)
                elif isinstance(exc, ModelTimeoutError):
                    err = self._stalled(role, _now() - started, tries, limit if cut else None)
                else:
                    err = translate(role, self._serving_config(role), exc.__cause__ or exc, first_token_seen=False, tries=tries)
                    err.transient = True
                state.last_error = str(err)
                raise err from exc
            else:
                state.last_error = None
                return

    async def _admit(self, role: Role, deadline: float | None) -> bool:
        """Wait for the role to take a try; True if the try is the probe after a pause.
        Raise the pause's error if it is paused (or, with no ``deadline`` to wait within,
        while another request probes)."""
        state = self._roles[role]
        while True:
            now = _now()
            verdict = state.health.admit(now)
            if verdict == "go":
                return False
            if verdict == "probe":
                state.probe_done = asyncio.Event()
                return True
            pause = state.health.paused(now) or state.health.pause
            if verdict == "paused" or deadline is None or state.probe_done is None:
                assert pause is not None
                raise self._pause_error(role, pause, now, refused=True)
            try:
                await asyncio.wait_for(state.probe_done.wait(), max(deadline - now, 0.0))
            except asyncio.TimeoutError:
                assert pause is not None
                raise self._pause_error(role, pause, _now(), refused=True) from None

    async def _one_try(
        self,
        role: Role,
        probe: bool,
        first_by: float,
        started: float,
        instructions: str,
        input: str | list[dict[str, Any]],
        tools: list[dict[str, Any]] | None,
        max_out: int,
        reasoning: bool = False,
    ) -> AsyncIterator[ModelEvent]:
        """One HTTP request and its events; no first event by ``first_by`` is a timeout."""
        state = self._roles[role]
        cfg = self._serving_config(role)
        state.usage.requests += 1
        waited = first_by - _now()
        watchdog = Watchdog.at(first_by)  # (_now() is time.monotonic())
        first = True
        outcome = False  # the health has heard how this try went
        try:
            # The total deadline is checked per line (asyncio.timeout needs Python 3.11).
            deadline = started + cfg.timeouts.total
            ctx, parse = self._request(state, instructions, input, tools, max_out, reasoning)
            async with ctx as response:
                outcome = True
                self._reached(role, probe)
                iter_data = getattr(response, "iter_data", None)  # a WebSocket's messages
                # over HTTP, the events are split from the bytes here (not by the SDK)
                data_of = iter_data() if iter_data else sse_data_of_bytes(response.iter_bytes())
                async with contextlib.aclosing(data_of) as events:
                    async for data in events:
                        if _now() > deadline:
                            raise TimeoutError
                        for event in parse(data):
                            if first:
                                first = False
                                watchdog.disarm()
                                state.last_latency_ms = (_now() - started) * 1000
                            if isinstance(event, Usage):
                                self._count(state, event)
                            yield event
                if not parse.finished:
                    raise StreamDroppedError(
                        role,
                        f"{role_name(role)} ended its answer early (no completion event); "
                        "try again",
                    )
        except ModelError:
            raise
        except asyncio.CancelledError as exc:
            watchdog.disarm()
            if first and watchdog.absorb():
                outcome = True  # the caller records it, as a failure
                stalled = ModelTimeoutError(
                    role, f"{role_name(role)} ({cfg.model}) sent nothing within {waited:.1f} s"
                )
                stalled.transient = True
                raise stalled from exc
            raise
        except GeneratorExit:
            raise
        except Exception as exc:  # map SDK and transport errors to one message each
            err = translate(role, self._serving_config(role), exc, first_token_seen=not first)
            if not outcome:
                outcome = True
                err.transient = transient(exc)
                if not err.transient:  # the model answered (401, 404, ...): it is reachable
                    self._reached(role, probe)
                # else the caller records it
            raise err from exc
        finally:
            watchdog.disarm()
            if not outcome:  # cancelled before the model answered
                state.health.released(probe)
                self._probe_settled(role, probe)

    def _reached(self, role: Role, probe: bool) -> None:
        state = self._roles[role]
        state.health.reached(probe)
        self._probe_settled(role, probe)

    def _probe_settled(self, role: Role, probe: bool) -> None:
        state = self._roles[role]
        if probe and state.probe_done is not None:
            state.probe_done.set()
            state.probe_done = None

    def _record_failure(self, role: Role, probe: bool, exc: ModelError, now: float) -> Pause | None:
        """Tell the health how a try failed before its first event; the pause it started."""
        state = self._roles[role]
        if isinstance(exc, RateLimitError):
            pause: Pause | None = state.health.rate_limited(probe, exc.retry_after, str(exc), now)
        else:
            pause = state.health.failed(probe, what_failed(exc), str(exc), now)
        self._probe_settled(role, probe)
        if pause is not None:
            self._announce(role, pause)
        return pause

    def _announce(self, role: Role, pause: Pause) -> None:
        """A pause started (or grew): tell the listener, and again when it ends."""
        state = self._roles[role]
        state.last_error = self._pause_error(role, pause, _now()).args[0]
        if state.resume_timer is not None:
            state.resume_timer.cancel()
        state.resume_timer = _call_after(pause, self._resume_due, role, state)
        if self.on_health is not None:
            self.on_health(role, pause)

    def _resume_due(self, role: Role, state: RoleState) -> None:
        if self._roles.get(role) is not state:
            return  # the role was reconfigured meanwhile
        state.resume_timer = None
        now = _now()
        if (pause := state.health.paused(now)) is not None:  # it grew meanwhile
            state.resume_timer = _call_after(pause, self._resume_due, role, state)
            return
        state.last_error = None
        if self.on_health is not None:
            self.on_health(role, None)

    def _pause_error(self, role: Role, pause: Pause, now: float, *, refused: bool = True) -> ModelError:
        cfg = self._serving_config(role)
        who = role_name(role)
        wait = pause.seconds_left(now)
        if self.one_shot and not refused:
            if pause.reason == "rate_limit":
                return RateLimitError(role, f"{who} ({cfg.model}) is rate-limited (HTTP 429); try again in {wait} s",
                                      retry_after=float(wait))
            return ModelUnavailableError(role, pause.cause, retry_after=float(wait))
        if pause.reason == "rate_limit":
            return RateLimitError(
                role, f"{who} ({cfg.model}) is rate-limited (HTTP 429), resuming in {wait} s",
                retry_after=float(wait), refused=refused,
            )
        return ModelUnavailableError(
            role, f"{who} is {pause.text(now)}: {pause.cause}", retry_after=float(wait), refused=refused
        )

    def _stalled(self, role: Role, elapsed: float, tries: int, limit: float | None) -> ModelTimeoutError:
        """No first token: how long, how many tries, and the setting that bounded it (the
        total deadline if it cut the waiting short, else each try's first-token timeout)."""
        cfg = self._serving_config(role)
        word = "try" if tries == 1 else "tries"
        if limit is not None:
            bound, setting = f"{tries} {word}, limit {limit:g} s", "firstTokenDeadline"
        else:
            bound, setting = f"{tries} {word} of {cfg.timeouts.first_token:g} s", "firstToken"
        return ModelTimeoutError(
            role,
            f"{role_name(role)} ({cfg.model}) sent nothing in {elapsed:.1f} s ({bound}); "
            f"try again or raise sparkforge.{role}.timeouts.{setting}",
        )

    def _request(
        self,
        state: RoleState,
        instructions: str,
        input: str | list[dict[str, Any]],
        tools: list[dict[str, Any]] | None,
        max_out: int,
        reasoning: bool = False,
    ) -> tuple[Any, "ResponsesParser | ChatParser"]:
        """The SDK's streaming request for the role's API, and the parser for its events."""
        cfg = state.active or state.config
        assert state.client is not None
        if cfg.api == "responses":
            body: dict[str, Any] = {
                "model": cfg.model,
                "instructions": instructions,
                "input": input,
                "stream": True,
                "max_output_tokens": max_out,
                "store": False,
                "prompt_cache_key": cache_key(self.cache_scope, state.role),
            }
            if tools:
                body["tools"] = tools
            if cfg.reasoning_effort:
                body["reasoning"] = {"effort": cfg.reasoning_effort}
            reasoning = reasoning and reasons(cfg)
            if reasoning:
                body["reasoning"] = {**body.get("reasoning", {}), "summary": "auto"}
                body["include"] = ["reasoning.encrypted_content"]
            return self._responses_request(state, body), ResponsesParser(reasoning, cfg.model)
        messages = [{"role": "system", "content": instructions}]
        if isinstance(input, str):
            messages.append({"role": "user", "content": input})
        else:
            messages.extend(input)
        ctx = state.client.chat.completions.with_streaming_response.create(
            model=cfg.model,
            messages=messages,  # type: ignore[arg-type]
            stream=True,
            stream_options={"include_usage": True},
            max_tokens=max_out,
            prompt_cache_key=cache_key(self.cache_scope, state.role),
            tools=tools if tools else openai.omit,  # type: ignore[arg-type]
        )
        return ctx, ChatParser()

    async def complete(self, role: Role, **kwargs: Any) -> Answer:
        """The whole answer of ``stream(role, **kwargs)``."""
        text: list[str] = []
        patches: list[PatchOperation] = []
        calls: list[ToolCall] = []
        usage: Usage | None = None
        finish = "stop"
        async for event in self.stream(role, **kwargs):
            if isinstance(event, TextDelta):
                text.append(event.text)
            elif isinstance(event, PatchOperation):
                patches.append(event)
            elif isinstance(event, ToolCall):
                calls.append(event)
            elif isinstance(event, Usage):
                usage = event
            elif isinstance(event, Finish):
                finish = event.reason
        return Answer("".join(text), patches, usage, finish, calls)

    def _count(self, state: RoleState, usage: Usage) -> None:
        totals = state.usage
        totals.input_tokens += usage.input_tokens
        totals.cached_input_tokens += usage.cached_tokens
        totals.output_tokens += usage.output_tokens
        model = (state.active or state.config).model  # a fallback is billed at its own price
        cost = request_cost(model, usage)
        if cost is not None:
            totals.cost_usd = (totals.cost_usd or 0.0) + cost
        log.debug("%s: %d input tokens (%d cached), %d output tokens, cost %s",
                  model, usage.input_tokens, usage.cached_tokens, usage.output_tokens,
                  "unknown" if cost is None else f"${cost:.6f}")

    # -- model access (``models.access``) -------------------------------------------------
    def serving_model(self, role: Role) -> str | None:
        """The model ``role``'s requests go to: its own, a fallback, or None (no access)."""
        state = self._roles[role]
        return serving(state.config, state.access)

    def access_message(self, role: Role) -> str | None:
        """What the user should read about ``role``'s access (None while its model serves)."""
        state = self._roles[role]
        return access_message(role, state.config, state.access)

    def unchecked(self) -> list[Role]:
        """Roles with a key whose model has not been looked up yet."""
        return [r for r, st in self._roles.items() if st.client is not None and not st.access.checked]

    async def check_access(self, role: Role) -> list[Lookup]:
        """Look the role's model up (``GET /models/{id}``), then, while the answer is "no
        access", each fallback; tell the listener once if a model was found inaccessible.
        An answer that says nothing about access (no answer, an endpoint a server does not
        offer) leaves the decision to the first request."""
        state = self._roles[role]
        state.access.checked = True
        if state.client is None:
            return []
        found: list[Lookup] = []
        while (model := serving(state.config, state.access)) is not None:
            try:
                await state.client.models.retrieve(model)
            except openai.APIStatusError as exc:
                if (why := denial(exc, model, lookup=True)) is None:
                    found.append(Lookup(model, "unknown", f"HTTP {exc.status_code}: {short(exc.message, 120)}"))
                    break
                found.append(Lookup(model, "denied", why))
                self._deny(role, state, model, why)
                continue
            except (openai.APIError, httpx.HTTPError, OSError) as exc:
                found.append(Lookup(model, "unknown", cause_of(exc)))
                break
            found.append(Lookup(model, "ok"))
            break
        state.access.lookups = found
        self._announce_access(role, state)
        return found

    def _access_refusal(self, role: Role) -> ModelError | None:
        """The error every request gets while no model of the role's chain may be used: it
        was said once (the listener), so it is a refusal, quiet, with no request sent."""
        state = self._roles[role]
        if not state.access.denied or serving(state.config, state.access) is not None:
            return None
        return NoAccessError(role, access_message(role, state.config, state.access) or "", refused=True)

    def _lost_access(self, role: Role, exc: ModelError, model: str) -> bool:
        """After a try of ``model`` failed before its first event: if the server said the key
        may not use it, mark it and return True when another model of the chain takes over
        (raise the role's refusal when none is left); False for any other failure."""
        state = self._roles[role]
        cause = exc.__cause__
        why = denial(cause, model) if cause is not None else None
        if why is None:
            return False
        if model not in state.access.denied:  # (the lookup may have found it meanwhile)
            self._deny(role, state, model, why)
            self._announce_access(role, state)
        if (refused := self._access_refusal(role)) is not None:
            state.last_error = str(refused)
            raise refused from exc
        return True

    def _serving_config(self, role: Role) -> RoleConfig:
        """The settings requests of ``role`` go out with now (a fallback's, if one serves)."""
        state = self._roles[role]
        return state.active or state.config

    def _deny(self, role: Role, state: RoleState, model: str, why: str) -> None:
        state.access.denied[model] = why
        now = serving(state.config, state.access)
        state.active = None if now is None or now == state.config.model else serving_config(role, state.config, now)

    def _announce_access(self, role: Role, state: RoleState) -> None:
        text = access_message(role, state.config, state.access)
        if text is None or text == state.access.announced or self._roles.get(role) is not state:
            return
        state.access.announced = text
        if self.on_access is not None:
            self.on_access(role, text)

    def _open_sockets(self, state: RoleState, old: RoleState | None) -> None:
        """Give a Responses role its socket pool (closing the old one) and open the first
        socket now, if an event loop runs, so the first request finds it open."""
        if old is not None and old.sockets is not None:
            with contextlib.suppress(RuntimeError):
                asyncio.get_running_loop().create_task(old.sockets.aclose())
        cfg = state.config
        if state.client is None or cfg.api != "responses" or cfg.transport == "http":
            return
        state.sockets = SocketPool(state.client, cfg.timeouts.connect)
        self.warm()

    def warm(self) -> None:
        """Open each role's socket now (at start, and after settings change)."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop yet: the first request opens it
        for state in self._roles.values():
            if state.sockets is not None:
                state.sockets.warm()

    def _responses_request(self, state: RoleState, body: dict[str, Any]) -> Any:
        """The streaming Responses request over the role's socket, or over HTTP."""
        assert state.client is not None
        client = state.client
        if state.sockets is None:
            return client.responses.with_streaming_response.create(**body)

        def over_http() -> Any:
            return client.responses.with_streaming_response.create(**body)

        fallback = over_http if state.config.transport == "auto" else None
        # a pause mid-answer longer than firstToken is a stall, as HTTP's read timeout makes it
        return SocketRequest(state.sockets, body, fallback, read_timeout=state.config.timeouts.first_token)

    def transport(self, role: Role) -> str:
        """How the role's requests travel now: "websocket" or "http"."""
        sockets = self._roles[role].sockets
        return "http" if sockets is None or sockets.no_socket is not None else "websocket"

    async def aclose(self) -> None:
        for state in self._roles.values():
            if state.sockets is not None:
                with contextlib.suppress(Exception):
                    await state.sockets.aclose()
        for state in self._roles.values():
            if state.client is not None:
                with contextlib.suppress(Exception):
                    await state.client.close()


def reasons(cfg: RoleConfig) -> bool:
    """Whether the model reasons: a reasoning effort is set (other than "none"), or it is a
    reasoning model. Codex-Spark (a research preview tuned for quick edits) is asked for
    reasoning only when an effort is set for it: whether it takes reasoning summaries is not
    documented, and a 400 on every agent turn handed to the fast model would cost more than
    the summaries give."""
    if cfg.reasoning_effort == "none":
        return False
    model = cfg.model.lower().rsplit("/", 1)[-1]  # (a gateway's "openai/gpt-5")
    if cfg.reasoning_effort:
        return True
    return model.startswith(REASONING_MODELS) and "-chat" not in model and "spark" not in model


def request_cost(model: str, usage: Usage) -> float | None:
    """What one request cost in USD (cached input at its own price); None for an unknown model."""
    price = PRICES.get(model)
    if price is None:
        return None
    cached = min(usage.cached_tokens, usage.input_tokens)
    return ((usage.input_tokens - cached) * price[0] + cached * price[1]
            + usage.output_tokens * price[2]) / 1e6


def cache_key(scope: str, role: Role) -> str:
    """The ``prompt_cache_key`` of ``role``'s requests for a workspace: a short hash, so the
    workspace's path never leaves the machine; requests sharing it are routed to the same
    cache."""
    digest = hashlib.sha256(f"{scope}\0{role}".encode()).hexdigest()[:16]
    return f"sparkforge-{role}-{digest}"


def _now() -> float:
    return time.monotonic()


def _call_after(pause: Pause, callback: Callable[..., None], *args: Any) -> asyncio.TimerHandle:
    """Run ``callback(*args)`` once ``pause`` has ended."""
    delay = max(pause.until - _now(), 0.0) + RESUME_MARGIN_S
    return asyncio.get_running_loop().call_later(delay, callback, *args)
