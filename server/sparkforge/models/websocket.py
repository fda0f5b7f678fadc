"""The Responses API's WebSocket mode as a transport for the gateway (``transport`` setting).

A role keeps its sockets (``client.responses.connect()``) in a ``SocketPool``, opened at start
and kept warm: a prediction sends one ``response.create`` message instead of an HTTP request.
The protocol has ``response.create`` and ``response.steer`` and no message that cancels a
response (``POST /responses/{id}/cancel`` is for background responses, which WebSocket mode
refuses). So a prediction overtaken by a keystroke is stopped the only way that stops the
model: its socket is closed. What that costs is hidden by a spare: whenever a socket is taken
for a request, another is opened in the background, so the next request never waits for a
handshake.

``SocketRequest`` is shaped like the SDK's streaming HTTP request (an async context manager
whose response yields each event's data (``iter_data()``, where HTTP's is split from its
bytes), so the gateway reads both transports with one loop and one parser, and a failure raises the SDK's own exceptions (``APIStatusError`` subclasses for
the API's ``error`` events and refused handshakes, ``APIConnectionError`` for sockets that
fail or drop): typed errors, retries before the first token, pauses and usage work as over
HTTP. Under ``auto`` an endpoint whose handshake is answered with an HTTP status that says it
has no WebSocket (404, 405, 400, 426) is used over HTTP from then on, and a socket that cannot
be opened sends that one request over HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import openai


try:  # openai 3.x ships its HTTP client as httpx2
    import httpx2 as httpx
except ImportError:  # pragma: no cover
    import httpx  # type: ignore[no-redef]

log = logging.getLogger(__name__)

BACKOFF_S = 0.5
"""The first wait before reopening a spare that failed to open; doubles up to MAX_BACKOFF_S."""
MAX_BACKOFF_S = 8.0
NO_SOCKET_STATUSES = (400, 404, 405, 426)
"""A handshake answered with one of these: the endpoint offers no WebSocket here."""
_TERMINAL_TYPES = ("response.completed", "response.incomplete", "response.failed", "error")
_TERMINAL = tuple(b'"%s"' % t.encode() for t in _TERMINAL_TYPES)
"""A message holding none of these is not a terminal event (no JSON to parse)."""
_TERMINAL_START = re.compile(rb'\{\s*"type"\s*:\s*(?:%s)' % b"|".join(re.escape(t) for t in _TERMINAL))
"""A terminal event as the API writes it: its type first (the whole answer's text follows)."""
_STATUS_ERRORS: dict[int, type[openai.APIStatusError]] = {
    400: openai.BadRequestError,
    401: openai.AuthenticationError,
    403: openai.PermissionDeniedError,
    404: openai.NotFoundError,
    409: openai.ConflictError,
    422: openai.UnprocessableEntityError,
    429: openai.RateLimitError,
}


class NoSocketError(Exception):
    """The endpoint answers the handshake with an HTTP status (or, ``status`` 0, accepts it and
    closes the socket before answering): it has no WebSocket mode that works."""

    def __init__(self, status: int, error: openai.APIError):
        super().__init__(f"HTTP {status}")
        self.status = status
        self.error = error


def status_error(status: int, message: str, body: Any, headers: dict[str, str] | None,
                 url: str) -> openai.APIStatusError:
    """The exception the SDK raises for ``status`` over HTTP, for the same answer."""
    request = httpx.Request("POST", url)
    response = httpx.Response(status, headers=headers or {}, request=request)
    if status >= 500:
        cls: type[openai.APIStatusError] = openai.InternalServerError
    else:
        cls = _STATUS_ERRORS.get(status, openai.APIStatusError)
    return cls(message, response=response, body=body)


def _handshake_error(exc: BaseException, url: str) -> openai.APIStatusError | None:
    """A handshake refused with an HTTP status, as the SDK's status error; None otherwise."""
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    if not isinstance(status, int):
        return None
    raw = getattr(response, "body", b"") or b""
    body: Any = None
    message = f"Error code: {status}"
    with contextlib.suppress(ValueError, AttributeError):
        body = json.loads(raw)
        message = f"Error code: {status} - {body}"
    headers = {k.lower(): v for k, v in getattr(response, "headers", {}).items()}
    return status_error(status, message, body, headers, url)


class SocketPool:
    """One role's open Responses sockets: idle ones, and a spare being opened."""

    def __init__(self, client: openai.AsyncOpenAI, connect_timeout: float) -> None:
        self._client = client
        self._connect_timeout = connect_timeout
        self._idle: list[Any] = []
        self._opening: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Task[Any]] = set()
        self._failures = 0
        self._retry_at = 0.0
        self._closed = False
        self.no_socket: NoSocketError | None = None
        """Set once the endpoint has said it offers no WebSocket."""
        self.opened = 0
        self._served: set[int] = set()
        """The sockets (by id) that have answered a request: one that fails later may just
        have gone stale while idle; one that fails before its first answer is the endpoint's."""

    @property
    def url(self) -> str:
        return str(self._client.base_url).rstrip("/") + "/responses"

    def warm(self) -> None:
        """Open a spare in the background unless one is idle or opening (or the last tries
        failed and the backoff has not ended)."""
        if self._closed or self.no_socket is not None or self._idle or self._opening is not None:
            return
        if time.monotonic() < self._retry_at:
            return
        self._opening = asyncio.get_running_loop().create_task(self._open())

    async def _open(self) -> None:
        try:
            manager = self._client.responses.connect(
                websocket_connection_options={"max_size": None, "open_timeout": self._connect_timeout},
            )
            conn = await manager.enter()
        except Exception as exc:
            if (err := _handshake_error(exc, self.url)) is not None \
                    and err.status_code in NO_SOCKET_STATUSES:
                self.no_socket = NoSocketError(err.status_code, err)
                log.info("%s offers no WebSocket (HTTP %s): using HTTP", self.url, err.status_code)
            self._failures += 1
            self._retry_at = time.monotonic() + min(BACKOFF_S * 2 ** (self._failures - 1), MAX_BACKOFF_S)
            raise
        finally:
            self._opening = None
        self._failures = 0
        self.opened += 1
        if self._closed or self.no_socket is not None:
            await conn.close()
            return
        self._idle.append(conn)

    async def acquire(self) -> Any:
        """An open socket for one request (opening one if none is idle), and a spare behind it."""
        while True:
            if self.no_socket is not None:
                raise self.no_socket
            while self._idle:
                conn = self._idle.pop()
                if _is_open(conn):
                    self.warm()
                    return conn
                self._discard(conn)
            if self.no_socket is not None:
                raise self.no_socket
            if self._opening is None:
                self._retry_at = 0.0
                self.warm()
            assert self._opening is not None
            try:
                await asyncio.shield(self._opening)
            except Exception as exc:
                if self.no_socket is not None:
                    raise self.no_socket from exc
                if (err := _handshake_error(exc, self.url)) is not None:
                    raise err from exc
                raise openai.APIConnectionError(
                    message=f"could not open a WebSocket to {self.url}: {exc or type(exc).__name__}",
                    request=httpx.Request("GET", self.url),
                ) from exc

    def release(self, conn: Any) -> None:
        """A socket whose response finished: ready for the next request."""
        self._served.add(id(conn))
        if self._closed or not _is_open(conn):
            self._discard(conn)
        else:
            self._idle.append(conn)

    def has_served(self, conn: Any) -> bool:
        return id(conn) in self._served

    def give_up_sockets(self, exc: BaseException) -> None:
        """A fresh socket closed before answering its first request (LiteLLM accepts the
        handshake, then closes with 1011 when it cannot reach its backend over a socket):
        under ``auto`` the endpoint is used over HTTP from now on."""
        error = _dropped(self.url, exc)
        self.no_socket = NoSocketError(0, error)
        idle, self._idle = self._idle, []  # (a spare still opening is closed once open)
        for conn in idle:
            self._discard(conn)
        log.info("%s accepted a WebSocket but closed it before answering (%s): using HTTP",
                 self.url, exc or type(exc).__name__)

    def discard(self, conn: Any) -> None:
        """Close a socket whose response did not finish (this stops the model), and keep a
        spare open."""
        self._discard(conn)
        self.warm()

    def _discard(self, conn: Any) -> None:
        self._served.discard(id(conn))
        task = asyncio.get_running_loop().create_task(_close(conn))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def aclose(self) -> None:
        self._closed = True
        if self._opening is not None:
            self._opening.cancel()
        idle, self._idle = self._idle, []
        await asyncio.gather(*(_close(c) for c in idle), *self._closing, return_exceptions=True)


