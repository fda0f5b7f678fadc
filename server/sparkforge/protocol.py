"""SparkforgeProtocol: what pygls does with bad input and finished requests, made quiet,
answerable and quick (see the class). The server (``server.py``) uses it as its protocol."""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import json
import logging
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pygls.protocol import JsonRPCNotification, JsonRPCRequestMessage, LanguageServerProtocol
from pygls.protocol.language_server import lsp_method

from sparkforge.errors import EXPECTED

log = logging.getLogger("sparkforge")


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
        say = getattr(self._server, "log", None)  # SparkforgeServer.log: the editor's log too
        if say is not None:
            say(message, level)
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
