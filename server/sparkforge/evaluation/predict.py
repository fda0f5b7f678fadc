"""``sparkforge eval predict``: replay cases through ``sparkforge lsp`` and score what the user sees.

For each model, one ``sparkforge lsp`` process (spoken to over stdio with pygls's language
client, as an editor would: UTF-16 positions, ``workspace/configuration`` answered with the
model's settings) serves every case in turn, in one temporary workspace. A case's files are
written there and opened as they were before its history; the history is replayed as
``didChange`` events (each edit one minimal ranged change, after its pause, with CRLF line
ends where the case asks for them); then, at the cursor, the client asks for ghost text
(``textDocument/inlineCompletion``, automatic, as after a keystroke) and for next edits
(``sparkforge/nextEdit`` with a partial-result token), as the VS Code client does. Both share
one prediction. What the user would see, the ghost text and the next edits applied, is the
predicted text, scored against every acceptable alternative of the case (the best wins).
The documents are closed before the next case, which drops all the server keeps about them
(edit history, debounce, prediction cache), so one process can serve every case.

With ``oracle``, the model server in this process answers each case with its expected edit
(``modelserver`` scenarios' ``oracle``): every miss is then the pipeline's.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import difflib
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from sparkforge.evaluation.lsptext import apply_spans
from sparkforge.features.params import plain
from sparkforge.textpos import LineIndex

if TYPE_CHECKING:
    from sparkforge.evaluation.cases import Case

NEXT_EDIT = "sparkforge/nextEdit"
GET_STATUS = "sparkforge/getStatus"
# VS Code asks for a next edit this long after a keystroke (client-vscode/src/nextEdit.ts)
NEXT_EDIT_DELAY_MS = 75
LANGUAGES = {
    ".py": "python", ".pyi": "python", ".js": "javascript", ".mjs": "javascript", ".jsx": "javascriptreact",
    ".ts": "typescript", ".tsx": "typescriptreact", ".go": "go", ".rs": "rust", ".java": "java",
    ".kt": "kotlin", ".cs": "csharp", ".c": "c", ".h": "c", ".cpp": "cpp", ".cc": "cpp", ".hpp": "cpp",
    ".rb": "ruby", ".php": "php", ".swift": "swift", ".lua": "lua", ".sh": "shellscript",
    ".md": "markdown", ".json": "json", ".yaml": "yaml", ".yml": "yaml", ".toml": "toml",
    ".html": "html", ".css": "css", ".sql": "sql",
}


class EvalError(Exception):
    """A problem that stops the run (a server that cannot start): printed, exit 1."""


@dataclass(frozen=True)
class ModelSpec:
    """One row of the report: a label and the ``sparkforge`` settings section it runs with."""

    label: str
    model: str
    settings: dict[str, Any]


@dataclass
class Observation:
    """What the editor received for one case."""

    ghost: str | None = None
    edits: list[dict[str, Any]] = field(default_factory=list)  # LSP edits (UTF-16 ranges)
    predicted: dict[str, str] = field(default_factory=dict)  # path -> text (LF) after them
    first_ms: float | None = None
    last_ms: float | None = None
    early_edits: int = 0  # next edits reported as partial results before the answer
    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    error: str | None = None


@dataclass
class CaseScore:
    """One case under one model, scored."""

    case: str
    source: str
    format: str
    kind: str
    language: str
    model: str
    expects_edit: bool
    suggested: bool
    exact: bool
    grade: float | None = None  # the score of the alternative matched exactly (Copilot grades)
    delta_chrf: float | None = None  # None on a case that expects no edit
    line_precision: float | None = None
    line_recall: float | None = None
    line_f1: float | None = None
    first_ms: float | None = None
    last_ms: float | None = None
    early_edits: int = 0  # next edits shown before the answer ended (partial results)
    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    ghost: str | None = None
    edits: list[dict[str, Any]] = field(default_factory=list)
    diff: str = ""  # the predicted change as a unified diff of the current text
    expected_diff: str = ""  # on a miss: the best-scoring acceptable change, the same way
    error: str | None = None
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# -- replaying a case ------------------------------------------------------------------------


def minimal_change(before: str, after: str) -> tuple[int, int, str]:
    """The one replacement that turns ``before`` into ``after``: (start, end, text) in
    ``before``, as small as the common prefix and suffix allow."""
    limit = min(len(before), len(after))
    p = 0
    while p < limit and before[p] == after[p]:
        p += 1
    s = 0
    while s < limit - p and before[len(before) - 1 - s] == after[len(after) - 1 - s]:
        s += 1
    return p, len(before) - s, after[p : len(after) - s]


def crlf_offset(text_lf: str, offset: int) -> int:
    """An offset into an LF text, in the same text with CRLF line ends."""
    return offset + text_lf.count("\n", 0, offset)


def language_of(path: str, case_language: str = "") -> str:
    suffix = Path(path).suffix.lower()
    return LANGUAGES.get(suffix) or case_language or "plaintext"


def apply_lsp_edits(text: str, edits: Sequence[dict[str, Any]]) -> str:
    """``text`` with LSP edits (UTF-16 ranges, non-overlapping) applied."""
    index = LineIndex.of(text)

    def offset(position: dict[str, Any]) -> int:
        return index.offset(position["line"], position["character"])

    return apply_spans(text, ((offset(e["range"]["start"]), offset(e["range"]["end"]), e["newText"]) for e in edits),
                       "the suggestion's edits")


def capabilities() -> types.ClientCapabilities:
    """What a VS Code-like editor announces, as far as sparkforge's fast path reads it."""
    return types.ClientCapabilities(
        general=types.GeneralClientCapabilities(position_encodings=[types.PositionEncodingKind.Utf16]),
        workspace=types.WorkspaceClientCapabilities(configuration=True, workspace_folders=True),
        text_document=types.TextDocumentClientCapabilities(
            synchronization=types.TextDocumentSyncClientCapabilities(dynamic_registration=False),
            inline_completion=types.InlineCompletionClientCapabilities(dynamic_registration=False),
        ),
        window=types.WindowClientCapabilities(work_done_progress=True, show_document=None),
    )


