"""Wire formats of the local model server: Responses and Chat Completions, streamed and not.

A streamed answer is built up front as a :class:`StreamPlan`: the bytes before the first
token, one pre-encoded SSE event per token slot, and the bytes after the last one. The
pacer in ``app.py`` then only decides *when* to write which slice, which is what lets one
process sustain tens of thousands of tokens per second.

The JSON shapes follow the openai SDK's types (``openai.types.responses`` and
``openai.types.chat``) so the SDK parses every event into its typed model.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from sparkforge.models.tokens import count_tokens, split_tokens

from .scenarios import FunctionCall, Patch, ReasoningScript

# Compact separators: smaller writes, and what the real API sends.
_SEP = (",", ":")


def dumps(obj: Any) -> str:
    return json.dumps(obj, separators=_SEP, ensure_ascii=False)


def new_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex}"


def sse_event(event_type: str, data: dict[str, Any]) -> bytes:
    return f"event: {event_type}\ndata: {dumps(data)}\n\n".encode()


def sse_data(data: dict[str, Any] | str) -> bytes:
    return f"data: {data if isinstance(data, str) else dumps(data)}\n\n".encode()


MALFORMED_EVENT = b"data: {not json\n\n"
DONE_EVENT = b"data: [DONE]\n\n"

SSE_STYLES = ("openai", "litellm", "spec")
"""How a stream is written: ``openai`` as the OpenAI API does (``event:`` + ``data:`` lines on
Responses, LF endings); ``litellm`` as LiteLLM 1.108's proxy does (no ``event:`` lines, and
``data: [DONE]`` after ``response.completed`` too); ``spec`` every other form the SSE rules
allow: CRLF endings, a ``retry:`` field and ``: keep-alive`` comments, an ``id:`` per event,
each JSON spread over several ``data:`` lines (some without the space after the colon), no
``event:`` lines, and ``[DONE]`` at the end of either API's stream."""


def _restyle(blob: bytes, style: str) -> bytes:
    if not blob:
        return blob
    out: list[str] = []
    for raw in blob.decode().split("\n\n"):
        if not raw:
            continue
        data = "\n".join(line[6:] for line in raw.split("\n") if line.startswith("data: "))
        if style == "litellm":
            out.append(f"data: {data}\n\n")
            continue
        body = data if data == "[DONE]" else json.dumps(json.loads(data), indent=1, ensure_ascii=False)
        lines = [": keep-alive", f"id: {len(out)}"]
        lines += [("data:" if k % 2 else "data: ") + line for k, line in enumerate(body.split("\n"))]
        out.append("\r\n".join(lines) + "\r\n\r\n")
    return "".join(out).encode()


def restyle(plan: StreamPlan, style: str, endpoint: str) -> StreamPlan:
    """``plan`` written in ``style`` (one of SSE_STYLES)."""
    if style == "openai":
        return plan
    tail = plan.tail
    if endpoint == "responses":
        tail += DONE_EVENT
    head = _restyle(plan.head, style)
    if style == "spec":
        head = b": ping\r\nretry: 1000\r\n\r\n" + head
    return StreamPlan(head, [_restyle(s, style) for s in plan.slots], _restyle(tail, style),
                      plan.text_tokens, plan.output_tokens, plan.final)


@dataclass
class StreamPlan:
    """What a streamed answer writes: ``head`` at once, ``slots`` paced, then ``tail``.

    A slot is one token's worth of time; text slots hold one delta event each, while the
    tokens of an apply_patch diff (which the Responses stream has no delta event for) are
    empty slots, so a long patch still takes as long as the model would need to write it.
    """

    head: bytes
    slots: list[bytes]
    tail: bytes
    text_tokens: int
    output_tokens: int
    final: dict[str, Any] = field(default_factory=dict)  # the non-streaming body


def patch_tokens(patches: tuple[Patch, ...]) -> int:
    return sum(count_tokens(p.path) + count_tokens(p.diff) for p in patches)


def call_tokens(call: FunctionCall) -> int:
    """A function call's output tokens: its name's plus one per streamed piece of arguments."""
    return count_tokens(call.name) + len(split_tokens(call.arguments))


def usage_responses(input_tokens: int, output_tokens: int, cached_tokens: int = 0,
                    reasoning_tokens: int = 0) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": cached_tokens, "cache_write_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
        "total_tokens": input_tokens + output_tokens,
    }


