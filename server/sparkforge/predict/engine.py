"""PredictionEngine: one fast-model prediction per (document, version, cursor), shared by
ghost text and next edits.

``predict`` is called by ``textDocument/inlineCompletion`` and ``sparkforge/nextEdit``; both
join the same in-flight prediction. A prediction for a newer version or cursor of the same
document cancels the older one, which closes its HTTP stream (the model stops generating, and
stops costing). The debounce sleeps inside the flight, so a keystroke during it means no
request at all; the prompt is built while it sleeps, so that when it ends only the request is
left to make. The stream is parsed as it arrives; final hunks are passed to listeners
(nextEdit's partial results) before the answer ends. The answer is complete at the region's
end marker: the requests get their result then (each through a future of its own, so one
that is cancelled leaves the others be), and the response's closing events are read after.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sparkforge.config import InlineConfig
from sparkforge.models.events import Finish, TextDelta
from sparkforge.models.gateway import ModelGateway
from sparkforge.models.tokens import request_budget
from sparkforge.predict.debounce import AdaptiveDebounce
from sparkforge.predict.answer import AnswerReader
from sparkforge.predict.diffing import Prediction, RegionEdit
from sparkforge.predict.prompt import Prompt, PromptSettings, RegionTooLarge, build_prompt
from sparkforge.predict.streaming import StreamingRewriteParser
from sparkforge.privacy import REDACTED, redact, redact_reversibly
from sparkforge.textpos import pieces

# The event loop's timers wake up to a millisecond late (epoll counts whole milliseconds),
# and the request should leave as the debounce ends: the last stretch is waited by yielding.
SPIN_S = 0.0012


async def _sleep_until(deadline: float) -> None:
    """Sleep until ``time.perf_counter()`` reaches ``deadline``: a timer for most of the wait,
    then a turn of the event loop at a time (other work goes on) for the last ``SPIN_S``."""
    left = deadline - time.perf_counter()
    if left > SPIN_S:
        await asyncio.sleep(left - SPIN_S)
    while time.perf_counter() < deadline:
        await asyncio.sleep(0)


PartialListener = Callable[[list[RegionEdit]], None]
# Given the history's token budget: the edit history and the other documents to show.
ContextSource = Callable[[int], tuple[str, Sequence[tuple[str, str]]]]


def _no_context(budget: int) -> tuple[str, Sequence[tuple[str, str]]]:
    return "", ()


@dataclass(frozen=True)
class Snapshot:
    """What the editor showed when the prediction was asked for."""

    uri: str
    version: int
    lines: Sequence[str]  # the document's lines, each with its line ending; never changed
    line: int
    column: int  # str index in the line
    path: str  # workspace-relative, for the prompt
    language: str
    definitions: Sequence[str | None] | None = None  # snippets.line_definition of each line

    @property
    def key(self) -> tuple[str, int, int, int]:
        return (self.uri, self.version, self.line, self.column)

    @functools.cached_property
    def text(self) -> str:
        """The whole text (joined on first use: the prompt only reads the lines it shows)."""
        return "".join(self.lines)


@dataclass
class PredictionResult:
    id: str
    snapshot: Snapshot
    prompt: Prompt
    prediction: Prediction
    model_ms: float  # from the request to the answer complete
    first_token_ms: float | None
    debounce_ms: float
    started_at: float = 0.0  # when the work began (perf_counter seconds: CLOCK_MONOTONIC on Linux)
    timings_ms: dict[str, float] = field(default_factory=dict)
    """Milliseconds from the start of the work (during the debounce) to each step: keystroke
    (the debounce's anchor, zero or negative), prompt (built), ready (redacted, parser made),
    debounce_end, first_event, answer_end (the answer complete: the region's end marker read,
    or the stream's end), classified."""


@dataclass
class _Flight:
    snapshot: Snapshot
    task: asyncio.Task[PredictionResult | None]
    listeners: list[PartialListener] = field(default_factory=list)
    final: list[RegionEdit] = field(default_factory=list)
    waiting: list[asyncio.Future[PredictionResult | None]] = field(default_factory=list)
    """One future per request waiting, answered the moment the model's answer is complete (its
    stream's own end is read after): a loop turn sooner than the task's end would wake them."""
    answer: PredictionResult | None = None


class PredictionEngine:
    def __init__(self, gateway: ModelGateway, settings: InlineConfig) -> None:
        self.gateway = gateway
        self.settings = settings
        self.debounce: dict[str, AdaptiveDebounce] = {}
        self._flights: dict[str, _Flight] = {}
        self._closing: set[asyncio.Task[PredictionResult | None]] = set()
        self._last: dict[str, PredictionResult] = {}
        self._ids = itertools.count(1)
        self.requests_made = 0
        self.requests_cancelled = 0
        self.last_result: PredictionResult | None = None

    def configure(self, settings: InlineConfig) -> None:
        self.settings = settings
        for d in self.debounce.values():
            d.fixed_ms = settings.debounce_ms

    def keystroke(self, uri: str, now: float | None = None) -> None:
        self._debounce(uri).keystroke(time.perf_counter() if now is None else now)

    def _debounce(self, uri: str) -> AdaptiveDebounce:
        d = self.debounce.get(uri)
        if d is None:
            d = self.debounce[uri] = AdaptiveDebounce(self.settings.debounce_ms)
        return d

    def forget(self, uri: str) -> None:
        self.debounce.pop(uri, None)
        self._last.pop(uri, None)
        if (flight := self._flights.pop(uri, None)) is not None:
            flight.task.cancel()

    def cancel_all(self) -> list[asyncio.Task[Any]]:
        """Cancel every prediction in flight (shutdown); the tasks, to wait for their streams."""
        tasks = [f.task for f in self._flights.values()] + list(self._closing)
        for task in tasks:
            task.cancel()
        return [t for t in tasks if not t.done()]

    def document_changed(self, uri: str, version: int | None) -> None:
        """A keystroke: the prediction in flight for an older version is stale. Cancel it now,
        not when the next request arrives, so its stream closes while the loop is idle."""
        flight = self._flights.get(uri)
        if flight is not None and flight.snapshot.version != version and flight.answer is None:
            flight.task.cancel()
            self._closing.add(flight.task)
            flight.task.add_done_callback(self._closing.discard)

    def cached(self, snap: Snapshot) -> PredictionResult | None:
        last = self._last.get(snap.uri)
        if last is not None and last.snapshot.key == snap.key:
            return last
        return None

    async def predict(
        self,
        snap: Snapshot,
        *,
        context: ContextSource = _no_context,
        debounce: bool = True,
        on_partial: PartialListener | None = None,
    ) -> PredictionResult | None:
        """The prediction for ``snap``; None when the model proposes nothing."""
        if (hit := self.cached(snap)) is not None:
            if on_partial is not None and hit.prediction.edits:
                on_partial(list(hit.prediction.edits))
            return hit
        flight = self._flights.get(snap.uri)
        if flight is not None and flight.snapshot.key != snap.key:
            if flight.answer is None:  # (an answered one reads its stream's last events)
                flight.task.cancel()  # stale: the document or the cursor moved on
                self._closing.add(flight.task)
                flight.task.add_done_callback(self._closing.discard)
            flight = None
        if flight is None:
            task = asyncio.get_running_loop().create_task(
                self._run(snap, context, debounce)
            )
            flight = _Flight(snap, task)
            self._flights[snap.uri] = flight
            task.add_done_callback(lambda t, f=flight: self._landed(f))
        if flight.answer is not None:
            return flight.answer  # complete; the task is reading the stream's end
        if on_partial is not None:
            if flight.final:
                on_partial(list(flight.final))
            flight.listeners.append(on_partial)
        mine: asyncio.Future[PredictionResult | None] = asyncio.get_running_loop().create_future()
        flight.waiting.append(mine)
        try:
            return await mine  # (cancelling this request cancels only its own future)
        except asyncio.CancelledError:
            me = asyncio.current_task()
            if flight.task.cancelled() and (me is None or getattr(me, "cancelling", lambda: 0)() == 0):
                return None  # the prediction went stale under us (a newer keystroke), not our request
            raise
        finally:
            flight.waiting.remove(mine)
            if on_partial is not None and on_partial in flight.listeners:
                flight.listeners.remove(on_partial)
            if not flight.waiting and not flight.task.done() and flight.answer is None:
                flight.task.cancel()  # nobody wants it any more: stop paying for it

    def _landed(self, flight: _Flight) -> None:
        if self._flights.get(flight.snapshot.uri) is flight:
            del self._flights[flight.snapshot.uri]
        task = flight.task
        waiting = [f for f in flight.waiting if not f.done()]
        if flight.answer is not None:  # delivered; whatever ended the reading after is no matter
            if not task.cancelled():
                task.exception()  # (retrieved: the gateway keeps it as the role's last error)
            return
        if task.cancelled():
            self.requests_cancelled += 1
            for f in waiting:
                f.cancel()
            return
        if (exc := task.exception()) is not None:
            for f in waiting:
                f.set_exception(exc)
            return
        for f in waiting:  # (an answer is published before the task ends: this is None, nothing was asked)
            f.set_result(task.result())

    def _publish(self, flight: _Flight | None, result: PredictionResult) -> None:
        """The answer is complete: the requests waiting for it have it now, and a request for
        the same moment finds it (``cached``)."""
        self._last[result.snapshot.uri] = self.last_result = result
        if flight is None:
            return
        flight.answer = result
        for f in flight.waiting:
            if not f.done():
                f.set_result(result)

    def _prompt_settings(self) -> PromptSettings:
        s = self.settings
        base = PromptSettings()
        total = max(s.prompt_tokens, 200)
        scale = total / base.max_tokens
        return PromptSettings(
            lines_above=s.lines_above,
            lines_below=s.lines_below,
            max_tokens=total,
            region_max_tokens=max(100, int(base.region_max_tokens * scale)),
            context_max_tokens=int(base.context_max_tokens * scale),
            history_max_tokens=int(base.history_max_tokens * scale),
            snippets_max_tokens=int(base.snippets_max_tokens * scale),
        )

    async def _run(
        self,
        snap: Snapshot,
        context: ContextSource,
        debounce: bool,
    ) -> PredictionResult | None:
        if (refused := self.gateway.refusal("fast")) is not None:
            raise refused  # rate-limited or down: answer at once, with no prompt and no request
        began = time.perf_counter()
        debouncer = self._debounce(snap.uri)
        delay = debouncer.delay_ms() if debounce else 0.0
        # The debounce counts from the keystroke's arrival, not from this request's: the
        # editor's request follows its didChange, and the time between is part of the wait.
        # A request with no recent keystroke (a cursor move) counts from itself.
        key = debouncer.last_keystroke
        anchor = key if key is not None and began - delay / 1000 <= key <= began else began
        if self._closing:
            # Let stale streams finish closing first: they cost money until they do, and
            # their unwinding would otherwise queue behind this prediction's prompt building.
            await asyncio.wait(list(self._closing), timeout=0.005)
        if delay > 0:
            await asyncio.sleep(0)  # a keystroke already waiting to be read cancels us here
        # The prompt, its redaction and the parser are made while the debounce waits (idle
        # time otherwise): they depend only on the snapshot, and a keystroke that replaces the
        # snapshot cancels this flight. When the debounce ends only the request is left.
        marks = {"keystroke": anchor, "start": time.perf_counter()}
        settings = self._prompt_settings()
        # Gathered only for a prediction of its own: a request that joins one never pays for it.
        history, other_documents = context(settings.history_max_tokens)
        marks["context"] = time.perf_counter()
        try:
            prompt = build_prompt(
                snap.lines,
                snap.path,
                snap.language,
                (snap.line, snap.column),
                history=history,
                other_documents=other_documents,
                settings=settings,
                definitions=snap.definitions,
            )
        except RegionTooLarge:
            return None  # a minified line: nothing sensible fits the fast prompt
        marks["prompt"] = time.perf_counter()
        model_input, secrets = redact_reversibly(prompt.input)
        instructions = redact(prompt.instructions)
        # Built within inline.promptTokens; checked like every request (OverBudget if the
        # fast model's own limit is lower).
        request_budget("fast", self.gateway.config("fast").max_input_tokens, instructions, model_input,
                       advice="no suggestion was asked for; lower sparkforge.inline.promptTokens, or raise the setting")
        parser = StreamingRewriteParser(prompt)
        flight = self._flights.get(snap.uri)
        if flight is not None and flight.task is not asyncio.current_task():
            flight = None
        marks["ready"] = time.perf_counter()
        if delay > 0:
            await _sleep_until(anchor + delay / 1000)
        marks["debounce_end"] = time.perf_counter()
        started = time.perf_counter()
        cursor = (prompt.cursor_line, prompt.cursor_character)
        self.requests_made += 1
        stream = self.gateway.stream(
            "fast",
            instructions=instructions,
            input=model_input,
            max_output_tokens=self.settings.max_output_tokens,
            retry=False,  # one try of timeouts.firstToken: the next keystroke will not wait
        )
        result: PredictionResult | None = None
        # Complete at the region's end marker (or the stream's end): the suggestion is made
        # and handed over then; the response's closing events are read after.
        reader = AnswerReader(prompt, secrets)
        async with contextlib.aclosing(stream):
            async for event in stream:
                if result is not None:
                    continue  # delivered: the rest is read to leave the connection reusable
                if isinstance(event, TextDelta):
                    if "first_event" not in marks:
                        marks["first_event"] = time.perf_counter()
                    complete = reader.feed(event.text)
                    self._partials(flight, parser, event.text, cursor, secrets)
                    if not complete:
                        reader.guess_ahead()  # the end marker begun: its rest is a token or more away
                        continue
                    finish = "stop"  # the end marker came: nothing after it is read
                elif isinstance(event, Finish):
                    finish = event.reason
                else:
                    continue
                result = self._complete(flight, snap, prompt, reader, finish, marks, started, delay)
                await asyncio.sleep(0)  # the requests answer before this task reads on
        if result is None:  # (every complete stream ends with a Finish: a safety net)
            result = self._complete(flight, snap, prompt, reader, "stop", marks, started, delay)
        return result

    @staticmethod
    def _partials(flight: _Flight | None, parser: StreamingRewriteParser, text: str,
                  cursor: tuple[int, int], secrets: Any) -> None:
        """Feed ``text`` to the parser; the next edits it settled go to the listeners."""
        # the insertion at the cursor is ghost text, not a next edit
        final = [
            h for h in parser.feed(text)
            if (h.start_line, h.start_char) != cursor or h.end_line != h.start_line
            or h.end_char != h.start_char
        ]
        if secrets:  # the secret's line would read as an edit to [REDACTED-n]
            final = [h for h in final if REDACTED not in h.new_text]
        if final and flight is not None:
            flight.final.extend(final)
            for listener in list(flight.listeners):
                listener(final)

    def _complete(
        self, flight: _Flight | None, snap: Snapshot, prompt: Prompt, reader: AnswerReader, finish: str,
        marks: dict[str, float], started: float, delay: float,
    ) -> PredictionResult:
        """The answer is complete: its result, handed to the requests waiting for it."""
        marks["answer_end"] = time.perf_counter()
        prediction = reader.prediction(finish)
        marks["classified"] = time.perf_counter()
        model_ms = (marks["answer_end"] - started) * 1000
        self._debounce(snap.uri).model_latency(model_ms)
        first = marks.get("first_event")
        result = PredictionResult(
            id=f"p{next(self._ids)}",
            snapshot=snap,
            prompt=prompt,
            prediction=prediction,
            model_ms=model_ms,
            first_token_ms=None if first is None else (first - started) * 1000,
            debounce_ms=delay,
            started_at=marks["start"],
            timings_ms={k: round((v - marks["start"]) * 1000, 3) for k, v in marks.items()},
        )
        self._publish(flight, result)
        return result


@dataclass
class ShownGhost:
    """A ghost text the editor showed, to serve the rest of it while the user types it."""

    id: str
    uri: str
    lines_before: Sequence[str]  # the document's lines (with endings) when it was shown
    line: int  # the cursor then: line and str column
    column: int
    insert: str

    def continuation(self, lines: Sequence[str], line: int, column: int) -> str | None:
        """The rest of the suggestion if ``lines`` are the old lines with a prefix of it typed
        at the old cursor, the cursor now at (``line``, str ``column``) just after it. Looks
        at the lines the prefix touched; the others are compared as shared objects."""
        newlines = line - self.line
        if newlines < 0:
            return None
        typed = column - self.column
        if newlines:
            end = -1
            for _ in range(newlines):
                end = self.insert.find("\n", end + 1)
                if end < 0:
                    return None
            typed = end + 1 + column
        if typed < 0 or typed >= len(self.insert):
            return None
        prefix = self.insert[:typed]
        before = self.lines_before
        if prefix.count("\n") != newlines or len(lines) != len(before) + newlines:
            return None
        old = before[self.line]
        expected = pieces(old[: self.column] + prefix + old[self.column :])
        if self.line < len(before) - 1:
            expected.pop()  # the line ending of ``old`` ends the last of them
        at, after = self.line, self.line + newlines + 1
        if (
            list(lines[at:after]) == expected
            and lines[:at] == before[:at]
            and lines[after:] == before[at + 1 :]
        ):
            return self.insert[typed:]
        return None
