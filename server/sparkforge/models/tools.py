"""Function tools and a tool conversation's transcript, in either API's request shape.

The agent keeps its transcript API-neutral (``TranscriptItem``s, oldest first) and sends the
whole of it each turn (requests store nothing server-side). ``transcript_input`` writes it as
the Responses API's ``input`` items or as Chat Completions ``messages``; ``tool_specs`` writes
the tools offered. The Responses API has a native ``apply_patch`` tool (``apply_patch_call``
items, one file operation each); Chat Completions has none, so there the same tool is a
function named ``apply_patch`` taking the ``*** Begin Patch`` envelope as ``{"input": ...}``.

A reasoning model's ``Reasoning`` items (Responses only) go back before the calls they
preceded, as the API reference asks of a caller that keeps its own context: the summary and
``encrypted_content`` (asked for with ``include: ["reasoning.encrypted_content"]``) as received.
With ``store: false`` no item is sent with its id: the API pairs a reasoning item sent with its
id to the item that followed it (a ``function_call`` by its ``fc_`` id, a message by its
``msg_`` id), and answers 400 when either is missing; without ids there is nothing to pair and
the encrypted content carries the reasoning, as OpenAI's own Codex agent sends its history
with ``store: false``. Only the model that reasoned can read the encrypted content (another
answers 400 ``invalid_encrypted_content``), so an item goes back to that model only: after a
switch of model, the other model's reasoning is left out. Chat Completions has no such item:
there they are all left out.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Union

from sparkforge.models.events import PatchOperation, Reasoning, ToolCall

Api = Literal["responses", "chat"]

APPLY_PATCH = "apply_patch"
"""The name of the patch tool: native on Responses, a function on Chat Completions."""


@dataclass(frozen=True, slots=True)
class FunctionTool:
    """A tool the model may call: ``parameters`` is a JSON schema of type object."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True, slots=True)
class UserText:
    text: str


@dataclass(frozen=True, slots=True)
class AssistantText:
    text: str


@dataclass(frozen=True, slots=True)
class Called:
    """What the model called, as it called it."""

    call: ToolCall | PatchOperation


@dataclass(frozen=True, slots=True)
class CallResult:
    """What the tool answered the call ``call_id`` (already redacted); ``ok`` False: it failed."""

    call_id: str
    output: str
    ok: bool = True


TranscriptItem = Union[UserText, AssistantText, Reasoning, Called, CallResult]
"""(``Reasoning`` is the event the gateway yields, kept as it came.)"""

APPLY_PATCH_FUNCTION = FunctionTool(
    APPLY_PATCH,
    "Create, update or delete files. `input` is a patch: '*** Begin Patch', then for each file "
    "'*** Add File: PATH' (every line of the new file prefixed with '+'), '*** Delete File: PATH' "
    "or '*** Update File: PATH' (hunks: '@@ ' plus a line near the change, then lines prefixed "
    "with ' ' to keep, '-' to remove, '+' to add), then '*** End Patch'. Paths are relative to "
    "the workspace root.",
    {
        "type": "object",
        "properties": {"input": {"type": "string", "description": "the whole patch, *** Begin Patch to *** End Patch"}},
        "required": ["input"],
        "additionalProperties": False,
    },
)
"""The apply_patch tool as a function, for Chat Completions (which has no native one)."""


