"""The shapes model output becomes on its way to the editor: patches in, edit plans out.

A ``FilePatch`` is what a parser read (unified diff, V4A ``apply_patch`` operation or the
``*** Begin Patch`` envelope); a ``Hunk`` is format-neutral. An ``EditPlan`` is what
``PatchApplier.plan`` produced: per file, minimal ``TextChange``s in document coordinates
(0-based lines, Python ``str`` indices; the LSP layer converts to UTF-16) plus the full
resulting text. Nothing here imports pygls or lsprotocol.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Literal

FileKind = Literal["update", "create", "delete"]


class PatchError(Exception):
    """A patch that cannot be applied; the message says which file and hunk, and what to do.

    Raised before anything is produced: a plan is all or nothing.
    """

    def __init__(self, message: str, *, path: str | None = None, hunk: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        # 1-based, as a user counts hunks in the patch they see.
        self.hunk = hunk


@dataclass(frozen=True, slots=True)
class SourceText:
    """A file's current text and, when it is open in the editor, its document version.

    ``read_file`` callbacks may return this instead of a bare ``str`` so that the plan
    records which version it was computed against (for a versioned ``TextDocumentEdit``).
    """

    text: str
    version: int | None = None


@dataclass(frozen=True, slots=True)
class TextChange:
    """Replace ``[start, end)`` of the old text with ``new_text``; lines 0-based, chars are str indices."""

    start_line: int
    start_char: int
    end_line: int
    end_char: int
    new_text: str


@dataclass(frozen=True, slots=True)
class FileEdit:
    """What happens to one file.

    ``changes`` refer to the text the plan was computed from (all of them to the same
    text, non-overlapping, in document order), as a ``TextDocumentEdit`` requires. For a
    create there is one change at (0, 0) holding the whole content; for a delete none.
    ``old_text_sha256`` (None for a create) and ``base_version`` let the caller refuse to
    apply a plan to a document that changed since.
    """

    path: str
    kind: FileKind
    changes: list[TextChange]
    new_text: str
    old_text_sha256: str | None = None
    base_version: int | None = None

    def matches(self, current_text: str | None) -> bool:
        """True when ``current_text`` is still the text this edit was planned against."""
        if self.kind == "create":
            return current_text is None
        return current_text is not None and text_sha256(current_text) == self.old_text_sha256


@dataclass(frozen=True, slots=True)
class EditPlan:
    """All the files a patch touches, in the order the patch named them."""

    files: list[FileEdit] = field(default_factory=list)

    def get(self, path: str) -> FileEdit | None:
        return next((f for f in self.files if f.path == path), None)

    @property
    def paths(self) -> list[str]:
        return [f.path for f in self.files]


@dataclass(frozen=True, slots=True)
class Hunk:
    """One hunk, whatever format it came from.

    ``ops`` keeps the lines in order as ``(" " | "-" | "+", text)`` so that, when context
    matched only loosely, the file's own context lines survive instead of the model's
    version of them. ``old_start`` is the 1-based line a unified header states (models get
    it wrong; it is only a hint); ``anchors`` are V4A ``@@ <line>`` markers, outermost first.
    ``old_no_eol``/``new_no_eol`` carry unified ``\\ No newline at end of file`` markers.
    """

    ops: tuple[tuple[str, str], ...]
    old_start: int | None = None
    old_count: int | None = None
    anchors: tuple[str, ...] = ()
    at_eof: bool = False
    old_no_eol: bool = False
    new_no_eol: bool = False

    @property
    def old_lines(self) -> list[str]:
        """Context and removed lines: what must be found in the file."""
        return [text for op, text in self.ops if op != "+"]

    @property
    def new_lines(self) -> list[str]:
        """Context and added lines: what replaces them."""
        return [text for op, text in self.ops if op != "-"]


@dataclass(frozen=True, slots=True)
class FilePatch:
    """The patch for one file. ``move_to`` is set for a rename (V4A ``*** Move to:``, git rename)."""

    path: str
    kind: FileKind
    hunks: tuple[Hunk, ...] = ()
    move_to: str | None = None
    # For a create: the whole content. Kept separately because it is not located.
    content: str = ""
    # "unified" | "v4a": only for messages and metrics.
    source: str = "unified"


def text_sha256(text: str) -> str:
    """The hash ``FileEdit.old_text_sha256`` holds (of the UTF-8 text)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
