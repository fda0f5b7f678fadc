"""One code action, from snapshot to EditPlan, with no LSP in sight.

The language server (``features/actions``) and the terminal (``sparkforge act``) both run
``ActionRun``: ``prepare()`` builds the prompt from a ``Workspace`` (the open documents *as
they were* when the action started, else the disk), ``run()`` streams the routed model and
turns its answer into an ``EditPlan`` computed against those same snapshots. Every failure is
an ``ActionError`` whose message a user can act on; nothing is ever half-done: the plan is
all or nothing, and nothing here writes a file.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sparkforge.config import Settings
from sparkforge.deep.prompt import (
    ACTION_VERBS,
    ActionInput,
    DeepPrompt,
    Diagnostic,
    PromptTooLarge,
    RelatedFile,
    SourceFile,
    build_prompt,
)
from sparkforge.deep.failures import model_failure, other_role_helps
from sparkforge.deep.targets import Target, enclosing_scope
from sparkforge.deep.testing import TestLayout, find_test_layout
from sparkforge.edits import EditPlan, PatchApplier, PatchError, SourceText, parse_patches
from sparkforge.models.events import Finish, PatchOperation, TextDelta, Usage
from sparkforge.models.errors import ModelError
from sparkforge.models.gateway import ModelGateway
from sparkforge.models.router import Router
from sparkforge.models.tokens import OverBudget, count_tokens, request_budget
from sparkforge.predict.text import split_lines
from sparkforge.privacy import stray_markers

# Actions write whole functions and test files: a role's small inline limit would cut them.
MIN_ACTION_OUTPUT_TOKENS = 4096
APPLY_PATCH_TOOL = [{"type": "apply_patch"}]
MAX_CALLER_FILES = 2
AGAIN = "Run the action again: a model answers differently each time"

TokenListener = Callable[[int], None]


class ActionError(Exception):
    """An action that cannot complete; ``str()`` says why and what to do. Nothing was applied."""

    def __init__(self, message: str, kind: str = "error") -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind  # "model" | "patch" | "no_edit" | "refused" | "prompt" | "stale"


class Workspace:
    """The files an action may read: snapshots of open documents, else the disk.

    Every text handed out is remembered, so the plan is computed against exactly the text
    the prompt showed, even if the editor or the disk changes meanwhile.
    """

    def __init__(
        self,
        root: Path,
        open_documents: Mapping[str, SourceText] | None = None,
        excluded: Callable[[str], str | None] = lambda rel: None,
    ) -> None:
        self.root = Path(os.path.abspath(root))
        self.open_documents = dict(open_documents or {})
        self.excluded = excluded
        self.served: dict[str, SourceText | None] = {}

    def read(self, rel: str) -> SourceText | None:
        """``rel``'s text (and version, if open) as first seen; None if there is no such file."""
        if rel not in self.served:
            got = self.open_documents.get(rel)
            self.served[rel] = got if got is not None else read_disk(self.root, rel)
        return self.served[rel]

    def text_for_prompt(self, rel: str) -> str | None:
        """``rel``'s text if it may be sent to a model (not excluded, readable)."""
        if self.excluded(rel) is not None:
            return None
        try:
            got = self.read(rel)
        except OSError:
            return None
        return got.text if got is not None else None


def read_disk(root: Path, rel: str) -> SourceText | None:
    path = root / rel
    if not path.is_file():
        return None
    try:
        with open(path, encoding="utf-8", newline="") as fh:  # newline="": keep CRLF as it is
            return SourceText(fh.read(), None)
    except UnicodeDecodeError as exc:
        raise OSError(f"{rel} is not UTF-8 text") from exc


@dataclass(frozen=True)
class ActionRequest:
    kind: str  # refactor | tests | document | fix | explain
    path: str  # workspace-relative posix path of the document
    language: str
    target: Target
    instruction: str | None = None
    diagnostic: Diagnostic | None = None


@dataclass
class ActionResult:
    kind: str
    role: str
    model: str
    plan: EditPlan | None  # None for explain
    text: str  # the model's prose (explain's answer; a summary for edits)
    prompt: DeepPrompt
    sources: dict[str, SourceText]  # what the plan was computed against
    usage: Usage | None = None
    output_tokens: int = 0
    timings: dict[str, float] = field(default_factory=dict)  # ms: prompt, model, first_token, plan


