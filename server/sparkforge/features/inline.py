"""textDocument/inlineCompletion: ghost text from the fast model's prediction.

Typing through a shown suggestion is served from the suggestion itself, with no model call;
otherwise the request joins (or starts) the document's prediction, and only its insertion at
the cursor is returned. An explicit request (Invoked) skips the debounce.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lsprotocol import types

from sparkforge.features.suggestions import ACCEPT_COMMAND, Suggestions
from sparkforge.models.errors import ModelError
from sparkforge.predict.engine import ShownGhost

if TYPE_CHECKING:
    from sparkforge.server import SparkforgeServer


def setup(server: "SparkforgeServer", sugg: "Suggestions") -> None:

    @server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
    async def inline_completion(
        ls: "SparkforgeServer", params: types.InlineCompletionParams
    ) -> dict[str, Any] | None:  # an InlineCompletionList
        uri = params.text_document.uri
        doc = ls.document(uri)
        column = sugg.column(doc, params.position)  # an impossible position is an error
        if not ls.settings.inline.enabled or ls.exclusion_reason(uri) is not None:
            return None
        position = params.position

        shown = sugg.shown_ghost(uri)
        if shown is not None:
            rest = shown.continuation(doc.lines, params.position.line, column)
            if rest is not None:
                return _items(shown.id, rest, position)

        snap = sugg.snapshot(uri, position, column=column)
        invoked = params.context.trigger_kind == types.InlineCompletionTriggerKind.Invoked
        try:
            result = await sugg.predict(snap, debounce=not invoked)
        except ModelError as exc:
            sugg.model_failed(exc)  # ghost text fails quietly: status and log say why
            return None
        if result is None or result.prediction.ghost is None:
            return None
        if doc.version != snap.version:
            return None  # the document moved on while the model answered
        ghost = result.prediction.ghost
        region = result.prompt.region_text
        if not sugg.offer(result.id, uri, region, ghost.text):
            return None
        sugg.show_ghost(ShownGhost(result.id, uri, snap.lines, snap.line, snap.column, ghost.text))
        return _items(result.id, ghost.text, position)


def _items(result_id: str, text: str, position: types.Position) -> dict[str, Any]:
    """The InlineCompletionList, written as JSON: the answer leaves without a pass through
    cattrs (ghost text is the one answer a user waits for)."""
    at = {"line": position.line, "character": position.character}
    return {
        "items": [
            {
                "insertText": text,
                "range": {"start": at, "end": at},
                "command": {
                    "title": "sparkforge: suggestion accepted",
                    "command": ACCEPT_COMMAND,
                    "arguments": [result_id],
                },
            }
        ]
    }
