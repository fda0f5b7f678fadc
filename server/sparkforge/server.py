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
import concurrent.futures
import contextlib
import functools
import json
import logging
import os
import re
import sys
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer
from pygls.protocol import JsonRPCNotification, JsonRPCRequestMessage, LanguageServerProtocol
from pygls.protocol.language_server import lsp_method
from pygls.capabilities import get_capability
from pygls.uris import to_fs_path
from pygls.workspace import TextDocument

from sparkforge import __version__, stdio
from sparkforge.config import Role, Settings, SettingsLayers, parse_settings, section_of, settings_from_env
from sparkforge.errors import EXPECTED, InvalidParams, UnknownDocumentError
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


class SparkforgeProtocol(LanguageServerProtocol):
    """What pygls does with bad input and finished requests, made quiet and answerable.

    - A message whose params do not fit its method (a negative line, a string where a number
      goes) is answered with InvalidParams naming the field; pygls 2 would log two tracebacks
      and, for a request, leave the client waiting. Numbers, strings and booleans are taken
      as sent, never converted (``"0"`` is not a line number).
    - An expected refusal (``errors.EXPECTED``: a stale edit, an unreachable model, a bad
      position) is answered and logged as one line, where pygls writes a traceback to stderr,
      which editors log as an error; a malformed notification gets the same one line.
    - Cancelling a request that already answered, or a progress that already ended, is the
      usual case (the client cancels on every keystroke): nothing to do, nothing to log.
    """

    def __init__(self, server: Any, converter: Any) -> None:
        super().__init__(server, converter)
        for tp, ok, what in _STRICT:
            self._converter.register_structure_hook(tp, _strict(tp, ok, what))

    def _log_refusal(self, message: str, level: types.MessageType) -> None:
        server = self._server
        if isinstance(server, SparkforgeServer):
            server.log(message, level)
        else:
            log.log(logging.INFO if level >= types.MessageType.Info else logging.WARNING, message)

    def _send_handler_result(self, future: Any, *, msg_id: Any) -> None:
        if not future.cancelled() and isinstance(exc := future.exception(), EXPECTED):
            self._request_futures.pop(msg_id, None)
            self._log_refusal(exc.message, types.MessageType.Info)  # logged first: it reaches the client first
            self._send_response(msg_id, error=exc.to_response_error())
            return
        super()._send_handler_result(future, msg_id=msg_id)

    def _execute_handler(self, msg_id: Any, handler: Any, callback: Any,
                         args: Any = None, kwargs: Any = None) -> None:
        # pygls runs a coroutine handler as a task and answers from the task's done callback,
        # a loop turn after the handler returned (behind whatever else is ready by then); here
        # the answer is written in the same step that finishes the handler. A task cancelled
        # (by $/cancelRequest) is answered from its done callback, as pygls does: also when it
        # is cancelled before it started.
        if not asyncio.iscoroutinefunction(handler):
            # (pygls keeps the future of a generator handler, as its builtin didOpen and
            # didChange are, under a notification's made-up id for ever: one per keystroke)
            super()._execute_handler(msg_id, handler, functools.partial(self._settled, msg_id, callback), args, kwargs)
            return
        done: concurrent.futures.Future[Any] = concurrent.futures.Future()  # as pygls hands a sync handler's result
        task = asyncio.ensure_future(self._answer_when_done(done, callback, handler, args or (), kwargs or {}))
        self._request_futures[msg_id] = task
        task.add_done_callback(functools.partial(self._task_ended, msg_id, done, callback))

    @staticmethod
    async def _answer_when_done(done: Any, callback: Any, handler: Any, args: Any, kwargs: Any) -> None:
        try:
            done.set_result(await handler(*args, **kwargs))
        except Exception as exc:
            done.set_exception(exc)
        callback(done)  # (a CancelledError is answered by _task_ended)

    def _forget(self, msg_id: Any, future: Any) -> None:
        # (pygls keeps a notification's future under its made-up id for ever)
        if self._request_futures.get(msg_id) is future:
            del self._request_futures[msg_id]

    def _settled(self, msg_id: Any, callback: Any, future: Any) -> None:
        self._forget(msg_id, future)
        callback(future)

    def _task_ended(self, msg_id: Any, done: Any, callback: Any, task: Any) -> None:
        self._forget(msg_id, task)
        if not done.done():  # cancelled, before it started or while it ran
            done.cancel()  # answered RequestCancelled, as pygls does
            callback(done)

    def _send_response(self, msg_id: Any, result: Any = None, error: Any = None) -> None:
        if error is None and type(result) is dict:
            # Already JSON (ghost text, next edits, chat): written as it is, where pygls would
            # wrap it in the method's response class and unstructure it back with cattrs.
            self._result_types.pop(msg_id, None)
            self._send_data({"jsonrpc": "2.0", "id": msg_id, "result": result})
            return
        super()._send_response(msg_id, result, error)

    def _check_handler_result(self, future: Any) -> None:
        # A notification's handler failed: nobody waits for an answer, so the log is all.
        if future.cancelled() or (exc := future.exception()) is None:
            return
        if isinstance(exc, EXPECTED):
            self._log_refusal(exc.message, types.MessageType.Warning)
            return
        log.error("a notification handler failed", exc_info=exc)  # a bug: keep its traceback
        super()._check_handler_result(future)

    def _handle_cancel_notification(self, msg_id: Any) -> None:
        future = self._request_futures.pop(msg_id, None)
        if future is not None:
            future.cancel()

    @lsp_method(types.SHUTDOWN)
    def lsp_shutdown(self, *args: Any) -> Any:
        self.shutdown_id = self.msg_id  # an exit right behind it waits for its answer
        return (yield from super().lsp_shutdown(*args))

    @lsp_method(types.EXIT)
    def lsp_exit(self, *args: Any) -> Any:
        """On the event loop's pipes, ``exit`` ends the reading loop; the server answers a
        shutdown still running, flushes what it wrote and returns from ``start_io`` (pygls
        raises SystemExit inside a callback instead, which leaves the loop's shutdown half
        done)."""
        server = self._server
        connection = getattr(server, "stdio", None)
        if connection is None:
            yield from super().lsp_exit(*args)
            return
        if (user_handler := self.fm.features.get(types.EXIT)) is not None:
            yield user_handler, args, None
        server.exit_requested = True
        connection.end()

    @lsp_method(types.WINDOW_WORK_DONE_PROGRESS_CANCEL)
    def lsp_work_done_progress_cancel(self, params: types.WorkDoneProgressCancelParams) -> None:
        future = self.progress.tokens.get(params.token)
        if future is not None:
            future.cancel()

    def structure_message(self, data: dict[str, Any]) -> Any:
        if "jsonrpc" not in data or "method" not in data:
            return super().structure_message(data)  # inner objects, and responses
        method = data["method"]
        is_request = "id" in data
        default = JsonRPCRequestMessage if is_request else JsonRPCNotification
        try:
            return self._converter.structure(data, self.get_message_type(method) or default)
        except Exception as exc:
            problem = f"invalid params for {method}: {_why(exc)}"
            if is_request:
                self._log_refusal(problem, types.MessageType.Info)
                self._send_response(data["id"], error=JsonRpcInvalidParams(problem).to_response_error())
            else:  # nobody to answer: the log is all
                self._log_refusal(problem, types.MessageType.Warning)
            return _REFUSED

    def handle_message(self, message: Any) -> None:
        if message is _REFUSED:
            return  # answered (or, for a notification, logged) in structure_message
        super().handle_message(message)


