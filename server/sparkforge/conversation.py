"""Chat conversations and fast apply, without LSP: prompts, history, merging a code block.

A conversation is a list of turns that either model can continue: switching from deep to
fast mid-conversation sends the same history to the other model. Context the editor names
(the selection, the file, other files) is attached to the user's turn as text, redacted,
within a token budget; excluded files never get here.

Fast apply merges a code block from an answer into a file: a unified diff is applied as a
patch (no model call); anything else goes to the fast model, which rewrites the file with
the block merged in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from sparkforge.models.tokens import count_tokens, truncate_head
from sparkforge.privacy import Redaction

CHAT_INSTRUCTIONS = """\
You are sparkforge, a pair programmer inside the user's code editor.
Answer the question about the user's code directly and concisely. When you propose code, put \
each change in a fenced code block with its language, and name the file on the line before \
the block (for example `src/app.py:`). Show only the code that changes, with enough of the \
surrounding lines to place it; mark omitted code with a comment such as `# ... existing code ...`."""

APPLY_INSTRUCTIONS = """\
You merge a code change into a file. You are given the file and a code block from a chat \
answer that changes it; the block may omit unchanged code with comments like \
"... existing code ...". Answer with the complete updated file and nothing else: no \
explanation, no markdown fence. Keep every line the change does not touch exactly as it is."""

APPLY_START = "<|updated_file|>"

Role = Literal["fast", "deep"]


@dataclass
class Turn:
    role: Literal["user", "assistant"]
    content: str
    model: str | None = None


@dataclass
class Conversation:
    id: str
    turns: list[Turn] = field(default_factory=list)

    def messages(self, max_tokens: int) -> list[dict[str, Any]]:
        """The turns as Responses/Chat messages, the oldest dropped first to fit."""
        out: list[dict[str, Any]] = []
        used = 0
        for turn in reversed(self.turns):
            cost = count_tokens(turn.content)
            if out and used + cost > max_tokens:
                break
            out.append({"role": turn.role, "content": turn.content})
            used += cost
        return list(reversed(out))


def seeded_turns(
    history: list[tuple[str, str, str | None]], per_message: int, budget: int, redaction: Redaction | None = None
) -> list[Turn]:
    """Turns from the client's copy of a conversation this server does not know (it restarted).

    ``history`` is (role, text, model), oldest first. Each text is redacted (with chat's
    ``redaction``) and cut to ``per_message`` tokens; the newest turns that fit in ``budget``
    are kept, so a long history costs no more than the prompt can hold.
    """
    redact = redaction or Redaction()
    turns: list[Turn] = []
    used = 0
    for role, text, model in reversed(history):
        body = redact(truncate_head(text, per_message) if len(text) > per_message else text)
        cost = count_tokens(body)
        if turns and used + cost > budget:
            break
        turns.append(Turn("user" if role == "user" else "assistant", body, model))
        used += cost
    return list(reversed(turns))


class ConversationStore:
    def __init__(self, limit: int = 50) -> None:
        self.limit = limit
        self._items: dict[str, Conversation] = {}
        # One numbering for all of chat: a secret has the same marker in every turn, and
        # chatApply can put back the secrets behind the markers of an answer's code.
        self.redaction = Redaction()

    def __contains__(self, conversation_id: str) -> bool:
        return conversation_id in self._items

    def get(self, conversation_id: str, seed: list[Turn] | None = None) -> Conversation:
        """The conversation; an unknown one starts from ``seed`` (the client's history)."""
        conv = self._items.pop(conversation_id, None) or Conversation(conversation_id, list(seed or []))
        self._items[conversation_id] = conv  # most recently used last
        while len(self._items) > self.limit:
            self._items.pop(next(iter(self._items)))
        return conv

    def reset(self, conversation_id: str) -> None:
        self._items.pop(conversation_id, None)


@dataclass
class ContextPiece:
    title: str  # e.g. "selection in src/app.py, lines 3-9"
    text: str
    language: str = ""