def _is_open(conn: Any) -> bool:
    ws = getattr(conn, "_connection", None)
    state = getattr(ws, "state", None)
    return getattr(state, "name", "OPEN") == "OPEN"


async def _close(conn: Any) -> None:
    # The close frame leaves at once; the wait for the server's answer is bounded.
    with contextlib.suppress(Exception):
        await asyncio.wait_for(conn.close(), 2.0)


class SocketRequest:
    """One Responses request over a pooled socket, used like the SDK's streaming request:
    ``async with`` it to send ``response.create`` and wait for the answer's first event (an
    ``error`` event with a status raises the SDK's exception for it, as HTTP would), then read
    ``iter_data()``: each message's JSON, up to the terminal event. A silence longer than
    ``read_timeout`` mid-answer is a stall (``APITimeoutError``), as on HTTP."""

    def __init__(self, pool: SocketPool, body: dict[str, Any],
                 over_http: Callable[[], Any] | None, *, read_timeout: float | None = None) -> None:
        self._pool = pool
        self._read_timeout = read_timeout
        """The longest wait for the next message once the answer has begun (HTTP's read
        timeout): past it the answer has stalled, and the SDK's timeout error says so."""
        self._body = {k: v for k, v in body.items() if k != "stream"}
        self._over_http = over_http
        """Under ``auto``: the same request as the SDK's HTTP request, for an endpoint without
        WebSocket or a socket that cannot be opened; None under ``websocket``."""
        self._http: Any = None
        self._conn: Any = None
        self._first: bytes | None = None
        self.finished = False

    async def __aenter__(self) -> Any:
        stale_retried = False
        while True:
            try:
                self._conn = await self._pool.acquire()
            except NoSocketError as exc:
                if self._over_http is None:
                    raise exc.error from exc
                return await self._enter_http()
            except openai.APIConnectionError:
                if self._over_http is None:
                    raise
                return await self._enter_http()
            conn = self._conn
            try:
                await conn.send_raw(json.dumps({"type": "response.create", **self._body}))
                first = await conn.recv_bytes()
            except Exception as exc:
                served = self._pool.has_served(conn)
                self._drop()
                if served and not stale_retried:
                    stale_retried = True  # it went stale while idle: once more, on another
                    continue
                if not served and self._over_http is not None:
                    self._pool.give_up_sockets(exc)
                    return await self._enter_http()
                raise _dropped(self._pool.url, exc) from exc
            except BaseException:
                self._drop()
                raise
            break
        if b'"error"' in first:
            event = json.loads(first)
            if event.get("type") == "error" and isinstance(event.get("status"), int):
                # the request was refused; the socket stays usable
                self._pool.release(conn)
                self._conn = None
                error = event.get("error") or {}
                raise status_error(event["status"], f"Error code: {event['status']} - {error}",
                                   event, error.get("headers"), self._pool.url)
        self._first = first
        return self

    async def _enter_http(self) -> Any:
        assert self._over_http is not None
        self._http = self._over_http()
        return await self._http.__aenter__()

    async def __aexit__(self, *exc: Any) -> Any:
        if self._http is not None:
            return await self._http.__aexit__(*exc)
        if self._conn is not None:
            if self.finished:  # the server's answer is complete, whatever the reader did after
                self._pool.release(self._conn)
                self._conn = None
            else:
                self._drop()
        return None

    def _drop(self) -> None:
        if self._conn is not None:
            self._pool.discard(self._conn)
            self._conn = None

    async def iter_data(self) -> AsyncIterator[str]:
        """Each message's JSON, as an SSE event's data would be (one message is one event)."""
        conn = self._conn
        message, self._first = self._first, None
        stall = _StallWatch(self._read_timeout)
        try:
            while message is not None:
                if any(t in message for t in _TERMINAL) and _terminal(message):
                    # Set first: a reader that stops at the terminal event leaves the socket
                    # between answers, and it goes back to the pool.
                    self.finished = True
                    yield message.decode()
                    return
                yield message.decode()
                stall.progress()
                try:
                    message = await conn.recv_bytes()
                except asyncio.CancelledError:
                    if stall.absorb():
                        raise openai.APITimeoutError(request=httpx.Request("GET", self._pool.url)) from None
                    raise
                except Exception as exc:
                    raise _dropped(self._pool.url, exc) from exc
        finally:
            stall.stop()


