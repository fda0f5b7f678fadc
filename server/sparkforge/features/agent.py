"""sparkforge/agent: the deep model carries a task through the workspace with tools.

``sparkforge/agent`` runs the task (``agent/loop.py``) and answers when it ends; each step
streams as a ``sparkforge/agentStep`` notification. Edits are the editor's: each applied step
is one versioned ``workspace/applyEdit`` (or, with ``sparkforge.agent.review`` "pending", kept
until ``sparkforge/agentKeep``); ``sparkforge/agentUndo`` takes them back. A command is run
only when allowlisted or approved by the user: ``sparkforge/agentApprove`` for clients that
declare ``experimental.sparkforgeAgentApprovals``, else ``window/showMessageRequest``.
``sparkforge/agentSwitch`` hands the remaining turns to the other model; ``$/cancelRequest``
stops the task at once (the step being applied finishes first).
"""

from __future__ import annotations

import asyncio
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.capabilities import get_capability
from pygls.exceptions import JsonRpcException

from sparkforge.agent.changes import ApplyRefused, ChangeSet, FileChange
from sparkforge.agent.loop import AgentResult, AgentRun, Approval, Budget
from sparkforge.agent.steps import Step
from sparkforge.agent.safety import CommandPolicy
from sparkforge.agent.tools import AgentWorkspace
from sparkforge.deep.flow import ActionError
from sparkforge.edits import EditPlan, SourceText
from sparkforge.errors import RequestFailed
from sparkforge.features.params import Params, get, shown
from sparkforge.models.tools import TranscriptItem
from sparkforge.privacy import Redaction
from sparkforge.workspace_edit import workspace_edit

if TYPE_CHECKING:
    from sparkforge.server import SparkforgeServer

AGENT = "sparkforge/agent"
AGENT_STEP = "sparkforge/agentStep"
AGENT_APPROVE = "sparkforge/agentApprove"
AGENT_KEEP = "sparkforge/agentKeep"
AGENT_UNDO = "sparkforge/agentUndo"
AGENT_SWITCH = "sparkforge/agentSwitch"
APPROVALS_CAPABILITY = "sparkforgeAgentApprovals"
ROLES = ("deep", "fast")
RUN, SKIP = "Run", "Skip"
SETTLE_S = 5.0  # how long an applied step waits for the editor's didChange of its open documents
TASKS_KEPT = 20  # finished tasks whose change sets can still be kept or undone
AGENT_SHAPE = (
    "{task: string, taskId?: string, conversationId?: string, role?: 'deep'|'fast', "
    "context?: {uri?: string, selection?: Range, files?: string[]}, "
    "budget?: {steps?: integer, tokens?: integer, costUsd?: number, seconds?: number}}"
)
CHANGES_SHAPE = "{taskId: string, paths?: string[]}"
SWITCH_SHAPE = "{taskId: string, role: 'deep'|'fast'}"


@dataclass
class AgentTask:
    id: str
    changes: ChangeSet
    run: AgentRun | None = None
    running: bool = True


@dataclass
class AgentConversation:
    transcript: list[TranscriptItem] = field(default_factory=list)
    redaction: Redaction = field(default_factory=Redaction)
    running: bool = False  # one task at a time adds to a transcript


class EditorApplier:
    """Each step as one versioned ``workspace/applyEdit``; files read from the editor's buffer
    where open, else from disk."""

    def __init__(self, ls: "SparkforgeServer", root: Path) -> None:
        self.ls = ls
        self.root = root

    def uri(self, rel: str) -> str:
        path = self.root / rel
        uri = path.as_uri()
        if uri in self.ls.workspace.text_documents:
            return uri
        for open_uri in self.ls.workspace.text_documents:  # the editor may spell it otherwise
            if (p := self.ls.path_of(open_uri)) is not None and p == path:
                return open_uri
        return uri

    def open_text(self, rel: str) -> SourceText | None:
        doc = self.ls.workspace.text_documents.get(self.uri(rel))
        return None if doc is None else SourceText(doc.source, doc.version)

    def read(self, rel: str) -> SourceText | None:
        if (got := self.open_text(rel)) is not None:
            return got
        try:
            return SourceText((self.root / rel).read_text(encoding="utf-8"), None)
        except (FileNotFoundError, NotADirectoryError):
            return None

    async def apply(self, plan: EditPlan, sources: dict[str, SourceText], label: str) -> None:
        try:
            edit = workspace_edit(plan, sources, uri_for=self.uri, current=self.read, support=self.ls.edit_support,
                                  label=label, description="sparkforge agent")
        except ActionError as exc:
            raise ApplyRefused(exc.message) from None
        try:
            reply = await self.ls.workspace_apply_edit_async(
                types.ApplyWorkspaceEditParams(edit=edit, label=f"sparkforge agent: {label}"))
        except JsonRpcException as exc:
            raise ApplyRefused(f"the editor answered the edit with an error ({exc.message})") from None
        if not reply.applied:
            raise ApplyRefused(f"the editor did not apply it ({reply.failure_reason or 'no reason given'})")
        await self._settled(plan)

    async def _settled(self, plan: EditPlan) -> None:
        """Wait (a little) for the editor to report the new text of the open documents the edit
        changed, so that the next step reads what the editor holds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SETTLE_S
        waiting = [fe for fe in plan.files if fe.kind == "update" and self.open_text(fe.path) is not None]
        while waiting and loop.time() < deadline:
            waiting = [fe for fe in waiting if (now := self.open_text(fe.path)) is not None and now.text != fe.new_text]
            if waiting:
                await asyncio.sleep(0.01)


class ServerExclusions:
    """The server's exclusions for a path: those of the innermost workspace folder that has its
    own (multi-root), else the workspace's."""

    def __init__(self, ls: "SparkforgeServer") -> None:
        self.ls = ls

    def reason(self, path: Path | str) -> str | None:
        return self.ls.exclusion_reason(Path(path).as_uri())


