"""``codeAction/resolve`` and ``sparkforge.runAction``: run an action's model, return its edit.

The routed model runs under server-initiated work-done progress ("sparkforge: Document with
gpt-5.3-codex", streamed token counts) that the user can cancel: the progress token's cancel
and ``$/cancelRequest`` both cancel the handler's task, which closes the model's HTTP stream.
Failures are LSP errors (RequestFailed) whose message says what to do; nothing is ever
partly applied. ``sparkforge.runAction`` does the same for clients that cannot resolve
``edit``, then applies with ``workspace/applyEdit`` and reports through ``window/showMessage``;
for Explain (every client) it shows the model's explanation: as a Markdown file under the
user's cache opened with ``window/showDocument`` when the client supports it, else with
``window/showMessageRequest`` (or ``window/showMessage`` for clients that announce neither).
"""

from __future__ import annotations

import asyncio
import os
import re
import time
import traceback
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.capabilities import get_capability
from pygls.exceptions import JsonRpcException

from sparkforge.deep.flow import ActionError, ActionRequest, ActionResult, ActionRun
from sparkforge.deep.prompt import ACTION_VERBS, Diagnostic
from sparkforge.deep.targets import Target
from sparkforge.features.actions.listing import RUN_ACTION
from sparkforge.edits import EditPlan, SourceText
from sparkforge.errors import ContentModified, InvalidParams, RequestFailed
from sparkforge.features.params import Params, get, is_object, plain, shown
from sparkforge.workspace_edit import workspace_edit
from sparkforge.textpos import PositionError

if TYPE_CHECKING:
    from sparkforge.features.actions import ActionsFeature

REPORT_EVERY_S = 0.1
PROGRESS_CREATE_TIMEOUT_S = 2.0
KEEP_EXPLANATIONS = 50
SEVERITIES = {1: "error", 2: "warning", 3: "information", 4: "hint"}


DATA_SHAPE = (
    "data: {kind: 'refactor'|'tests'|'document'|'fix'|'explain', uri: string, range: Range, "
    "version: integer | null, target?: 'selection'|'function'|'class', name?: string, "
    "instruction?: string, diagnostic?: Diagnostic}"
)


def _diagnostic(raw: Any) -> Diagnostic | None:
    raw = plain(raw)
    if not isinstance(raw, dict) or not isinstance(raw.get("message"), str):
        return None
    rng = raw.get("range")
    start = rng.get("start") if isinstance(rng, dict) else None
    line = start.get("line") if isinstance(start, dict) else 0
    severity = raw.get("severity")
    code = raw.get("code")
    return Diagnostic(
        message=raw["message"],
        line=line if isinstance(line, int) and line >= 0 else 0,
        severity=SEVERITIES.get(severity, "error") if isinstance(severity, int) else "error",
        source=raw.get("source"),
        code=None if code is None else str(code),
    )


@dataclass(frozen=True)
class ActionData:
    """A code action's ``data``, checked field by field."""

    kind: str
    uri: str
    range: types.Range
    version: int | None
    target: str
    name: str | None
    instruction: str | None
    diagnostic: Diagnostic | None


def read_data(method: str, data: Any) -> ActionData:
    """A code action's ``data``; InvalidParams if it is not one of ours, or a field is missing
    or mistyped (a version that is not an integer included: it is no version at all)."""
    if not is_object(data) or get(data, "kind") not in ACTION_VERBS:
        raise InvalidParams(
            f"{method}: this is not a sparkforge code action: data.kind must be one of "
            f"{', '.join(ACTION_VERBS)}, not {shown(get(data, 'kind') if is_object(data) else data)}; "
            f"expected {DATA_SHAPE}"
        )
    p = Params(method, data, DATA_SHAPE, "data.")
    uri = p.str("uri")
    rng = p.range("range")
    assert rng is not None
    return ActionData(
        kind=p.one_of("kind", choices=tuple(ACTION_VERBS)),
        uri=uri,
        range=rng,
        version=p.int("version", required=False),
        target=p.one_of("target", choices=("selection", "function", "class"), default="selection"),
        name=p.str("name", required=False),
        instruction=p.str("instruction", required=False),
        diagnostic=_diagnostic(p.object("diagnostic", required=False)),
    )


