"""An ``EditPlan`` as a WorkspaceEdit the editor can preview, apply whole, or refuse whole.

- An update is a ``TextDocumentEdit`` versioned to the document version the prompt saw, with
  UTF-16 ranges computed on that same text. If the user edited the document meanwhile, the
  edit is moved onto the current text when the user's change touches none of it (and then
  carries the current version); otherwise it keeps the old version, which the editor refuses.
  A file that is not open gets version null: if its text on disk changed since, the action
  fails instead, as nothing could make the editor refuse a stale unversioned edit.
- A new file is a ``CreateFile`` (never overwriting) and a ``TextDocumentEdit`` (version null)
  inserting its content; a deleted file is a ``DeleteFile``.
- Every change carries one change annotation with ``needsConfirmation``, so VS Code shows its
  refactor preview before anything changes.
"""

from __future__ import annotations

from collections.abc import Callable

from lsprotocol import types

from sparkforge.deep.changes import RangeEdit, rebase, to_utf16
from sparkforge.deep.flow import ActionError
from sparkforge.edits import EditPlan, SourceText

ANNOTATION_ID = "sparkforge"


def _text_edit(edit: RangeEdit, annotation: str | None) -> types.TextEdit | types.AnnotatedTextEdit:
    rng = types.Range(
        start=types.Position(line=edit.start[0], character=edit.start[1]),
        end=types.Position(line=edit.end[0], character=edit.end[1]),
    )
    if annotation is None:
        return types.TextEdit(range=rng, new_text=edit.new_text)
    return types.AnnotatedTextEdit(range=rng, new_text=edit.new_text, annotation_id=annotation)


def workspace_edit(
    plan: EditPlan,
    sources: dict[str, SourceText],
    *,
    uri_for: Callable[[str], str],
    current: Callable[[str], SourceText | None],
    label: str,
    description: str,
    annotate: bool = True,
) -> types.WorkspaceEdit:
    """The WorkspaceEdit for ``plan``; ``sources`` are the texts it was planned against,
    ``current(path)`` the text (and version, if open) now. ActionError if it cannot be safe."""
    annotation = ANNOTATION_ID if annotate else None
    changes: list = []
    for fe in plan.files:
        uri = uri_for(fe.path)
        if fe.kind == "create":
            changes.append(
                types.CreateFile(
                    uri=uri,
                    options=types.CreateFileOptions(overwrite=False, ignore_if_exists=False),
                    annotation_id=annotation,
                )
            )
            if fe.new_text:
                insert = RangeEdit((0, 0), (0, 0), fe.new_text)
                changes.append(_document_edit(uri, None, [insert], annotation))
            continue
        if fe.kind == "delete":
            changes.append(types.DeleteFile(uri=uri, annotation_id=annotation))
            continue
        snap = sources[fe.path]
        now = current(fe.path)
        if now is None:
            raise ActionError(f"{fe.path} was deleted while the model was working; nothing was applied", "stale")
        text, version, edits = snap.text, snap.version, fe.changes
        if now.text != snap.text:
            moved = rebase(fe.changes, snap.text, now.text)
            if moved is not None:
                text, version, edits = now.text, now.version, moved
            elif snap.version is None:
                raise ActionError(
                    f"{fe.path} changed on disk while the model was working, where the edit goes; "
                    "nothing was applied: run the action again",
                    "stale",
                )
            # else: keep the old version; the editor refuses the edit rather than misplace it.
        elif now.version is not None:
            version = now.version  # same text (e.g. opened since): its positions hold
        changes.append(_document_edit(uri, version, to_utf16(text, edits), annotation))
    return types.WorkspaceEdit(
        document_changes=changes,
        change_annotations=(
            {ANNOTATION_ID: types.ChangeAnnotation(label=label, needs_confirmation=True, description=description)}
            if annotate
            else None
        ),
    )


def _document_edit(
    uri: str, version: int | None, edits: list[RangeEdit], annotation: str | None
) -> types.TextDocumentEdit:
    return types.TextDocumentEdit(
        text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version),
        edits=[_text_edit(e, annotation) for e in edits],
    )