def usage_chat(input_tokens: int, output_tokens: int, cached_tokens: int = 0) -> dict[str, Any]:
    return {
        "prompt_tokens": input_tokens,
        "completion_tokens": output_tokens,
        "total_tokens": input_tokens + output_tokens,
        "prompt_tokens_details": {"cached_tokens": cached_tokens, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
    }


def _response_object(
    body: dict[str, Any], rid: str, model: str, created: int, status: str,
    output: list[dict[str, Any]], usage: dict[str, Any] | None,
) -> dict[str, Any]:
    return {
        "id": rid,
        "object": "response",
        "created_at": created,
        "status": status,
        "completed_at": int(time.time()) if status == "completed" else None,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "metadata": body.get("metadata") or {},
        "model": model,
        "output": output,
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": body.get("previous_response_id"),
        "prompt_cache_key": body.get("prompt_cache_key"),
        "reasoning": body.get("reasoning") or {"effort": None, "summary": None},
        "store": body.get("store", True),
        "temperature": body.get("temperature", 1.0),
        "text": body.get("text") or {"format": {"type": "text"}},
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": body.get("tools") or [],
        "top_p": body.get("top_p", 1.0),
        "truncation": body.get("truncation", "disabled"),
        "usage": usage,
        "user": None,
    }


def _message_item(mid: str, text: str, status: str) -> dict[str, Any]:
    content = [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]
    if status == "in_progress":
        content = []
    return {"id": mid, "type": "message", "status": status, "role": "assistant", "content": content}


def _patch_item(p: Patch, status: str, ids: tuple[str, str]) -> dict[str, Any]:
    op: dict[str, Any] = {"type": p.type, "path": p.path}
    if p.type != "delete_file":
        op["diff"] = p.diff
    return {"id": ids[0], "call_id": ids[1], "type": "apply_patch_call", "status": status,
            "operation": op}


def _reasoning_item(rid: str, summary: tuple[str, ...], encrypted: str | None) -> dict[str, Any]:
    return {"id": rid, "type": "reasoning",
            "summary": [{"type": "summary_text", "text": t} for t in summary],
            "encrypted_content": encrypted}


def asks_summary(body: dict[str, Any]) -> bool:
    """The request asks for a summary of the reasoning (``reasoning.summary``)."""
    reasoning = body.get("reasoning")
    return isinstance(reasoning, dict) and reasoning.get("summary") in ("auto", "concise", "detailed")


def asks_encrypted(body: dict[str, Any]) -> bool:
    """The request includes ``reasoning.encrypted_content``."""
    include = body.get("include")
    return isinstance(include, list) and "reasoning.encrypted_content" in include


def _function_item(call: FunctionCall, status: str, ids: tuple[str, str]) -> dict[str, Any]:
    return {"id": ids[0], "type": "function_call", "status": status,
            "arguments": call.arguments if status == "completed" else "",
            "call_id": ids[1], "name": call.name}


def plan_responses(
    body: dict[str, Any], model: str, text: str, patches: tuple[Patch, ...], input_tokens: int,
    cached_tokens: int = 0, calls: tuple[FunctionCall, ...] = (), reasoning: ReasoningScript | None = None,
) -> StreamPlan:
    """The full Responses event sequence for a ``reasoning`` item (its summary streamed a token
    per event if the request asks for one), ``text``, function calls (their arguments streamed
    a token per event) and apply_patch calls."""
    rid, mid, created = new_id("resp_"), new_id("msg_"), int(time.time())
    pieces = split_tokens(text)
    n_patch = patch_tokens(patches)
    thought = [split_tokens(part) for part in reasoning.summary] if reasoning else []
    n_thought = sum(map(len, thought))
    usage = usage_responses(input_tokens, len(pieces) + n_patch + sum(map(call_tokens, calls)) + n_thought,
                            cached_tokens, n_thought)
    # A tool-calling answer without text has no message item, as a real one has none.
    with_message = bool(text) or not (patches or calls)
    seq = 0
    head: list[bytes] = []
    tail: list[bytes] = []

    def emit(out: list[bytes], event_type: str, **data: Any) -> None:
        nonlocal seq
        out.append(sse_event(event_type, {"type": event_type, **data, "sequence_number": seq}))
        seq += 1

    emit(head, "response.created",
         response=_response_object(body, rid, model, created, "in_progress", [], None))
    emit(head, "response.in_progress",
         response=_response_object(body, rid, model, created, "in_progress", [], None))
    slots: list[bytes] = []
    output: list[dict[str, Any]] = []

    def now(events: list[bytes]) -> None:
        """Events that follow what is planned so far, at once: in the head while no slot is
        planned, else with the last slot."""
        if slots:
            slots[-1] += b"".join(events)
        else:
            head.extend(events)

    if reasoning is not None:
        reasoning_id = new_id("rs_")
        at = {"item_id": reasoning_id, "output_index": 0}
        began: list[bytes] = []
        emit(began, "response.output_item.added", output_index=0,
             item=_reasoning_item(reasoning_id, (), None))
        now(began)
        if asks_summary(body):
            for i, (part_text, part_pieces) in enumerate(zip(reasoning.summary, thought)):
                added: list[bytes] = []
                emit(added, "response.reasoning_summary_part.added", **at, summary_index=i,
                     part={"type": "summary_text", "text": ""})
                now(added)
                for piece in part_pieces:
                    delta: list[bytes] = []
                    emit(delta, "response.reasoning_summary_text.delta", **at, summary_index=i, delta=piece)
                    slots.append(delta[0])
                ended: list[bytes] = []
                emit(ended, "response.reasoning_summary_text.done", **at, summary_index=i, text=part_text)
                emit(ended, "response.reasoning_summary_part.done", **at, summary_index=i,
                     part={"type": "summary_text", "text": part_text})
                now(ended)
        else:  # the model reasons all the same: its tokens take their time
            slots.extend(b"" for _ in range(n_thought))
        done = _reasoning_item(reasoning_id, reasoning.summary if asks_summary(body) else (),
                               reasoning.encrypted if asks_encrypted(body) else None)
        reasoned: list[bytes] = []
        emit(reasoned, "response.output_item.done", output_index=0, item=done)
        now(reasoned)
        output.append(done)
    if with_message:
        part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        message_index = len(output)
        loc = {"item_id": mid, "output_index": message_index, "content_index": 0}
        started: list[bytes] = []
        emit(started, "response.output_item.added", output_index=message_index,
             item=_message_item(mid, "", "in_progress"))
        emit(started, "response.content_part.added", **loc, part=part)
        now(started)
        # Hand-built JSON per delta: json.dumps of the whole dict is the hot spot at 20k tok/s.
        prefix = ('event: response.output_text.delta\ndata: {"type":"response.output_text.delta",'
                  f'"item_id":"{mid}","output_index":{message_index},"content_index":0,"delta":')
        for piece in pieces:
            slots.append(f'{prefix}{dumps(piece)},"logprobs":[],"sequence_number":{seq}}}\n\n'
                         .encode())
            seq += 1
        after: list[bytes] = []
        emit(after, "response.output_text.done", **loc, text=text, logprobs=[])
        emit(after, "response.content_part.done", **loc, part={**part, "text": text})
        done = _message_item(mid, text, "completed")
        emit(after, "response.output_item.done", output_index=message_index, item=done)
        output.append(done)
        if calls:  # the message ends before the first call's events
            now(after)
        else:
            tail.extend(after)
    for call in calls:
        ids = (new_id("fc_"), new_id("call_"))
        index = len(output)
        opening: list[bytes] = []
        emit(opening, "response.output_item.added", output_index=index,
             item=_function_item(call, "in_progress", ids))
        deltas = []
        for piece in split_tokens(call.arguments):
            deltas.append(sse_event("response.function_call_arguments.delta", {
                "type": "response.function_call_arguments.delta", "item_id": ids[0],
                "output_index": index, "delta": piece, "sequence_number": seq}))
            seq += 1
        closing: list[bytes] = []
        emit(closing, "response.function_call_arguments.done", item_id=ids[0], output_index=index,
             arguments=call.arguments)
        done = _function_item(call, "completed", ids)
        emit(closing, "response.output_item.done", output_index=index, item=done)
        output.append(done)
        # one slot per piece of arguments, then the name's tokens (time only, like a patch's)
        # with the call's last events in the last of them
        pieces_of_call = deltas + [b""] * (count_tokens(call.name) - 1) + [b"".join(closing)]
        pieces_of_call[0] = b"".join(opening) + pieces_of_call[0]
        slots.extend(pieces_of_call)
    slots.extend(b"" for _ in range(n_patch))
    for p in patches:
        ids = (new_id("apc_"), new_id("call_"))
        index = len(output)
        emit(tail, "response.output_item.added", output_index=index,
             item=_patch_item(p, "in_progress", ids))
        done = _patch_item(p, "completed", ids)
        emit(tail, "response.output_item.done", output_index=index, item=done)
        output.append(done)
    final = _response_object(body, rid, model, created, "completed", output, usage)
    emit(tail, "response.completed", response=final)
    return StreamPlan(b"".join(head), slots, b"".join(tail), len(pieces),
                      usage["output_tokens"], final)


def render_patches(patches: tuple[Patch, ...]) -> str:
    """apply_patch operations as a unified diff in a ```diff fence (the Chat Completions form).

    Chat Completions has no apply_patch tool, so backends answer edits as unified diff text.
    The diff bodies are passed through as written in the scenario; the file headers
    (``--- a/PATH`` / ``+++ b/PATH``, /dev/null for created and deleted files) are added, and
    a created file's ``@@ -0,0 +1,N @@`` line (its V4A body is the file's lines, each ``+``).
    """
    if not patches:
        return ""
    chunks: list[str] = []
    for p in patches:
        old = "/dev/null" if p.type == "create_file" else f"a/{p.path}"
        new = "/dev/null" if p.type == "delete_file" else f"b/{p.path}"
        diff = p.diff if p.diff.endswith("\n") or not p.diff else p.diff + "\n"
        lines = diff.splitlines()
        if p.type == "create_file" and lines and lines[0].startswith("+") and not lines[0].startswith("+++ "):
            diff = f"@@ -0,0 +1,{len(lines)} @@\n{diff}"
        chunks.append(f"--- {old}\n+++ {new}\n{diff}")
    return "```diff\n" + "".join(chunks) + "```\n"


def chat_text(output: str, chat_output: str | None, patches: tuple[Patch, ...]) -> str:
    if chat_output is not None:
        return chat_output
    diff = render_patches(patches)
    if output and diff:
        return output.rstrip("\n") + "\n\n" + diff
    return output or diff


def plan_chat(
    body: dict[str, Any], model: str, text: str, input_tokens: int, include_usage: bool,
    cached_tokens: int = 0, calls: tuple[FunctionCall, ...] = (),
) -> StreamPlan:
    """Chat Completions chunks: a role chunk, one content chunk per token, then each tool
    call (a chunk with its index, id and name, then one chunk per piece of its arguments),
    finish ("tool_calls" after calls), usage, [DONE]."""
    cid, created = new_id("chatcmpl-"), int(time.time())
    pieces = split_tokens(text)
    usage = usage_chat(input_tokens, len(pieces) + sum(map(call_tokens, calls)), cached_tokens)
    base = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
            "system_fingerprint": None}

    def chunk(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                     "finish_reason": finish}]}

    head = sse_data(chunk({"role": "assistant", "content": "" if text or not calls else None,
                           "refusal": None}, None))
    prefix = "data: " + dumps(chunk({}, None)).split('"delta":{}')[0] + '"delta":{"content":'
    slots = [f'{prefix}{dumps(p)}}},"logprobs":null,"finish_reason":null}}]}}\n\n'.encode()
             for p in pieces]
    tool_calls = []
    for index, call in enumerate(calls):
        call_id = new_id("call_")
        tool_calls.append({"id": call_id, "type": "function",
                           "function": {"name": call.name, "arguments": call.arguments}})
        opening = {"index": index, "id": call_id, "type": "function",
                   "function": {"name": call.name, "arguments": ""}}
        slots.append(sse_data(chunk({"tool_calls": [opening]}, None)))
        slots.extend([b""] * (count_tokens(call.name) - 1))  # the name's tokens: time only
        slots.extend(sse_data(chunk({"tool_calls": [{"index": index, "function": {"arguments": p}}]}, None))
                     for p in split_tokens(call.arguments))
    finish = "tool_calls" if calls else "stop"
    tail = sse_data(chunk({}, finish))
    if include_usage:
        tail += sse_data({**base, "choices": [], "usage": usage})
    tail += DONE_EVENT
    message: dict[str, Any] = {"role": "assistant", "content": text if text or not calls else None,
                               "refusal": None, "annotations": []}
    if tool_calls:
        message["tool_calls"] = tool_calls
    final = {
        "id": cid, "object": "chat.completion", "created": created, "model": model,
        "system_fingerprint": None,
        "choices": [{"index": 0, "finish_reason": finish, "logprobs": None, "message": message}],
        "usage": usage,
    }
    return StreamPlan(head, slots, tail, len(pieces), usage["completion_tokens"], final)


def error_body(message: str, type_: str, code: str | None, param: str | None = None) -> dict:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}
