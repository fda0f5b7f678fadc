"""The agent's turn loop: the model calls tools, the tools answer, until the model answers
without a call, a budget runs out, or the task is cancelled (no LSP imports).

Each turn sends the whole transcript (requests store nothing server-side) with the tools; the
model's text and calls are kept in the transcript, each call is carried out and its answer,
redacted, goes back as the next turn's input. Patches (the Responses API's native
``apply_patch`` calls, or the ``apply_patch`` function over Chat Completions) and ``edit_file``
merges become one step of the change set each, applied whole or not at all: a cancel that
arrives while a step is being applied waits for it to finish. A run's ``role`` may change
between turns (``switch``): the transcript carries over to the other model.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import shlex
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from sparkforge.agent import steps
from sparkforge.agent.changes import ApplyRefused, ChangeSet
from sparkforge.agent.steps import Step
from sparkforge.agent.safety import (
    CommandPolicy,
    CommandRefused,
    command_env,
    decide,
    run_command,
    split_command,
)
from sparkforge.agent.tools import (
    TOOL_DEFINITIONS,
    AgentWorkspace,
    Args,
    ToolError,
    ToolOutput,
    list_files,
    read_file,
    search,
)
from sparkforge.conversation import APPLY_INSTRUCTIONS, apply_prompt, merge_problem, merged_text, strip_fence
from sparkforge.edits import (
    EditPlan,
    FileEdit,
    FilePatch,
    PatchApplier,
    PatchError,
    SourceText,
    parse_patch_envelope,
    parse_v4a,
    text_sha256,
    whole_text_change,
)
from sparkforge.models.events import PatchOperation, Reasoning, ReasoningSummary, TextDelta, ToolCall, Usage
from sparkforge.models.errors import ModelError
from sparkforge.models.gateway import ModelGateway, request_cost
from sparkforge.models.tokens import OverBudget, count_tokens, request_budget, within_budget
from sparkforge.models.tools import (
    APPLY_PATCH,
    AssistantText,
    Called,
    CallResult,
    FunctionTool,
    TranscriptItem,
    UserText,
    tool_specs,
    transcript_input,
)
from sparkforge.models.watchdog import Watchdog
from sparkforge.privacy import Redaction, stray_markers

Role = Literal["fast", "deep"]
Status = Literal["done", "stopped", "cancelled", "failed"]

AGENT_INSTRUCTIONS = """\
You are sparkforge's agent, carrying out a task in the user's workspace with tools.
Find what you need with list_files, search and read_file; change files with apply_patch \
(preferred) or edit_file; run tests or linters with run_command (the user may have to approve \
each command line). Work in small steps: read before you edit, run the tests after editing, \
fix what fails. Paths are relative to the workspace root. Secrets in files are shown as \
[REDACTED-n] markers: keep a marker as it is where the line stays. A tool answer that starts \
with "error:" failed: read it and adapt. When the task is done, answer with a short summary of \
what you changed and what the tests said, and call no tool."""

FUNCTION_TOOLS = tuple(FunctionTool(name, description, parameters) for name, description, parameters in TOOL_DEFINITIONS)
APPLY_WAIT_S = 30.0  # how long a cancelled task still waits for the step being applied


@dataclass
class Budget:
    """What one task may spend: tool calls, tokens (input and output), dollars, seconds."""

    steps: int = 30
    tokens: int = 400000
    cost_usd: float = 2.0
    seconds: float = 600.0

    def lowered(self, **limits: float | None) -> "Budget":
        """This budget with each given limit taken where it is lower (a request may only lower)."""
        out = dataclasses.replace(self)
        for name, value in limits.items():
            if value is not None:
                setattr(out, name, type(getattr(self, name))(min(getattr(self, name), value)))
        return out


@dataclass(frozen=True)
class Approval:
    approved: bool
    always: bool = False


class AgentHost(Protocol):
    """What the frontend (the LSP feature, the terminal) does for the loop."""

    def step(self, step: Step, usage: dict[str, Any]) -> None:
        """Show a step (sent again, same index, when a running step ends)."""

    async def approve(self, command: str, cwd: str) -> Approval:
        """Ask the user whether to run ``command`` in ``cwd`` (False: not approved)."""


@dataclass
class Spent:
    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None

    def add(self, model: str, usage: Usage) -> None:
        self.input_tokens += usage.input_tokens
        self.cached_input_tokens += usage.cached_tokens
        self.output_tokens += usage.output_tokens
        cost = request_cost(model, usage)
        if cost is not None:
            self.cost_usd = (self.cost_usd or 0.0) + cost

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def as_dict(self) -> dict[str, Any]:
        return {"inputTokens": self.input_tokens, "cachedInputTokens": self.cached_input_tokens,
                "outputTokens": self.output_tokens, "costUsd": self.cost_usd}


@dataclass
class AgentResult:
    status: Status
    summary: str
    steps: int
    role: Role
    model: str


class _Stop(Exception):
    """A budget ran out: the run ends with status "stopped" and this message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class AgentRun:
    gateway: ModelGateway
    workspace: AgentWorkspace
    changes: ChangeSet
    host: AgentHost
    policy: CommandPolicy
    budget: Budget = field(default_factory=Budget)
    role: Role = "deep"
    transcript: list[TranscriptItem] = field(default_factory=list)
    redaction: Redaction = field(default_factory=Redaction)
    session_allow: list[str] = field(default_factory=list)  # command lines approved "always"
    merge_role: Role = "fast"  # edit_file's merges: the fast model applies
    apply_tokens: int = 16000
    spent: Spent = field(default_factory=Spent)
    calls: int = 0  # tool calls carried out: the steps budget counts them
    _index: int = 0
    _running: Step | None = None

    # -- progress ------------------------------------------------------------------------
    def _step(self, kind: str, title: str, status: str = "running", detail: str | None = None) -> Step:
        step = Step(self._index, kind, title, status, detail)
        self._index += 1
        self._running = step if status == "running" else None
        self.host.step(step, self.spent.as_dict())
        return step

    def _end(self, step: Step, status: str, title: str | None = None, detail: str | None = None) -> None:
        step.status = status
        if title is not None:
            step.title = title
        if detail is not None:
            step.detail = detail
        if self._running is step and status != "running":
            self._running = None
        self.host.step(step, self.spent.as_dict())

    def switch(self, role: Role) -> None:
        """Hand the remaining turns to ``role`` (the transcript carries over)."""
        if role == self.role:
            return
        self.role = role
        model = self.gateway.serving_model(role) or self.gateway.config(role).model
        self._step("switch", f"Switched to the {role} model ({model})", "done")

    def model(self, role: Role | None = None) -> str:
        role = role or self.role
        return self.gateway.serving_model(role) or self.gateway.config(role).model

    # -- the loop ------------------------------------------------------------------------
    async def run(self, task: str) -> AgentResult:
        """Carry out ``task`` (already holding its context); CancelledError propagates after the
        step being applied (if any) has finished and the running step is shown as failed."""
        self.transcript.append(UserText(self.redaction(task)))
        dog = Watchdog(self.budget.seconds)
        try:
            try:
                summary = await self._turns()
            finally:
                dog.disarm()
        except asyncio.CancelledError:
            self._answer_unanswered("not run: the task was stopped")
            if dog.absorb():
                message = f"stopped: the budget of {steps.count(self.budget.seconds, 'second')} ran out"
                return self._stopped(message)
            if self._running is not None:
                self._end(self._running, "failed", detail="cancelled")
            self._step("error", "Cancelled", "failed")
            raise
        except _Stop as stop:
            self._answer_unanswered("not run: " + stop.message)
            return self._stopped(stop.message)
        except ModelError as exc:
            self._answer_unanswered("not run: the model failed")
            message = f"{self.model()} failed: {' '.join(str(exc).split())}"
            self._step("error", message, "failed")
            return AgentResult("failed", message, self.calls, self.role, self.model())
        return AgentResult("done", summary, self.calls, self.role, self.model())

    def _stopped(self, message: str) -> AgentResult:
        if self._running is not None:
            self._end(self._running, "failed", detail="stopped")
        self._step("budget", message, "done")
        return AgentResult("stopped", message, self.calls, self.role, self.model())

    def _answer_unanswered(self, output: str) -> None:
        """Calls left without an answer get one, so the transcript stays a valid conversation."""
        answered = {i.call_id for i in self.transcript if isinstance(i, CallResult)}
        for item in list(self.transcript):
            if isinstance(item, Called) and item.call.call_id not in answered:
                self.transcript.append(CallResult(item.call.call_id, output, ok=False))

    def _check_budget(self) -> None:
        b = self.budget
        if self.spent.tokens >= b.tokens:
            raise _Stop(f"stopped: the budget of {steps.count(b.tokens, 'token')} ran out ({self.spent.tokens} used)")
        if self.spent.cost_usd is not None and self.spent.cost_usd >= b.cost_usd:
            raise _Stop(f"stopped: the budget of ${b.cost_usd:g} ran out (${self.spent.cost_usd:.4f} spent)")

    async def _turns(self) -> str:
        while True:
            self._check_budget()
            role = self.role
            cfg = self.gateway.config(role)
            api = cfg.api
            items = transcript_input(api, self.transcript, self.model(role))
            try:
                request_budget(role, cfg.max_input_tokens, AGENT_INSTRUCTIONS, items)
            except OverBudget as exc:
                raise _Stop(f"stopped: {exc.message}") from None
            text: list[str] = []
            calls: list[ToolCall | PatchOperation] = []
            reasoned: list[Reasoning] = []
            usage: Usage | None = None
            stream = self.gateway.stream(role, instructions=AGENT_INSTRUCTIONS, input=items,
                                         tools=tool_specs(api, FUNCTION_TOOLS, apply_patch=True),
                                         reasoning=True)
            async with contextlib.aclosing(stream):
                async for event in stream:
                    if isinstance(event, TextDelta):
                        text.append(event.text)
                    elif isinstance(event, (ToolCall, PatchOperation)):
                        calls.append(event)
                    elif isinstance(event, ReasoningSummary):
                        self._step("thinking", steps.thought_title(event.text), "done", event.text.strip())
                    elif isinstance(event, Reasoning):
                        reasoned.append(event)
                    elif isinstance(event, Usage):
                        usage = event
            if usage is not None:
                self.spent.add(self.model(role), usage)
            # the model's reasoning goes back (to the model that reasoned) before what it led to
            self.transcript.extend(reasoned)
            answer = "".join(text).strip()
            if answer:
                self.transcript.append(AssistantText(answer))
                self._step("message", steps.first_line(answer), "done", answer)
            if not calls:
                return answer
            self.transcript.extend(Called(c) for c in calls)
            await self._carry_out(calls)

    async def _carry_out(self, calls: Sequence[ToolCall | PatchOperation]) -> None:
        """Each call in order; a turn's apply_patch operations are one step, all or nothing."""
        ops = [c for c in calls if isinstance(c, PatchOperation)]
        done_ops = False
        for call in calls:
            if isinstance(call, PatchOperation):
                if not done_ops:
                    done_ops = True
                    await self._counted(ops, self._patch_operations(ops))
                continue
            await self._counted([call], self._function(call))

    async def _counted(self, calls: Sequence[ToolCall | PatchOperation], work: Awaitable[None]) -> None:
        if self.calls >= self.budget.steps:
            if asyncio.iscoroutine(work):
                work.close()
            raise _Stop(f"stopped: the budget of {steps.count(self.budget.steps, 'step')} ran out")
        self.calls += 1
        await work

    def _answer(self, call_ids: Sequence[str], output: str, ok: bool) -> None:
        text = self.redaction(output)
        for call_id in call_ids:
            self.transcript.append(CallResult(call_id, text if ok else f"error: {text}", ok))

    # -- function tools --------------------------------------------------------------------
    async def _function(self, call: ToolCall) -> None:
        kind = {"read_file": "read", "list_files": "list", "search": "search", "edit_file": "edit",
                "run_command": "command", APPLY_PATCH: "edit"}.get(call.name, "error")
        step = self._step(kind, steps.opening_title(call))
        try:
            try:
                raw = json.loads(call.arguments or "{}")
            except json.JSONDecodeError as exc:
                raise ToolError(f"{call.name}: the arguments are not valid JSON ({exc.msg})") from None
            args = Args(call.name, raw)
            if call.name == "read_file":
                out = read_file(self.workspace, args, view=self._view_seen)
            elif call.name == "list_files":
                out = list_files(self.workspace, args)
            elif call.name == "search":
                out = search(self.workspace, args, view=self.changes.view)
            elif call.name == "run_command":
                out = await self._run_command(args, step)
            elif call.name == "edit_file":
                out = await self._edit_file(args, step)
            elif call.name == APPLY_PATCH:
                patches = parse_patch_envelope(args.str("input"))
                if not patches:
                    raise ToolError("apply_patch: the input holds no *** Add/Update/Delete File section")
                out = await self._apply(patches, step)
            else:
                raise ToolError(f"there is no tool named {call.name}")
        except (ToolError, PatchError, CommandRefused) as exc:
            message = exc.message
            self._end(step, "failed", detail=message)
            self._answer([call.call_id], message, ok=False)
            return
        self._end(step, "done" if out.ok else "failed", out.title, out.detail)
        self._answer([call.call_id], out.text, ok=True)

    def _view_seen(self, rel: str) -> SourceText | None:
        got = self.changes.view(rel)
        self.changes.saw(rel, None if got is None else got.text)
        return got

    # -- commands ------------------------------------------------------------------------
    async def _run_command(self, args: Args, step: Step) -> ToolOutput:
        command = args.str("command")
        cwd_rel = self.workspace.confine(args.str("cwd", required=False), folder=True)
        cwd = self.workspace.path(cwd_rel) if cwd_rel else self.workspace.root
        if not cwd.is_dir():
            raise ToolError(f"run_command: {cwd_rel} is not a folder of the workspace")
        timeout = min(args.number("timeout_s") or self.policy.timeout_s, self.policy.timeout_s)
        argv = split_command(command)
        line = shlex.join(argv)
        if decide(self.policy, argv, self.session_allow) == "ask":
            self._end(step, "running", f"Waiting for approval to run `{line}`")
            answer = await self.host.approve(line, str(cwd))
            if not answer.approved:
                raise CommandRefused(f"the user did not approve running `{line}`; it was not run")
            if answer.always:
                self.session_allow.append(line)
        self._end(step, "running", f"Running `{line}`")
        try:
            result = await run_command(argv, cwd, timeout_s=timeout, env=command_env())
        except OSError as exc:
            raise ToolError(f"cannot run `{line}`: {exc.strerror or exc}") from None
        outcome = steps.outcome(result)
        text = f"$ {line}\nexit code: {'none (stopped at the timeout)' if result.exit_code is None else result.exit_code}\n"
        if result.timed_out:
            text += f"stopped after {timeout:g} s\n"
        if result.truncated:
            text += f"(the first {result.truncated} bytes of output are left out)\n"
        text += result.output
        if unsaved := self._unsaved():
            text += (f"\nnote: the command read {', '.join(unsaved)} from disk, where the agent's "
                     "edits are not saved yet (the editor holds them)")
        return ToolOutput(text, f"Running `{line}`: {outcome}", result.output[-2000:] or None,
                          ok=result.exit_code == 0)

    def _unsaved(self) -> list[str]:
        """The files the agent edited whose text on disk is not the agent's (an editor that
        has not saved them): a command reads the disk."""
        out = []
        for fc in self.changes.changes():
            if fc.state not in ("applied", "kept"):
                continue
            try:
                disk: str | None = self.workspace.path(fc.path).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                disk = None
            if disk != fc.current:
                out.append(fc.path)
        return out

    # -- edits ---------------------------------------------------------------------------
    async def _patch_operations(self, ops: Sequence[PatchOperation]) -> None:
        ids = [op.call_id for op in ops]
        step = self._step("edit", steps.editing(op.path for op in ops))
        try:
            patches = [parse_v4a(op) for op in ops]
            out = await self._apply(patches, step)
        except (ToolError, PatchError) as exc:
            self._end(step, "failed", detail=exc.message)
            self._answer(ids, exc.message, ok=False)
            return
        self._end(step, "done", out.title, out.detail)
        self._answer(ids, out.text, ok=True)

    async def _apply(self, patches: Sequence[FilePatch], step: Step) -> ToolOutput:
        """Plan ``patches`` against what the agent sees (every path confined and not excluded,
        the markers of secrets put back) and apply them as one step."""
        ws = self.workspace
        restored: list[FilePatch] = []
        sources: dict[str, SourceText] = {}
        for fp in patches:
            rel = ws.allowed(fp.path)
            if fp.move_to:
                ws.allowed(fp.move_to)
            got = self.changes.view(rel)
            if got is not None:
                sources.setdefault(rel, got)
            restored.append(_restore(fp, self.redaction, got.text if got else ""))
        planner = PatchApplier(ws.root, lambda rel: sources.get(rel) or self.changes.view(rel))
        try:
            plan = planner.plan(restored)
        except PatchError as exc:
            stale = [rel for rel, src in sources.items() if self.changes.changed_since_seen(rel, src.text)]
            if stale:
                raise ToolError(f"{exc.message} ({', '.join(stale)} changed in the editor since you read it: read it again)") from None
            raise
        for fe in plan.files:
            if fe.path not in sources and fe.kind != "create":
                got = self.changes.view(fe.path)
                if got is not None:
                    sources[fe.path] = got
            if fe.kind != "delete" and (stray := stray_markers(fe.new_text, sources[fe.path].text if fe.path in sources else "")):
                raise ToolError(f"refused: the patch writes {stray[0]} into {fe.path}, a secret sparkforge "
                                "cannot put back there; nothing was applied")
        return await self._commit(plan, sources, step)

    async def _commit(self, plan: EditPlan, sources: dict[str, SourceText], step: Step) -> ToolOutput:
        if not plan.files:
            return ToolOutput("the patch changes nothing", step.title, "no change")
        notes = [f"note: {rel} changed in the editor since you last read it; the edit was made to its current text"
                 for rel, src in sources.items() if self.changes.changed_since_seen(rel, src.text)]
        title = steps.editing(fe.path for fe in plan.files)
        self._end(step, "running", title)
        await self._whole(self.changes.apply_step(plan, sources, title))
        done = ", ".join(f"{steps.verb(fe.kind)} {fe.path}" for fe in plan.files)
        pending = " (kept pending until the user reviews it)" if self.changes.review == "pending" else ""
        return ToolOutput("\n".join([f"applied: {done}{pending}", *notes]), title, done)

    async def _whole(self, work: Awaitable[None]) -> None:
        """Run a step's edit to its end even if the task is cancelled meanwhile (then the
        cancel goes on once it is done): a step is applied whole or not at all."""
        task = asyncio.ensure_future(work)
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            await asyncio.wait({task}, timeout=APPLY_WAIT_S)
            raise
        except ApplyRefused as exc:
            raise ToolError(f"not applied: {exc.message}") from None

    async def _edit_file(self, args: Args, step: Step) -> ToolOutput:
        rel = self.workspace.allowed(args.str("path"))
        code = args.str("code")
        current = self.changes.view(rel)
        if current is None:
            raise ToolError(f"edit_file: {rel} does not exist; create it with apply_patch")
        original = current.text
        code = self.redaction.restore(strip_fence(code), within=original)
        role = self.merge_role
        model = self.model(role)
        try:
            within_budget(original, self.apply_tokens, what=rel, setting="sparkforge.chat.applyTokens",
                          advice="too large to merge; use apply_patch")
            within_budget(code, self.apply_tokens, what="the code", setting="sparkforge.chat.applyTokens",
                          advice="too large to merge; use apply_patch")
        except OverBudget as exc:
            raise ToolError(exc.message) from None
        merge = Redaction()
        self._end(step, "running", f"Merging into `{rel}` with {model}")
        try:
            answer = await self.gateway.complete(
                role, instructions=APPLY_INSTRUCTIONS, input=apply_prompt(rel, merge(original), merge(code)),
                max_output_tokens=count_tokens(original) * 2 + 1024)
        except ModelError as exc:
            raise ToolError(f"merging into {rel} with {model} failed: {' '.join(str(exc).split())}; "
                            "nothing was applied; use apply_patch") from None
        if answer.usage is not None:
            self.spent.add(model, answer.usage)
        if answer.finish == "length":
            raise ToolError(f"{model} stopped at its output limit before the end of {rel}; nothing was applied; use apply_patch")
        updated = merged_text(merge.restore(answer.text), original)
        if (problem := merge_problem(original, code, updated)) is not None:
            raise ToolError(f"{model}'s merge into {rel} looks wrong ({problem}); nothing was applied; use apply_patch")
        if updated == original:
            raise ToolError(f"the code changes nothing in {rel}")
        if stray := stray_markers(updated, original):
            raise ToolError(f"refused: the code writes {stray[0]} into {rel}, a secret sparkforge cannot put back there")
        plan = EditPlan([FileEdit(rel, "update", [whole_text_change(original, updated)], updated,
                                  text_sha256(original), current.version)])
        return await self._commit(plan, {rel: current}, step)


# -- helpers -------------------------------------------------------------------------------
def _restore(fp: FilePatch, redaction: Redaction, within: str) -> FilePatch:
    """``fp`` with the markers of the secrets ``within`` holds put back (never another file's)."""
    def put(text: str) -> str:
        return redaction.restore(text, within=within)

    hunks = tuple(dataclasses.replace(h, ops=tuple((op, put(t)) for op, t in h.ops),
                                      anchors=tuple(put(a) for a in h.anchors)) for h in fp.hunks)
    return dataclasses.replace(fp, hunks=hunks, content=put(fp.content))