_REFUSED = object()  # a message structure_message refused
EXIT_WAIT_S = 10.0  # at most this long for a shutdown still running when exit arrives


def _strict(base: type, ok: Any, what: str) -> Any:
    def structure(value: Any, tp: Any) -> Any:
        if not ok(value):
            raise TypeError(f"expected {what}, not {json.dumps(value) if _jsonable(value) else type(value).__name__}")
        # A subclass is an enum (DiagnosticSeverity is an int): made as cattrs would make it.
        return value if tp is base else tp(value)

    return structure


def _jsonable(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool, list, dict))


# JSON scalars as LSP types them; cattrs would convert "3" to 3 and 1 to "1".
_STRICT = (
    (int, lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer"),
    (str, lambda v: isinstance(v, str), "a string"),
    (bool, lambda v: isinstance(v, bool), "true or false"),
)


def _why(exc: BaseException) -> str:
    """What did not fit, field by field: ``position.line: expected an integer, not "0"``, or
    the validator's own words (``position: Position.line should be in range ..., but was -1``)."""
    try:
        from cattrs import transform_error

        problems = transform_error(exc, format_exception=_describe)
    except Exception:  # not a cattrs error: its own text
        problems = [f"{type(exc).__name__}: {exc}"]
    return "; ".join(_at(p) for p in problems[:4]) or str(exc)


def _at(problem: str) -> str:
    """``"invalid value @ $.params.position.line"`` -> ``"position.line: invalid value"``."""
    what, sep, where = problem.rpartition(" @ $")
    if not sep:
        return problem
    where = where.removeprefix(".params").lstrip(".")
    return f"{where or 'params'}: {what}"


def _describe(exc: BaseException, _type: Any) -> str:
    if isinstance(exc, KeyError):
        return "required field missing"
    if isinstance(exc, (TypeError, ValueError)) and str(exc):
        return str(exc)
    return f"invalid value ({type(exc).__name__})"


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

