"""The agent's change set: per file the text before the task and after it, applied step by step
through an ``Applier`` (the editor's versioned ``workspace/applyEdit``, or files written
directly by the terminal), kept or undone whole or per file (no LSP imports).

With review ``apply`` each step reaches the editor as it happens, as one edit; with
``pending`` the steps only accumulate here (the agent reads its own pending text) until Keep
applies them. A file the user changed meanwhile is never overwritten blindly: a step is
planned against the file's current text, and Undo refuses a file whose text is no longer the
agent's last.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from sparkforge.edits import EditPlan, FileEdit, SourceText, TextChange, text_sha256, whole_text_change

ReviewMode = Literal["apply", "pending"]
ChangeState = Literal["applied", "pending", "kept", "undone"]


class ApplyRefused(Exception):
    """The editor (or the disk) did not take a step's edit; nothing of it was applied."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Applier(Protocol):
    """Where the change set's edits go."""

    def read(self, rel: str) -> SourceText | None:
        """The file's text now (the editor's buffer, if it has one), None if there is no file."""

    async def apply(self, plan: EditPlan, sources: dict[str, SourceText], label: str) -> None:
        """Apply the whole plan (planned against ``sources``) or raise ApplyRefused."""


class FileApplier:
    """The terminal's applier: files written directly, all of a plan or none (every file is
    checked against the text it was planned from before the first is written)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(os.path.abspath(root))

    def read(self, rel: str) -> SourceText | None:
        try:
            return SourceText((self.root / rel).read_text(encoding="utf-8"), None)
        except (FileNotFoundError, NotADirectoryError):
            return None

    async def apply(self, plan: EditPlan, sources: dict[str, SourceText], label: str) -> None:
        for fe in plan.files:
            now = self.read(fe.path)
            if not fe.matches(None if now is None else now.text):
                raise ApplyRefused(f"{fe.path} changed on disk meanwhile; nothing was applied")
        for fe in plan.files:
            path = self.root / fe.path
            if fe.kind == "delete":
                path.unlink()
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(fe.new_text, encoding="utf-8", newline="")


@dataclass
class FileChange:
    path: str
    original: str | None  # before the task (None: the agent created it)
    current: str | None  # after the agent's last step (None: deleted)
    state: ChangeState
    problem: str | None = None  # why the last Keep or Undo left this file as it was

    @property
    def kind(self) -> str:
        if self.original is None:
            return "created"
        return "deleted" if self.current is None else "updated"

    def diff(self) -> str:
        return unified_diff(self.path, self.original, self.current)

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"path": self.path, "kind": self.kind, "diff": self.diff(), "state": self.state}
        if self.problem:
            out["problem"] = self.problem
        return out


def unified_diff(path: str, old: str | None, new: str | None) -> str:
    return "".join(difflib.unified_diff(
        _lines(old or ""), _lines(new or ""),
        fromfile="/dev/null" if old is None else f"a/{path}",
        tofile="/dev/null" if new is None else f"b/{path}",
    ))


def _lines(text: str) -> list[str]:
    out = text.splitlines(keepends=True)
    if out and not out[-1].endswith(("\n", "\r")):
        out[-1] += "\n\\ No newline at end of file\n"
    return out


class ChangeSet:
    def __init__(self, applier: Applier, review: ReviewMode = "apply") -> None:
        self.applier = applier
        self.review = review
        self.files: dict[str, FileChange] = {}
        self._seen: dict[str, str | None] = {}  # what the agent last read or wrote, per file

    # -- what the agent sees -------------------------------------------------------------
    def view(self, rel: str) -> SourceText | None:
        """The file as the agent's steps left it: its pending text, else the file now."""
        fc = self.files.get(rel)
        if fc is not None and fc.state == "pending":
            return None if fc.current is None else SourceText(fc.current, None)
        return self.applier.read(rel)

    def saw(self, rel: str, text: str | None) -> None:
        """The agent read ``rel`` as ``text``."""
        self._seen[rel] = text

    def changed_since_seen(self, rel: str, text: str | None) -> bool:
        """True when the agent has read ``rel`` before and it is no longer what it read."""
        return rel in self._seen and self._seen[rel] != text

    # -- steps ---------------------------------------------------------------------------
    async def apply_step(self, plan: EditPlan, sources: dict[str, SourceText], label: str) -> None:
        """One step's edit, whole or (ApplyRefused) not at all."""
        if self.review == "apply":
            await self.applier.apply(plan, sources, label)
        for fe in plan.files:
            before = None if fe.kind == "create" else sources[fe.path].text
            after = None if fe.kind == "delete" else fe.new_text
            fc = self.files.get(fe.path)
            if fc is None or fc.state in ("kept", "undone"):
                fc = self.files[fe.path] = FileChange(fe.path, before, after, "pending")
            fc.current = after
            fc.problem = None
            fc.state = "pending" if self.review == "pending" else "applied"
            self._seen[fe.path] = after
            if fc.original == fc.current and fc.original is not None:
                del self.files[fe.path]  # back where it started: no change left

    # -- the user's verdict --------------------------------------------------------------
    def changes(self) -> list[FileChange]:
        return list(self.files.values())

    def _chosen(self, paths: Iterable[str] | None) -> list[FileChange]:
        if paths is None:
            return list(self.files.values())
        wanted = set(paths)
        return [fc for fc in self.files.values() if fc.path in wanted]

    async def keep(self, paths: Iterable[str] | None = None) -> list[FileChange]:
        """Keep the changes of ``paths`` (all by default): pending ones are applied now."""
        chosen = [fc for fc in self._chosen(paths) if fc.state in ("applied", "pending")]
        pending = [fc for fc in chosen if fc.state == "pending"]
        for fc in chosen:
            fc.problem = None
        if pending:
            await self._write(pending, lambda fc: (fc.original, fc.current), "Keep the agent's changes")
        for fc in chosen:
            if fc.problem is None:
                fc.state = "kept"
        return self._chosen(paths)

    async def undo(self, paths: Iterable[str] | None = None) -> list[FileChange]:
        """Put the files of ``paths`` (all by default) back as they were before the task."""
        chosen = [fc for fc in self._chosen(paths) if fc.state != "undone"]
        applied = [fc for fc in chosen if fc.state in ("applied", "kept")]
        for fc in chosen:
            fc.problem = None
        if applied:
            await self._write(applied, lambda fc: (fc.current, fc.original), "Undo the agent's changes")
        for fc in chosen:
            if fc.problem is None:
                fc.state = "undone"
                self._seen.pop(fc.path, None)
        return self._chosen(paths)

    async def _write(self, files: list[FileChange], texts, label: str) -> None:
        """One edit taking each file from texts(fc)[0] to texts(fc)[1]; a file whose text now
        is not texts(fc)[0] (the user changed it) is left alone with ``problem`` set."""
        edits: list[FileEdit] = []
        sources: dict[str, SourceText] = {}
        ready: list[FileChange] = []
        for fc in files:
            old, new = texts(fc)
            now = self.applier.read(fc.path)
            if (None if now is None else now.text) != old:
                fc.problem = f"{fc.path} changed since the agent's last edit; left as it is"
                continue
            ready.append(fc)
            if old is None:
                edits.append(FileEdit(fc.path, "create", [TextChange(0, 0, 0, 0, new or "")], new or ""))
                continue
            assert now is not None
            sources[fc.path] = now
            if new is None:
                edits.append(FileEdit(fc.path, "delete", [], "", text_sha256(old), now.version))
            else:
                edits.append(FileEdit(fc.path, "update", [whole_text_change(old, new)], new,
                                      text_sha256(old), now.version))
        if not edits:
            return
        try:
            await self.applier.apply(EditPlan(edits), sources, label)
        except ApplyRefused as exc:
            for fc in ready:
                fc.problem = exc.message