class _StallWatch:
    """A stall check for a stream of messages: no message for ``seconds`` cancels the reading
    task. One timer for the whole stream, moved on only when it would fire (a timer per
    message would cost more than reading the message, at thousands of messages a second)."""

    def __init__(self, seconds: float | None) -> None:
        self._seconds = seconds
        self._last = time.monotonic()
        self.fired = False
        self._task = asyncio.current_task()
        if seconds is not None:
            self._arm(seconds)

    def _arm(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        self._handle = loop.call_later(max(seconds, 0.0), self._check)
        self.fired = False

    def _check(self) -> None:
        assert self._seconds is not None
        left = self._last + self._seconds - time.monotonic()
        if left > 0:
            self._arm(left)  # there was a message since: wait out the rest from it
            return
        self.fired = True
        if self._task is not None:
            self._task.cancel()

    def progress(self) -> None:
        self._last = time.monotonic()

    def stop(self) -> None:
        if self._seconds is not None:
            self._handle.cancel()

    def absorb(self) -> bool:
        """After a CancelledError: True if it was the stall (the cancellation is withdrawn)."""
        if self._seconds is None or not self.fired or self._task is None:
            return False
        uncancel = getattr(self._task, "uncancel", None)  # Python 3.11+
        return uncancel is None or uncancel() == 0


def _terminal(message: bytes) -> bool:
    if _TERMINAL_START.match(message):
        return True
    with contextlib.suppress(ValueError):
        kind = json.loads(message).get("type")
        return kind in _TERMINAL_TYPES
    return False


class SocketClosedError(openai.APIConnectionError):
    """The socket closed under a request; ``reason`` is what the close said."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(message=f"the WebSocket to {url} closed ({reason})", request=httpx.Request("GET", url))
        self.reason = reason


def _dropped(url: str, exc: BaseException) -> SocketClosedError:
    return SocketClosedError(url, _close_reason(exc))


def _close_reason(exc: BaseException) -> str:
    """"1011 (internal error) upstream failed" from a websockets ConnectionClosed, which
    would say it twice (what was received, then what was sent back)."""
    received = getattr(exc, "rcvd", None)
    if received is not None:
        text = str(received)
        return text if text else type(exc).__name__
    return str(exc) or type(exc).__name__
