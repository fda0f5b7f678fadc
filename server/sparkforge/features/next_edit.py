"""sparkforge/nextEdit: edits away from the cursor, from the same prediction as ghost text.

Params ``{textDocument: {uri, version?}, position, version?, partialResultToken?}``; result
``{id, version, edits: [{range, newText}], cursor?}`` or null. Final hunks are reported early
through ``$/progress`` when the client sends a ``partialResultToken``. Shaped like Copilot's
``textDocument/copilotInlineEdit`` so other clients can reuse their inline-edit UI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lsprotocol import types

from sparkforge.models.gateway import ModelError
from pygls.exceptions import JsonRpcInvalidParams

from sparkforge.predict.diffing import RegionEdit
from sparkforge.textpos import LineIndex

if TYPE_CHECKING:
    from sparkforge.server import SparkforgeServer

NEXT_EDIT = "sparkforge/nextEdit"


def _get(obj: Any, *path: str) -> Any:
    for name in path:
        if obj is None:
            return None
        obj = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
    return obj


def _wire_edit(index: LineIndex, edit: RegionEdit) -> dict[str, Any]:
    sl, sc = index.to_utf16(edit.start_line, edit.start_char)
    el, ec = index.to_utf16(edit.end_line, edit.end_char)
    return {
        "range": {"start": {"line": sl, "character": sc}, "end": {"line": el, "character": ec}},
        "newText": edit.new_text,
    }


def setup(server: "SparkforgeServer") -> None:
    sugg = server.suggestions  # type: ignore[attr-defined]

    @server.feature(NEXT_EDIT)
    async def next_edit(ls: "SparkforgeServer", params: Any) -> dict[str, Any] | None:
        uri = _get(params, "textDocument", "uri")
        line = _get(params, "position", "line")
        character = _get(params, "position", "character")
        if not isinstance(uri, str) or not isinstance(line, int) or not isinstance(character, int):
            raise JsonRpcInvalidParams(
                "sparkforge/nextEdit expects {textDocument: {uri}, position: {line, character}}"
            )
        version = _get(params, "version")
        if version is None:
            version = _get(params, "textDocument", "version")
        position = types.Position(line=line, character=character)
        snap = sugg.snapshot(uri, position, version if isinstance(version, int) else None)
        if not ls.settings.next_edit.enabled or ls.exclusion_reason(uri) is not None:
            return None
        index = LineIndex.of(snap.text) if ls.lines(ls.document(uri)).text != snap.text else ls.lines(ls.document(uri))
        token = _get(params, "partialResultToken")

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
        from sparkforge.features.suggestions import edits_text

        text = edits_text(edits)
        if sugg.is_rejected(uri, region, text):
            return None
        sugg.offered(result.id, uri, region, text)
        last = edits[-1]
        end_line = last.start_line + last.new_text.count("\n")
        tail = last.new_text.rsplit("\n", 1)[-1]
        end_char = (last.start_char if "\n" not in last.new_text else 0) + len(tail)
        cursor_line, cursor_char = _cursor(index, edits, end_line, end_char)
        return {
            "id": result.id,
            "version": snap.version,
            "edits": [_wire_edit(index, e) for e in edits],
            "cursor": {"line": cursor_line, "character": cursor_char},
        }


def _cursor(index: LineIndex, edits: list[RegionEdit], end_line: int, end_char: int) -> tuple[int, int]:
    """Where the cursor goes after the edits: the end of the last one, in the new text (UTF-16)."""
    # Lines above the last edit may have grown or shrunk by earlier edits' newlines.
    delta = sum(e.new_text.count("\n") - (e.end_line - e.start_line) for e in edits[:-1])
    last = edits[-1]
    line_text = index.line(last.start_line)
    if "\n" in last.new_text:
        from sparkforge.textpos import utf16_len

        return end_line + delta, utf16_len(last.new_text.rsplit("\n", 1)[-1])
    from sparkforge.textpos import utf16_len

    return end_line + delta, utf16_len(line_text[: last.start_char]) + utf16_len(last.new_text)