class Editor:
    """One ``sparkforge lsp`` process and the client side of its open documents."""

    def __init__(self, spec: ModelSpec, root: Path, *, command: Sequence[str] | None = None) -> None:
        self.spec = spec
        self.root = root
        self.command = list(command or [sys.executable, "-m", "sparkforge", "lsp"])
        self.client = LanguageClient("sparkforge-eval", "1")
        self.messages: list[str] = []  # window/showMessage, in order
        self.stderr: deque[str] = deque(maxlen=40)
        self.partials: dict[str, list[Any]] = {}
        self.on_partial: dict[str, Any] = {}
        self.docs: dict[str, tuple[str, int]] = {}  # path -> (text as the editor holds it, version)
        self._tasks: list[asyncio.Task[Any]] = []
        self._register()

    def _register(self) -> None:
        c = self.client

        @c.feature(types.WORKSPACE_CONFIGURATION)
        def configuration(params: types.ConfigurationParams) -> list[Any]:
            return [self.spec.settings for _ in params.items]

        @c.feature(types.WINDOW_SHOW_MESSAGE)
        def show(params: types.ShowMessageParams) -> None:
            self.messages.append(params.message)

        @c.feature(types.WINDOW_LOG_MESSAGE)
        def log(params: types.LogMessageParams) -> None:
            pass

        @c.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)
        def create(params: Any) -> None:
            return None

        @c.feature(types.PROGRESS)
        def progress(params: Any) -> None:
            token = str(getattr(params, "token", ""))
            if token in self.on_partial:
                self.on_partial[token](plain(params.value))

        @c.feature("sparkforge/status")
        def status(params: Any) -> None:
            pass

    async def start(self) -> None:
        await self.client.start_io(*self.command, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        server = self.client._server
        if server is not None and server.stderr is not None:
            self._tasks.append(asyncio.create_task(self._drain(server.stderr)))
        try:
            await asyncio.wait_for(self.client.initialize_async(types.InitializeParams(
                process_id=os.getpid(),
                capabilities=capabilities(),
                root_uri=self.root.as_uri(),
                workspace_folders=[types.WorkspaceFolder(uri=self.root.as_uri(), name=self.root.name)],
                initialization_options=self.spec.settings,
                client_info=types.ClientInfo(name="sparkforge eval"),
            )), 60)
        except (asyncio.TimeoutError, RuntimeError) as exc:
            raise EvalError(f"sparkforge lsp did not start: {exc} {''.join(self.stderr)[-500:]}") from None
        self.client.initialized(types.InitializedParams())

    async def _drain(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            self.stderr.append(line.decode(errors="replace"))

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.client.shutdown_async(None), 10)
            self.client.exit(None)
        server = self.client._server
        if server is not None and server.returncode is None:
            try:
                await asyncio.wait_for(server.wait(), 5)
            except asyncio.TimeoutError:
                server.kill()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.client.stop(), 5)
        for task in self._tasks:
            task.cancel()

    @property
    def alive(self) -> bool:
        server = self.client._server
        return server is not None and server.returncode is None

    # -- documents ----------------------------------------------------------------------
    def uri(self, path: str) -> str:
        return (self.root / path).as_uri()

    def open(self, path: str, text: str, language: str) -> None:
        self.docs[path] = (text, 1)
        self.client.text_document_did_open(types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=self.uri(path), language_id=language, version=1,
                                                 text=text)))

    def change(self, path: str, start: int, end: int, new_text: str) -> None:
        """Replace ``[start, end)`` of the editor's text (offsets into it) with ``new_text``."""
        text, version = self.docs[path]
        index = LineIndex.of(text)
        (sl, sc), (el, ec) = index.position(start), index.position(end)
        self.docs[path] = (text[:start] + new_text + text[end:], version + 1)
        self.client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=self.uri(path), version=version + 1),
            content_changes=[types.TextDocumentContentChangePartial(
                range=types.Range(start=types.Position(line=sl, character=sc),
                                  end=types.Position(line=el, character=ec)),
                text=new_text)]))

    def close_all(self) -> None:
        for path in self.docs:
            self.client.text_document_did_close(types.DidCloseTextDocumentParams(
                text_document=types.TextDocumentIdentifier(uri=self.uri(path))))
        self.docs.clear()

    async def status(self) -> dict[str, Any]:
        return plain(await asyncio.wait_for(self.client.protocol.send_request_async(GET_STATUS, {}), 10))

    # -- one case -----------------------------------------------------------------------
    async def replay(self, case: "Case", *, pauses: bool = True, timeout: float = 60.0) -> Observation:
        """Open the case's files, replay its history, ask at the cursor; what came back."""
        eol = "\r\n" if case.crlf else "\n"

        def editor_text(lf: str) -> str:
            return lf.replace("\n", eol) if case.crlf else lf

        # the counters before: nothing reaches the model while the history replays
        usage = (await self.status()).get("fast", {})
        self._write_files(case)
        others = [p for p in case.files if p != case.cursor_path]
        for path in others + [p for p in case.files if p == case.cursor_path]:
            self.open(path, editor_text(case.files[path]), language_of(path, case.language))
        current = dict(case.files)
        for step in case.history:
            if pauses and step.delay_ms > 0:
                await asyncio.sleep(step.delay_ms / 1000)
            if step.path not in self.docs:
                self.open(step.path, editor_text(step.before), language_of(step.path, case.language))
                current[step.path] = step.before
            if current[step.path] != step.before:
                raise EvalError(f"{case.source}: the history does not follow on in {step.path}")
            start, end, new = minimal_change(step.before, step.after)
            if case.crlf:
                start, end = crlf_offset(step.before, start), crlf_offset(step.before, end)
                new = new.replace("\n", eol)
            self.change(step.path, start, end, new)
            current[step.path] = step.after
        if case.cursor_path not in self.docs:
            raise EvalError(f"{case.source}: the cursor's file {case.cursor_path} is not open")
        cursor_lf = current[case.cursor_path]
        offset = crlf_offset(cursor_lf, case.cursor_offset) if case.crlf else case.cursor_offset
        text, version = self.docs[case.cursor_path]
        line, character = LineIndex.of(text).position(offset)
        return await self._ask(case.cursor_path, line, character, version, current, usage, timeout)

    async def _ask(self, path: str, line: int, character: int, version: int,
                   current: dict[str, str], before: dict[str, Any], timeout: float) -> Observation:
        obs = Observation()
        uri = self.uri(path)
        position = types.Position(line=line, character=character)
        token = f"eval-{uuid.uuid4().hex[:12]}"
        t0 = time.perf_counter()

        def seen() -> None:
            now = (time.perf_counter() - t0) * 1000
            if obs.first_ms is None:
                obs.first_ms = now
            obs.last_ms = now

        def partial(value: Any) -> None:
            if isinstance(value, dict) and value.get("edits"):
                seen()
                obs.early_edits += len(value["edits"])

        self.on_partial[token] = partial

        async def ghost_text() -> None:
            result = await self.client.text_document_inline_completion_async(types.InlineCompletionParams(
                text_document=types.TextDocumentIdentifier(uri=uri), position=position,
                context=types.InlineCompletionContext(
                    trigger_kind=types.InlineCompletionTriggerKind.Automatic)))
            items = result.items if isinstance(result, types.InlineCompletionList) else (result or [])
            if items and isinstance(items[0].insert_text, str) and items[0].insert_text:
                seen()
                rng = items[0].range or types.Range(start=position, end=position)
                obs.ghost = items[0].insert_text
                start = {"line": rng.start.line, "character": rng.start.character}
                end = {"line": rng.end.line, "character": rng.end.character}
                obs.edits.append({"range": {"start": start, "end": end}, "newText": items[0].insert_text,
                                  "ghost": True})

        async def next_edits() -> None:
            await asyncio.sleep(NEXT_EDIT_DELAY_MS / 1000)
            result = plain(await self.client.protocol.send_request_async(NEXT_EDIT, {
                "textDocument": {"uri": uri, "version": version},
                "position": {"line": line, "character": character},
                "partialResultToken": token,
            }))
            if result and result.get("edits"):
                seen()
                obs.edits.extend(result["edits"])

        try:
            answers = await asyncio.wait_for(
                asyncio.gather(ghost_text(), next_edits(), return_exceptions=True), timeout)
        except asyncio.TimeoutError:
            obs.error = f"no answer within {timeout:g} s"
        else:  # an error answer: the user sees nothing of that request, but the other's
            errors = [a for a in answers if isinstance(a, Exception)]
            if errors:
                obs.error = "; ".join(f"{type(e).__name__}: {getattr(e, 'message', e)}" for e in errors)
        finally:
            self.on_partial.pop(token, None)
        if not self.alive:
            return obs
        after = (await self.status()).get("fast", {})
        for key, attr in (("inputTokens", "input_tokens"), ("cachedInputTokens", "cached_input_tokens"),
                          ("outputTokens", "output_tokens")):
            setattr(obs, attr, int(after.get(key) or 0) - int(before.get(key) or 0))
        if after.get("costUsd") is not None:
            obs.cost_usd = round(float(after["costUsd"]) - float(before.get("costUsd") or 0), 6)
        text, _ = self.docs[path]
        obs.predicted = dict(current)
        if obs.edits:
            try:
                obs.predicted[path] = apply_lsp_edits(text, obs.edits).replace("\r\n", "\n")
            except ValueError as exc:
                obs.error = str(exc)
        return obs

    def _write_files(self, case: "Case") -> None:
        """The case's files on disk, as the editor opened them (nothing of the last case)."""
        for child in self.root.iterdir():
            shutil.rmtree(child) if child.is_dir() else child.unlink()
        for path, text in case.files.items():
            target = self.root / path
            if not target.resolve().is_relative_to(self.root.resolve()):
                raise EvalError(f"{case.source}: the path {path} is outside the workspace")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text.replace("\n", "\r\n") if case.crlf else text, encoding="utf-8", newline="")


