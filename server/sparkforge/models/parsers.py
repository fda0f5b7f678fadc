"""Reading the two model APIs' stream events into ``ModelEvent``s: ``ResponsesParser`` for
the Responses API (over HTTP's SSE or a WebSocket's messages), ``ChatParser`` for Chat
Completions chunks. Each is fed one event's data at a time and returns the events it makes;
``BadEvent`` says what was wrong with an event that cannot be read."""

from __future__ import annotations

import json
from typing import Any

from sparkforge.models.events import (
    Finish,
    ModelEvent,
    PatchOperation,
    Reasoning,
    ReasoningSummary,
    TextDelta,
    ToolCall,
    Usage,
)
from sparkforge.models.sse import is_done


def usage_of(usage: dict[str, Any], chat: bool) -> Usage:
    """A usage object of either API (Responses or Chat Completions) as a ``Usage``."""
    if chat:
        details = usage.get("prompt_tokens_details") or {}
        return Usage(usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0),
                     details.get("cached_tokens") or 0)
    details = usage.get("input_tokens_details") or {}
    return Usage(usage.get("input_tokens", 0), usage.get("output_tokens", 0),
                 details.get("cached_tokens") or 0)


def short(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class BadEvent(ValueError):
    """An event a parser cannot use; ``str()`` says what was wrong, after "the X model".
    ``other_api``: the event is the other API's ("chat" or "responses"), so the role's
    ``api`` setting is what to change."""

    def __init__(self, message: str, other_api: str | None = None) -> None:
        super().__init__(message)
        self.other_api = other_api


def _excerpt(data: str) -> str:
    return repr(data[:80] + ("…" if len(data) > 80 else ""))


def _json_object(data: str) -> dict[str, Any]:
    try:
        event = json.loads(data)
    except ValueError:
        raise BadEvent(f"sent an event that is not JSON: {_excerpt(data)}") from None
    if not isinstance(event, dict):
        raise BadEvent(f"sent an event that is not a JSON object: {_excerpt(data)}")
    return event


def _reported(err: Any) -> BadEvent:
    message = err.get("message") if isinstance(err, dict) else None
    return BadEvent(f"reported an error: {short(str(message or err))}")


class ResponsesParser:
    """Responses API SSE ``data:`` payloads -> ModelEvents. The event's type is the JSON's
    ``type`` (gateways may leave out the ``event:`` line); ``[DONE]``, which some gateways
    send after ``response.completed`` as Chat Completions streams end, ends the stream.
    With ``reasoning`` the summary's parts (each whole, at ``reasoning_summary_text.done``, or
    from the item where no such event came) and the ``reasoning`` items (at their end, or
    from ``response.completed``) are yielded too; without it they are skipped."""

    def __init__(self, reasoning: bool = False, model: str = "") -> None:
        self.finished = False
        self.reasoning = reasoning
        self.model = model
        """The model asked (what ``Reasoning`` items say reasoned)."""
        self._summarized: set[tuple[str, int]] = set()
        """(item id, summary index) of the summary parts yielded."""
        self._reasoned: set[str] = set()
        """The ids of the reasoning items yielded."""
        self._patched = False
        self._calls: dict[str, dict[str, Any]] = {}
        """Function calls begun and not yielded yet, by item id: their arguments so far."""
        self._called: set[str] = set()
        """The call ids yielded (a call is yielded once, at its item's end)."""

    def __call__(self, data: str) -> list[ModelEvent]:
        if is_done(data):
            if self.finished:
                return []
            self.finished = True
            return [*self._unfinished_calls(), Finish("tool_calls" if self._patched else "stop")]
        event = _json_object(data)
        kind = event.get("type")
        if not isinstance(kind, str):
            if "choices" in event or str(event.get("object", "")).startswith("chat.completion"):
                raise BadEvent("answered with Chat Completions chunks, not Responses API events",
                               other_api="chat")
            if "error" in event:
                raise _reported(event["error"])
            raise BadEvent(f"sent an event without a 'type': {_excerpt(data)}")
        try:
            return self._event(kind, event)
        except (KeyError, TypeError, AttributeError) as exc:
            raise BadEvent(f"sent a {kind!r} event without the expected {exc}: {_excerpt(data)}") from None

    def _event(self, kind: str, event: dict[str, Any]) -> list[ModelEvent]:
        if kind == "response.output_text.delta":
            return [TextDelta(event["delta"])]
        if kind == "response.function_call_arguments.delta":
            if (call := self._calls.get(event.get("item_id", ""))) is not None:
                call["arguments"] += event["delta"]
            return []
        if kind == "response.function_call_arguments.done":
            if (call := self._calls.get(event.get("item_id", ""))) is not None:
                call["arguments"] = event["arguments"]
            return []
        if kind == "response.reasoning_summary_text.done":
            if not self.reasoning:
                return []
            return self._summary_part(event.get("item_id", ""), event.get("summary_index", 0), event["text"])
        if kind == "response.output_item.added":
            item = event["item"]
            if item.get("type") == "function_call":
                self._calls[item.get("id", "")] = dict(item, arguments=item.get("arguments") or "")
            return []
        if kind == "response.output_item.done":
            item = event["item"]
            if item.get("type") == "apply_patch_call":
                op = item["operation"]
                self._patched = True
                return [
                    PatchOperation(op["type"], op["path"], op.get("diff", ""), item.get("call_id", ""))
                ]
            if item.get("type") == "function_call":
                self._calls.pop(item.get("id", ""), None)
                return self._function_call(item)
            if item.get("type") == "reasoning":
                return self._reasoning(item)
            return []
        if kind in ("response.completed", "response.incomplete"):
            self.finished = True
            resp = event["response"]
            # (a gateway that sent no output_item.done: the calls the response holds, or began)
            out: list[ModelEvent] = []
            for item in resp.get("output") or ():
                if isinstance(item, dict) and item.get("type") == "function_call":
                    self._calls.pop(item.get("id", ""), None)
                    out.extend(self._function_call(item))
                elif isinstance(item, dict) and item.get("type") == "reasoning":
                    out.extend(self._reasoning(item))
            out.extend(self._unfinished_calls())
            if usage := resp.get("usage"):
                out.append(usage_of(usage, chat=False))
            if kind == "response.incomplete":
                reason = (resp.get("incomplete_details") or {}).get("reason", "length")
                out.append(Finish("length" if reason == "max_output_tokens" else reason))
            else:
                out.append(Finish("tool_calls" if self._patched else "stop"))
            return out
        if kind in ("response.failed", "error"):
            raise _reported((event.get("response") or {}).get("error") or event.get("error") or event)
        return []

    def _function_call(self, item: dict[str, Any]) -> list[ModelEvent]:
        call_id = item.get("call_id") or item.get("id") or ""
        if call_id in self._called:
            return []
        self._called.add(call_id)
        self._patched = True
        return [ToolCall(call_id, item["name"], item.get("arguments") or "")]

    def _summary_part(self, item_id: str, index: int, text: str) -> list[ModelEvent]:
        if (item_id, index) in self._summarized or not text:
            return []
        self._summarized.add((item_id, index))
        return [ReasoningSummary(text)]

    def _reasoning(self, item: dict[str, Any]) -> list[ModelEvent]:
        item_id = item.get("id") or ""
        if not self.reasoning or item_id in self._reasoned:
            return []
        self._reasoned.add(item_id)
        parts = [p.get("text") or "" for p in item.get("summary") or () if isinstance(p, dict)]
        out: list[ModelEvent] = []
        for i, text in enumerate(parts):
            out.extend(self._summary_part(item_id, i, text))
        out.append(Reasoning(item_id, item.get("encrypted_content"), tuple(parts), self.model))
        return out

    def _unfinished_calls(self) -> list[ModelEvent]:
        calls, self._calls = self._calls, {}
        return [e for item in calls.values() for e in self._function_call(item)]


class ChatParser:
    """Chat Completions SSE ``data:`` payloads -> ModelEvents. Tool calls stream in pieces
    (``delta.tool_calls``, each piece with the ``index`` of its call; the id and name come
    first, the arguments in parts): they are assembled, and yielded whole when the choice
    finishes."""

    def __init__(self) -> None:
        self.finished = False
        self._reason: str | None = None
        self._calls: list[dict[str, str]] = []
        """Tool calls being assembled, by index: id, name and arguments so far."""
        self._called = False

    def __call__(self, data: str) -> list[ModelEvent]:
        if is_done(data):
            if self.finished:
                return []
            self.finished = True
            return [*self._complete_calls(), Finish(self._finish())]
        chunk = _json_object(data)
        if "error" in chunk:
            raise _reported(chunk["error"])
        if str(chunk.get("type", "")).startswith("response."):
            raise BadEvent("answered with Responses API events, not Chat Completions chunks",
                           other_api="responses")
        try:
            out: list[ModelEvent] = []
            for choice in chunk.get("choices") or ():
                delta = choice.get("delta") or {}
                if content := delta.get("content"):
                    out.append(TextDelta(content))
                for piece in delta.get("tool_calls") or ():
                    self._add_piece(piece)
                if choice.get("finish_reason"):
                    self._reason = choice["finish_reason"]
                    out.extend(self._complete_calls())
            if usage := chunk.get("usage"):
                out.append(usage_of(usage, chat=True))
        except (KeyError, TypeError, AttributeError) as exc:
            raise BadEvent(f"sent a chunk that is not a Chat Completions chunk ({exc}): {_excerpt(data)}") from None
        return out

    def _add_piece(self, piece: dict[str, Any]) -> None:
        index = piece.get("index")
        if not isinstance(index, int):  # (a server that sends each call whole, without index)
            new = not self._calls or (piece.get("id") and piece["id"] != self._calls[-1]["id"])
            index = len(self._calls) if new else len(self._calls) - 1
        while len(self._calls) <= index:
            self._calls.append({"id": "", "name": "", "arguments": ""})
        call = self._calls[index]
        if piece.get("id"):
            call["id"] = piece["id"]
        function = piece.get("function") or {}
        if function.get("name"):
            call["name"] += function["name"]
        if function.get("arguments"):
            call["arguments"] += function["arguments"]

    def _complete_calls(self) -> list[ModelEvent]:
        calls, self._calls = self._calls, []
        out: list[ModelEvent] = []
        for i, call in enumerate(calls):
            if not call["name"]:
                raise BadEvent(f"sent tool call {i} without a function name")
            out.append(ToolCall(call["id"] or f"call_{i}", call["name"], call["arguments"]))
        self._called = self._called or bool(out)
        return out

    def _finish(self) -> str:
        # some servers end a turn of tool calls with "stop"
        return "tool_calls" if self._called and self._reason in (None, "stop") else self._reason or "stop"
