"""State shared by ghost text and next edits: the engine, edit history, feedback counts.

Tracks each open document's text so every didChange becomes a (before, after) pair for the
edit history and a keystroke for the adaptive debounce; builds prediction snapshots (with
positions checked strictly); filters suggestions the user already rejected.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass, field
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from sparkforge.errors import InvalidParams
from sparkforge.config import Settings
from sparkforge.documents import DocumentState
from sparkforge.features.params import Params, is_int, shown
from sparkforge.predict.diffing import RegionEdit
from sparkforge.predict.prompt import WARM_REACH, warm_lines
from sparkforge.predict.snippets import OWN_DEFINITIONS_MAX_LINES, line_definition
from sparkforge.predict.engine import PredictionEngine, PredictionResult, ShownGhost, Snapshot
from sparkforge.predict.history import EditHistory
from sparkforge.models.tokens import OverBudget
from sparkforge.textpos import PositionError

if TYPE_CHECKING:
    from sparkforge.server import SparkforgeServer

DID_SHOW = "sparkforge/didShow"
DID_ACCEPT = "sparkforge/didAccept"
DID_REJECT = "sparkforge/didReject"
ACCEPT_COMMAND = "sparkforge.acceptSuggestion"
MAX_CONTEXT_DOCUMENTS = 6


@dataclass
class Feedback:
    shown: int = 0
    accepted: int = 0
    partially_accepted: int = 0
    rejected: int = 0
    offered: dict[str, str] = field(default_factory=dict)  # id -> signature
    rejected_signatures: set[str] = field(default_factory=set)
    accepted_ids: dict[str, bool] = field(default_factory=dict)  # id -> partially; oldest first

    def as_status(self) -> dict[str, Any]:
        decided = self.accepted + self.rejected
        return {
            "shown": self.shown,
            "accepted": self.accepted,
            "partiallyAccepted": self.partially_accepted,
            "rejected": self.rejected,
            "acceptanceRate": round(self.accepted / decided, 3) if decided else None,
        }


def signature(uri: str, region_text: str, suggestion: str) -> str:
    return hashlib.sha1(f"{uri}\0{region_text}\0{suggestion}".encode()).hexdigest()


def edits_text(edits: list[RegionEdit]) -> str:
    return "\0".join(f"{e.start_line}:{e.start_char}-{e.end_line}:{e.end_char}={e.new_text}" for e in edits)


class Suggestions:
    def __init__(self, server: "SparkforgeServer") -> None:
        self.server = server
        self.engine = PredictionEngine(server.gateway, server.settings.inline)
        self.history = EditHistory()
        self.recent: list[str] = []  # URIs, most recently edited last
        self.feedback = Feedback()
        self.told: set[str] = set()  # kinds of model failure already shown to the user
        self._warmed: dict[str, int] = {}  # uri -> the line the warmed lines are around
        self._warming: dict[str, asyncio.Task[None]] = {}

    # -- hooks the server dispatches ---------------------------------------------------
    def settings_changed(self, settings: Settings) -> None:
        self.engine.configure(settings.inline)

    def opened(self, state: DocumentState) -> None:
        self._touch(state.uri)

    def changed(self, state: DocumentState) -> None:
        uri = state.uri
        arrived = time.perf_counter()
        doc = self.server.workspace.text_documents.get(uri)
        if doc is None:
            return
        self.engine.document_changed(uri, doc.version)
        # What changed, from the didChange ranges: nothing here reads the whole text.
        change = doc.text_lines.take_change()
        if change is not None and self.server.exclusion_reason(uri) is None:
            before, span = change
            self.history.record_lines(uri, before, doc.lines, span, path=self.relative_path(uri))
            self._warm_around(uri, doc.lines, span[0])
        self.engine.keystroke(uri, arrived)
        self._touch(uri)

    def _warm_around(self, uri: str, lines: Sequence[str], line: int) -> None:
        """After an edit away from the lines already warmed: in idle time, do the per-line
        work of the prompts to come for the lines around it (``warm_lines``), nearest first."""
        near = self._warmed.get(uri)
        if near is not None and abs(near - line) < WARM_REACH // 2:
            return
        self._warmed[uri] = line
        if (old := self._warming.pop(uri, None)) is not None:
            old.cancel()
        self._warming[uri] = self.server.spawn(_warm(lines, line), name="warm prompt lines")

    def closed(self, state: DocumentState) -> None:
        self._warmed.pop(state.uri, None)
        if (task := self._warming.pop(state.uri, None)) is not None:
            task.cancel()
        self.history.forget(state.uri)
        self.engine.forget(state.uri)
        if state.uri in self.recent:
            self.recent.remove(state.uri)

    def shutdown(self) -> list[Any]:
        return self.engine.cancel_all()

    def shown_ghost(self, uri: str) -> ShownGhost | None:
        state = self.server.documents.get(uri)
        return state.shown_ghost if state is not None else None

    def show_ghost(self, ghost: ShownGhost) -> None:
        self.server.state(ghost.uri).shown_ghost = ghost

    def _touch(self, uri: str) -> None:
        if uri in self.recent:
            self.recent.remove(uri)
        self.recent.append(uri)

    # -- snapshots ---------------------------------------------------------------------
    def relative_path(self, uri: str) -> str:
        return self.server.relative_path(uri)

    def column(self, doc: Any, position: types.Position) -> int:
        """The str column of ``position`` in its line: InvalidParams if it is not in the text."""
        try:
            return doc.text_lines.column(position.line, position.character)
        except PositionError as exc:
            raise InvalidParams(f"{doc.uri}: {exc}") from None

    def snapshot(
        self,
        uri: str,
        position: types.Position,
        version: int | None = None,
        column: int | None = None,
    ) -> Snapshot:
        """What the prediction sees; ``column`` is the position's str column, if the caller
        has it."""
        doc = self.server.document(uri)
        if version is not None and doc.version is not None and version != doc.version:
            raise InvalidParams(
                f"{uri}: the request is for version {version} but the document is at "
                f"version {doc.version}"
            )
        if column is None:
            column = self.column(doc, position)
        text_lines = doc.text_lines
        return Snapshot(
            uri=uri,
            version=doc.version or 0,
            lines=doc.lines,
            # kept line by line with the document: the prompt looks up the names near the
            # cursor among them without scanning the file
            definitions=text_lines.per_line(line_definition)
            if text_lines.line_count <= OWN_DEFINITIONS_MAX_LINES else None,
            line=position.line,
            column=column,
            path=self.relative_path(uri),
            language=doc.language_id or "plaintext",
        )

    def other_documents(self, uri: str) -> list[tuple[str, str]]:
        """Other open documents that may be sent, most recently edited first."""
        out: list[tuple[str, str]] = []
        for other in reversed(self.recent):
            if other == uri or self.server.exclusion_reason(other) is not None:
                continue
            doc = self.server.workspace.text_documents.get(other)
            if doc is not None:
                out.append((self.relative_path(other), doc.source))
            if len(out) >= MAX_CONTEXT_DOCUMENTS:
                break
        return out

    async def predict(self, snap: Snapshot, *, debounce: bool, on_partial=None) -> PredictionResult | None:
        try:
            return await self.engine.predict(
                snap,
                context=lambda budget: (self.history.render(max_tokens=budget), self.other_documents(snap.uri)),
                debounce=debounce,
                on_partial=on_partial,
            )
        except OverBudget as exc:  # the settings leave no room: say so once, suggest nothing
            self.model_failed(exc)
            return None

    def offer(self, result_id: str, uri: str, region_text: str, suggestion: str) -> bool:
        """False if the user turned this suggestion down here before; else it is recorded as
        offered (under ``result_id``, for the feedback to come)."""
        sig = signature(uri, region_text, suggestion)
        if sig in self.feedback.rejected_signatures:
            return False
        self.feedback.offered[result_id] = sig
        if len(self.feedback.offered) > 500:  # keep the map small: oldest first out
            self.feedback.offered.pop(next(iter(self.feedback.offered)))
        return True

    def model_failed(self, exc: Exception) -> None:
        """A prediction failed: log it, update the status, and tell the user once per kind of
        problem that needs them (a key, a URL), not for passing trouble like a 429. While the
        fast model is paused (rate limit, outage) nothing more is said: the server logged the
        pause and sent it in the status when it began, and does again when it ends."""
        from sparkforge.models.errors import AuthError, MissingKeyError, ModelUnavailableError

        kind = type(exc).__name__
        quiet = getattr(exc, "refused", False) or self.server.gateway.paused("fast") is not None
        if not quiet:
            self.server.log(f"ghost text: {exc}", types.MessageType.Warning)
        needs_user = (AuthError, MissingKeyError, ModelUnavailableError, OverBudget)
        if isinstance(exc, needs_user) and kind not in self.told:
            self.told.add(kind)
            self.server.show(str(exc), types.MessageType.Warning)
        if not quiet:
            self.server.send_status()

    # -- status ------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        last = self.engine.last_result
        return {
            "suggestions": self.feedback.as_status(),
            "predictions": {
                "requests": self.engine.requests_made,
                "cancelled": self.engine.requests_cancelled,
                "last": None
                if last is None
                else {
                    "id": last.id,
                    "modelMs": round(last.model_ms, 2),
                    "firstTokenMs": None if last.first_token_ms is None else round(last.first_token_ms, 2),
                    "debounceMs": round(last.debounce_ms, 1),
                    "promptTokens": last.prompt.token_count,
                    "timingsMs": last.timings_ms,
                    "startedAt": round(last.started_at, 6),
                },
            },
        }


WARM_CHUNK = 40  # lines per turn of the event loop: well under a millisecond of work


async def _warm(lines: Sequence[str], line: int) -> None:
    lo, hi = max(0, line - WARM_REACH), min(len(lines), line + WARM_REACH)
    above, below = line, line  # warmed so far: [above, below)
    while above > lo or below < hi:
        await asyncio.sleep(0)  # a keystroke or a request waiting goes first
        if below < hi:
            warm_lines(lines[below : below + WARM_CHUNK])
            below += WARM_CHUNK
        if above > lo:
            warm_lines(lines[max(lo, above - WARM_CHUNK) : above])
            above -= WARM_CHUNK


def setup(server: "SparkforgeServer") -> Suggestions:
    """The state ghost text and next edits share, and the feedback methods; ``inline`` and
    ``next_edit`` are set up with what this returns."""
    sugg = Suggestions(server)
    server.add_feature(sugg)

    @server.feature(DID_SHOW)
    def did_show(ls: "SparkforgeServer", params: Any) -> None:
        Params(DID_SHOW, params, "{id: string}").str("id")
        sugg.feedback.shown += 1

    def accept(result_id: str, accepted_length: Any = None) -> None:
        # VS Code reports one acceptance twice (the item's command and sparkforge/didAccept);
        # other clients send one or the other: an id counts once, whichever route it took.
        fb = sugg.feedback
        partial = isinstance(accepted_length, int) and not isinstance(accepted_length, bool) and accepted_length >= 0
        if result_id in fb.accepted_ids:
            if partial and not fb.accepted_ids[result_id]:  # the other route told us how much
                fb.accepted_ids[result_id] = True
                fb.partially_accepted += 1
                server.send_status()
            return
        fb.accepted_ids[result_id] = partial
        if len(fb.accepted_ids) > 500:
            fb.accepted_ids.pop(next(iter(fb.accepted_ids)))
        if partial:
            fb.partially_accepted += 1
        fb.accepted += 1
        sugg.feedback.offered.pop(result_id, None)
        server.send_status()

    @server.feature(DID_ACCEPT)
    def did_accept(ls: "SparkforgeServer", params: Any) -> None:
        p = Params(DID_ACCEPT, params, "{id: string, acceptedLength?: integer}")
        accept(p.str("id"), p.int("acceptedLength", required=False, minimum=0))

    @server.feature(DID_REJECT)
    def did_reject(ls: "SparkforgeServer", params: Any) -> None:
        result_id = Params(DID_REJECT, params, "{id: string}").str("id")
        sugg.feedback.rejected += 1
        if (sig := sugg.feedback.offered.pop(result_id, None)) is not None:
            sugg.feedback.rejected_signatures.add(sig)
        for state in ls.documents.values():
            if state.shown_ghost is not None and state.shown_ghost.id == result_id:
                state.shown_ghost = None
        ls.send_status()

    @server.command(ACCEPT_COMMAND)
    def accept_command(ls, *args):  # no annotations: pygls would resolve them
        # VS Code runs an inline completion item's command after the user accepts it.
        flat = list(args[0]) if len(args) == 1 and isinstance(args[0], (list, tuple)) else list(args)
        length = flat[1] if len(flat) > 1 else None
        if not flat or not isinstance(flat[0], str) or len(flat) > 2 or not (
            length is None or (is_int(length) and length >= 0)
        ):
            raise InvalidParams(
                f"{ACCEPT_COMMAND}: arguments must be [id: string, acceptedLength?: integer], "
                f"not {shown(flat)}"
            )
        accept(flat[0], length)
    return sugg