# -- scoring ---------------------------------------------------------------------------------


def unified(path: str, before: str, after: str) -> str:
    return "".join(difflib.unified_diff(before.splitlines(True), after.splitlines(True),
                                        f"a/{path}", f"b/{path}"))


def score(case: "Case", model: str, obs: Observation) -> CaseScore:
    """The observation scored against each of the case's alternatives; the best one counts."""
    from sparkforge.evaluation import metrics

    current = case.current()
    predicted = obs.predicted or dict(current)
    changed = [p for p in predicted if predicted[p] != current.get(p)]
    result = CaseScore(
        case=case.name, source=str(case.source), format=case.format, kind=case.kind,
        language=case.language, model=model, expects_edit=bool(case.expected),
        suggested=bool(changed), exact=False,
        first_ms=_round(obs.first_ms), last_ms=_round(obs.last_ms), early_edits=obs.early_edits,
        input_tokens=obs.input_tokens, cached_input_tokens=obs.cached_input_tokens,
        output_tokens=obs.output_tokens, cost_usd=obs.cost_usd, ghost=obs.ghost, edits=obs.edits,
        diff="".join(unified(p, current[p], predicted[p]) for p in changed),
        error=obs.error, notes=list(case.notes),
    )
    if not case.expected:
        result.exact = not changed
        return result
    best: tuple[float, ...] | None = None
    for alt in case.expected:
        original = current.get(alt.path, "")
        guess = predicted.get(alt.path, original)
        wanted = {alt.path: alt.after, **dict(alt.other_files)}
        exact = all(predicted.get(p, current.get(p)) == t for p, t in wanted.items()) and all(
            p in wanted for p in changed)
        chrf = metrics.delta_chrf(original, guess, alt.after)
        lp, lr, lf = metrics.line_scores(original, guess, alt.after)
        key = (alt.score if exact else 0.0, alt.score * chrf, alt.score * lf)
        if best is None or key > best:
            best = key
            result.expected_diff = "".join(
                unified(p, current.get(p, ""), t) for p, t in wanted.items() if t != current.get(p, ""))
            result.exact = exact and alt.score >= 1.0
            result.grade = alt.score if exact else 0.0
            result.delta_chrf = round(chrf, 2)
            result.line_precision, result.line_recall = round(lp, 4), round(lr, 4)
            result.line_f1 = round(lf, 4)
    if result.exact:
        result.expected_diff = ""
    return result


