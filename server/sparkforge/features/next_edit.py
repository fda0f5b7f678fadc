"""sparkforge/nextEdit: edits away from the cursor, from the same prediction as ghost text.

Params ``{textDocument: {uri, version?}, position, version?, partialResultToken?}``; result
``{id, version, edits: [{range, newText}], cursor?}`` or null. Final hunks are reported early
through ``$/progress`` when the client sends a ``partialResultToken``. Shaped like Copilot's
``textDocument/copilotInlineEdit`` so other clients can reuse their inline-edit UI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lsprotocol import types

from sparkforge.features.params import Params
from sparkforge.features.suggestions import Suggestions, edits_text
from sparkforge.models.errors import ModelError
from sparkforge.predict.diffing import RegionEdit
from sparkforge.textpos import LinePositions, units

if TYPE_CHECKING:
    from sparkforge.server import SparkforgeServer

NEXT_EDIT = "sparkforge/nextEdit"
SHAPE = (
    "{textDocument: {uri: string, version?: integer}, position: {line, character}, "
    "version?: integer, partialResultToken?: integer | string}"
)


def _wire_edit(index: LinePositions, edit: RegionEdit) -> dict[str, Any]:
    sl, sc = index.to_lsp(edit.start_line, edit.start_char)
    el, ec = index.to_lsp(edit.end_line, edit.end_char)
    return {
        "range": {"start": {"line": sl, "character": sc}, "end": {"line": el, "character": ec}},
        "newText": edit.new_text,
    }


def setup(server: "SparkforgeServer", sugg: "Suggestions") -> None:

    @server.feature(NEXT_EDIT)
    async def next_edit(ls: "SparkforgeServer", params: Any) -> dict[str, Any] | None:
        p = Params(NEXT_EDIT, params, SHAPE)
        uri = p.str("textDocument", "uri")
        position = p.position("position")
        document_version = p.int("textDocument", "version", required=False)
        version = p.int("version", required=False)
        if version is None:
            version = document_version
        token = p.token("partialResultToken")
        snap = sugg.snapshot(uri, position, version)
        if not ls.settings.next_edit.enabled or ls.exclusion_reason(uri) is not None:
            return None
        index = LinePositions(snap.lines, ls.encoding)  # the snapshot's lines, not joined

        def on_partial(edits: list[RegionEdit]) -> None:
            if token is not None:
                ls.protocol.notify(
                    types.PROGRESS,
                    types.ProgressParams(
                        token=token, value={"edits": [_wire_edit(index, e) for e in edits]}
                    ),
                )

        try:
            result = await sugg.predict(snap, debounce=False, on_partial=on_partial)
        except ModelError as exc:
            sugg.model_failed(exc)
            return None
        if result is None or not result.prediction.edits:
            return None
        edits = result.prediction.edits
        region = result.prompt.region_text
        text = edits_text(edits)
        if not sugg.offer(result.id, uri, region, text):
            return None
        return {
            "id": result.id,
            "version": snap.version,
            "edits": [_wire_edit(index, e) for e in edits],
            "cursor": _cursor_after(index, edits),
        }


def _cursor_after(index: LinePositions, edits: list[RegionEdit]) -> dict[str, int]:
    """Where the cursor goes once the edits are applied: the end of the last one (in the
    index's position encoding)."""
    last = edits[-1]
    # earlier edits may add or remove lines above the last one
    shift = sum(e.new_text.count("\n") - (e.end_line - e.start_line) for e in edits[:-1])
    line = last.start_line + shift + last.new_text.count("\n")
    if "\n" in last.new_text:
        character = units(last.new_text.rsplit("\n", 1)[1], index.encoding)
    else:
        character = units(index.line(last.start_line)[: last.start_char] + last.new_text, index.encoding)
    return {"line": line, "character": character}