class LspHost:
    """The loop's frontend in the editor: steps as notifications, approvals as requests."""

    def __init__(self, ls: "SparkforgeServer", task_id: str) -> None:
        self.ls = ls
        self.task_id = task_id

    def step(self, step: Step, usage: dict[str, Any]) -> None:
        payload: dict[str, Any] = {"taskId": self.task_id, "index": step.index, "kind": step.kind,
                                   "title": step.title, "status": step.status, "usage": usage}
        if step.detail is not None:
            payload["detail"] = step.detail
        self.ls.protocol.notify(AGENT_STEP, payload)

    async def approve(self, command: str, cwd: str) -> Approval:
        caps = self.ls.client_capabilities
        experimental = get_capability(caps, "experimental", None)
        try:
            if get(experimental, APPROVALS_CAPABILITY) is True:
                reply = await self._ask(AGENT_APPROVE, {"taskId": self.task_id, "command": command, "cwd": cwd})
                return Approval(get(reply, "approved") is True, get(reply, "always") is True)
            answer = await self._ask(types.WINDOW_SHOW_MESSAGE_REQUEST, types.ShowMessageRequestParams(
                type=types.MessageType.Info,
                message=f"sparkforge agent wants to run `{command}` in {cwd}",
                actions=[types.MessageActionItem(title=RUN), types.MessageActionItem(title=SKIP)],
            ))
            return Approval(get(answer, "title") == RUN)
        except JsonRpcException as exc:
            self.ls.log(f"sparkforge: no approval to run `{command}` ({exc.message})", types.MessageType.Info)
            return Approval(False)

    async def _ask(self, method: str, params: Any) -> Any:
        """A request to the client; withdrawn (``$/cancelRequest``) if the task is cancelled
        meanwhile, so that the editor stops asking the user."""
        msg_id = f"sparkforge-agent-{uuid.uuid4().hex}"
        try:
            return await self.ls.protocol.send_request_async(method, params, msg_id=msg_id)
        except asyncio.CancelledError:
            self.ls.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=msg_id))
            raise


def change_dict(root: Path, fc: FileChange) -> dict[str, Any]:
    return {"uri": (root / fc.path).as_uri(), **fc.as_dict()}


