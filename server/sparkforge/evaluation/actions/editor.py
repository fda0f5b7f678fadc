"""An editor for the actions eval: ``sparkforge lsp`` as a process, driven through pygls's
language client the way VS Code drives it.

For each case the workspace folder is emptied and the case's files written; the file the
action is asked on is opened, ``textDocument/codeAction`` is asked at the case's range (with
the case's diagnostic for Fix), the action of the case's kind is picked (Refactor gets the
case's instruction, as the client asks the user for one), resolved, and its ``edit`` applied
to the files as an editor applies a WorkspaceEdit: versioned edits refused when stale,
``CreateFile``/``DeleteFile`` carried out, positions in UTF-16. An action that comes back
with a command instead is executed, and the ``workspace/applyEdit`` the server then sends is
applied the same way. One server serves every case of a model.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import shutil
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.lsp.client import LanguageClient

from sparkforge.evaluation.actions.cases import ActionCase
from sparkforge.evaluation.lsptext import apply_spans
from sparkforge.features.params import plain
from sparkforge.textpos import LineIndex, column_to_units

STATUS = "sparkforge/getStatus"
SKIP_DIRS = {"__pycache__", ".pytest_cache", ".git"}


class EditorError(RuntimeError):
    """The language server could not be started or stopped answering."""


@dataclass
class ActionOutcome:
    """What one case's action did to the workspace."""

    files: dict[str, str]  # the workspace afterwards (path -> text)
    error: str = ""  # why no edit was applied ("" when one was)
    title: str = ""  # the action's title, as the lightbulb showed it
    via: str = ""  # how the edit arrived: "codeAction/resolve" or "workspace/applyEdit"
    seconds: float = 0.0  # codeAction/resolve (or the command) until the edit was back
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None


@dataclass
class _OpenDoc:
    uri: str
    text: str
    version: int = 1


def capabilities(resolve: bool = True) -> types.ClientCapabilities:
    """What VS Code announces for code actions and workspace edits (the parts that matter);
    ``resolve=False``: a client that cannot resolve an action's edit (the server then gives
    each action the ``sparkforge.runAction`` command and applies with ``workspace/applyEdit``)."""
    kinds = ["", "quickfix", "refactor", "refactor.extract", "refactor.inline", "refactor.rewrite",
             "source", "source.organizeImports"]
    return types.ClientCapabilities(
        workspace=types.WorkspaceClientCapabilities(
            apply_edit=True,
            workspace_edit=types.WorkspaceEditClientCapabilities(
                document_changes=True,
                resource_operations=[types.ResourceOperationKind.Create, types.ResourceOperationKind.Rename,
                                     types.ResourceOperationKind.Delete],
                failure_handling=types.FailureHandlingKind.TextOnlyTransactional,
                normalizes_line_endings=True,
            ),
            workspace_folders=True,
        ),
        text_document=types.TextDocumentClientCapabilities(
            synchronization=types.TextDocumentSyncClientCapabilities(did_save=True),
            code_action=types.CodeActionClientCapabilities(
                code_action_literal_support=types.ClientCodeActionLiteralOptions(
                    code_action_kind=types.ClientCodeActionKindOptions(value_set=kinds)),
                is_preferred_support=True,
                disabled_support=True,
                data_support=True,
                resolve_support=types.ClientCodeActionResolveOptions(properties=["edit"]) if resolve else None,
                honors_change_annotations=True,
            ),
        ),
        window=types.WindowClientCapabilities(work_done_progress=True),
        general=types.GeneralClientCapabilities(position_encodings=[types.PositionEncodingKind.Utf16]),
    )


def uri_path(uri: str) -> Path:
    return Path(unquote(urlparse(uri).path))


def read_tree(root: Path) -> dict[str, str]:
    """Every text file under ``root`` (path -> text), caches left out."""
    out: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_file() and not SKIP_DIRS.intersection(rel.parts):
            try:
                out[rel.as_posix()] = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                out[rel.as_posix()] = "<binary>"
    return out