def prepare_run(feature: "ActionsFeature", data: ActionData) -> tuple[ActionRun, dict[str, str]]:
    """An ActionRun for a code action's (checked) ``data``, on snapshots of the open documents."""
    ls = feature.server
    kind, uri, version = data.kind, data.uri, data.version
    doc = ls.document(uri)
    if (reason := ls.exclusion_reason(uri)) is not None:
        raise RequestFailed(f"sparkforge: refused: {reason}")
    if version is not None and doc.version is not None and version != doc.version:
        raise ContentModified(
            f"sparkforge: {uri} changed since the action was offered (version {version}, now "
            f"{doc.version}); pick the action again"
        )
    located = feature.locate(uri)
    if located is None:
        raise RequestFailed(f"sparkforge: {uri} is not a file on disk; save it first")
    root, rel = located
    rng = data.range
    (sl, sc), (el, ec) = (rng.start.line, rng.start.character), (rng.end.line, rng.end.character)
    index = ls.lines(doc)
    try:
        start = (sl, index.column(sl, sc))
        end = (el, index.column(el, ec))
    except PositionError as exc:
        raise InvalidParams(f"{uri}: data.range: {exc}") from None
    target = Target(data.target, *start, *end, name=data.name)
    workspace, uris = feature.workspace(root)
    request = ActionRequest(kind, rel, doc.language_id or "", target, data.instruction, data.diagnostic)
    try:
        run = ActionRun(ls.gateway, ls.settings, request, workspace)
        run.prepare()
    except ActionError as exc:
        raise RequestFailed(f"sparkforge: {exc.message}") from None
    except Exception as exc:
        raise unexpected(feature, ACTION_VERBS[kind], exc) from None
    if run.tests is not None and not run.tests.exists and not ls.edit_support.create:
        # Asked before the model runs: the answer would be a new file this editor cannot make.
        raise RequestFailed(
            f"sparkforge: Generate tests writes {run.tests.path}, and this editor cannot create "
            f"files through the language server. Create {run.tests.path} (it may be empty), "
            "then run Generate tests again: it will add the tests to that file"
        )
    return run, uris


async def run_with_progress(feature: "ActionsFeature", run: ActionRun) -> ActionResult:
    """``run.run()`` under work-done progress; cancelling the progress cancels the run."""
    ls = feature.server
    progress = ls.work_done_progress
    token: str | None = None
    if feature.supports_progress():
        token = f"sparkforge-action-{uuid.uuid4().hex}"
        try:
            await asyncio.wait_for(progress.create_async(token), PROGRESS_CREATE_TIMEOUT_S)
        except Exception:  # a client that cannot show progress still gets its edit
            progress.tokens.pop(token, None)
            token = None
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    ending = "cancelled"
    if token is not None:
        progress.begin(token, types.WorkDoneProgressBegin(
            title=run.title, cancellable=True, message=f"waiting for {run.model}…",
        ))
        cancel_future = progress.tokens.get(token)
        if cancel_future is not None and task is not None:
            # window/workDoneProgress/cancel cancels this future; that cancels the request's task.
            cancel_future.add_done_callback(
                lambda f: loop.call_soon_threadsafe(task.cancel) if f.cancelled() else None
            )
    last_report = 0.0

    def on_tokens(count: int) -> None:
        nonlocal last_report
        now = time.monotonic()
        if token is not None and now - last_report >= REPORT_EVERY_S:
            last_report = now
            progress.report(token, types.WorkDoneProgressReport(message=f"{count} tokens from {run.model}"))

    try:
        result = await run.run(on_tokens)
        ending = f"{result.output_tokens} tokens from {run.model}"
        return result
    except ActionError as exc:
        ending = "failed"
        raise RequestFailed(f"sparkforge: {exc.message}") from None
    except Exception as exc:  # a bug of ours: still a clear answer, never a half-done edit
        ending = "failed"
        raise unexpected(feature, run.verb, exc) from None
    finally:
        if token is not None:
            progress.tokens.pop(token, None)
            progress.end(token, types.WorkDoneProgressEnd(message=ending))
        if ending == "failed":
            ls.send_status()  # the status bar shows the model's last error


