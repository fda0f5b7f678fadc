"""textDocument/inlineCompletion: ghost text from the fast model's prediction.

Typing through a shown suggestion is served from the suggestion itself, with no model call;
otherwise the request joins (or starts) the document's prediction, and only its insertion at
the cursor is returned. An explicit request (Invoked) skips the debounce.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from sparkforge.features.suggestions import ACCEPT_COMMAND, Suggestions
from sparkforge.models.gateway import ModelError
from sparkforge.predict.engine import ShownGhost

if TYPE_CHECKING:
    from sparkforge.server import SparkforgeServer


def setup(server: "SparkforgeServer", sugg: "Suggestions") -> None:

    @server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
    async def inline_completion(
        ls: "SparkforgeServer", params: types.InlineCompletionParams
    ) -> types.InlineCompletionList | None:
        uri = params.text_document.uri
        doc = ls.document(uri)
        column = sugg.column(doc, params.position)  # an impossible position is an error
        if not ls.settings.inline.enabled or ls.exclusion_reason(uri) is not None:
            return None
        position = params.position
        cursor_range = types.Range(start=position, end=position)

        shown = sugg.shown_ghost(uri)
        if shown is not None:
            rest = shown.continuation(doc.lines, params.position.line, column)
            if rest is not None:
                return _items(shown.id, rest, cursor_range)

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
        if sugg.is_rejected(uri, region, ghost.text):
            return None
        sugg.offered(result.id, uri, region, ghost.text)
        sugg.show_ghost(ShownGhost(result.id, uri, snap.lines, snap.line, snap.column, ghost.text))
        return _items(result.id, ghost.text, cursor_range)


def _items(result_id: str, text: str, cursor_range: types.Range) -> types.InlineCompletionList:
    return types.InlineCompletionList(
        items=[
            types.InlineCompletionItem(
                insert_text=text,
                range=cursor_range,
                command=types.Command(
                    title="sparkforge: suggestion accepted",
                    command=ACCEPT_COMMAND,
                    arguments=[result_id],
                ),
            )
        ]
    )
