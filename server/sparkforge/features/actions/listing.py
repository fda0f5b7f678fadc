"""``textDocument/codeAction``: the sparkforge lightbulb, computed without any model call.

Actions are offered where they make sense: on a non-empty selection, or inside a function or
class (``deep.targets``), and Fix once per diagnostic the editor sends; never in an excluded
file. The target is computed here and travels in ``data`` so that resolve works on exactly
what the user saw highlighted:

    {kind, uri, range, version, target, name?, instruction?, needsInstruction?, diagnostic?}

Clients that can resolve ``edit`` get lazy actions (``codeAction/resolve`` computes the edit);
other clients get the same actions with ``command = sparkforge.runAction`` and ``data`` as its
argument. Explain has no edit: it always carries ``sparkforge.runAction`` with its ``data``, a
command the server executes in every client (it shows the explanation with
``window/showDocument`` or a message); no action names a command only one client knows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lsprotocol import types

from sparkforge.deep.targets import IndexLines, Target, find_definition, target_at
from sparkforge.deep.testing import is_test_file
from sparkforge.errors import InvalidParams
from sparkforge.textpos import LineIndex, LinePositions, PositionError

if TYPE_CHECKING:
    from sparkforge.features.actions import ActionsFeature

RUN_ACTION = "sparkforge.runAction"
KINDS = {
    "refactor": types.CodeActionKind.RefactorRewrite,
    # Generate tests writes a new file rather than rewriting the target: a plain refactor,
    # which (unlike `source`) VS Code shows in the lightbulb next to the cursor.
    "tests": types.CodeActionKind.Refactor,
    "document": types.CodeActionKind.RefactorRewrite,
    "fix": types.CodeActionKind.QuickFix,
}
ADVERTISED_KINDS = [types.CodeActionKind.QuickFix, types.CodeActionKind.Refactor, types.CodeActionKind.RefactorRewrite]
INSTRUCTION_PROMPT = "What should sparkforge do with this code?"
INSTRUCTION_PLACEHOLDER = "for example: extract the loop into a function named parse_rows"
MAX_TITLE_MESSAGE = 60


def title_for(kind: str, target: Target | None, diagnostic: types.Diagnostic | None = None) -> str:
    label = target.label() if target is not None else "the selection"
    if kind == "refactor":
        return "Refactor with sparkforge…"
    if kind == "tests":
        return f"Generate tests for {label} with sparkforge"
    if kind == "document":
        return f"Document {label} with sparkforge"
    if kind == "fix":
        message = " ".join((diagnostic.message if diagnostic else "").split())
        if len(message) > MAX_TITLE_MESSAGE:
            message = message[: MAX_TITLE_MESSAGE - 1] + "…"
        return f"Fix with sparkforge: {message}" if message else "Fix with sparkforge"
    return f"Explain {label} with sparkforge"


def lsp_range(index: LineIndex | LinePositions, target: Target) -> dict[str, Any]:
    """The target's range in the index's position encoding, as plain JSON (it goes into
    ``data``)."""
    def pos(line: int, char: int) -> dict[str, int]:
        line, character = index.to_lsp(line, char)
        return {"line": line, "character": character}

    return {"start": pos(target.start_line, target.start_char), "end": pos(target.end_line, target.end_char)}


def _column(doc: Any, position: types.Position) -> int:
    """The str column of ``position``, strictly: InvalidParams if it is not in the document."""
    try:
        return doc.text_lines.column(position.line, position.character)
    except PositionError as exc:
        raise InvalidParams(f"{doc.uri}: {exc}") from None


def _wanted(kind: str | None, only: list[str] | None) -> bool:
    if not only:
        return True
    if kind is None:
        return False
    return any(kind == o or kind.startswith(o + ".") for o in only)


def list_actions(feature: "ActionsFeature", params: types.CodeActionParams) -> list[types.CodeAction]:
    ls = feature.server
    uri = params.text_document.uri
    doc = ls.document(uri)
    if ls.exclusion_reason(uri) is not None or ls.path_of(uri) is None:
        return []
    index = LinePositions(doc.lines, ls.encoding)  # asked at every cursor move: nothing joined
    start = params.range.start
    end = params.range.end
    if (end.line, end.character) < (start.line, start.character):
        raise InvalidParams(
            f"textDocument/codeAction: the range ends before it starts ({start.line}:{start.character} "
            f"to {end.line}:{end.character})"
        )
    # Strict conversion: a position that is not in the document is an InvalidParams error.
    s = (start.line, _column(doc, start))
    e = (end.line, _column(doc, end))
    lines = IndexLines(index)
    language = doc.language_id or ""
    target = target_at(lines, s, e, language)
    only = [str(k) for k in params.context.only] if params.context.only else None
    version = doc.version

    def data(kind: str, tgt: Target, rng: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
        out = {"kind": kind, "uri": uri, "range": rng or lsp_range(index, tgt), "version": version, "target": tgt.kind}
        if tgt.name:
            out["name"] = tgt.name
        out.update(extra)
        return out

    actions: list[types.CodeAction] = []
    seen: set[tuple[Any, ...]] = set()
    for diag in params.context.diagnostics or ():
        key = (diag.message, diag.range.start.line, diag.range.start.character, diag.source)
        if key in seen or not _wanted(KINDS["fix"], only):
            continue
        seen.add(key)
        fix_target = None
        if diag.range.start.line < index.line_count:
            fix_target = find_definition(lines, diag.range.start.line, language)
        if fix_target is None:  # outside any definition: the diagnostic's own lines
            first = min(diag.range.start.line, index.line_count - 1)
            last = min(max(diag.range.end.line, first), index.line_count - 1)
            fix_target = Target("selection", first, 0, last, len(index.line(last)))
        payload = data("fix", fix_target, diagnostic=ls.protocol._converter.unstructure(diag))
        actions.append(feature.action(title_for("fix", fix_target, diag), "fix", payload, diagnostics=[diag]))
    if target is not None:
        rng = None
        if target.kind == "selection":  # echo the client's own range for a selection
            rng = {"start": {"line": start.line, "character": start.character},
                   "end": {"line": end.line, "character": end.character}}
        if _wanted(KINDS["refactor"], only):
            actions.append(feature.action(title_for("refactor", target), "refactor", data(
                "refactor", target, rng, needsInstruction=True,
                prompt=INSTRUCTION_PROMPT, placeholder=INSTRUCTION_PLACEHOLDER,
            )))
        if _wanted(KINDS["document"], only):
            actions.append(feature.action(title_for("document", target), "document", data("document", target, rng)))
        rel = feature.relative(uri)
        if _wanted(KINDS["tests"], only) and not (rel and is_test_file(rel)):
            actions.append(feature.action(title_for("tests", target), "tests", data("tests", target, rng)))
        if not only:
            payload = data("explain", target, rng)
            actions.append(types.CodeAction(
                title=title_for("explain", target),
                command=types.Command(title="Explain with sparkforge", command=RUN_ACTION, arguments=[payload]),
                data=payload,
            ))
    return actions
