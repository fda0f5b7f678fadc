"""The language server: wires the features together and holds the state they share.

Features live in ``sparkforge/features/``, each with a ``setup(server)`` that registers its
handlers; this class only builds the shared parts (settings, model gateway, exclusion policy,
background tasks) and offers small helpers every feature needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.uris import to_fs_path
from pygls.workspace import TextDocument

from sparkforge import __version__
from sparkforge.config import Settings, parse_settings, settings_from_env
from sparkforge.models.gateway import ModelGateway
from sparkforge.privacy import ExclusionPolicy
from sparkforge.textpos import LineIndex, PositionError

log = logging.getLogger("sparkforge")

STATUS = "sparkforge/status"


class UnknownDocumentError(JsonRpcInvalidParams):
    pass


class RequestFailed(JsonRpcException):
    """LSP RequestFailed: a valid request that could not be carried out; the message says why
    and what to do."""

    CODE = -32803


def _mask_env_secrets(text: str) -> str:
    """Hide the values of any *_KEY / *_TOKEN environment variables that appear in text."""
    for name, value in os.environ.items():
        if value and len(value) >= 8 and re.search(r"KEY|TOKEN|SECRET", name) and value in text:
            text = text.replace(value, "****")
    return text


class SparkforgeProtocol(LanguageServerProtocol):
    """pygls drops a request whose params do not fit the method's type, and the client waits
    forever; we answer it with InvalidParams instead."""

    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            if "id" in data and "method" in data:
                error = JsonRpcInvalidParams(
                    f"invalid params for {data.get('method')}: "
                    f"{_why(exc) or 'they do not match the method'}"
                )
                self._send_response(data["id"], error=error.to_response_error())
            raise


def _why(exc: BaseException) -> str:
    cause = exc.__cause__
    if cause is None:
        return ""
    notes = []
    for sub in getattr(cause, "exceptions", ()) or ():
        notes.extend(getattr(sub, "__notes__", []))
        notes.append(f"{type(sub).__name__}: {sub}")
    return "; ".join(notes[:4]) or str(cause)


class SparkforgeServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("sparkforge", __version__, protocol_cls=SparkforgeProtocol)
        self.settings: Settings = settings_from_env()
        self.gateway = ModelGateway(self.settings)
        self.exclusions = ExclusionPolicy(None, self.settings.exclude)
        self.root: Path | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._line_index: dict[str, tuple[int | None, LineIndex]] = {}
        self._settings_listeners: list[Any] = []
        self._exclusion_cache: dict[str, tuple[Any, str | None]] = {}
        self._relative_paths: dict[str, tuple[Path | None, str]] = {}
        # What features hang on the server: sections they add to sparkforge/status, what
        # they do when a document closes, and the fast path's shared state.
        self.status_extras: list[Callable[[], dict[str, Any]]] = []
        self.close_hooks: list[Callable[[str], None]] = []
        self.suggestions: Any = None

    # -- settings ------------------------------------------------------------------------
    def apply_settings(self, raw: Any) -> None:
        settings, problems = parse_settings(raw)
        settings = settings_from_env(settings) if raw in (None, {}) else settings
        self.settings = settings
        self.gateway.configure(settings)
        self.exclusions = ExclusionPolicy(self.root, settings.exclude)
        for problem in problems:
            self.show(problem, types.MessageType.Warning)
        for listener in self._settings_listeners:
            listener(settings)

    def on_settings(self, listener: Any) -> None:
        self._settings_listeners.append(listener)

    # -- documents -----------------------------------------------------------------------
    def document(self, uri: str) -> TextDocument:
        """An open document, or an InvalidParams error naming the URI."""
        doc = self.workspace.text_documents.get(uri)
        if doc is None:
            raise UnknownDocumentError(f"unknown document {uri}: open it first (textDocument/didOpen)")
        return doc

    def lines(self, doc: TextDocument) -> LineIndex:
        """A line index of the document's current text, cached per version."""
        cached = self._line_index.get(doc.uri)
        if cached is not None and cached[0] == doc.version and doc.version is not None:
            return cached[1]
        index = LineIndex.of(doc.source)
        self._line_index[doc.uri] = (doc.version, index)
        return index

    def forget(self, uri: str) -> None:
        self._line_index.pop(uri, None)
        self._exclusion_cache.pop(uri, None)
        self._relative_paths.pop(uri, None)

    def offset(self, doc: TextDocument, position: types.Position) -> int:
        try:
            return self.lines(doc).offset(position.line, position.character)
        except PositionError as exc:
            raise JsonRpcInvalidParams(f"{doc.uri}: {exc}") from None

    def path_of(self, uri: str) -> Path | None:
        path = to_fs_path(uri)
        return Path(path) if path else None

    def relative_path(self, uri: str) -> str:
        """The path a prompt or message names: workspace-relative where it can be (resolved
        once per document: it is asked on every keystroke)."""
        cached = self._relative_paths.get(uri)
        if cached is None or cached[0] != self.root:
            path = self.path_of(uri)
            rel = uri if path is None else path.name
            if path is not None and self.root is not None:
                with contextlib.suppress(ValueError):
                    rel = path.resolve().relative_to(self.root).as_posix()
            cached = self._relative_paths[uri] = (self.root, rel)
        return cached[1]

    def exclusion_reason(self, uri: str) -> str | None:
        """Why ``uri`` may not reach a model, or None. Cached: it is asked on every keystroke."""
        ignore_mtime = self.exclusions.ignore_file_mtime()
        key = (uri, id(self.exclusions), ignore_mtime)
        cached = self._exclusion_cache.get(uri)
        if cached is not None and cached[0] == key:
            return cached[1]
        path = self.path_of(uri)
        reason = self.exclusions.reason(path) if path is not None else None
        self._exclusion_cache[uri] = (key, reason)
        return reason

    # -- background tasks ----------------------------------------------------------------
    def spawn(self, coro: Coroutine[Any, Any, Any], name: str = "") -> asyncio.Task[Any]:
        """Run ``coro`` in the background, keeping a reference and logging its failure."""
        task = asyncio.get_running_loop().create_task(coro, name=name or None)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        if (exc := task.exception()) is not None:
            self.log(f"background task {task.get_name()} failed: {exc}", types.MessageType.Error)

    async def cancel_all(self) -> None:
        """Cancel every background task (and so close every open model stream)."""
        tasks = [t for t in self._tasks if not t.done()]
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=2)

    # -- messages to the client ----------------------------------------------------------
    def log(self, message: str, level: types.MessageType = types.MessageType.Info) -> None:
        message = _mask_env_secrets(message)
        log.log(
            {1: logging.ERROR, 2: logging.WARNING, 3: logging.INFO}.get(int(level), logging.DEBUG),
            message,
        )
        if self.protocol.writer is not None:
            self.window_log_message(types.LogMessageParams(type=level, message=message))

    def show(self, message: str, level: types.MessageType = types.MessageType.Info) -> None:
        message = _mask_env_secrets(message)
        self.log(message, level)
        if self.protocol.writer is not None:
            self.window_show_message(types.ShowMessageParams(type=level, message=message))

    def report_server_error(self, error: Exception, source: Any) -> None:
        # Bad input already got its error response; log instead of alarming the user.
        self.log(f"error handling a message: {error}", types.MessageType.Warning)

    def status_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = dict(self.gateway.status())
        usage = {"inputTokens": 0, "outputTokens": 0, "costUsd": None}
        for role in ("fast", "deep"):
            st = payload[role]
            usage["inputTokens"] += st["inputTokens"]
            usage["outputTokens"] += st["outputTokens"]
            if st["costUsd"] is not None:
                usage["costUsd"] = (usage["costUsd"] or 0.0) + st["costUsd"]
        payload["usage"] = usage
        for extra in self.status_extras:
            payload.update(extra())
        return payload

    def send_status(self) -> None:
        if self.protocol.writer is not None:
            self.protocol.notify(STATUS, self.status_payload())


def create_server() -> SparkforgeServer:
    from sparkforge.features import setup_all

    server = SparkforgeServer()
    setup_all(server)
    return server