def _round(ms: float | None) -> float | None:
    return None if ms is None else round(ms, 1)


# -- the run ---------------------------------------------------------------------------------


class Oracle:
    """The model server, in this process, answering each case with its expected edit."""

    def __init__(self, scenario_files: Sequence[str] = ()) -> None:
        self.scenario_files = list(scenario_files)
        self.runner: Any = None
        self.base_url = ""
        self.served: dict[str, dict[str, dict[str, int]]] = {}
        """Per model label: the requests the model server answered, per API and model name."""

    async def start(self) -> None:
        from sparkforge.modelserver import ServerConfig, start_server
        from sparkforge.modelserver.scenarios import ScenarioError

        try:
            self.runner, port = await start_server(ServerConfig(port=0, scenario_files=self.scenario_files))
        except ScenarioError as exc:
            raise EvalError(str(exc)) from None
        self.base_url = f"http://127.0.0.1:{port}/v1"

    def answer(self, case: "Case") -> None:
        from sparkforge.modelserver import server_state

        current = case.current()
        text = current.get(case.cursor_path, "")
        pairs = [{"before": current.get(alt.path, ""), "after": alt.after}
                 for alt in sorted(case.expected, key=lambda a: -a.score)
                 if alt.path == case.cursor_path and alt.score > 0]
        # a case that expects nothing: the model answers the region unchanged
        pairs = pairs or [{"before": text, "after": text}]
        server_state(self.runner).store.load_runtime(
            {"scenarios": [{"name": case.name, "oracle": pairs}]}, replace=True)

    def count(self, label: str) -> None:
        """Keep what the model server answered since the last count, under ``label``."""
        from sparkforge.modelserver import server_state

        state = server_state(self.runner)
        requests = state.stats()["requests"]
        if label:
            self.served[label] = {api: dict(sorted(n.items())) for api, n in requests.items() if n}
        state.reset()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


