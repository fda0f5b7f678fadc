"""The one WorkspaceEdit builder: an ``EditPlan`` as the edit this client can carry out.

- An update is a ``TextDocumentEdit`` versioned to the document version the prompt saw, with
  ranges in the negotiated position encoding computed on that same text. If the user edited
  the document meanwhile, the edit is moved onto the current text when the user's change
  touches none of it (and then carries the current version); otherwise it keeps the old
  version, which the editor refuses. A file that is not open gets version null: if its text
  on disk changed since, the action fails instead, as nothing could make the editor refuse a
  stale unversioned edit.
- A new file is a ``CreateFile`` (never overwriting) and a ``TextDocumentEdit`` (version null)
  inserting its content; a deleted file is a ``DeleteFile``.
- What the client announced decides the shape (``EditSupport``): a client without
  ``documentChanges`` gets ``changes`` (unversioned, so an edit that would need the editor to
  refuse it is refused here instead); a client without the ``create`` or ``delete`` resource
  operation never receives one (ActionError saying what to do); change annotations only go
  to clients that support them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lsprotocol import types
from pygls.capabilities import get_capability

from sparkforge.deep.changes import RangeEdit, rebase, to_lsp
from sparkforge.deep.flow import ActionError
from sparkforge.edits import EditPlan, SourceText
from sparkforge.textpos import UTF16

ANNOTATION_ID = "sparkforge"


@dataclass(frozen=True)
class EditSupport:
    """What a client's WorkspaceEdit support allows (its capabilities, read once)."""

    encoding: str = UTF16
    document_changes: bool = True
    create: bool = True  # each of these three implies document_changes
    delete: bool = True
    annotations: bool = True

    @classmethod
    def of(cls, caps: types.ClientCapabilities | None, encoding: str = UTF16) -> "EditSupport":
        if caps is None:
            return cls(encoding)
        operations = {str(getattr(k, "value", k)) for k in get_capability(
            caps, "workspace.workspace_edit.resource_operations", [])}
        # Resource operations only exist inside documentChanges: a client that lists them
        # (Neovim 0.11 does, without documentChanges: true) applies documentChanges.
        document_changes = bool(operations) or bool(
            get_capability(caps, "workspace.workspace_edit.document_changes", False))
        annotated = get_capability(caps, "workspace.workspace_edit.change_annotation_support") is not None
        return cls(
            encoding=encoding,
            document_changes=document_changes,
            create="create" in operations,
            delete="delete" in operations,
            annotations=annotated and document_changes,  # annotations only travel in documentChanges
        )


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
    support: EditSupport,
    label: str,
    description: str,
    confirm: bool = False,
) -> types.WorkspaceEdit:
    """The WorkspaceEdit for ``plan``; ``sources`` are the texts it was planned against,
    ``current(path)`` the text (and version, if open) now. ``confirm`` asks the editor to
    confirm it first (a change annotation with ``needsConfirmation``, where the client
    supports them); by default it applies in one click. ActionError if it cannot be safe or
    the client cannot carry it out."""
    annotation = ANNOTATION_ID if (confirm and support.annotations) else None
    changes: list = []
    plain: dict[str, list[types.TextEdit | types.AnnotatedTextEdit]] = {}
    for fe in plan.files:
        uri = uri_for(fe.path)
        if fe.kind == "create":
            if not support.create:
                raise ActionError(
                    f"the edit creates {fe.path}, and this editor cannot create files through "
                    f"the language server; nothing was applied. Create {fe.path} (it may be "
                    "empty), then run the action again",
                    "unsupported",
                )
            changes.append(types.CreateFile(
                uri=uri,
                options=types.CreateFileOptions(overwrite=False, ignore_if_exists=False),
                annotation_id=annotation,
            ))
            if fe.new_text:
                # The whole of the new (empty) document, as (0,0)-(1,0): editors that hold an
                # empty file as one empty line (Neovim) then write no extra blank line; the
                # others clamp the end to the end of the document.
                insert = RangeEdit((0, 0), (1, 0), fe.new_text)
                changes.append(_document_edit(uri, None, [insert], annotation))
            continue
        if fe.kind == "delete":
            if not support.delete:
                raise ActionError(
                    f"the edit deletes {fe.path}, and this editor cannot delete files through "
                    "the language server; nothing was applied",
                    "unsupported",
                )
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
            elif snap.version is None or not support.document_changes:
                # Unversioned: nothing could make the editor refuse it, so it is refused here.
                raise ActionError(
                    f"{fe.path} changed while the model was working, where the edit goes; "
                    "nothing was applied: run the action again",
                    "stale",
                )
            # else: keep the old version; the editor refuses the edit rather than misplace it.
        elif now.version is not None:
            version = now.version  # same text (e.g. opened since): its positions hold
        ranges = to_lsp(text, edits, support.encoding)
        if support.document_changes:
            changes.append(_document_edit(uri, version, ranges, annotation))
        else:
            plain.setdefault(uri, []).extend(_text_edit(e, None) for e in ranges)
    if not support.document_changes:
        return types.WorkspaceEdit(changes=plain)
    return types.WorkspaceEdit(
        document_changes=changes,
        change_annotations=(
            {ANNOTATION_ID: types.ChangeAnnotation(label=label, needs_confirmation=True, description=description)}
            if annotation is not None
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
