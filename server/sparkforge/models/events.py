"""The one event type both model APIs stream into (Responses and Chat Completions)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Union


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of the answer's text."""

    text: str


@dataclass(frozen=True, slots=True)
class PatchOperation:
    """One apply_patch operation (Responses API tool call): a V4A diff for one file."""

    type: Literal["create_file", "update_file", "delete_file"]
    path: str
    diff: str = ""
    call_id: str = ""


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A function tool call the model made (Responses ``function_call`` item, Chat
    Completions ``tool_calls`` entry), complete."""

    call_id: str
    name: str
    arguments: str
    """JSON text as the model wrote it: it may be invalid (the caller answers with a tool error)."""


@dataclass(frozen=True, slots=True)
class ReasoningSummary:
    """One part of the summary of the model's reasoning, whole (Responses API, to a caller that
    asked for reasoning: ``ModelGateway.stream(reasoning=True)``)."""

    text: str


@dataclass(frozen=True, slots=True)
class Reasoning:
    """A ``reasoning`` output item, complete (Responses API, to a caller that asked for
    reasoning): also an item of a tool conversation's transcript. Requests store nothing
    server-side, so the model's reasoning reaches its next turn only if this item goes back in
    that turn's input, before the calls it preceded, ``encrypted_content`` exactly as received."""

    id: str
    encrypted_content: str | None
    summary: tuple[str, ...] = ()
    """The summary's parts, as texts."""
    model: str = ""
    """The model that reasoned (the gateway says which): only it can read the encrypted
    content, so the item goes back to that model only."""


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens the request used, as the API reported them. ``cached_tokens`` is the part of
    ``input_tokens`` read from the API's prompt cache (billed at the cached price)."""

    input_tokens: int
    output_tokens: int
    cached_tokens: int = 0


@dataclass(frozen=True, slots=True)
class Finish:
    """The stream ended; ``reason`` is "stop", "length", "tool_calls" or "content_filter"."""

    reason: str


ModelEvent = Union[TextDelta, PatchOperation, ToolCall, ReasoningSummary, Reasoning, Usage, Finish]
