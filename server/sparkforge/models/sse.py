"""Server-sent events as real servers and gateways send them: lines in, each event's data out.

Follows the event-stream rules of the HTML standard, which is what OpenAI, LiteLLM and other
OpenAI-compatible gateways write, each with its own habits: an event is one or more
``data:`` lines ended by a blank line (several are joined with ``\\n``); ``event:``, ``id:``,
``retry:`` and unknown fields, and comment lines (``: keep-alive``), carry nothing we need
(the JSON's own ``type`` names the event); a line ends at LF, CRLF or CR, and nowhere
else. A stream that ends without a last blank line still delivers its last event.
"""

from __future__ import annotations

from collections.abc import AsyncIterator


class SSEDecoder:
    """Feed it lines (without their endings); it returns an event's data when one ends."""

    __slots__ = ("_first", "_more")

    def __init__(self) -> None:
        self._first: str | None = None
        self._more: list[str] | None = None

    def feed(self, line: str) -> str | None:
        """The data of the event this line ends (a blank line), else None."""
        if not line:
            return self.flush()
        if line.startswith("data:"):
            value = line[6:] if line.startswith("data: ") else line[5:]
            if self._first is None:
                self._first = value
            elif self._more is None:
                self._more = [self._first, value]
            else:
                self._more.append(value)
        return None  # a comment, event:, id:, retry:, or a field nobody defined

    def flush(self) -> str | None:
        """The data gathered so far as one event (at a blank line or the stream's end)."""
        first, more = self._first, self._more
        if first is None:
            return None
        self._first = self._more = None
        return first if more is None else "\n".join(more)


def is_done(data: str) -> bool:
    """The ``[DONE]`` sentinel that ends Chat Completions streams (and, from some gateways,
    Responses streams)."""
    return data[:1] == "[" and data.strip() == "[DONE]"


async def sse_data_of_bytes(chunks: AsyncIterator[bytes]) -> AsyncIterator[str]:
    """The data of each event in a byte stream. Lines end at LF, CRLF or CR only, as the SSE
    rules say (a text line reader would also split a JSON string at a raw U+2028 or U+0085,
    which JSON allows unescaped); a CR that ends a chunk waits for the next chunk, which may
    start with the LF of the same CRLF."""
    decoder = SSEDecoder()
    pending = b""
    async for chunk in chunks:
        if pending:
            chunk, pending = pending + chunk, b""
        lines = chunk.splitlines(keepends=True)
        if lines and not lines[-1].endswith(b"\n"):
            pending = lines.pop()  # a line still arriving, or a CR that may be half a CRLF
        for line in lines:
            if (data := decoder.feed(line.rstrip(b"\r\n").decode())) is not None:
                yield data
    if pending and (data := decoder.feed(pending.rstrip(b"\r\n").decode())) is not None:
        yield data
    if (data := decoder.flush()) is not None:
        yield data