def tool_specs(api: Api | str, tools: Sequence[FunctionTool], apply_patch: bool) -> list[dict[str, Any]]:
    """The request's ``tools``: the functions, plus the patch tool if ``apply_patch``."""
    if api == "responses":
        specs: list[dict[str, Any]] = [
            {"type": "function", "name": t.name, "description": t.description,
             "parameters": t.parameters, "strict": False}
            for t in tools
        ]
        if apply_patch:
            specs.append({"type": "apply_patch"})
        return specs
    _check_api(api)
    functions = [*tools, APPLY_PATCH_FUNCTION] if apply_patch else list(tools)
    return [
        {"type": "function",
         "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}
        for t in functions
    ]


def transcript_input(api: Api | str, items: Sequence[TranscriptItem],
                     model: str | None = None) -> list[dict[str, Any]]:
    """The transcript as Responses ``input`` items or Chat Completions ``messages`` (without
    the system message: the gateway puts ``instructions`` first), for a request to ``model``
    (Responses: the reasoning items of that model only; None: of any model)."""
    if api == "responses":
        return _responses_input(items, model)
    _check_api(api)
    return _chat_messages(items)


def envelope(ops: Sequence[PatchOperation]) -> str:
    """apply_patch operations as one ``*** Begin Patch`` envelope (what Chat's function takes)."""
    lines = ["*** Begin Patch"]
    for op in ops:
        if op.type == "delete_file":
            lines.append(f"*** Delete File: {op.path}")
            continue
        lines.append(f"*** {'Add' if op.type == 'create_file' else 'Update'} File: {op.path}")
        if op.diff:
            lines.append(op.diff[:-1] if op.diff.endswith("\n") else op.diff)
    lines.append("*** End Patch")
    return "\n".join(lines) + "\n"


def _check_api(api: str) -> None:
    if api != "chat":
        raise ValueError(f"unknown API {api!r}: 'responses' or 'chat'")


def _responses_input(items: Sequence[TranscriptItem], model: str | None) -> list[dict[str, Any]]:
    patch_calls: set[str] = set()
    out: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, UserText):
            out.append({"role": "user", "content": item.text})
        elif isinstance(item, AssistantText):
            out.append({"role": "assistant", "content": item.text})
        elif isinstance(item, Reasoning):
            # (without its encrypted content a store: false request cannot use it)
            if item.encrypted_content and (model is None or item.model in ("", model)):
                out.append({"type": "reasoning",
                            "summary": [{"type": "summary_text", "text": t} for t in item.summary],
                            "encrypted_content": item.encrypted_content})
        elif isinstance(item, Called):
            call = item.call
            if isinstance(call, PatchOperation):
                patch_calls.add(call.call_id)
                operation: dict[str, Any] = {"type": call.type, "path": call.path}
                if call.type != "delete_file":
                    operation["diff"] = call.diff
                out.append({"type": "apply_patch_call", "call_id": call.call_id,
                            "status": "completed", "operation": operation})
            else:
                out.append({"type": "function_call", "call_id": call.call_id,
                            "name": call.name, "arguments": call.arguments})
        elif item.call_id in patch_calls:
            out.append({"type": "apply_patch_call_output", "call_id": item.call_id,
                        "status": "completed" if item.ok else "failed", "output": item.output})
        else:
            out.append({"type": "function_call_output", "call_id": item.call_id, "output": item.output})
    return out


def _chat_messages(items: Sequence[TranscriptItem]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    # The assistant message of the turn being read: its text and calls form one message.
    turn: dict[str, Any] | None = None
    for item in items:
        if isinstance(item, Reasoning):
            continue  # Chat Completions has no reasoning items
        if isinstance(item, AssistantText):
            if turn is None:
                turn = {"role": "assistant", "content": item.text}
                out.append(turn)
            else:
                turn["content"] = (turn.get("content") or "") + item.text
            continue
        if isinstance(item, Called):
            if turn is None:
                turn = {"role": "assistant"}
                out.append(turn)
            turn.setdefault("tool_calls", []).append(_chat_call(item.call))
            continue
        turn = None
        if isinstance(item, UserText):
            out.append({"role": "user", "content": item.text})
        else:
            out.append({"role": "tool", "tool_call_id": item.call_id, "content": item.output})
    return out


def _chat_call(call: ToolCall | PatchOperation) -> dict[str, Any]:
    if isinstance(call, PatchOperation):
        name, arguments = APPLY_PATCH, json.dumps({"input": envelope([call])})
    else:
        name, arguments = call.name, call.arguments
    return {"id": call.call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