def write_tree(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8", newline="")


class Editor:
    """``sparkforge lsp`` on a workspace folder of its own, with one client."""

    def __init__(self, root: Path, settings: dict[str, Any], *, timeout: float = 300.0, resolve: bool = True,
                 command: list[str] | None = None) -> None:
        self.root = root.resolve()
        self.settings = settings
        self.timeout = timeout
        self.resolve = resolve  # VS Code resolves an action's edit; a plain client runs its command
        self.command = command or [sys.executable, "-m", "sparkforge", "lsp"]
        self.client = LanguageClient("sparkforge-eval", "1")
        self.stderr: collections.deque[str] = collections.deque(maxlen=40)
        self.messages: list[str] = []  # window/showMessage, for the report of a failure
        self._open: dict[str, _OpenDoc] = {}
        self._applied: list[str] = []  # errors of workspace/applyEdit requests ("" = applied)
        self._tasks: list[asyncio.Task[Any]] = []
        self._via = ""
        self._register()

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        logging.getLogger("pygls").setLevel(logging.CRITICAL)  # the server's refusals are reported per case
        self.root.mkdir(parents=True, exist_ok=True)
        await self.client.start_io(*self.command)
        server = self.client._server  # pygls keeps the process; its stderr must be drained
        if server is not None and server.stderr is not None:
            self._tasks.append(asyncio.create_task(self._drain(server.stderr)))
        try:
            await asyncio.wait_for(self.client.initialize_async(types.InitializeParams(
                capabilities=capabilities(self.resolve),
                process_id=None,
                root_uri=self.root.as_uri(),
                workspace_folders=[types.WorkspaceFolder(uri=self.root.as_uri(), name=self.root.name)],
                initialization_options=self.settings,
                client_info=types.ClientInfo(name="sparkforge eval actions"),
            )), 60)
        except (asyncio.TimeoutError, RuntimeError, JsonRpcException) as exc:
            raise EditorError(f"sparkforge lsp did not start: {exc or 'no answer to initialize'}; "
                              f"its stderr: {self.stderr_tail()}") from None
        self.client.initialized(types.InitializedParams())

    async def stop(self) -> None:
        try:
            if not self.client.stopped:
                await asyncio.wait_for(self.client.shutdown_async(None), 10)
                self.client.exit(None)
        except Exception:  # a server that died already: nothing left to stop
            pass
        server = self.client._server
        if server is not None and server.returncode is None:
            try:
                await asyncio.wait_for(server.wait(), 5)
            except asyncio.TimeoutError:
                server.kill()
                await server.wait()
        try:
            await self.client.stop()
        except Exception:  # stopping what never fully started
            pass
        for task in self._tasks:
            task.cancel()

    async def _drain(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            self.stderr.append(line.decode("utf-8", "replace").rstrip())

    def stderr_tail(self, lines: int = 5) -> str:
        """The server's last lines on stderr, for a message: its traceback's end, usually."""
        return " | ".join(list(self.stderr)[-lines:]) or "(empty)"

    def _register(self) -> None:
        client = self.client

        @client.feature(types.WORKSPACE_APPLY_EDIT)
        def apply(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
            try:
                self.apply_edit(params.edit)
            except ValueError as exc:
                self._applied.append(str(exc))
                return types.ApplyWorkspaceEditResult(applied=False, failure_reason=str(exc))
            self._applied.append("")
            return types.ApplyWorkspaceEditResult(applied=True)

        @client.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)
        def progress_create(params: Any) -> None:
            return None

        @client.feature(types.WINDOW_SHOW_MESSAGE)
        def show(params: types.ShowMessageParams) -> None:
            self.messages.append(params.message)

        for method in (types.PROGRESS, types.WINDOW_LOG_MESSAGE, types.TELEMETRY_EVENT, "sparkforge/status"):
            client.feature(method)(lambda params: None)

        @client.feature(types.CLIENT_REGISTER_CAPABILITY)
        def register(params: Any) -> None:
            return None

    # -- one case --------------------------------------------------------------------------
    async def run(self, case: ActionCase) -> ActionOutcome:
        """Run ``case``'s action on a fresh copy of its files; what the workspace became."""
        self._reset_workspace(case.files)
        error, title, seconds, self._via = "", "", 0.0, ""
        if self.client.stopped:
            return ActionOutcome(read_tree(self.root), "sparkforge lsp has exited")
        before = await self._usage()
        others = [self._did_open(path, case.files[path]) for path in case.open]
        doc = self._did_open(case.path, case.files[case.path])
        try:
            action = await self._pick(case, doc)
            if isinstance(action, str):
                error = action
            else:
                title = action.title
                t0 = time.perf_counter()
                error = await self._carry_out(action)
                seconds = time.perf_counter() - t0
        except RuntimeError as exc:  # pygls: the client stopped with the server
            error = _message(exc)
        finally:
            for opened in (doc, *others):
                self._did_close(opened)
        after = await self._usage()
        tokens_in = after.get("inputTokens", 0) - before.get("inputTokens", 0)
        tokens_out = after.get("outputTokens", 0) - before.get("outputTokens", 0)
        cost = None
        if after.get("costUsd") is not None:
            cost = after["costUsd"] - (before.get("costUsd") or 0.0)
        return ActionOutcome(read_tree(self.root), error, title, self._via if not error else "", seconds,
                             tokens_in, tokens_out, cost)

    def _reset_workspace(self, files: dict[str, str]) -> None:
        for child in self.root.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
        write_tree(self.root, files)

    async def _pick(self, case: ActionCase, doc: _OpenDoc) -> types.CodeAction | str:
        """The action of the case's kind in the lightbulb, or why there is none."""
        index = LineIndex.of(doc.text)

        def position(line: int, column: int) -> types.Position:
            return types.Position(line=line, character=column_to_units(index.line(line), column))

        start, end = position(*case.start), position(*case.end)
        diagnostics = []
        if case.kind == "fix":
            line = index.line(case.start[0])
            indent = len(line) - len(line.lstrip())
            diagnostics.append(types.Diagnostic(
                range=types.Range(start=position(case.start[0], indent), end=position(case.start[0], len(line))),
                message=case.diagnostic, severity=types.DiagnosticSeverity.Error, source="pytest"))
        params = types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=doc.uri),
            range=types.Range(start=start, end=end),
            context=types.CodeActionContext(diagnostics=diagnostics,
                                            trigger_kind=types.CodeActionTriggerKind.Invoked),
        )
        where = f"{case.path}:{case.start[0] + 1}"
        try:
            listed = await asyncio.wait_for(self._list(params), 30)
        except (JsonRpcException, asyncio.TimeoutError, RuntimeError) as exc:
            return f"textDocument/codeAction at {where} failed: {_message(exc)}"
        wanted = case.action_kind
        offered = [a for a in listed if isinstance(a.data, dict)]
        for action in offered:
            data = action.data
            if data.get("kind") != wanted:
                continue
            if wanted == "fix" and (data.get("diagnostic") or {}).get("message") != case.diagnostic:
                continue
            if wanted == "refactor" and case.instruction and self.resolve:  # a plain client cannot ask
                action.data = {**data, "instruction": case.instruction}
            return action
        titles = ", ".join(repr(a.title) for a in offered) or "nothing"
        return f"no {case.kind} action offered at {where} (offered: {titles})"

    async def _list(self, params: types.CodeActionParams) -> list[types.CodeAction]:
        """``textDocument/codeAction``, every item read as a CodeAction (lsprotocol's own hook
        would read an action that carries a command as a bare Command)."""
        protocol = self.client.protocol
        msg_id = str(uuid.uuid4())
        future = protocol.send_request(types.TEXT_DOCUMENT_CODE_ACTION, params, msg_id=msg_id)
        protocol._result_types.pop(msg_id, None)  # the answer stays JSON, structured below
        raw = plain(await asyncio.wrap_future(future))
        return [protocol._converter.structure(a, types.CodeAction) for a in raw or [] if "title" in a]

    async def _carry_out(self, action: types.CodeAction) -> str:
        """Resolve ``action`` and apply its edit (or run its command); "" or why nothing was applied."""
        resolved = action
        if self.resolve:
            try:
                resolved = await self._request(types.CODE_ACTION_RESOLVE, action)
            except asyncio.TimeoutError:
                return f"codeAction/resolve gave no answer in {self.timeout:g} s"
            except (JsonRpcException, RuntimeError) as exc:
                return f"codeAction/resolve failed: {_message(exc)}"
        if resolved.edit is not None:
            try:
                self.apply_edit(resolved.edit)
            except ValueError as exc:
                return f"the edit cannot be applied: {exc}"
            self._via = types.CODE_ACTION_RESOLVE
            return ""
        if resolved.command is not None:
            self._applied.clear()
            self.messages.clear()
            try:
                reply = plain(await self._request(types.WORKSPACE_EXECUTE_COMMAND, types.ExecuteCommandParams(
                    command=resolved.command.command, arguments=list(resolved.command.arguments or []))))
            except asyncio.TimeoutError:
                return f"{resolved.command.command} gave no answer in {self.timeout:g} s"
            except (JsonRpcException, RuntimeError) as exc:
                return f"{resolved.command.command} failed: {_message(exc)}"
            if "" in self._applied:
                self._via = types.WORKSPACE_APPLY_EDIT
                return ""
            reason = (reply or {}).get("error") if isinstance(reply, dict) else None
            return reason or next(iter(self._applied), "") or "; ".join(self.messages) or "no edit was applied"
        return "the resolved action carries neither an edit nor a command"

    async def _request(self, method: str, params: Any) -> Any:
        """A request that may take the model's time: past ``timeout`` it is cancelled with
        ``$/cancelRequest``, as an editor cancels it (the server then closes the model's stream)."""
        msg_id = str(uuid.uuid4())
        try:
            return await asyncio.wait_for(
                self.client.protocol.send_request_async(method, params, msg_id=msg_id), self.timeout)
        except (asyncio.TimeoutError, asyncio.CancelledError):
            if not self.client.stopped:
                self.client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=msg_id))
            raise

    async def _usage(self) -> dict[str, Any]:
        if self.client.stopped:
            return {}
        try:
            status = plain(await asyncio.wait_for(self.client.protocol.send_request_async(STATUS, {}), 10))
        except (JsonRpcException, asyncio.TimeoutError, RuntimeError):
            return {}
        return status.get("usage") or {} if isinstance(status, dict) else {}

    # -- documents -------------------------------------------------------------------------
    def _did_open(self, rel: str, text: str) -> _OpenDoc:
        uri = (self.root / rel).as_uri()
        doc = self._open[uri] = _OpenDoc(uri, text)
        language = "python" if rel.endswith(".py") else "plaintext"
        self.client.text_document_did_open(types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id=language, version=1, text=text)))
        return doc

    def _did_close(self, doc: _OpenDoc) -> None:
        self._open.pop(doc.uri, None)
        if self.client.stopped:
            return
        self.client.text_document_did_close(types.DidCloseTextDocumentParams(
            text_document=types.TextDocumentIdentifier(uri=doc.uri)))

    def apply_edit(self, edit: types.WorkspaceEdit) -> None:
        """Carry out ``edit`` as an editor does, all or nothing; ValueError if it cannot be."""
        texts: dict[Path, str | None] = {}  # the planned state of every file touched

        def current(path: Path) -> str | None:
            if path not in texts:
                texts[path] = path.read_text(encoding="utf-8") if path.is_file() else None
            return texts[path]

        changes: list[Any] = list(edit.document_changes or [])
        for uri, edits in (edit.changes or {}).items():
            changes.append(types.TextDocumentEdit(
                text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=None), edits=edits))
        for change in changes:
            if isinstance(change, types.CreateFile):
                path = self._inside(change.uri)
                exists = current(path) is not None
                options = change.options
                if exists and not (options and (options.overwrite or options.ignore_if_exists)):
                    raise ValueError(f"{path.name} already exists")
                if not exists or (options and options.overwrite):
                    texts[path] = ""
            elif isinstance(change, types.DeleteFile):
                path = self._inside(change.uri)
                if current(path) is None and not (change.options and change.options.ignore_if_not_exists):
                    raise ValueError(f"{path.name} does not exist")
                texts[path] = None
            elif isinstance(change, types.RenameFile):
                old, new = self._inside(change.old_uri), self._inside(change.new_uri)
                if current(old) is None:
                    raise ValueError(f"{old.name} does not exist")
                texts[new], texts[old] = current(old), None
            else:
                path = self._inside(change.text_document.uri)
                doc = self._open.get(change.text_document.uri)
                version = change.text_document.version
                if doc is not None and version is not None and version != doc.version:
                    raise ValueError(f"stale edit refused: {path.name} is at version {doc.version}, "
                                     f"the edit is for version {version}")
                text = doc.text if doc is not None and path not in texts else current(path)
                if text is None:
                    raise ValueError(f"{path.name} does not exist")
                texts[path] = apply_text_edits(text, change.edits)
        for path, text in texts.items():
            if text is None:
                path.unlink(missing_ok=True)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8", newline="")
            doc = self._open.get(path.as_uri())
            if doc is not None and doc.text != text and not self.client.stopped:
                doc.text, doc.version = text, doc.version + 1
                self.client.text_document_did_change(types.DidChangeTextDocumentParams(
                    text_document=types.VersionedTextDocumentIdentifier(uri=doc.uri, version=doc.version),
                    content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)]))

    def _inside(self, uri: str) -> Path:
        path = uri_path(uri).resolve()
        if path != self.root and self.root not in path.parents:
            raise ValueError(f"the edit touches {path}, outside the workspace")
        return path


def apply_text_edits(text: str, edits: list[Any]) -> str:
    """``text`` with LSP text edits (UTF-16 positions, all relative to ``text``) applied;
    a position past the last line is the end of the text, as editors clamp it."""
    index = LineIndex.of(text)

    def offset(pos: types.Position) -> int:
        if pos.line >= index.line_count:
            return len(text)
        line = index.line(pos.line)
        return index.offset(pos.line, min(pos.character, len(line.encode("utf-16-le")) // 2))

    return apply_spans(text, ((offset(e.range.start), offset(e.range.end), e.new_text) for e in edits),
                       "the edit's text edits")


def _message(exc: BaseException) -> str:
    return str(getattr(exc, "message", None) or exc) or type(exc).__name__