def setup(server: "SparkforgeServer") -> None:
    tasks: OrderedDict[str, AgentTask] = OrderedDict()
    conversations: OrderedDict[str, AgentConversation] = OrderedDict()
    session_allow: list[str] = []  # command lines approved "always" during this session

    def remember(store: OrderedDict, key: str, value: Any) -> None:
        store[key] = value
        store.move_to_end(key)
        while len(store) > TASKS_KEPT:
            oldest = next(iter(store))
            if isinstance(store[oldest], AgentTask) and store[oldest].running:
                break
            store.pop(oldest)

    def task_of(p: Params) -> AgentTask:
        task_id = p.str("taskId")
        if (task := tasks.get(task_id)) is None:
            raise RequestFailed(f"sparkforge: no agent task {task_id} (finished long ago, or before a restart)")
        return task

    def task_text(ls: "SparkforgeServer", p: Params, task: str) -> str:
        p.object("context", required=False)
        uri = p.str("context", "uri", required=False)
        selection = p.range("context", "selection", required=False)
        files = p.list("context", "files", required=False) or []
        for i, rel in enumerate(files):
            if not isinstance(rel, str):
                raise p.error(f"context.files[{i}] must be a workspace-relative path, not {shown(rel)}")
        if selection is not None and uri is None:
            raise p.error("context.selection needs context.uri")
        parts = [task]
        if uri is not None and ls.exclusion_reason(uri) is None:
            doc = ls.document(uri)
            name = ls.relative_path(uri)
            parts.append(f"The file open in the editor: {name}")
            if selection is not None:
                a, b = ls.offset(doc, selection.start), ls.offset(doc, selection.end)
                if b > a:
                    parts.append(f"The selection in {name}, lines {selection.start.line + 1}-{selection.end.line + 1}:\n"
                                 f"```\n{doc.source[a:b]}\n```")
        if files:
            parts.append("Files the user points at: " + ", ".join(files))
        return "\n\n".join(parts)

    @server.feature(AGENT)
    async def agent(ls: "SparkforgeServer", params: Any) -> dict[str, Any]:
        p = Params(AGENT, params, AGENT_SHAPE)
        task = p.str("task")
        task_id = p.str("taskId", required=False) or uuid.uuid4().hex
        conversation_id = p.str("conversationId", required=False)
        role = p.one_of("role", choices=ROLES, default="deep")
        p.object("budget", required=False)
        asked = dict(steps=p.int("budget", "steps", required=False, minimum=1),
                     tokens=p.int("budget", "tokens", required=False, minimum=1),
                     cost_usd=p.number("budget", "costUsd", required=False),
                     seconds=p.number("budget", "seconds", required=False))
        text = task_text(ls, p, task)
        if ls.root is None:
            raise RequestFailed("sparkforge: agent mode needs a workspace folder: open the project's folder")
        if (old := tasks.get(task_id)) is not None and old.running:
            raise RequestFailed(f"sparkforge: agent task {task_id} is already running")
        cfg = ls.settings.agent
        root = ls.root
        applier = EditorApplier(ls, root)
        changes = ChangeSet(applier, cfg.review)
        conv = AgentConversation()
        if conversation_id is not None:
            conv = conversations.get(conversation_id) or conv
            if conv.running:
                raise RequestFailed(f"sparkforge: conversation {conversation_id} has an agent task running; "
                                    "wait for it, or cancel it")
            remember(conversations, conversation_id, conv)
        run = AgentRun(
            gateway=ls.gateway,
            workspace=AgentWorkspace(root, ServerExclusions(ls), applier.open_text),
            changes=changes,
            host=LspHost(ls, task_id),
            policy=CommandPolicy(cfg.commands, tuple(cfg.allow_commands), cfg.trusted, cfg.command_timeout_s),
            budget=Budget(cfg.max_steps, cfg.max_tokens, cfg.max_cost_usd, cfg.max_seconds).lowered(**asked),
            role=role,
            transcript=conv.transcript,
            redaction=conv.redaction,
            session_allow=session_allow,
            apply_tokens=ls.settings.chat.apply_tokens,
        )
        entry = AgentTask(task_id, changes, run)
        remember(tasks, task_id, entry)
        conv.running = True
        try:
            result: AgentResult = await run.run(text)
        except asyncio.CancelledError:
            # Answered, not dropped: the client that cancelled still gets the change set made
            # so far (its steps were applied whole), to show, keep or undo.
            result = AgentResult("cancelled", "Cancelled.", run.calls, run.role, run.model())
        finally:
            entry.running = conv.running = False
            ls.send_status()
        return {
            "taskId": task_id,
            "status": result.status,
            "summary": result.summary,
            "role": result.role,
            "model": result.model,
            "steps": result.steps,
            "changes": [change_dict(root, fc) for fc in changes.changes()],
            "usage": run.spent.as_dict(),
        }

    def paths_of(p: Params) -> list[str] | None:
        paths = p.list("paths", required=False)
        if paths is None:
            return None
        for i, path in enumerate(paths):
            if not isinstance(path, str):
                raise p.error(f"paths[{i}] must be a workspace-relative path, not {shown(path)}")
        return paths

    async def act_on_changes(ls: "SparkforgeServer", method: str, params: Any) -> dict[str, Any]:
        """Keep or undo (``method``) the task's changes of ``paths`` (all by default)."""
        p = Params(method, params, CHANGES_SHAPE)
        paths = paths_of(p)
        changes = task_of(p).changes
        done = await (changes.keep(paths) if method == AGENT_KEEP else changes.undo(paths))
        root = ls.root or Path.cwd()
        return {"changes": [change_dict(root, fc) for fc in done]}

    @server.feature(AGENT_KEEP)
    async def agent_keep(ls: "SparkforgeServer", params: Any) -> dict[str, Any]:
        return await act_on_changes(ls, AGENT_KEEP, params)

    @server.feature(AGENT_UNDO)
    async def agent_undo(ls: "SparkforgeServer", params: Any) -> dict[str, Any]:
        return await act_on_changes(ls, AGENT_UNDO, params)

    @server.feature(AGENT_SWITCH)
    def agent_switch(ls: "SparkforgeServer", params: Any) -> None:
        p = Params(AGENT_SWITCH, params, SWITCH_SHAPE)
        role = p.one_of("role", choices=ROLES)
        task = task_of(p)
        if task.run is not None and task.running:
            task.run.switch(role)
