"""The in-memory eval case, whatever format it was read from (docs/eval.md, "Case format").

Texts are ``str`` with LF line ends, as in the editor's buffer; offsets are ``str`` indices.
``cases.py`` re-exports these names: import them from there.
"""

from __future__ import annotations

from dataclasses import dataclass


class CaseError(ValueError):
    """A case file that cannot be read: ``"<file>: <what is wrong>"``, one line."""


@dataclass(frozen=True, slots=True)
class HistoryEdit:
    path: str  # workspace-relative, "/" separators
    before: str  # whole file text before this edit ("" when it creates the file)
    after: str  # whole file text after it
    delay_ms: float = 300.0  # pause before this edit, for the replay's timing
    created: bool = False  # the edit creates the file (the runner opens it rather than changes it)


@dataclass(frozen=True, slots=True)
class Expected:
    path: str
    after: str  # whole text of ``path`` after the expected next edit
    score: float = 1.0  # 1 = the expected edit; Copilot grades: 0.1 valid, 0 bad
    # Other files the same alternative changes, as (path, whole text after). Next edits only
    # ever touch the cursor's document, so ``path`` is the cursor's file whenever it changes.
    other_files: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    source: str  # the file it came from
    format: str  # "sparkforge" | "zed" | "copilot"
    files: dict[str, str]  # contents before the history (every file the case opens)
    history: tuple[HistoryEdit, ...]  # in order
    cursor_path: str
    cursor_offset: int  # in the text of cursor_path after the history
    expected: tuple[Expected, ...]  # alternatives; () = no edit expected
    tags: tuple[str, ...] = ()
    language: str = ""
    kind: str = ""
    crlf: bool = False
    notes: tuple[str, ...] = ()  # e.g. "no --repo-root: the case's excerpt is used as the file"
    title: str = ""  # the case's own title, when its format has one

    def current(self) -> dict[str, str]:
        """Every file after the history (files the history created included)."""
        texts = dict(self.files)
        for edit in self.history:
            texts[edit.path] = edit.after
        return texts

    def current_text(self) -> str:
        """The cursor's file after the history."""
        return self.current()[self.cursor_path]


LANGUAGE_BY_SUFFIX = {
    ".py": "python",
    ".pyi": "python",
    ".ts": "typescript",
    ".tsx": "typescript",
    ".mts": "typescript",
    ".js": "javascript",
    ".jsx": "javascript",
    ".mjs": "javascript",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".kt": "kotlin",
    ".md": "markdown",
    ".markdown": "markdown",
    ".c": "c",
    ".h": "c",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".hpp": "cpp",
    ".cs": "csharp",
    ".rb": "ruby",
    ".php": "php",
    ".swift": "swift",
    ".tf": "terraform",
    ".json": "json",
    ".toml": "toml",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".sh": "shell",
    ".html": "html",
    ".css": "css",
    ".sql": "sql",
    ".lua": "lua",
}


def language_of(path: str) -> str:
    """The language an editor would give ``path``, from its suffix ("" if unknown)."""
    dot = path.rfind(".")
    return LANGUAGE_BY_SUFFIX.get(path[dot:].lower(), "") if dot > path.rfind("/") else ""