def build_edit(feature: "ActionsFeature", run: ActionRun, result: ActionResult, uris: dict[str, str]) -> types.WorkspaceEdit:
    ls = feature.server
    root = run.workspace.root

    def uri_for(rel: str) -> str:
        return uris.get(rel) or (root / rel).as_uri()

    def current(rel: str) -> SourceText | None:
        doc = ls.workspace.text_documents.get(uri_for(rel))
        if doc is not None:
            return SourceText(doc.source, doc.version)
        from sparkforge.deep.flow import read_disk

        try:
            return read_disk(root, rel)
        except OSError:
            return None

    assert result.plan is not None
    try:
        return workspace_edit(
            result.plan,
            result.sources,
            uri_for=uri_for,
            current=current,
            label=f"sparkforge: {run.verb}",
            description=f"proposed by {run.model}; review before applying",
            confirm=wants_preview(feature.server.settings.actions.preview, result.plan),
            support=ls.edit_support,
        )
    except ActionError as exc:
        raise RequestFailed(f"sparkforge: {exc.message}") from None
    except Exception as exc:
        raise unexpected(feature, run.verb, exc) from None


def wants_preview(preview: str, plan: EditPlan) -> bool:
    """``sparkforge.actions.preview``: whether this edit asks the editor to confirm it first."""
    if preview == "always":
        return True
    if preview == "multiFile":
        return len(plan.files) > 1 or any(fe.kind != "update" for fe in plan.files)
    return False


def stale_documents(feature: "ActionsFeature", edit: types.WorkspaceEdit) -> list[str]:
    """The files whose versioned edits no longer match the open document's version."""
    stale = []
    for change in edit.document_changes or ():
        if not isinstance(change, types.TextDocumentEdit) or change.text_document.version is None:
            continue
        doc = feature.server.workspace.text_documents.get(change.text_document.uri)
        if doc is None or doc.version != change.text_document.version:
            stale.append(feature.relative(change.text_document.uri) or change.text_document.uri)
    return stale


def unexpected(feature: "ActionsFeature", verb: str, exc: Exception) -> RequestFailed:
    """A failure sparkforge did not foresee: logged with its traceback, answered plainly."""
    detail = "".join(traceback.format_exception(exc))
    feature.server.log(f"{verb} failed unexpectedly:\n{detail}", types.MessageType.Error)
    return RequestFailed(
        f"sparkforge: {verb} failed unexpectedly ({type(exc).__name__}: {exc}); nothing was applied. "
        "This is a sparkforge bug: please report it with the server log"
    )


async def resolve(feature: "ActionsFeature", action: types.CodeAction) -> types.CodeAction:
    data = read_data("codeAction/resolve", action.data)
    if data.kind == "explain":
        return action  # a command, run with sparkforge.runAction: nothing to compute
    run, uris = prepare_run(feature, data)
    result = await run_with_progress(feature, run)
    action.edit = build_edit(feature, run, result, uris)
    feature.server.send_status()  # the session's tokens and cost moved
    return action


def explanations_dir() -> Path:
    """Where explanations are written: the user's cache, never the workspace."""
    base = os.environ.get("XDG_CACHE_HOME") or os.environ.get("LOCALAPPDATA") or str(Path.home() / ".cache")
    return Path(base) / "sparkforge" / "explanations"