def user_turn(message: str, context: list[ContextPiece], budget: int, redaction: Redaction | None = None) -> str:
    """The user's message with the editor's context, each piece redacted (with chat's
    ``redaction``) and within budget."""
    redact = redaction or Redaction()
    parts: list[str] = []
    left = budget - count_tokens(message)
    for piece in context:
        if left <= 50:
            break
        body = truncate_head(redact(piece.text), left - 20)
        block = f"{piece.title}:\n```{piece.language}\n{body.rstrip()}\n```\n"
        parts.append(block)
        left -= count_tokens(block)
    parts.append(redact(message))
    return "\n".join(parts)


_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```\s*$", re.S | re.M)


def strip_fence(text: str) -> str:
    """The body of a fenced block if the whole answer is one, else the text."""
    stripped = text.strip("\n")
    match = _FENCE.fullmatch(stripped + "\n") or _FENCE.fullmatch(stripped)
    return match.group(1) if match else text


def is_unified_diff(code: str) -> bool:
    return bool(re.search(r"^@@ .* @@", code, re.M)) and bool(re.search(r"^(---|\+\+\+) ", code, re.M))


def apply_prompt(path: str, text: str, code: str) -> str:
    return (
        f"File {path}:\n{APPLY_START}\n{text}\n{APPLY_START}\n\n"
        f"Code block to merge into it:\n```\n{code}\n```\n"
    )


def merged_text(answer: str, original: str) -> str:
    """The updated file from the fast model's answer, with the original's line endings."""
    body = answer
    if APPLY_START in body:
        parts = body.split(APPLY_START)
        body = max(parts, key=len).strip("\n") + "\n"
    body = strip_fence(body)
    body = _drop_preamble(body, original)
    if "\r\n" in original:
        body = body.replace("\r\n", "\n").replace("\n", "\r\n")
    if original.endswith(("\n", "\r\n")) is False and body.endswith("\n"):
        body = body.rstrip("\r\n")
    elif original.endswith("\n") and not body.endswith("\n"):
        body += "\r\n" if original.endswith("\r\n") else "\n"
    return body


def _drop_preamble(body: str, original: str) -> str:
    """Drop a chatty first line ("Here is the updated file:") that is not the file's own."""
    first, sep, rest = body.partition("\n")
    known = {line.strip() for line in original.splitlines()}
    if sep and first.strip().endswith(":") and first.strip() not in known and " " in first.strip():
        return strip_fence(rest.lstrip("\n"))
    return body


# "# ... existing code ...", "// rest of the file unchanged", "<!-- ... -->": a lazy merge
# that left one in would delete the code it stands for.
_PLACEHOLDER = re.compile(
    r"^\s*(?:#|//|/\*|<!--|--|;)?\s*(?:\.\.\.|…)\s*(?:\(?\s*)?(?:existing|rest of|unchanged|remaining|other)\b",
    re.I,
)


def merge_problem(original: str, code: str, updated: str) -> str | None:
    """Why ``updated`` does not look like ``code`` merged into ``original``; None if it does.

    A fast model asked to merge sometimes apologises instead, answers nothing, keeps the
    block's "... existing code ..." placeholders (deleting that code), or drops the block.
    Lines are compared stripped, so re-indenting is fine.
    """
    if not updated.strip():
        return "the answer is empty"
    before = {line.strip() for line in original.splitlines()}
    for line in updated.splitlines():
        if _PLACEHOLDER.match(line) and line.strip() not in before:
            return f'it keeps the placeholder "{line.strip()}", which would delete code'
    after = {line.strip() for line in updated.splitlines()}
    wanted = [
        line.strip() for line in code.splitlines()
        if line.strip() and not _PLACEHOLDER.match(line) and not line.strip().startswith("```")
    ]
    if wanted and sum(line in after for line in wanted) * 2 < len(wanted):
        return "most of the code block is not in it"
    known = before | {line.strip() for line in code.splitlines()}
    lines = [line.strip() for line in updated.splitlines() if line.strip()]
    strangers = sum(line not in known for line in lines)
    if strangers > max(5, len(lines) * 3 // 10):
        return f"{strangers} of its {len(lines)} lines are in neither the file nor the code block"
    return None

