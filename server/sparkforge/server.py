"""The language server: wires the features together and holds the state they share.

Features live in ``sparkforge/features/``, each with a ``setup(server)`` that registers its
handlers and, if it keeps state, adds an object with hooks (``server.add_feature``) that the
server dispatches: ``opened(state)``, ``changed(state)``, ``closed(state)``,
``settings_changed(settings)``, ``status() -> dict`` and ``shutdown() -> tasks to wait for``.
No feature reaches into another and setup order does not matter. This class only builds the
shared parts (settings, model gateway, exclusion policy, one ``DocumentState`` per open
document, background tasks) and offers small helpers every feature needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import sys
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer
from pygls.capabilities import get_capability
from pygls.uris import to_fs_path
from pygls.workspace import TextDocument

from sparkforge import __version__, stdio
from sparkforge.config import Role, Settings, SettingsLayers, parse_settings, section_of, settings_from_env
from sparkforge.errors import InvalidParams, UnknownDocumentError
from sparkforge.protocol import SparkforgeProtocol
from sparkforge.documents import DocumentState
from sparkforge.workspace_edit import EditSupport
from sparkforge.models.gateway import ModelGateway
from sparkforge.models.health import Pause
from sparkforge.privacy import ExclusionPolicy
from sparkforge.textpos import UTF16, LineIndex, PositionError

log = logging.getLogger("sparkforge")

STATUS = "sparkforge/status"
PULL_TIMEOUT_S = 5.0
# sparkforge.logLevel -> the highest LSP MessageType sent to the editor's log
LOG_LEVELS = {"error": 1, "warning": 2, "info": 3, "debug": 4}


def _mask_env_secrets(text: str) -> str:
    """Hide the values of any *_KEY / *_TOKEN environment variables that appear in text."""
    for name, value in os.environ.items():
        if value and len(value) >= 8 and re.search(r"KEY|TOKEN|SECRET", name) and value in text:
            text = text.replace(value, "****")
    return text


EXIT_WAIT_S = 10.0  # at most this long for a shutdown still running when exit arrives


class SparkforgeServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("sparkforge", __version__, protocol_cls=SparkforgeProtocol)
        self.settings: Settings = settings_from_env()
        self.gateway = ModelGateway(self.settings)
        self.gateway.on_health = self._health_changed
        self.gateway.on_access = self._access_changed
        self.exclusions = ExclusionPolicy(None, self.settings.exclude)
        self.layers = SettingsLayers()
        # Per workspace folder whose own answer differs: its exclusions (the one setting
        # read per document; where code and keys go is never a folder's choice).
        self.folder_exclusions: dict[Path, ExclusionPolicy] = {}
        self._told: set[str] = set()  # settings problems already shown
        self.root: Path | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.documents: dict[str, DocumentState] = {}
        self.features: list[Any] = []
        # Negotiated at initialize (see ``negotiated``), fixed for the session.
        self.encoding: str = UTF16
        self.edit_support = EditSupport()
        self._policy_generation = 0
        self.stdio: stdio.Connection | None = None  # set when served on the event loop's pipes
        self.exit_requested = False

    async def _shutdown_owed(self) -> None:
        """After an exit sent right behind a shutdown still running: its answer, before the
        output closes (the shutdown's future answers the client when it completes)."""
        protocol = self.protocol
        future = protocol._request_futures.get(getattr(protocol, "shutdown_id", None))
        if self.exit_requested and future is not None and not future.done():
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.wrap_future(future), EXIT_WAIT_S)

    def start_io(self, stdin: Any = None, stdout: Any = None) -> None:
        """Serve LSP on stdin/stdout, read and written by the event loop itself (see
        ``sparkforge.stdio``); pygls's threaded reader where the loop cannot watch them."""
        stdin, stdout = stdin or sys.stdin.buffer, stdout or sys.stdout.buffer
        if not stdio.can_serve(stdin, stdout):
            super().start_io(stdin, stdout)
            return
        self._stop_event = threading.Event()
        self.stdio = stdio.Connection(stdin, stdout)
        try:
            asyncio.run(self.stdio.serve(self.protocol, self._stop_event, self.report_server_error,
                                         before_close=self._shutdown_owed))
        except BrokenPipeError:
            log.info("the client closed the connection; shutting down")
        except KeyboardInterrupt:
            pass
        finally:
            self.shutdown()
        if self.exit_requested and not self.protocol._shutdown:
            sys.exit(1)  # exit without shutdown first, as LSP asks

    # -- settings ------------------------------------------------------------------------
    def apply_settings(self, raw: Any = None) -> None:
        """Initialization options (``raw``), then the layers on top of them: see
        ``SettingsLayers``."""
        if raw is not None:
            self.layers.initialization = section_of(raw)
        self.recompute_settings()

    def recompute_settings(self) -> None:
        effective = self.layers.effective()
        settings, problems = parse_settings(effective)
        settings = settings_from_env(settings) if not effective else settings
        folders: dict[Path, ExclusionPolicy] = {}
        for key in self.layers.folders:
            own = self.layers.folder(key)
            path = to_fs_path(key)
            if own is None or not path:
                continue
            folder_settings, folder_problems = parse_settings(own)
            problems += [p for p in folder_problems if p not in problems]
            root = Path(path).resolve()
            folders[root] = ExclusionPolicy(root, folder_settings.exclude)
        self.settings = settings
        self.folder_exclusions = folders
        self.gateway.configure(settings)
        self._check_models()
        self.exclusions = ExclusionPolicy(self.root, settings.exclude)
        self._policy_generation += 1
        for problem in problems:
            if problem not in self._told:
                self._told.add(problem)
                self.show(problem, types.MessageType.Warning)
        self.dispatch("settings_changed", settings)

    def supports_configuration(self) -> bool:
        caps = getattr(self.protocol, "client_capabilities", None)
        return bool(get_capability(caps, "workspace.configuration", False))

    async def pull_settings(self) -> None:
        """Ask the client for the ``sparkforge`` section (whole workspace, then each folder)
        with ``workspace/configuration``, and apply what it answers."""
        if not self.supports_configuration():
            return
        folders = list(self.workspace.folders.values())
        items = [types.ConfigurationItem(section="sparkforge")] + [
            types.ConfigurationItem(scope_uri=f.uri, section="sparkforge") for f in folders
        ]
        try:
            answer = await asyncio.wait_for(
                self.workspace_configuration_async(types.ConfigurationParams(items=items)), PULL_TIMEOUT_S
            )
        except (asyncio.TimeoutError, JsonRpcException) as exc:
            self.log(f"workspace/configuration got no answer ({exc or 'timed out'}); "
                     "keeping the settings as they are", types.MessageType.Warning)
            return
        answer = list(answer or [])
        self.layers.pulled = section_of(self._plain(answer[0])) if answer else {}
        self.layers.folders = {
            f.uri: section_of(self._plain(value)) for f, value in zip(folders, answer[1:])
        }
        self.recompute_settings()

    def _plain(self, value: Any) -> Any:
        return value if isinstance(value, (dict, type(None))) else self.protocol._converter.unstructure(value)

    def _policy_for(self, path: Path) -> ExclusionPolicy:
        """The exclusions of the innermost workspace folder with its own, else the workspace's."""
        best: tuple[Path, ExclusionPolicy] | None = None
        if self.folder_exclusions:
            resolved = path.resolve()
            for root, policy in self.folder_exclusions.items():
                if resolved.is_relative_to(root) and (best is None or len(root.parts) > len(best[0].parts)):
                    best = (root, policy)
        return best[1] if best else self.exclusions

    # -- features --------------------------------------------------------------------------
    def add_feature(self, feature: Any) -> None:
        """Register an object whose hooks (see the module docstring) the server dispatches."""
        self.features.append(feature)

    def dispatch(self, hook: str, *args: Any) -> list[Any]:
        return [fn(*args) for f in self.features if (fn := getattr(f, hook, None)) is not None]

    def state(self, uri: str) -> DocumentState:
        """The state of an open document (made on first use for one pygls knows but we do not)."""
        state = self.documents.get(uri)
        if state is None:
            state = self.documents[uri] = DocumentState(uri)
        return state

    def cache_for(self, uri: str) -> DocumentState:
        """Where to cache what is derived from ``uri``: its state if it is open, else a scratch
        object (a file that is not open keeps nothing)."""
        return self.documents.get(uri) or DocumentState(uri)

    def opened(self, uri: str) -> None:
        self.dispatch("opened", self.state(uri))

    def changed(self, uri: str) -> None:
        self.dispatch("changed", self.state(uri))

    def closed(self, uri: str) -> None:
        state = self.documents.pop(uri, None)
        if state is not None:
            self.dispatch("closed", state)

    # -- documents -----------------------------------------------------------------------
    def document(self, uri: str) -> TextDocument:
        """An open document, or an InvalidParams error naming the URI."""
        doc = self.workspace.text_documents.get(uri)
        if doc is None:
            raise UnknownDocumentError(f"unknown document {uri}: open it first (textDocument/didOpen)")
        return doc

    def negotiated(self, capabilities: types.ClientCapabilities) -> None:
        """Called at initialize, once pygls has chosen the position encoding (the client's first
        preference among utf-8, utf-16 and utf-32): what every position and edit then uses."""
        encoding = self.workspace.position_encoding
        self.encoding = str(getattr(encoding, "value", encoding) or UTF16)
        self.edit_support = EditSupport.of(capabilities, self.encoding)

    def lines(self, doc: TextDocument) -> LineIndex:
        """A line index of the document's current text, in the negotiated position encoding,
        cached per version."""
        state = self.state(doc.uri)
        cached = state.index
        if cached is not None and cached[0] == doc.version and doc.version is not None:
            return cached[1]
        index = LineIndex.of(doc.source, self.encoding)
        state.index = (doc.version, index)
        return index

    def offset(self, doc: TextDocument, position: types.Position) -> int:
        try:
            return self.lines(doc).offset(position.line, position.character)
        except PositionError as exc:
            raise InvalidParams(f"{doc.uri}: {exc}") from None

    def path_of(self, uri: str) -> Path | None:
        path = to_fs_path(uri)
        return Path(path) if path else None

    def relative_path(self, uri: str) -> str:
        """The path a prompt or message names: workspace-relative where it can be (resolved
        once per document: it is asked on every keystroke)."""
        state = self.cache_for(uri)
        cached = state.relative
        if cached is None or cached[0] != self.root:
            path = self.path_of(uri)
            rel = uri if path is None else path.name
            if path is not None and self.root is not None:
                with contextlib.suppress(ValueError):
                    rel = path.resolve().relative_to(self.root).as_posix()
            cached = state.relative = (self.root, rel)
        return cached[1]

    def exclusion_reason(self, uri: str) -> str | None:
        """Why ``uri`` may not reach a model, or None. Cached: it is asked on every keystroke."""
        ignore_mtime = self.exclusions.ignore_file_mtime()
        key = (self._policy_generation, ignore_mtime)
        state = self.cache_for(uri)
        cached = state.exclusion
        if cached is not None and cached[0] == key:
            return cached[1]
        path = self.path_of(uri)
        reason = self._policy_for(path).reason(path) if path is not None else None
        state.exclusion = (key, reason)
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
        """Shutdown: cancel every request in flight (predictions, actions, chat), every
        feature's own work and every background task, and wait for them, so that every model
        stream is closed before the gateway is."""
        me = asyncio.current_task()
        tasks: list[Any] = []
        for future in list(self.protocol._request_futures.values()):
            # async handlers run as tasks; the shutdown request itself is not one of them
            if isinstance(future, asyncio.Task) and future is not me and not future.done():
                future.cancel()
                tasks.append(future)
        for more in self.dispatch("shutdown"):
            tasks.extend(more or ())
        for task in list(self._tasks):
            if not task.done():
                task.cancel()
                tasks.append(task)
        if tasks:
            await asyncio.wait(tasks, timeout=2)

    # -- messages to the client ----------------------------------------------------------
    def log(self, message: str, level: types.MessageType = types.MessageType.Info) -> None:
        message = _mask_env_secrets(message)
        log.log(
            {1: logging.ERROR, 2: logging.WARNING, 3: logging.INFO}.get(int(level), logging.DEBUG),
            message,
        )
        if int(level) > LOG_LEVELS[self.settings.log_level]:
            return  # below sparkforge.logLevel: not sent to the editor's log
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
        usage = {"inputTokens": 0, "cachedInputTokens": 0, "outputTokens": 0, "costUsd": None}
        for role in ("fast", "deep"):
            st = payload[role]
            usage["inputTokens"] += st["inputTokens"]
            usage["cachedInputTokens"] += st["cachedInputTokens"]
            usage["outputTokens"] += st["outputTokens"]
            if st["costUsd"] is not None:
                usage["costUsd"] = (usage["costUsd"] or 0.0) + st["costUsd"]
        payload["usage"] = usage
        for role in ("fast", "deep"):
            self._access_status(role, payload[role])
        for extra in self.dispatch("status"):
            payload.update(extra)
        return payload

    def _health_changed(self, role: Role, pause: Pause | None) -> None:
        """A model was paused (rate limit, outage) or may be used again: one line in the log,
        and the status, whose ``paused`` and ``lastError`` say which and for how long."""
        if pause is not None:
            self.log(f"sparkforge: {self.gateway.status()[role]['lastError']}", types.MessageType.Warning)
        else:
            self.log(f"sparkforge: the {role} model may be used again")
        self.send_status()

    def _check_models(self) -> None:
        """Look up, in the background, each role's model not checked yet (at start, and
        after a change of model, endpoint or key): no keystroke waits for it."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # not serving yet (a server built outside its loop): checked once it is
        for role in self.gateway.unchecked():
            self.spawn(self.gateway.check_access(role), name=f"check the {role} model")

    def _access_status(self, role: Role, status: dict[str, Any]) -> None:
        """``access``: the model that serves the role when it is not the one set (null if
        none may be used) and why; ``lastError`` says so too while nothing else went wrong."""
        text = self.gateway.access_message(role)
        status["access"] = None if text is None else {"model": self.gateway.serving_model(role), "message": text}
        if text is not None and status.get("lastError") is None:
            status["lastError"] = text

    def _access_changed(self, role: Role, message: str) -> None:
        """A role's model turned out to be inaccessible: said once (a settings change looks the
        models up again; the same finding is not said twice), and in the status."""
        if message not in self._told:
            self._told.add(message)
            self.show(message, types.MessageType.Warning)
        self.send_status()

    def send_status(self) -> None:
        if self.protocol.writer is not None:
            self.protocol.notify(STATUS, self.status_payload())