class ActionRun:
    """One action: which model, its prompt, its answer turned into a plan."""

    def __init__(self, gateway: ModelGateway, settings: Settings, request: ActionRequest, workspace: Workspace):
        if request.kind not in ACTION_VERBS:
            raise ActionError(f"unknown action {request.kind!r}: one of {', '.join(ACTION_VERBS)}")
        self.gateway, self.settings, self.request, self.workspace = gateway, settings, request, workspace
        self.router = Router(settings)
        self.role = self.router.role_for(request.kind)
        cfg = settings.role(self.role)
        self.model, self.api = cfg.model, cfg.api
        self.max_output_tokens = max(cfg.max_output_tokens, MIN_ACTION_OUTPUT_TOKENS)
        self.verb = ACTION_VERBS[request.kind]
        self.title = f"sparkforge: {self.verb} with {self.model}"
        self.prompt: DeepPrompt | None = None
        self.tests: TestLayout | None = None
        self._prompt_ms = 0.0

    # -- the prompt ----------------------------------------------------------------------
    def prepare(self) -> DeepPrompt:
        started = time.perf_counter()
        req, ws = self.request, self.workspace
        if (reason := ws.excluded(req.path)) is not None:
            raise ActionError(f"refused: {reason}", "refused")
        try:
            snap = ws.read(req.path)
        except OSError as exc:
            raise ActionError(f"cannot read {req.path}: {exc}") from exc
        if snap is None:
            raise ActionError(f"{req.path} does not exist in the workspace {ws.root}")
        lines, _ = split_lines(snap.text)
        scope = enclosing_scope(lines, req.target, req.language)
        related: list[RelatedFile] = []
        if req.kind == "tests":
            self.tests = find_test_layout(ws.root, req.path, req.language, ws.text_for_prompt)
            self._add_test_context(related, self.tests)
        elif req.kind == "refactor" and req.target.name:
            related.extend(self._callers(req.target.name))
        action = ActionInput(
            kind=req.kind,
            file=SourceFile(req.path, snap.text, req.language),
            target=req.target,
            scope=scope,
            instruction=req.instruction,
            diagnostic=req.diagnostic,
            tests=self.tests,
            related=related,
        )
        try:
            prompt = build_prompt(action, api=self.api, budget=self.settings.actions.prompt_tokens)
            request_budget(self.role, self.settings.role(self.role).max_input_tokens, prompt.instructions,
                           prompt.input, advice="nothing was sent; lower sparkforge.actions.promptTokens, or raise the setting")
        except PromptTooLarge as exc:
            raise ActionError(str(exc), "prompt") from exc
        except OverBudget as exc:
            raise ActionError(exc.message, "prompt") from exc
        self.prompt = prompt
        self._prompt_ms = (time.perf_counter() - started) * 1000
        return self.prompt

    def _add_test_context(self, related: list[RelatedFile], layout: TestLayout) -> None:
        ws = self.workspace
        name = layout.framework or "existing"
        wanted = []
        if layout.exists and layout.path != self.request.path:
            wanted.append((layout.path, f"the existing {name} tests for this module: extend this file"))
        if layout.conftest:
            wanted.append((layout.conftest, "pytest fixtures available to the tests"))
        if layout.example:
            wanted.append((layout.example, "another test file of this project, for its style"))
        for rel, why in wanted:
            if (text := ws.text_for_prompt(rel)) is not None:
                related.append(RelatedFile(rel, text, why))

    def _callers(self, name: str) -> list[RelatedFile]:
        """Other open documents that use the target's name (a refactor may change their calls)."""
        out: list[RelatedFile] = []
        short = name.rsplit(".", 1)[-1]
        for rel, snap in self.workspace.open_documents.items():
            if rel == self.request.path or short not in snap.text:
                continue
            if (text := self.workspace.text_for_prompt(rel)) is not None:
                out.append(RelatedFile(rel, text, f"uses {short}"))
            if len(out) >= MAX_CALLER_FILES:
                break
        return out

    # -- the model -----------------------------------------------------------------------
    async def run(self, on_tokens: TokenListener | None = None) -> ActionResult:
        prompt = self.prompt or self.prepare()
        kind = self.request.kind
        tools = APPLY_PATCH_TOOL if self.api == "responses" and kind != "explain" else None
        text: list[str] = []
        ops: list[PatchOperation] = []
        usage: Usage | None = None
        finish = "stop"
        tokens = 0
        first_token_ms: float | None = None
        started = time.perf_counter()
        try:
            async for event in self.gateway.stream(
                self.role,
                instructions=prompt.instructions,
                input=prompt.input,
                tools=tools,
                max_output_tokens=self.max_output_tokens,
            ):
                if first_token_ms is None:
                    first_token_ms = (time.perf_counter() - started) * 1000
                if isinstance(event, TextDelta):
                    text.append(event.text)
                    tokens += 1  # the APIs stream about one token per delta
                elif isinstance(event, PatchOperation):
                    ops.append(event)
                    tokens += count_tokens(event.diff)
                elif isinstance(event, Usage):
                    usage = event
                elif isinstance(event, Finish):
                    finish = event.reason
                if on_tokens is not None and isinstance(event, (TextDelta, PatchOperation)):
                    on_tokens(tokens)
        except ModelError as exc:
            other = Router.other(self.role)
            way_out = (
                f" Or route this action to the {other} model ({self.router.model(other)}): "
                f'sparkforge.actions.routing = {{"{kind}": "{other}"}}'
                if other_role_helps(exc, self.settings, other) else ""
            )
            raise ActionError(
                f"{self.verb} with {self.model} failed, nothing was applied: "
                f"{model_failure(exc, self.model, self.settings)}.{way_out}",
                "model",
            ) from exc
        model_ms = (time.perf_counter() - started) * 1000
        answer = "".join(text)
        timings = {"prompt": self._prompt_ms, "model": model_ms, "first_token": first_token_ms or 0.0}
        if usage is not None:
            tokens = usage.output_tokens
        if finish == "length":
            raise ActionError(
                f"{self.model} stopped at its output limit ({self.max_output_tokens} tokens) before "
                f"finishing; nothing was applied. Select less, or raise sparkforge.{self.role}.maxOutputTokens",
                "model",
            )
        result = ActionResult(kind, self.role, self.model, None, answer, prompt, {}, usage, tokens, timings)
        if kind == "explain":
            return result
        planned = time.perf_counter()
        result.plan = self._plan(answer, ops, prompt.secrets)
        result.sources = {p: s for p, s in self.workspace.served.items() if s is not None}
        timings["plan"] = (time.perf_counter() - planned) * 1000
        return result

    def _plan(self, answer: str, ops: list[PatchOperation], secrets: list[tuple[str, str]]) -> EditPlan:
        restore = _unredactor(secrets)
        try:
            if ops:
                patches: list = [PatchOperation(o.type, o.path, restore(o.diff), o.call_id) for o in ops]
            else:
                patches = list(parse_patches(restore(answer)))
        except PatchError as exc:
            if ops or "contains no diff" not in exc.message:
                raise ActionError(
                    f"{self.verb}: {self.model} answered with a patch sparkforge cannot read: "
                    f"{_nothing_applied(exc.message)}. {AGAIN}",
                    "patch",
                ) from exc
            said = " ".join(answer.split())
            said = f' ("{said[:120]}…")' if len(said) > 120 else (f' ("{said}")' if said else "")
            raise ActionError(
                f"{self.verb}: {self.model} answered without an edit{said}; nothing was applied. {AGAIN}",
                "no_edit",
            ) from exc
        try:
            plan = PatchApplier(self.workspace.root, self.workspace.read).plan(patches)
        except PatchError as exc:
            message = _nothing_applied(exc.message)
            if not message.startswith("refused"):
                message = f"the patch from {self.model} does not apply: {message}"
            raise ActionError(f"{self.verb}: {message}", "patch") from exc
        for edit in plan.files:
            if (reason := self.workspace.excluded(edit.path)) is not None:
                raise ActionError(f"refused: the patch edits {edit.path}, and {reason}; nothing was applied", "refused")
            before = self.workspace.read(edit.path)
            if stray := stray_markers(edit.new_text, before.text if before is not None else ""):
                # a marker the model garbled or invented: applying it would replace a secret
                raise ActionError(
                    f"{self.verb}: {self.model}'s patch writes {stray[0]}, a redacted secret sparkforge "
                    f"cannot put back into {edit.path}; nothing was applied. {AGAIN}",
                    "patch",
                )
        if not plan.files:
            raise ActionError(f"{self.model}'s patch changes nothing; there is nothing to apply", "no_edit")
        return plan


def _nothing_applied(message: str) -> str:
    """A patch problem, ending with the reassurance that nothing was applied."""
    message = message.rstrip(" .;")
    return message if message.endswith("nothing was applied") else f"{message}; nothing was applied"


def _unredactor(pairs: list[tuple[str, str]]) -> Callable[[str], str]:
    """Put secrets back where the model copied their redacted form (only when unambiguous)."""
    originals: dict[str, set[str]] = {}
    for redacted, original in pairs:
        originals.setdefault(redacted, set()).add(original)
    unique = {r: next(iter(o)) for r, o in originals.items() if len(o) == 1}

    def restore(text: str) -> str:
        for redacted, original in unique.items():
            if redacted in text:
                text = text.replace(redacted, original)
        return text

    return restore
