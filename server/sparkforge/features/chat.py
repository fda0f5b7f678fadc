"""sparkforge/chat: a conversation with either model; sparkforge/chatApply: fast apply.

``sparkforge/chat`` streams the answer as ``sparkforge/chatDelta`` notifications and returns
the whole text; ``$/cancelRequest`` stops it and closes the model stream. The user can switch
models mid-conversation: the conversation is kept here and sent to whichever model is asked.
``sparkforge/chatApply`` turns a code block from an answer into a versioned WorkspaceEdit
plus a unified diff for the client to show before applying.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING, Any

from sparkforge.errors import RequestFailed
from sparkforge.conversation import (
    APPLY_INSTRUCTIONS,
    CHAT_INSTRUCTIONS,
    ContextPiece,
    ConversationStore,
    Turn,
    apply_prompt,
    is_unified_diff,
    merge_problem,
    merged_text,
    seeded_turns,
    strip_fence,
    user_turn,
)
from sparkforge.features.params import Params, shown
from sparkforge.workspace_edit import workspace_edit
from sparkforge.deep.failures import model_failure
from sparkforge.deep.flow import ActionError
from sparkforge.edits import EditPlan, render_diff, FileEdit, PatchApplier, PatchError, SourceText, parse_patches, whole_text_change
from sparkforge.models.events import TextDelta, Usage
from sparkforge.models.errors import ModelError
from sparkforge.models.gateway import request_cost
from sparkforge.models.tokens import OverBudget, count_tokens, request_budget, within_budget
from sparkforge.privacy import Redaction, stray_markers

if TYPE_CHECKING:
    from sparkforge.server import SparkforgeServer

CHAT = "sparkforge/chat"
CHAT_DELTA = "sparkforge/chatDelta"
CHAT_RESET = "sparkforge/chatReset"
CHAT_APPLY = "sparkforge/chatApply"
DELTA_INTERVAL_S = 0.02  # batch deltas: a 1,000 tok/s model would otherwise send 1,000 messages/s
CONTEXT_TOKENS = 12000
HISTORY_TOKENS = 24000
BY_HAND = "Try again, or copy the code in by hand"
NOT_APPLIED = (
    "Nothing was applied: ask for the change as a unified diff (applied without a model), "
    "or copy the code in by hand"
)
ROLES = ("fast", "deep")
CHAT_SHAPE = (
    "{conversationId: string, message: string, requestId?: string, role?: 'fast'|'deep', "
    "context?: {uri?: string, selection?: Range, includeFile?: boolean, files?: string[]}, "
    "history?: {role: 'user'|'assistant', text: string, model?: string}[]}"
)
APPLY_SHAPE = "{uri: string, code: string, version?: integer, role?: 'fast'|'deep'}"


def setup(server: "SparkforgeServer") -> None:
    store = ConversationStore()

    def context_pieces(p: Params) -> tuple[list[ContextPiece], list[str]]:
        pieces: list[ContextPiece] = []
        withheld: list[str] = []
        p.object("context", required=False)
        uri = p.str("context", "uri", required=False)
        selection = p.range("context", "selection", required=False)
        include_file = p.bool("context", "includeFile", required=False)
        files = p.list("context", "files", required=False) or []
        for i, rel in enumerate(files):
            if not isinstance(rel, str):
                raise p.error(f"context.files[{i}] must be a workspace-relative path, not {shown(rel)}")
        if uri is not None:
            doc = server.document(uri)
            name = server.relative_path(uri)
            if (reason := server.exclusion_reason(uri)) is not None:
                withheld.append(reason)
            else:
                if selection is not None:
                    start, end = selection.start, selection.end
                    a, b = server.offset(doc, start), server.offset(doc, end)
                    if b > a:
                        pieces.append(ContextPiece(f"Selection in {name}, lines {start.line + 1}-{end.line + 1}", doc.source[a:b], doc.language_id or ""))
                if include_file:
                    pieces.append(ContextPiece(f"The file {name}", doc.source, doc.language_id or ""))
        elif selection is not None or include_file:
            raise p.error("context.selection and context.includeFile need context.uri")
        for rel in files:
            if server.root is None:
                continue
            path = (server.root / rel).resolve()
            if server.root not in path.parents:
                withheld.append(f"{rel} is outside the workspace")
                continue
            if (reason := server.exclusions.reason(path)) is not None:
                withheld.append(reason)
                continue
            open_doc = server.workspace.text_documents.get(path.as_uri())
            try:
                text = open_doc.source if open_doc else path.read_text(encoding="utf-8")
            except OSError as exc:
                withheld.append(f"{rel}: {exc.strerror}")
                continue
            pieces.append(ContextPiece(f"The file {rel}", text))
        return pieces, withheld

    @server.feature(CHAT)
    async def chat(ls: "SparkforgeServer", params: Any) -> dict[str, Any]:
        p = Params(CHAT, params, CHAT_SHAPE)
        conversation_id = p.str("conversationId")
        message = p.str("message")
        role = p.one_of("role", choices=ROLES, default="deep")
        request_id = p.str("requestId", required=False)
        history = _history(p)
        limits = ls.settings.chat
        try:
            within_budget(message, limits.message_tokens, what="sparkforge: the message",
                          setting="sparkforge.chat.messageTokens",
                          advice="shorten it, or attach the file as context instead of pasting it")
        except OverBudget as exc:
            raise RequestFailed(exc.message) from None
        pieces, withheld = context_pieces(p)
        # After a restart the client's copy of the conversation is the only one left.
        seed = None if conversation_id in store else seeded_turns(history, limits.message_tokens, HISTORY_TOKENS, store.redaction)
        conv = store.get(conversation_id, seed)
        question = Turn("user", user_turn(message, pieces, CONTEXT_TOKENS, store.redaction))
        conv.turns.append(question)
        cfg = ls.settings.role(role)
        messages = conv.messages(HISTORY_TOKENS)
        try:
            request_budget(role, cfg.max_input_tokens, CHAT_INSTRUCTIONS, messages,
                           advice="nothing was sent; attach less context, start a new chat, or raise the setting")
        except OverBudget as exc:
            conv.turns.remove(question)
            raise RequestFailed(f"sparkforge: {exc.message}") from None
        text: list[str] = []
        pending: list[str] = []
        last_flush = time.perf_counter()
        usage: Usage | None = None

        def flush() -> None:
            nonlocal last_flush
            if pending:
                ls.protocol.notify(
                    CHAT_DELTA,
                    {"conversationId": conversation_id, "requestId": request_id, "delta": "".join(pending)},
                )
                pending.clear()
            last_flush = time.perf_counter()

        stream = ls.gateway.stream(role, instructions=CHAT_INSTRUCTIONS, input=messages)
        try:
            async with contextlib.aclosing(stream):
                async for event in stream:
                    if isinstance(event, TextDelta):
                        text.append(event.text)
                        pending.append(event.text)
                        if time.perf_counter() - last_flush >= DELTA_INTERVAL_S:
                            flush()
                    elif isinstance(event, Usage):
                        usage = event
        except asyncio.CancelledError:
            if text:  # keep what the user saw, so the conversation reads as it happened
                conv.turns.append(Turn("assistant", "".join(text) + "\n\n(stopped)", cfg.model))
            raise
        except ModelError as exc:
            if question in conv.turns:  # not answered: asking again starts clean
                conv.turns.remove(question)
            other = "fast" if role == "deep" else "deep"
            ls.send_status()  # the status bar shows the model's last error
            raise RequestFailed(
                f"sparkforge: chat with {cfg.model} failed: {model_failure(exc, cfg.model)}. "
                f"Or switch this chat to the {other} model ({ls.settings.role(other).model})"
            ) from None
        flush()
        answer = "".join(text)
        model = ls.gateway.serving_model(role) or cfg.model  # a fallback, where the key may not use cfg.model
        conv.turns.append(Turn("assistant", answer, model))
        ls.send_status()
        return {
            "conversationId": conversation_id,
            "requestId": request_id,
            "text": answer,
            "role": role,
            "model": model,
            "withheld": withheld,
            "usage": {
                "inputTokens": usage.input_tokens if usage else None,
                "cachedInputTokens": usage.cached_tokens if usage else None,
                "costUsd": request_cost(cfg.model, usage) if usage else None,
                "outputTokens": usage.output_tokens if usage else None,
            },
        }

    @server.feature(CHAT_RESET)
    def chat_reset(ls: "SparkforgeServer", params: Any) -> None:
        store.reset(Params(CHAT_RESET, params, "{conversationId: string}").str("conversationId"))

    @server.feature(CHAT_APPLY)
    async def chat_apply(ls: "SparkforgeServer", params: Any) -> dict[str, Any]:
        p = Params(CHAT_APPLY, params, APPLY_SHAPE)
        uri = p.str("uri")
        code = p.str("code")
        version = p.int("version", required=False)
        role = p.one_of("role", choices=ROLES, default="fast")  # deep: the retry when the fast model's merge is refused
        doc = ls.document(uri)
        if version is not None and doc.version is not None and version != doc.version:
            raise RequestFailed(
                f"sparkforge: the document changed (version {doc.version}, the answer saw {version}); "
                "nothing was applied"
            )
        # The policy code actions follow: never an excluded file, never outside the workspace.
        if (reason := ls.exclusion_reason(uri)) is not None:
            raise RequestFailed(f"sparkforge: refused: {reason}; nothing was applied")
        root = ls.root
        path = ls.path_of(uri)
        if root is None or path is None or not path.resolve().is_relative_to(root):
            raise RequestFailed(
                "sparkforge: refused: applying code from chat needs the file inside an open "
                "workspace folder (edits are confined to it); open the project's folder, or copy "
                "the code in by hand"
            )
        rel = ls.relative_path(uri)
        original = doc.source
        snapshot = SourceText(original, doc.version)
        # The answer's markers stand for secrets chat redacted: those of this file go back in.
        code = store.redaction.restore(strip_fence(code), within=original)
        if is_unified_diff(code):
            applier = PatchApplier(root, lambda p: snapshot if p == rel else _read(ls, p))
            try:
                patches = parse_patches(code)
                plan = applier.plan(patches)
            except PatchError as exc:
                raise RequestFailed(f"sparkforge: {_nothing_applied(exc.message)}") from None
            for fe in plan.files:
                if (reason := ls.exclusion_reason((root / fe.path).as_uri())) is not None:
                    raise RequestFailed(
                        f"sparkforge: refused: the diff edits {fe.path}, and {reason}; nothing was applied"
                    )
        else:
            cfg = ls.settings.role(role)
            model = cfg.model
            limit = ls.settings.chat.apply_tokens
            try:
                # The file, the code block, then the whole request: all before anything is sent.
                within_budget(original, limit, what=rel, setting="sparkforge.chat.applyTokens",
                              advice=f"too large for {model} to rewrite with the code merged in. {NOT_APPLIED}")
                within_budget(code, limit, what="the code block", setting="sparkforge.chat.applyTokens",
                              advice=f"too large to merge with {model}. {NOT_APPLIED}")
                merge = Redaction()  # the file and the block share markers, which the merge copies
                merge_input = apply_prompt(rel, merge(original), merge(code))
                request_budget(role, cfg.max_input_tokens, APPLY_INSTRUCTIONS, merge_input, advice=NOT_APPLIED)
            except OverBudget as exc:
                raise RequestFailed(f"sparkforge: {exc.message}") from None
            try:
                answer = await ls.gateway.complete(
                    role,
                    instructions=APPLY_INSTRUCTIONS,
                    input=merge_input,
                    max_output_tokens=count_tokens(original) * 2 + 1024,
                )
            except ModelError as exc:
                raise RequestFailed(
                    f"sparkforge: applying the code with {model} failed, nothing was applied: "
                    f"{model_failure(exc, model)}"
                ) from None
            if answer.finish == "length":
                raise RequestFailed(
                    f"sparkforge: {model} stopped at its output limit before the end of {rel}; "
                    f"nothing was applied. {BY_HAND}"
                )
            updated = merged_text(merge.restore(answer.text), original)
            if (problem := merge_problem(original, code, updated)) is not None:
                raise RequestFailed(
                    f"sparkforge: {model}'s merge of the code into {rel} looks wrong ({problem}); "
                    f"nothing was applied. {BY_HAND}"
                )
            if updated == original:
                raise RequestFailed("sparkforge: the code block changes nothing in this file")
            change = whole_text_change(original, updated)
            plan = EditPlan([FileEdit(rel, "update", [change], updated, base_version=doc.version)])
        for fe in plan.files:
            if stray := stray_markers(fe.new_text, original):
                raise RequestFailed(
                    f"sparkforge: the code holds {stray[0]}, a secret that sparkforge cannot put back "
                    f"into {fe.path}; nothing was applied. Copy the code in by hand and fill in the secret"
                )
        sources = {fe.path: (snapshot if fe.path == rel else _read(ls, fe.path) or SourceText("")) for fe in plan.files}
        try:
            edit = workspace_edit(
                plan,
                sources,
                uri_for=lambda p: uri if p == rel else (root / p).as_uri(),
                current=lambda p: SourceText(ls.document(uri).source, ls.document(uri).version) if p == rel else _read(ls, p),
                label="Apply code from chat",
                description=rel,
                support=ls.edit_support,
            )
        except ActionError as exc:
            raise RequestFailed(f"sparkforge: {exc.message}") from None
        return {"edit": ls.protocol._converter.unstructure(edit), "diff": render_diff(plan, sources)}


def _history(p: Params) -> list[tuple[str, str, str | None]]:
    out: list[tuple[str, str, str | None]] = []
    for i, entry in enumerate(p.list("history", required=False) or []):
        e = p.entry(entry, f"history[{i}]")
        out.append((e.one_of("role", choices=("user", "assistant")), e.str("text"), e.str("model", required=False)))
    return out


def _nothing_applied(message: str) -> str:
    message = message.rstrip(" .;")
    return message if message.endswith("nothing was applied") else f"{message}; nothing was applied"


def _read(ls: "SparkforgeServer", rel: str) -> SourceText | None:
    if ls.root is None:
        return None
    path = ls.root / rel
    doc = ls.workspace.text_documents.get(path.as_uri())
    if doc is not None:
        return SourceText(doc.source, doc.version)
    try:
        return SourceText(path.read_text(encoding="utf-8"), None)
    except OSError:
        return None