async def run_model(spec: ModelSpec, cases: Sequence["Case"], *, oracle: Oracle | None = None,
                    pauses: bool = True, timeout: float = 60.0, progress: Any = None) -> list[CaseScore]:
    """Every case through one ``sparkforge lsp`` process for ``spec`` (restarted if it dies)."""
    scores: list[CaseScore] = []
    with tempfile.TemporaryDirectory(prefix="sparkforge-eval-") as tmp:
        root = Path(tmp) / "workspace"
        root.mkdir()
        editor: Editor | None = None
        told: set[str] = set()
        try:
            for case in cases:
                if editor is None or not editor.alive:
                    if editor is not None:
                        await editor.stop()
                    editor = Editor(spec, root)
                    await editor.start()
                if oracle is not None:
                    oracle.answer(case)
                try:
                    obs = await editor.replay(case, pauses=pauses, timeout=timeout)
                except EvalError as exc:
                    obs = Observation(error=str(exc))
                finally:
                    if editor.alive:
                        editor.close_all()
                for message in editor.messages:
                    if message not in told and progress is not None:
                        progress(f"{spec.label}: sparkforge says: {message}")
                    told.add(message)
                scores.append(score(case, spec.label, obs))
                if progress is not None:
                    s = scores[-1]
                    mark = "exact" if s.exact else ("miss" if s.expects_edit or s.suggested else "ok")
                    progress(f"{spec.label}: {case.name}: {mark}" + (f" ({s.error})" if s.error else ""))
        finally:
            if editor is not None:
                await editor.stop()
    return scores


async def run(specs: Sequence[ModelSpec], cases: Sequence["Case"], *, oracle: Oracle | None = None,
              pauses: bool = True, timeout: float = 60.0, progress: Any = None) -> dict[str, list[CaseScore]]:
    """Each model's scores, in the order the models were given."""
    results: dict[str, list[CaseScore]] = {}
    if oracle is not None:
        await oracle.start()
        oracle.count("")  # from zero: the model lookups at start are no requests anyway
    try:
        for spec in specs:
            if oracle is not None:
                spec = dataclasses.replace(spec, settings=_on(spec.settings, oracle.base_url))
            results[spec.label] = await run_model(spec, cases, oracle=oracle, pauses=pauses,
                                                  timeout=timeout, progress=progress)
            if oracle is not None:
                oracle.count(spec.label)
    finally:
        if oracle is not None:
            await oracle.stop()
    return results


def _on(settings: dict[str, Any], base_url: str) -> dict[str, Any]:
    """The settings with both roles on the oracle's model server (no key needed on loopback)."""
    roles = {role: {**settings.get(role, {}), "baseUrl": base_url, "apiKeyEnv": "SPARKFORGE_EVAL_NO_KEY"}
             for role in ("fast", "deep")}
    return {**settings, **roles}
