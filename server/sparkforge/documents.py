"""One object per open document: what every feature knows about it, created on didOpen and
dropped on didClose, so nothing about a closed document lingers in a side table.

The text and version themselves stay in pygls's workspace (``server.workspace``), in our own
document class (``LinesDocument``: the text as lines, changed in place, so that a keystroke in
a 100,000-line file costs what it costs in a small one); ``DocumentState`` holds what is
derived from them (the line index in the negotiated position encoding, the workspace-relative
path, why it may not reach a model) and what features keep per document (the ghost text on
screen, where actions put their files).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from lsprotocol import types
from pygls.workspace import TextDocument, Workspace

from sparkforge.textpos import UTF16, LineIndex, TextLines


@dataclass
class DocumentState:
    uri: str
    # derived, each with the key it was computed for
    index: tuple[int | None, LineIndex] | None = None  # (version, index)
    relative: tuple[Path | None, str] | None = None  # (root, workspace-relative path)
    exclusion: tuple[Any, str | None] | None = None  # (policy key, reason or None)
    located: tuple[Path | None, tuple[Path, str] | None] | None = None  # actions: (root, (root, rel))
    # kept by features
    shown_ghost: Any = None  # the ghost text on screen (predict.engine.ShownGhost)


class LinesDocument(TextDocument):
    """A pygls document whose text is a ``TextLines``: an incremental change replaces the lines
    it touches instead of rebuilding the whole text (pygls's own splits and joins every line of
    the document per change). ``source`` is joined on demand, once per change, for the
    features that need the whole text; ``lines`` are cut at \\n only, as LSP positions count
    them here (``textpos``)."""

    def __init__(self, uri: str, source: Optional[str] = None, version: Optional[int] = None,
                 language_id: Optional[str] = None, local: bool = True,
                 sync_kind: types.TextDocumentSyncKind = types.TextDocumentSyncKind.Incremental,
                 position_codec: Any = None) -> None:
        super().__init__(uri, source, version, language_id, local, sync_kind, position_codec)
        encoding = getattr(self.position_codec.encoding, "value", self.position_codec.encoding)
        self._encoding = str(encoding or UTF16)
        # A document pygls was never sent (a file on disk) is read when first asked for.
        self._text_lines = None if source is None else TextLines(source, self._encoding)

    @property
    def text_lines(self) -> TextLines:
        if self._text_lines is None:
            self._text_lines = TextLines(super().source, self._encoding)
        return self._text_lines

    def apply_change(self, change: types.TextDocumentContentChangeEvent) -> None:
        if self._is_sync_kind_none:
            return
        if isinstance(change, types.TextDocumentContentChangePartial) and self._is_sync_kind_incremental:
            r = change.range
            self.text_lines.replace((r.start.line, r.start.character), (r.end.line, r.end.character), change.text)
        else:
            self.text_lines.replace_all(change.text)

    @property
    def source(self) -> str:
        return self.text_lines.text

    @property
    def lines(self) -> tuple[str, ...]:
        return self.text_lines.snapshot()


class LinesWorkspace(Workspace):
    """pygls's workspace, with ``LinesDocument`` for text documents."""

    @classmethod
    def like(cls, other: Workspace) -> "LinesWorkspace":
        """A workspace with ``other``'s root, folders, sync kind and position encoding (pygls
        makes its own at initialize, before the server's handler runs)."""
        return cls(other.root_uri, other._sync_kind, list(other.folders.values()), other.position_encoding)

    def _create_text_document(self, doc_uri: str, source: Optional[str] = None, version: Optional[int] = None,
                              language_id: Optional[str] = None) -> TextDocument:
        return LinesDocument(doc_uri, source=source, version=version, language_id=language_id,
                             sync_kind=self._sync_kind, position_codec=self._position_codec)