def write_explanation(run: ActionRun, text: str) -> Path:
    req = run.request
    name = req.target.name or f"lines {req.target.start_line + 1}-{req.target.end_line + 1}"
    folder = explanations_dir()
    folder.mkdir(parents=True, exist_ok=True)
    for old in sorted(folder.glob("*.md"))[:-(KEEP_EXPLANATIONS - 1)]:
        old.unlink(missing_ok=True)  # keep the folder small: the oldest go first
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{PurePosixPath(req.path).stem}-{name}").strip("-")
    path = folder / f"{time.strftime('%Y%m%d-%H%M%S')}-{stem[:60]}.md"
    path.write_text(
        f"# {name} in {req.path}\n\n*Explained by {run.model}*\n\n{text.strip()}\n", encoding="utf-8"
    )
    return path


async def show_explanation(feature: "ActionsFeature", run: ActionRun, result: ActionResult) -> dict[str, Any]:
    """Show Explain's answer the best way this client can; the command's result holds it too."""
    ls = feature.server
    caps = ls.client_capabilities
    text = result.text.strip() or f"{run.model} gave no explanation"
    reply: dict[str, Any] = {"applied": False, "text": text}
    if get_capability(caps, "window.show_document.support", False):
        try:
            path = write_explanation(run, text)
        except OSError as exc:
            ls.log(f"sparkforge: Explain: cannot write the explanation ({exc}); showing it as a message",
                   types.MessageType.Warning)
        else:
            reply["uri"] = path.as_uri()
            shown = await ls.window_show_document_async(
                types.ShowDocumentParams(uri=path.as_uri(), external=False, take_focus=True)
            )
            if shown.success:
                return reply
    message = f"sparkforge: {text}"
    if get_capability(caps, "window.show_message") is not None:
        # The user reads it at leisure: the command answers now, not when they dismiss it.
        ls.spawn(ls.window_show_message_request_async(types.ShowMessageRequestParams(
            type=types.MessageType.Info, message=message, actions=[types.MessageActionItem(title="OK")],
        )), name="explanation")
    else:
        ls.show(message)
    return reply


async def run_command(feature: "ActionsFeature", args: tuple[Any, ...]) -> dict[str, Any]:
    """``sparkforge.runAction`` with ``[data]``: resolve, then apply with workspace/applyEdit."""
    ls = feature.server
    raw = args[0] if len(args) == 1 else None
    if isinstance(raw, (list, tuple)) and not is_object(raw) and len(raw) == 1:
        raw = raw[0]
    if not is_object(raw):
        raise InvalidParams(f"{RUN_ACTION}: arguments must be [data] (a sparkforge code action's data), not {shown(list(args))}")
    # Malformed data is the client's bug, answered as an error; what else goes wrong (a closed
    # document, a model failure) is the user's to know, shown as a message as well as returned.
    data = read_data(RUN_ACTION, raw)
    verb = ACTION_VERBS[data.kind]
    try:
        run, uris = prepare_run(feature, data)
        result = await run_with_progress(feature, run)
        ls.send_status()
        if result.plan is None:  # explain: the answer is the result
            return await show_explanation(feature, run, result)
        edit = build_edit(feature, run, result, uris)
        if stale := stale_documents(feature, edit):
            # The edit is positioned for text the user has since changed there; an editor that
            # does not check versions would misplace it, so it is never sent.
            raise RequestFailed(
                f"sparkforge: {run.verb}: {', '.join(stale)} changed where the edit goes while "
                f"{run.model} was working; nothing was applied: run the action again"
            )
        reply = await ls.workspace_apply_edit_async(
            types.ApplyWorkspaceEditParams(edit=edit, label=f"sparkforge: {run.verb}")
        )
    except JsonRpcException as exc:
        message = exc.message if exc.message.startswith("sparkforge") else f"sparkforge: {verb}: {exc.message}"
        ls.show(message, types.MessageType.Error)
        return {"applied": False, "error": message}
    if not reply.applied:
        why = reply.failure_reason or "the editor refused it"
        ls.show(f"sparkforge: {run.verb}: the edit was not applied: {why}", types.MessageType.Warning)
    return {"applied": bool(reply.applied)}
