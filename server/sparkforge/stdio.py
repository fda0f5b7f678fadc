"""LSP over stdin/stdout on the event loop's own pipe transports.

pygls reads stdin in a worker thread: every header line and every body is one trip through a
thread pool, and every message out is a blocking write and flush. Each trip wakes a thread
and hands the interpreter lock back and forth, which on a busy two-core machine costs about
as much as the rest of a keystroke's work. Here the event loop reads and writes the pipes
itself (``loop.connect_read_pipe`` / ``connect_write_pipe``): a message is read when it
arrives, with no thread, and a message out is written at once without blocking (what the
pipe cannot take yet is buffered by the transport).

The messages are parsed by pygls's own loop (``pygls.io_.run_async``), so framing, errors
and shutdown behave as they do in pygls. Where the loop cannot watch the descriptors
(stdin a regular file, or a platform without Unix pipe transports), ``serve`` returns False
and the caller uses pygls's threaded reader.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from typing import Any, Awaitable, BinaryIO, Callable

from pygls.io_ import run_async
from pygls.protocol import JsonRPCProtocol

log = logging.getLogger(__name__)

LIMIT = 1 << 30  # a line longer than this is not a header; bodies are read by length


class _Reader:
    """pygls's reader interface over an asyncio stream: ``b""`` at the end of input."""

    def __init__(self, stream: asyncio.StreamReader) -> None:
        self._stream = stream

    async def readline(self) -> bytes:
        try:
            return await self._stream.readline()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            return b""

    async def readexactly(self, n: int) -> bytes:
        try:
            return await self._stream.readexactly(n)
        except asyncio.IncompleteReadError:
            return b""


class _Closed(asyncio.Protocol):
    """The write pipe's protocol: knows when the transport is gone."""

    def __init__(self) -> None:
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(None)


class _Writer:
    """pygls's writer interface over a write-pipe transport."""

    def __init__(self, transport: asyncio.WriteTransport, protocol: _Closed) -> None:
        self._transport = transport
        self._protocol = protocol

    def write(self, data: bytes) -> None:
        if self._transport.is_closing():
            # after exit (a late answer to a request the client no longer waits for), or the
            # client is gone: nobody reads it
            log.debug("not sent, the connection is closed: %d bytes", len(data))
            return
        self._transport.write(data)

    async def close(self) -> None:
        """Close once everything written has reached the pipe."""
        self._transport.close()
        await self._protocol.lost


def can_serve(stdin: BinaryIO, stdout: BinaryIO) -> bool:
    """Whether the event loop can watch these descriptors (pipes, sockets, terminals)."""
    if sys.platform == "win32":
        return False
    import os
    import stat

    try:
        for f in (stdin, stdout):
            mode = os.fstat(f.fileno()).st_mode
            if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISCHR(mode)):
                return False
    except (OSError, ValueError, AttributeError):
        return False
    return True


class Connection:
    """LSP on a pair of pipes; ``end()`` (the ``exit`` notification) stops reading, and
    ``serve`` then returns once what was written has reached the pipe."""

    def __init__(self, stdin: BinaryIO, stdout: BinaryIO) -> None:
        self._stdin = stdin
        self._stdout = stdout
        self._stream: asyncio.StreamReader | None = None

    def end(self) -> None:
        if self._stream is not None:
            self._stream.feed_eof()  # the reading loop sees the end of input

    async def serve(
        self,
        protocol: JsonRPCProtocol,
        stop_event: threading.Event,
        error_handler: Callable[[Exception, type[Any]], Any] | None = None,
        before_close: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """Read and answer LSP messages until the input ends (or ``end``); ``before_close``
        is awaited before the output closes (answers still owed, when the input ended first)."""
        loop = asyncio.get_running_loop()
        stream = self._stream = asyncio.StreamReader(limit=LIMIT)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stream), self._stdin)
        transport, closed = await loop.connect_write_pipe(_Closed, self._stdout)
        writer = _Writer(transport, closed)
        protocol.set_writer(writer)
        try:
            await run_async(stop_event=stop_event, reader=_Reader(stream), protocol=protocol,
                            logger=log, error_handler=error_handler)
            if before_close is not None:
                await before_close()
        finally:
            await writer.close()
