"""Run the cases under each model, one ``sparkforge lsp`` per model, and score them.

A case's scoring (its pytest runs) goes on in the background while the next case's action
runs; at most ``jobs`` pytest runs at a time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sparkforge.config import merge_raw
from sparkforge.evaluation.actions.cases import ActionCase
from sparkforge.evaluation.actions.editor import ActionOutcome, Editor, EditorError
from sparkforge.evaluation.actions.oracle import OracleError, OracleServer
from sparkforge.evaluation.actions.scoring import PytestConfig, Scorer, Verdict

Progress = Callable[[str], None]


class EvalError(RuntimeError):
    """The run could not go on (a server that would not start or died)."""


@dataclass(frozen=True, slots=True)
class ModelSpec:
    label: str  # the row's name in the report
    model: str
    settings: dict[str, Any]  # the sparkforge settings section the server runs with


@dataclass
class CaseResult:
    name: str
    kind: str
    passed: bool
    reason: str
    title: str = ""  # the action picked
    via: str = ""  # how its edit arrived: "codeAction/resolve" or "workspace/applyEdit"
    seconds: float | None = None  # resolve until the edit was back
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class ModelResult:
    label: str
    model: str
    cases: list[CaseResult] = field(default_factory=list)
    # --oracle: what the local model server served for this model (endpoint -> model -> count)
    oracle_requests: dict[str, dict[str, int]] | None = None


def _oracle_settings(settings: dict[str, Any], base_url: str, api: str | None = None) -> dict[str, Any]:
    """Both roles on the local model server, over ``api`` (default: the Responses API)."""
    local = {"baseUrl": base_url, "api": api or "responses", "maxRetries": 0, "fallbackModels": []}
    return merge_raw(settings, {"fast": dict(local), "deep": dict(local)})


async def evaluate(specs: Sequence[ModelSpec], cases: Sequence[ActionCase], config: PytestConfig, *,
                   oracle: bool = False, api: str | None = None, timeout: float = 300.0, jobs: int = 2,
                   resolve: bool = True,
                   progress: Progress = lambda line: None) -> list[ModelResult]:
    """Each model's results, in the order the models were given."""
    server = None
    if oracle:
        try:
            server = await asyncio.to_thread(OracleServer)
        except OracleError as exc:
            raise EvalError(str(exc)) from None
    scorer = Scorer(config)
    limit = asyncio.Semaphore(jobs)
    results = []
    try:
        for spec in specs:
            settings = spec.settings if server is None else _oracle_settings(spec.settings, server.base_url, api)
            results.append(await _run_model(spec, settings, cases, scorer, limit, server, timeout, resolve, progress))
    finally:
        scorer.close()
        if server is not None:
            server.close()
    return results


async def _run_model(spec: ModelSpec, settings: dict[str, Any], cases: Sequence[ActionCase], scorer: Scorer,
                     limit: asyncio.Semaphore, server: OracleServer | None, timeout: float, resolve: bool,
                     progress: Progress) -> ModelResult:
    workspace = Path(tempfile.mkdtemp(prefix="sparkforge-eval-actions-")) / "project"
    editor: Editor | None = None
    scoring: list[asyncio.Task[CaseResult]] = []
    try:
        if server is not None:
            await asyncio.to_thread(server.reset)
        for case in cases:
            if editor is not None and editor.client.stopped:  # it exited between two cases
                progress(f"{spec.label}: sparkforge lsp exited: {editor.stderr_tail()}; starting it again")
                await editor.stop()
                editor = None
            if editor is None:
                editor = await _start(spec, workspace, settings, timeout, resolve)
            if server is not None:
                await asyncio.to_thread(server.answer, case)
            outcome = await editor.run(case)
            if editor.client.stopped:
                # the case fails with why, and the next case gets a new server
                progress(f"{spec.label}: sparkforge lsp exited during {case.name}: {editor.stderr_tail()}")
                outcome.error = f"sparkforge lsp exited during the action ({outcome.error or 'no answer'})"
                await editor.stop()
                editor = None
            scoring.append(asyncio.create_task(_score(scorer, limit, case, outcome, spec.label, progress)))
        result = ModelResult(spec.label, spec.model, list(await asyncio.gather(*scoring)))
        if server is not None:
            result.oracle_requests = await asyncio.to_thread(server.requests)
        return result
    except BaseException:
        for task in scoring:
            task.cancel()
        await asyncio.gather(*scoring, return_exceptions=True)
        raise
    finally:
        if editor is not None:
            await editor.stop()
        shutil.rmtree(workspace.parent, ignore_errors=True)


async def _start(spec: ModelSpec, workspace: Path, settings: dict[str, Any], timeout: float,
                 resolve: bool) -> Editor:
    editor = Editor(workspace, settings, timeout=timeout, resolve=resolve)
    try:
        await editor.start()
    except (EditorError, OSError) as exc:
        await editor.stop()
        raise EvalError(f"{spec.label}: {exc}") from None
    return editor


async def _score(scorer: Scorer, limit: asyncio.Semaphore, case: ActionCase, outcome: ActionOutcome,
                 label: str, progress: Progress) -> CaseResult:
    if outcome.error:
        verdict = Verdict(False, outcome.error)
    else:
        async with limit:
            verdict = await scorer.score(case, outcome.files)
    result = CaseResult(case.name, case.kind, verdict.passed, verdict.reason, outcome.title, outcome.via,
                        round(outcome.seconds, 3) if outcome.title else None,
                        outcome.input_tokens, outcome.output_tokens, outcome.cost_usd)
    progress(f"{label}: {case.name}: {'pass' if verdict.passed else 'FAIL'}: {verdict.reason}")
    return result


async def check_cases(cases: Sequence[ActionCase], config: PytestConfig, *, jobs: int = 2,
                      progress: Progress = lambda line: None) -> ModelResult:
    """``--check``: each case's own consistency, as one row named "cases"."""
    scorer = Scorer(config)
    limit = asyncio.Semaphore(jobs)

    async def one(case: ActionCase) -> CaseResult:
        async with limit:
            verdict = await scorer.check(case)
        progress(f"check: {case.name}: {'ok' if verdict.passed else 'BAD'}: {verdict.reason}")
        return CaseResult(case.name, case.kind, verdict.passed, verdict.reason)

    try:
        return ModelResult("cases (--check)", "", list(await asyncio.gather(*(one(c) for c in cases))))
    finally:
        scorer.close()
